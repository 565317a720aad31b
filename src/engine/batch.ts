import { Arch } from "../abi.js";
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
