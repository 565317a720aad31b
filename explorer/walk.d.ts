// Types of walk.js for the TypeScript tests (test/explorer/).
export declare const READ = 0, WRITE = 1, FETCH = 2;
export declare const ACCESS_NAMES: string[];
export declare const PF: { P: number; W: number; U: number; RSVD: number; ID: number; PK: number };
export declare const BIT: Record<"P" | "RW" | "US" | "PWT" | "PCD" | "A" | "D" | "PS" | "G" | "NX", bigint>;
export interface Regs { cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint; eflags: bigint; cpl: number; pkru: number }
export interface Level { name: string; shift: number; bits: number; large: boolean; pdpte?: boolean }
export interface Mode { name: string; entryBytes: 4 | 8; vaBits: number; nx: boolean; pkeys: boolean; rootMask: bigint; levels: Level[] }
export interface Step {
  level: string; index: number; entryPa: number; entry: bigint; after: bigint;
  checks: { what: string; ok: boolean }[]; leaf: boolean; next: number | null;
}
export interface WalkFault { kind: "pf" | "gp" | "bus"; vector: number; errorCode: number; reason: string; pa?: number }
export interface WalkResult { mode: string; va: bigint; steps: Step[]; fault: WalkFault | null; pa: number; shift: number }
export declare function pagingMode(regs: Regs): Mode;
export declare function tableAddress(mode: Mode, e: bigint): bigint;
export declare function walk(read: (pa: number, bytes: number) => bigint, regs: Regs, va: bigint, access: number, ramBytes: number): WalkResult;
export declare function decodeEntry(mode: Mode, level: Level, e: bigint, leaf: boolean): { flags: string[]; text: string };
