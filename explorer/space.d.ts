// Types of space.js for the TypeScript tests (test/explorer/).
import type { Engine, Kernel, Mm } from "../src/index.js";
export declare const MODES: ("2level" | "pae" | "4level" | "5level")[];
export declare const PHYS_SIZE: number;
export interface Region { start: bigint; bytes: number; what: string }
export interface Space { cpu: Engine; kernel: Kernel; mm: Mm; mode: string; regions: Region[] }
export declare function regions(kernel: Kernel, mode: string): Region[];
export declare function buildSpace(lib: unknown, engineName: string, mode: string, opts?: { psc?: boolean }): Promise<Space>;
export declare function rng(seed: number): () => number;
export declare function randomAccesses(space: Space, n: number, seed: number): { faults: number; demand: number };
export interface StreamAccess { va: bigint; access: number; hit: boolean; demand: boolean; fault: boolean }
export declare function accessStream(space: Space, seed: number): () => StreamAccess;
