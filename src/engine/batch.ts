import { Arch } from "../abi.js";
import type { Layout } from "../layout.js";
import type { BatchViews } from "./engine.js";

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
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > cap)
    throw new RangeError(`translateRange: need 0 ≤ start ≤ end ≤ ${cap}, got [${start}, ${end})`);
  if (arch !== Arch.X86) throw new RangeError("translateRange: x86 only for now (use translateBatch for s390)");
}
