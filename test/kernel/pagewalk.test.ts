// The host page-range walker (src/kernel/pagewalk.ts) on hand-built tables in
// a plain map of entries, so every expectation below is written from the
// tables themselves, not from another walker.
import { describe, expect, it } from "vitest";
import { lookupAddress, type MmWalkOps, type PageTables, WalkAction, type WalkEntry, walkPageRange, walkTableRange } from "../../src/kernel/pagewalk.js";
import { PgtLevel } from "../../src/kernel/types.js";
import { GEOMETRY, type PagingGeometry } from "../../src/kernel/x86/pgtable-types.js";
import { x86PageTables } from "../../src/kernel/x86/pgtable.js";

const P = 1n, RW = 2n, PS = 0x80n;
const GiB = 1n << 30n, MiB2 = 1n << 21n, K4 = 0x1000n;

/** Entries by physical address; the reads are counted. */
function tables(g: PagingGeometry, entries: [number, bigint][]): PageTables & { reads: number } {
  const mem = new Map(entries);
  const pt = { ...x86PageTables(g, (ptr: number): bigint => { pt.reads++; return mem.get(ptr) ?? 0n; }), reads: 0 };
  return pt;
}

type Seen = [string, bigint, bigint, boolean?];
/** A walk with every callback, as a list: [kind or "hole", addr, next, leaf]. */
function record(pt: PageTables, pgd: number, start: bigint, end: bigint, extra: Partial<MmWalkOps> = {}): Seen[] {
  const out: Seen[] = [];
  const names = ["pte", "pmd", "pud", "p4d", "pgd"];
  const note = (w: WalkEntry): void => { out.push([names[w.level]!, w.addr, w.next, w.leaf]); };
  walkPageRange(pt, pgd, start, end, {
    pgdEntry: note, p4dEntry: note, pudEntry: note, pmdEntry: note, pteEntry: note,
    pteHole: (addr, next, level) => { out.push([`hole ${names[level]}`, addr, next]); },
    ...extra,
  });
  return out;
}

// 4-level: pgd 0x1000 → pud 0x2000 → pmd 0x3000 → pte 0x4000.
//   pgd[0] → pud; pud[0] → pmd, pud[1] = 1 GiB leaf, pud[2] non-present (swap-like value)
//   pmd[0] → pte, pmd[1] = 2 MiB leaf; pte[0] and pte[2] map pages, pte[1] is none
const FOUR = (): ReturnType<typeof tables> => tables(GEOMETRY["4level"], [
  [0x1000, 0x2000n | P | RW],
  [0x2000, 0x3000n | P | RW], [0x2008, 0x4000_0000n | P | PS], [0x2010, 0x1234_0000n],
  [0x3000, 0x4000n | P | RW], [0x3008, 0x20_0000n | P | PS],
  [0x4000, 0x9000n | P], [0x4010, 0xa000n | P | RW],
]);

