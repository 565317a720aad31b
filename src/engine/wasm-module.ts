/**
 * The compiled core, compiled once per process and shared by every engine
 * (hash-wasm caches its module the same way). The bytes are inlined into the
 * bundle by esbuild's binary loader, so the package needs no file next to it
 * in Node or in a browser.
 */
import wasmBytes from "../../build/mmu.wasm";
import type { S390Core } from "./s390.js";
import type { X86Core } from "./x86-core.js";

/** The raw exports of the core (assembly/index.ts): the x86 and s390 core
 *  operations, and the debug access to guest memory the tests use. */
export interface CoreExports extends X86Core, S390Core {
  init(): void;
  physLoad(pa: bigint, size: number, be: number): bigint;
  physStore(pa: bigint, size: number, be: number, value: bigint): number;
  physStatus(): number;
}

let compiled: Promise<WebAssembly.Module> | undefined;

export function coreModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(wasmBytes as Uint8Array<ArrayBuffer>);
  return compiled;
}

/** Minimum memory (64 KiB pages) the module declares for its import. */
export const CORE_BYTES = wasmBytes;
