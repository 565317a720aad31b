import { Arch, BatchOut, type FaultKind } from "../abi.js";
import type { Layout } from "../layout.js";
import type { BatchViews } from "./engine.js";
import { checkInt, checkS64 } from "../check.js";

/** Argument check shared by both engines' invpcid: type 0–3, a 12-bit PCID,
 *  a 64-bit address (used by type 0 only, checked always). Returns the address
 *  as an unsigned 64-bit value. */
export function checkInvpcid(type: unknown, pcid: unknown, va: unknown): bigint {
  checkInt("invpcid", "type", type, 0, 3);
  checkInt("invpcid", "pcid", pcid, 0, 0xfff);
  return checkS64("invpcid", "va", va);
}

/** Zero-copy views of the batch buffers of a linear memory. */
export function batchViews(buffer: ArrayBufferLike, l: Layout): BatchViews {
  return {
    va: new BigUint64Array(buffer, l.batchVa, l.batchCap),
    kind: new Uint8Array(buffer, l.batchKind, l.batchCap),
    out: new BigUint64Array(buffer, l.batchOut, l.batchCap),
    va32: new Uint32Array(buffer, l.batchVa, 2 * l.batchCap),
    out32: new Uint32Array(buffer, l.batchOut, 2 * l.batchCap),
    capacity: l.batchCap,
  };
}

/** Argument check shared by both engines' translateRange. */
export function checkRange(start: number, end: number, cap: number, arch: number): void {
  checkInt("translateRange", "start", start, 0, cap);
  checkInt("translateRange", "end", end, 0, cap);
  if (start > end) throw new RangeError(`translateRange: need 0 ≤ start ≤ end ≤ ${cap}, got [${start}, ${end})`);
  if (arch !== Arch.X86) throw new RangeError("translateRange: x86 only for now (use translateBatch for s390)");
}

// ── the batch-out word (BatchOut in abi.ts) as u32 halves, for the hot loops ──
// A PA, or a fault: bit 63 set, FaultKind in 55:48, vector in 47:32, error
// code in 31:0. The low half of a fault word is the error code itself.

/** The high half of a fault word. */
export function batchFaultHi(kind: FaultKind, vector: number): number {
  return ((1 << (BatchOut.FAULT_BIT - 32)) | (kind << (BatchOut.KIND_SHIFT - 32))
    | ((vector & 0xffff) << (BatchOut.VECTOR_SHIFT - 32))) >>> 0;
}
/** Is the word with high half `hi` a fault? */
export const batchIsFault = (hi: number): boolean => (hi >>> (BatchOut.FAULT_BIT - 32)) !== 0;
/** The FaultKind of a fault word's high half. */
export const batchFaultKind = (hi: number): FaultKind => ((hi >>> (BatchOut.KIND_SHIFT - 32)) & 0xff) as FaultKind;
/** The vector (x86) or program-interruption code (s390) of a fault word's high half. */
export const batchFaultVector = (hi: number): number => (hi >>> (BatchOut.VECTOR_SHIFT - 32)) & 0xffff;