describe("walkPageRange", () => {
  it("visits [start, end) top-down in address order: entries by kind, none entries above the pte level as holes, leaves flagged", () => {
    const pt = FOUR();
    // Only the first 3 GiB and a bit of pte table: pud[3..] and pmd[2..] fall outside.
    const seen = record(pt, 0x1000, 0n, 3n * GiB);
    expect(seen.slice(0, 9)).toEqual([
      ["p4d", 0n, 512n * GiB, false],                 // a 4-level pgd entry is a p4d entry (p4d folded)
      ["pud", 0n, GiB, false],
      ["pmd", 0n, MiB2, false],
      ["pte", 0n, K4, true],
      ["pte", K4, 2n * K4, true],                      // none ptes reach pte_entry too
      ["pte", 2n * K4, 3n * K4, true],
      ["pte", 3n * K4, 4n * K4, true],
      ["pte", 4n * K4, 5n * K4, true],
      ["pte", 5n * K4, 6n * K4, true],
    ]);
    expect(seen.filter((s) => s[0] === "pte")).toHaveLength(512);
    expect(seen.slice(515)).toEqual([
      ["pmd", MiB2, 2n * MiB2, true],                  // the 2 MiB leaf: not descended into
      ...Array.from({ length: 510 }, (_, i): Seen => ["hole pmd", BigInt(i + 2) * MiB2, BigInt(i + 3) * MiB2]),
      ["pud", GiB, 2n * GiB, true],                    // the 1 GiB leaf
      ["pud", 2n * GiB, 3n * GiB, false],              // present bit clear: reported, not followed
    ]);
    expect(seen).toHaveLength(515 + 1 + 510 + 2);
  });

  it("takes the entries that intersect [start, end), each with its whole span", () => {
    const pt = FOUR();
    expect(record(pt, 0x1000, 2n * K4 + 5n, 3n * K4 + 1n)).toEqual([
      ["p4d", 0n, 512n * GiB, false], ["pud", 0n, GiB, false], ["pmd", 0n, MiB2, false],
      ["pte", 2n * K4, 3n * K4, true], ["pte", 3n * K4, 4n * K4, true],
    ]);
    expect(record(pt, 0x1000, GiB + 5n, 2n * GiB)).toEqual([["p4d", 0n, 512n * GiB, false], ["pud", GiB, 2n * GiB, true]]);
  });

  it("stops at the first callback that returns non-zero and returns its value", () => {
    const pt = FOUR();
    const ptes: bigint[] = [];
    const r = walkPageRange(pt, 0x1000, 0n, 1n << 48n, {
      pteEntry: (w) => { ptes.push(w.addr); return w.val !== 0n && w.addr > 0n ? 7 : 0; },
    });
    expect(r).toBe(7);
    expect(ptes).toEqual([0n, K4, 2n * K4]);
  });

  it("skips an entry's subtree when the callback sets WalkAction.Continue", () => {
    const pt = FOUR();
    const seen = record(pt, 0x1000, 0n, 2n * GiB, { pmdEntry: (w) => { w.action = WalkAction.Continue; } });
    expect(seen.filter((s) => s[0] === "pte")).toEqual([]);
    expect(seen.filter((s) => s[0] === "pud")).toHaveLength(2);
  });

  it("reads no deeper than its callbacks need: pgd entries only is one table", () => {
    const pt = FOUR();
    const seen: bigint[] = [];
    walkPageRange(pt, 0x1000, 0n, 1n << 48n, { p4dEntry: (w) => { seen.push(w.val); } });
    expect(seen).toEqual([0x2000n | P | RW]);
    expect(pt.reads).toBe(512);
  });

  it("follows tables where tableAddr says, and not where it returns null", () => {
    // The entries hold frame numbers offset by 0x100 pages; tableAddr undoes that (as a p2m would).
    const pt = tables(GEOMETRY["4level"], [[0x1000, 0x102000n | P], [0x2000, 0x103000n | P], [0x2008, 0x777000n | P], [0x3000, 0x104000n | P], [0x4000, 0x5000n | P]]);
    const tableAddr = (e: bigint): number | null => {
      const pa = Number(e & 0xfff_f000n);
      return pa >= 0x700000 ? null : pa - 0x100000;
    };
    const seen = record({ ...pt, tableAddr }, 0x1000, 0n, 2n * GiB).filter((s) => !s[0].startsWith("hole") && s[1] < K4 || s[0] === "pud");
    expect(seen).toEqual([
      ["p4d", 0n, 512n * GiB, false], ["pud", 0n, GiB, false], ["pmd", 0n, MiB2, false], ["pte", 0n, K4, true],
      ["pud", GiB, 2n * GiB, false],                   // followed nowhere: tableAddr returned null
    ]);
  });

  it("PAE: a 4-entry pgd (at a 32-byte aligned address) whose entries are pud entries and never leaves", () => {
    const pt = tables(GEOMETRY.pae, [
      [0x1020, 0x2000n | P], [0x1038, 0x3000n | P | PS],  // pgd[0] → pmd table; pgd[3] has PS, which PDPTEs do not have
      [0x2000, 0x40_0000n | P | PS], [0x2008, 0x4000n | P], [0x4000, 0x5000n | P],
      [0x3000, 0x6000n | P],
    ]);
    const seen = record(pt, 0x1020, 0n, 1n << 32n).filter((s) => !s[0].startsWith("hole") && (s[0] !== "pte" || s[1] === 0x20_0000n || s[1] === 0xc000_0000n));
    expect(seen).toEqual([
      ["pud", 0n, GiB, false], ["pmd", 0n, MiB2, true], ["pmd", MiB2, 2n * MiB2, false], ["pte", MiB2, MiB2 + K4, true],
      ["pud", 3n * GiB, 4n * GiB, false], ["pmd", 3n * GiB, 3n * GiB + MiB2, false], ["pte", 3n * GiB, 3n * GiB + K4, true],
    ]);
  });

  it("2-level: 4-byte entries, a 4 MiB leaf (PS in a pgd entry, a pmd entry after folding), and no leaves when the geometry has none", () => {
    const entries: [number, bigint][] = [[0x1000 + 4 * 1, 0x40_0000n | P | PS], [0x1000 + 4 * 2, 0x2000n | P], [0x2000 + 4 * 3, 0x7000n | P]];
    const pick = (s: Seen): boolean => !s[0].startsWith("hole") && (s[0] !== "pte" || s[1] === 0x80_3000n || s[1] === 0x40_0000n);
    expect(record(tables(GEOMETRY["2level"], entries), 0x1000, 0n, 3n << 22n).filter(pick)).toEqual([
      ["pmd", 1n << 22n, 2n << 22n, true], ["pmd", 2n << 22n, 3n << 22n, false], ["pte", 0x80_3000n, 0x80_4000n, true],
    ]);
    // CR4.PSE clear: PS in a pgd entry is ignored, the entry points to a table.
    const noPse: PagingGeometry = { ...GEOMETRY["2level"], hugeLevels: [] };
    expect(record(tables(noPse, entries), 0x1000, 0n, 2n << 22n).filter(pick)).toEqual([
      ["pmd", 1n << 22n, 2n << 22n, false], ["pte", 0x40_0000n, 0x40_1000n, true],
    ]);
  });

  it("5-level: pgd entries are pgd entries and p4d entries come next", () => {
    const pt = tables(GEOMETRY["5level"], [[0x1000 + 8 * 511, 0x2000n | P], [0x2000 + 8 * 510, 0x3000n | P | PS]]);
    expect(record(pt, 0x1000, 511n << 48n, 1n << 57n).filter((s) => !s[0].startsWith("hole"))).toEqual([
      ["pgd", 511n << 48n, 512n << 48n, false], ["p4d", (511n << 48n) + (510n << 39n), (511n << 48n) + (511n << 39n), false],
    ]);
  });
});

