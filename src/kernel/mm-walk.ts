/**
 * Walking an mm's tables from the top (pgd_offset, p4d_offset … pmd_offset;
 * p4d_alloc … pmd_alloc on the way; follow_pte): the generic walks every mm
 * operation is built on, over the tables the architecture describes
 * (MmArch.tables). Range walks and lookups go through the one page-range
 * walker (pagewalk.ts) with the mm's tables as mmPageTables describes them.
 */
import { indexAt, entryKindAt, pteDepth, spanAt } from "./arch.js";
import type { Mm } from "./mm.js";
import { entryOps, lookupAddress, type PageTables, WalkAction, walkPageRange } from "./pagewalk.js";
import { __pxdAlloc } from "./pgtable-generic.js";
import type { PgtLevel, PhysAddr } from "./types.js";

const hex = (v: bigint | number): string => "0x" + v.toString(16);

/** Address of the entry for `va` in the table at `table`, which sits at `depth`. */
export const entryAt = (mm: Mm, table: PhysAddr, depth: number, va: bigint): PhysAddr =>
  table + indexAt(mm.arch.tables(mm), depth, va) * mm.arch.entryBytes(mm);

/**
 * The address of the entry for `va` in the table at `depth`, allocating the
 * missing tables above it (p4d_alloc … pmd_alloc); null when out of memory.
 * `modified` collects the kinds of the entries that were populated
 * (PGTBL_*_MODIFIED).
 */
export function pxdAllocOffset(mm: Mm, va: bigint, depth: number, modified?: Set<PgtLevel>): PhysAddr | null {
  const arch = mm.arch, t = arch.tables(mm);
  let table = mm.pgd;
  for (let d = 0; d < depth; d++) {
    const p = entryAt(mm, table, d, va);
    let e = arch.readEntry(mm, p);
    if (arch.pxdNone(mm, e, d)) {
      if (!__pxdAlloc(mm.k, mm, p, d)) return null;
      modified?.add(entryKindAt(t, d));
      e = arch.readEntry(mm, p);
    }
    const child = arch.pxdTable(mm, e, d);
    if (child === null) throw new Error(`internal: ${hex(va)} crosses a leaf or non-present entry at depth ${d} (${hex(e)})`);
    table = child;
  }
  return entryAt(mm, table, depth, va);
}

/** The address of the entry for `va` in the table at `depth`, or null if a table on the way is missing. */
export function pxdOffset(mm: Mm, va: bigint, depth: number): PhysAddr | null {
  const arch = mm.arch;
  let table = mm.pgd;
  for (let d = 0; d < depth; d++) {
    const child = arch.pxdTable(mm, arch.readEntry(mm, entryAt(mm, table, d, va)), d);
    if (child === null) return null;
    table = child;
  }
  return entryAt(mm, table, depth, va);
}

/**
 * An mm's tables as the page-range walker (pagewalk.ts) reads them, judged
 * and followed by the mm's architecture (MmArch).
 */
export function mmPageTables(mm: Mm): PageTables {
  const arch = mm.arch, t = arch.tables(mm), top = t[0]!;
  return {
    g: { tables: t, vaBits: top.shift + Math.log2(top.entries), entryBytes: arch.entryBytes(mm) },
    readEntry: (p) => arch.readEntry(mm, p),
    none: (e, d) => arch.pxdNone(mm, e, d),
    huge: (e, d) => arch.pxdHuge(mm, e, d),
    tableAddr: (e, d) => arch.pxdTable(mm, e, d),
  };
}

/**
 * Visit, for [s, e) with leaves at `depth`: for pte leaves each pmd entry
 * that is not none (with the part of [s, e) it covers), for huge leaves each
 * leaf entry that is not none — the loops of zap_pmd_range and
 * change_pmd_range, on the page-range walker.
 */
export function forEachLeafTable(mm: Mm, s: bigint, e: bigint, depth: number,
  fn: (p: PhysAddr, s: bigint, e: bigint) => void): void {
  const pt = mmPageTables(mm), t = pt.g.tables;
  const target = depth === pteDepth(t) ? depth - 1 : depth;
  // The walker counts addresses from 0 up to 2^vaBits; a kernel range
  // (sign-extended) is walked there and handed back sign-extended.
  const mask = (1n << BigInt(pt.g.vaBits)) - 1n, high = s & ~mask;
  const ws = s & mask, we = ((e - 1n) & mask) + 1n;
  walkPageRange(pt, mm.pgd, ws, we, entryOps(entryKindAt(t, target), (w) => {
    fn(w.ptr, high + (w.addr > ws ? w.addr : ws), high + (w.next < we ? w.next : we));
    w.action = WalkAction.Continue;
  }));
}

/** The leaf mapping a virtual address (Mm.lookup). */
export interface Leaf {
  /** The physical address `va` translates to. */
  pa: PhysAddr;
  /** The leaf's page size. */
  size: number;
  /** The raw leaf (which may be a not-present PROT_NONE leaf). */
  entry: bigint;
  entryPa: PhysAddr;
}

/** follow_pte-like software walk, no side effects: the leaf that maps va, or null. */
export function lookupLeaf(mm: Mm, va: bigint): Leaf | null {
  const arch = mm.arch, pt = mmPageTables(mm);
  const l = lookupAddress(pt, mm.pgd, va);
  if (l === null || !l.leaf) return null;
  if (l.depth === pteDepth(pt.g.tables) && arch.pteNone(l.val)) return null;
  if (!arch.ptePresent(l.val)) return null;
  const span = spanAt(pt.g.tables, l.depth);
  return { pa: arch.leafPa(mm, l.val, l.depth) + Number(va & (span - 1n)), size: Number(span), entry: l.val, entryPa: l.ptr };
}
