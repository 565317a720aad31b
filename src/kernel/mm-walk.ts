/**
 * Walking an mm's tables from the top (pgd_offset, p4d_offset … pmd_offset;
 * p4d_alloc … pmd_alloc on the way; mm/pagewalk.c's range walk; follow_pte):
 * the generic walks every mm operation is built on, over the tables the
 * architecture describes (MmArch.tables).
 */
import { indexAt, entryKindAt, pteDepth, spanAt } from "./arch.js";
import type { Mm } from "./mm.js";
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
 * Visit, for [s, e) with leaves at `depth`: for pte leaves each pmd entry
 * (with the sub-range it covers), for huge leaves each leaf entry. Missing
 * tables are skipped.
 */
export function forEachLeafTable(mm: Mm, s: bigint, e: bigint, depth: number,
  fn: (p: PhysAddr, s: bigint, e: bigint) => void): void {
  const arch = mm.arch, t = arch.tables(mm);
  const target = depth === pteDepth(t) ? depth - 1 : depth;
  const visit = (table: PhysAddr, d: number, lo: bigint, hi: bigint): void => {
    const span = spanAt(t, d);
    for (let va = lo; va < hi;) {
      const next = (va | (span - 1n)) + 1n;
      const stop = next < hi ? next : hi;
      const p = entryAt(mm, table, d, va);
      if (d === target) fn(p, va, stop);
      else {
        const child = arch.pxdTable(mm, arch.readEntry(mm, p), d);
        if (child !== null) visit(child, d + 1, va, stop);
      }
      va = stop;
    }
  };
  visit(mm.pgd, 0, s, e);
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
  const arch = mm.arch, t = arch.tables(mm), last = pteDepth(t);
  let table = mm.pgd;
  for (let d = 0; d <= last; d++) {
    const p = entryAt(mm, table, d, va);
    const e = arch.readEntry(mm, p);
    if (d === last ? arch.pteNone(e) : arch.pxdNone(mm, e, d)) return null;
    if (d === last || arch.pxdHuge(mm, e, d)) {
      if (!arch.ptePresent(e)) return null;
      const span = spanAt(t, d);
      return { pa: arch.leafPa(mm, e, d) + Number(va & (span - 1n)), size: Number(span), entry: e, entryPa: p };
    }
    const child = arch.pxdTable(mm, e, d);
    if (child === null) return null;
    table = child;
  }
  return null;
}
