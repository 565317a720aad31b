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
  /** Abi.OK, or why the control block is refused (src/embed.ts abiInitError). */
  init(): number;
  physLoad(pa: bigint, size: number, be: number): bigint;
  physStore(pa: bigint, size: number, be: number, value: bigint): number;
  physStatus(): number;
}

let compiled: Promise<WebAssembly.Module> | undefined;

export function coreModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(wasmBytes as Uint8Array<ArrayBuffer>);
  return compiled;
}

let compiledShared: Promise<WebAssembly.Module> | undefined;

/**
 * The core for a shared WebAssembly.Memory. A module declares whether the
 * memory it imports is shared, and instantiation refuses any other kind; the
 * core is built for an unshared one. Its shared twin is the same bytes with
 * the memory import's limits rewritten to "shared, maximum 4 GiB" (any
 * shared memory's maximum is at most that), compiled once on first use.
 */
export function sharedCoreModule(): Promise<WebAssembly.Module> {
  compiledShared ??= WebAssembly.compile(withSharedMemoryImport(wasmBytes as Uint8Array));
  return compiledShared;
}

/** `bytes` with its imported memory declared shared with a 65536-page maximum
 *  (the binary format's import section and limits encoding). */
export function withSharedMemoryImport(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  let p = 8;   // after the magic and version
  const leb = (): number => {
    let v = 0, shift = 0, b: number;
    do { b = bytes[p++]!; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  const enc = (v: number): number[] => {
    const out: number[] = [];
    do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; out.push(b); } while (v);
    return out;
  };
  while (p < bytes.length) {
    const id = bytes[p++]!, sizeAt = p, size = leb(), body = p;
    if (id !== 2) { p = body + size; continue; }
    const count = leb();
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 2; k++) { const n = leb(); p += n; }   // module and field names
      const kind = bytes[p++]!;
      if (kind === 0x02) {
        const limitsAt = p, flags = bytes[p++]!, min = leb();
        if (flags & 1) leb();
        const limits = [0x03, ...enc(min), ...enc(65536)];
        const section = [
          ...bytes.subarray(body, limitsAt), ...limits, ...bytes.subarray(p, body + size),
        ];
        const out = [...bytes.subarray(0, sizeAt), ...enc(section.length), ...section, ...bytes.subarray(body + size)];
        return new Uint8Array(out);
      }
      if (kind === 0x00) leb();                       // function: type index
      else if (kind === 0x01) { p++; if (bytes[p++]! & 1) leb(); leb(); }   // table: reftype, limits
      else if (kind === 0x03) p += 2;                 // global: valtype, mutability
      else throw new Error(`wasmmu core: unexpected import kind ${kind}`);
    }
    break;
  }
  throw new Error("wasmmu core: the module imports no memory");
}

/** Minimum memory (64 KiB pages) the module declares for its import. */
export const CORE_BYTES = wasmBytes;
