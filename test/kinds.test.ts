// Word-at-a-time kind validation and counting against a byte-by-byte model,
// at every alignment.
import fc from "fast-check";
import { expect, it } from "vitest";
import { countKinds, firstBadKind } from "../src/trace/kinds.js";

it("firstBadKind and countKinds agree with a byte loop (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(7), fc.nat(80), fc.nat(80), fc.boolean(),
    (raw, shift, a, b, valid) => {
      const bytes = valid ? raw.map((x) => x % 3) : raw;
      const buf = new Uint8Array(bytes.length + 8);
      buf.set(bytes, shift);
      const k = buf.subarray(shift % 4 === 0 ? 0 : 1);   // also a view that starts off a word boundary
      const base = shift - (shift % 4 === 0 ? 0 : 1);
      const from = base + Math.min(a, bytes.length), end = base + Math.max(from - base, Math.min(b, bytes.length));
      let bad = -1, writes = 0, fetches = 0;
      for (let i = from; i < end; i++) {
        if (k[i]! > 2 && bad < 0) bad = i;
        if (k[i] === 1) writes++;
        if (k[i] === 2) fetches++;
      }
      expect(firstBadKind(k, from, end)).toBe(bad);
      if (bad < 0) {
        const out = { writes: 0, fetches: 0 };
        countKinds(k, from, end, out);
        expect(out).toEqual({ writes, fetches });
      }
    }), { numRuns: 3000 });
});

it("countKinds over long runs: lanes summed in blocks of words never overflow, even all fetches (property)", () => {
  const byteLoop = (k: Uint8Array): { writes: number; fetches: number } => {
    let writes = 0, fetches = 0;
    for (const b of k) { if (b === 1) writes++; if (b === 2) fetches++; }
    return { writes, fetches };
  };
  // Every kind a fetch (2): the largest sum a byte lane can hold.
  for (const n of [127 * 4, 128 * 4, 65536, 65536 + 3]) {
    const k = new Uint8Array(n).fill(2), out = { writes: 0, fetches: 0 };
    countKinds(k, 0, n, out);
    expect(out).toEqual({ writes: 0, fetches: n });
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(3), (n, seed, off) => {
    const buf = new Uint8Array(n + 4);
    let x = seed | 1;
    for (let i = 0; i < buf.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; buf[i] = (x >>> 0) % 3; }
    const k = buf.subarray(off, off + n), out = { writes: 0, fetches: 0 };
    countKinds(k, 0, n, out);
    expect(out).toEqual(byteLoop(k));
  }), { numRuns: 300 });
});
