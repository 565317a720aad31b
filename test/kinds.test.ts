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