describe("walkTableRange", () => {
  it("walks one table on its own, its first entry at address 0, and what hangs below it", () => {
    const pt = FOUR();
    const seen: [number, number, bigint][] = [];
    walkTableRange(pt, 0x2000, 1, {
      pudEntry: (w) => { seen.push([w.level, w.index, w.addr]); },
      pmdEntry: (w) => { seen.push([w.level, w.index, w.addr]); w.action = WalkAction.Continue; },
    });
    expect(seen).toEqual([[PgtLevel.Pud, 0, 0n], [PgtLevel.Pmd, 0, 0n], [PgtLevel.Pmd, 1, MiB2], [PgtLevel.Pud, 1, GiB], [PgtLevel.Pud, 2, 2n * GiB]]);
  });

  it("takes a range of slots", () => {
    const pt = FOUR();
    const idx: number[] = [];
    walkTableRange(pt, 0x4000, 3, { pteEntry: (w) => { idx.push(w.index); } }, K4, 3n * K4);
    expect(idx).toEqual([1, 2]);
  });
});

describe("lookupAddress", () => {
  it("returns the pte, or the entry where the walk stopped, or null behind a none entry", () => {
    const pt = FOUR();
    expect(lookupAddress(pt, 0x1000, 2n * K4 + 0x123n)).toEqual({ level: PgtLevel.Pte, depth: 3, ptr: 0x4010, val: 0xa000n | P | RW, leaf: true });
    expect(lookupAddress(pt, 0x1000, K4)).toEqual({ level: PgtLevel.Pte, depth: 3, ptr: 0x4008, val: 0n, leaf: true });
    expect(lookupAddress(pt, 0x1000, MiB2 + 5n)).toEqual({ level: PgtLevel.Pmd, depth: 2, ptr: 0x3008, val: 0x20_0000n | P | PS, leaf: true });
    expect(lookupAddress(pt, 0x1000, GiB)).toMatchObject({ level: PgtLevel.Pud, ptr: 0x2008, leaf: true });
    expect(lookupAddress(pt, 0x1000, 2n * GiB)).toMatchObject({ level: PgtLevel.Pud, ptr: 0x2010, val: 0x1234_0000n, leaf: false });
    expect(lookupAddress(pt, 0x1000, 3n * MiB2)).toBeNull();
    expect(lookupAddress(pt, 0x1000, 1n << 39n)).toBeNull();
    // A canonical kernel address is looked up by the bits the mode translates.
    const high = tables(GEOMETRY["4level"], [[0x1000 + 8 * 273, 0x2000n | P], [0x2000, 0x3000n | P], [0x3000, 0x4000n | P], [0x4000 + 8 * 5, 0x9000n | P]]);
    expect(lookupAddress(high, 0x1000, 0xffff_8880_0000_5000n)).toMatchObject({ level: PgtLevel.Pte, ptr: 0x4028, val: 0x9000n | P });
  });
});
