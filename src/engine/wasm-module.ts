/**
 * The compiled core, compiled once per process and shared by every engine
 * (hash-wasm caches its module the same way). The bytes are inlined into the
 * bundle by esbuild's binary loader, so the package needs no file next to it
 * in Node or in a browser.
 */
import wasmBytes from "../../build/mmu.wasm";

/** The raw exports of the core (assembly/index.ts). */
export interface CoreExports {
  init(): void;
  physLoad(pa: bigint, size: number, be: number): bigint;
  physStore(pa: bigint, size: number, be: number, value: bigint): number;
  physStatus(): number;
  translate(va: bigint, access: number): number;
  translatePa(va: number, access: number): number;
  probe(va: bigint, access: number): number;
  translateBatch(n: number): number;
  translateRange(start: number, end: number): number;
  x86LoadPdptes(cr3: bigint): number;
  tlbFlushAll(includeGlobal: number): void;
  tlbFlushPage(va: bigint): void;
  tlbFlushPcid(type: number, pcid: number, va: bigint): void;
  tlbLoadCr3(pcid: number): void;
  [name: string]: unknown;
}

let compiled: Promise<WebAssembly.Module> | undefined;

export function coreModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(wasmBytes as Uint8Array<ArrayBuffer>);
  return compiled;
}

/** Minimum memory (64 KiB pages) the module declares for its import. */
export const CORE_BYTES = wasmBytes;
