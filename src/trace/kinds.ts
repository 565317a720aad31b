/**
 * Access-kind bytes, four at a time. Kinds are 0 (read), 1 (write) and
 * 2 (fetch): in a byte, bit 0 marks a write and bit 1 a fetch, so a 32-bit
 * word of four kinds is valid when no byte has a bit above bit 1 nor both low
 * bits, and the writes and fetches it holds are bit counts that one
 * multiplication sums. The trace readers validate and the run driver counts
 * millions of kinds per second this way, with no per-byte branch.
 */

const LOW = 0x01010101;
const NONE = new Uint32Array(0);

/** The whole 32-bit words of k[i..end) — i is word-aligned unless the range ended first. */
function wordsAt(k: Uint8Array, i: number, end: number): Uint32Array {
  return i >= end || (k.byteOffset + i) & 3 ? NONE : new Uint32Array(k.buffer, k.byteOffset + i, (end - i) >>> 2);
}

/** Index of the first kind byte in [from, end) that is not 0, 1 or 2, or -1. */
export function firstBadKind(k: Uint8Array, from: number, end: number): number {
  let i = from;
  // Head up to a 4-byte boundary of the underlying buffer.
  while (i < end && (k.byteOffset + i) & 3) { if (k[i]! > 2) return i; i++; }
  const words = wordsAt(k, i, end);
  for (let w = 0; w < words.length; w++) {
    const v = words[w]!;
    if ((v & 0xfcfcfcfc) !== 0 || (v & (v >>> 1) & LOW) !== 0) {
      for (let j = i + 4 * w; j < i + 4 * w + 4; j++) if (k[j]! > 2) return j;
    }
  }
  for (let j = i + 4 * words.length; j < end; j++) if (k[j]! > 2) return j;
  return -1;
}

/** Writes and fetches among kinds [from, end) (reads are the rest); kinds must be valid. */
export function countKinds(k: Uint8Array, from: number, end: number, out: { writes: number; fetches: number }): void {
  let writes = 0, fetches = 0, i = from;
  while (i < end && (k.byteOffset + i) & 3) { const b = k[i]!; writes += b & 1; fetches += b >>> 1; i++; }
  const words = wordsAt(k, i, end);
  for (let w = 0; w < words.length; w++) {
    const v = words[w]!;
    writes += Math.imul(v & LOW, LOW) >>> 24;
    fetches += Math.imul((v >>> 1) & LOW, LOW) >>> 24;
  }
  for (let j = i + 4 * words.length; j < end; j++) { const b = k[j]!; writes += b & 1; fetches += b >>> 1; }
  out.writes += writes;
  out.fetches += fetches;
}
