/**
 * Access-kind bytes, four at a time. Kinds are 0 (read), 1 (write) and
 * 2 (fetch): in a byte, bit 0 marks a write and bit 1 a fetch, so a 32-bit
 * word of four kinds is valid when no byte has a bit above bit 1 nor both low
 * bits, and its bytes and its bit 1s can be summed in four byte lanes at once.
 * The trace readers validate and the run driver counts millions of kinds per
 * second this way, with no per-byte branch.
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

/** Words summed per lane before the lanes are added up: a byte lane holds at most 127 × 2. */
const LANE_WORDS = 127;

/** Writes and fetches among kinds [from, end) (reads are the rest); kinds must be valid. */
export function countKinds(k: Uint8Array, from: number, end: number, out: { writes: number; fetches: number }): void {
  // A word's bytes sum to writes + 2 × fetches (kinds 0, 1, 2) and its bit 1s
  // count the fetches: both summed in four byte lanes at once, 127 words at a
  // time (no lane overflows), then the lanes are added up.
  let sum = 0, fetches = 0, i = from;
  while (i < end && (k.byteOffset + i) & 3) { const b = k[i]!; sum += b; fetches += b >>> 1; i++; }
  const words = wordsAt(k, i, end);
  for (let w = 0; w < words.length;) {
    const stop = Math.min(words.length, w + LANE_WORDS);
    let all = 0, fetch = 0;
    for (; w < stop; w++) {
      const v = words[w]!;
      all = (all + v) | 0;               // 32-bit lanes: the sum fits, as bits
      fetch += (v >>> 1) & LOW;
    }
    sum += (all & 0xff) + ((all >>> 8) & 0xff) + ((all >>> 16) & 0xff) + (all >>> 24);
    fetches += (fetch & 0xff) + ((fetch >>> 8) & 0xff) + ((fetch >>> 16) & 0xff) + (fetch >>> 24);
  }
  for (let j = i + 4 * words.length; j < end; j++) { const b = k[j]!; sum += b; fetches += b >>> 1; }
  out.writes += sum - 2 * fetches;
  out.fetches += fetches;
}
