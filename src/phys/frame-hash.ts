/**
 * The sparse backing's pfn → pool-slot hash, host side. The same function is
 * implemented in assembly/phys.ts; both must agree bit for bit because the
 * host and the core share one table in linear memory.
 *
 * Table entry (u64, little-endian), 0 = empty:
 *   ┌──────────────── 40 bits ───────────────┬──── 24 bits ────┐
 *   │ pfn + 1                                │ pool slot       │
 *   └────────────────────────────────────────┴─────────────────┘
 * Open addressing with linear probing; entries are never deleted (a frame,
 * once backed, stays backed — like RAM that has been touched).
 */

/** Home bucket of a pfn (pfn < 2^40) in a table of 2^log2 entries. */
export function frameHashHome(pfn: number, log2: number): number {
  const lo = pfn >>> 0;
  const hi = Math.floor(pfn / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h & ((1 << log2) - 1);
}
