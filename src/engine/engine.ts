/**
 * The contract both engines keep (DESIGN.md "Two engines, one contract").
 *
 * An engine is one emulated MMU plus the guest physical memory it walks:
 * the wasm engine keeps them in WebAssembly linear memory, the TS engine in an
 * ArrayBuffer laid out identically (src/layout.ts), so that results *and*
 * memory side effects can be compared byte for byte.
 *
 * Conventions: physical addresses are numbers (< 2^52, exact); virtual
 * addresses and register values are bigints on this API (64-bit); hot loops
 * never see either — they run inside the engine over linear memory.
 */
import type { Access, FaultKind } from "../abi.js";
import type { Layout, MachineConfig } from "../layout.js";
import type { PhysMem } from "../phys/phys-mem.js";

export type EngineName = "wasm" | "ts";
export const ENGINE_NAMES: readonly EngineName[] = ["wasm", "ts"];

/** Outcome of one translation. Pass one in to avoid allocation. */
export interface Translation {
  /** FaultKind.None on success. */
  fault: FaultKind;
  /** Success: the physical address. Bus fault: the physical address that was out of range. */
  pa: number;
  /** x86: exception vector (14 #PF, 13 #GP). s390: program-interruption code. */
  vector: number;
  /** x86: error code. s390: low 12 bits of the translation-exception identification. */
  errorCode: number;
  /** x86 #PF: the value written to CR2. s390: the TEID address (page of the VA). */
  addr: bigint;
}

export function newTranslation(): Translation {
  return { fault: 0 as FaultKind, pa: 0, vector: 0, errorCode: 0, addr: 0n };
}

/** Views of the batch buffers in linear memory (zero-copy). */
export interface BatchViews {
  /** Virtual addresses in. */
  readonly va: BigUint64Array;
  /** Access kinds in (Access). */
  readonly kind: Uint8Array;
  /** Results out: a PA, or a fault word (see BatchOut in abi.ts). */
  readonly out: BigUint64Array;
  /** Same memory as `va`/`out` as 32-bit halves (little-endian lo, hi), for
   *  callers that avoid BigInt. */
  readonly va32: Uint32Array;
  readonly out32: Uint32Array;
  readonly capacity: number;
}

export interface EngineOptions extends MachineConfig {
  /** wasm only: a WebAssembly.Memory to use (imported), e.g. shared with an
   *  emulator's RAM. Must be at least layout.totalBytes long; it is grown if
   *  smaller. Guest RAM is then at `layout.ramBase` in it. */
  memory?: WebAssembly.Memory;
}

export interface EngineBase {
  readonly name: EngineName;
  readonly layout: Layout;
  /** Host view of guest physical memory (same bytes the walker reads). */
  readonly phys: PhysMem;
  /** The whole linear memory (for byte-for-byte comparison and for tools). */
  readonly buffer: ArrayBufferLike;
  readonly batch: BatchViews;
}
