// Types of scenarios.js for the TypeScript tests (test/explorer/).
import type { Engine, s390 } from "../src/index.js";
import type { Space } from "./space.js";
export declare const SCENARIOS: string[];
export declare const RUN_ACCESSES: number;
export declare const S390_GUEST_BASE: bigint;
export declare function x86Run(lib: unknown, engineName: string): Promise<Space & { run: { faults: number; demand: number } }>;
export declare function xenGuest(lib: unknown, engineName: string): Promise<{ cpu: Engine }>;
export declare function s390Host(lib: unknown, engineName: string): Promise<{ engine: Engine; k: s390.S390Kernel; mm: s390.S390Mm; gmap: s390.Gmap }>;
export interface S390Entry { index: number; pa: number; value: bigint; invalid: boolean; protect: boolean; flags: string; child?: S390Table; pgste?: bigint; pgsteText?: string }
export interface S390Table { kind: string; pa: number; entries: S390Entry[] }
export declare function s390Tables(lib: unknown, phys: Engine["phys"], asce: bigint): S390Table;
export declare function pgsteText(lib: unknown, v: bigint): string;
