/**
 * free_pgtables over an unmapped range (mm/memory.c free_pgtables →
 * free_pgd_range … free_pte_range): every table below the top that the
 * range reaches and that may go by the architecture's rule
 * (MmArch.freePgtablesRule) is detached — its parent entry cleared without
 * the table lock, as free_pgd_range does under the exclusive mmap_lock —
 * uncounted, and handed to the gather, which frees it after the flush and
 * the grace period.
 *
 * With the "unspanned" rule two limits keep the walk honest:
 *  - nothing beyond what the top table covers is walked: a range there has
 *    no VMA and no table, and its index would wrap onto the low entries;
 *  - a table that goes is emptied completely first, not only over [s, e):
 *    a table can hang outside every VMA (s390's old top table after
 *    crst_table_upgrade), and a parent freed over a hole would otherwise
 *    leave it allocated and unreachable. Everything under an unused span is
 *    itself unused, so this frees nothing still needed.
 */
import { indexAt, pteDepth, spanAt } from "./arch.js";
import type { Mm } from "./mm.js";
import type { MmuGather } from "./mmu-gather.js";
import type { PhysAddr } from "./types.js";

export function freePgtables(mm: Mm, gather: MmuGather, s: bigint, e: bigint): void {
  const arch = mm.arch, t = arch.tables(mm), last = pteDepth(t);
  const bytes = arch.entryBytes(mm);
  const covered = BigInt(t[0]!.entries) * spanAt(t, 0);
  if (e > covered) e = covered;
  if (s >= e) return;
  // floor: the end of the VMA below the range; ceiling: the start of the one above.
  let floor = 0n, ceiling = covered;
  for (const v of mm.vmas) {
    if (v.end <= s && v.end > floor) floor = v.end;
    if (v.start >= e && v.start < ceiling) ceiling = v.start;
  }
  const unspanned = arch.freePgtablesRule === "unspanned";
  /** Does the table at `pa` (at `depth`) hold no entry at all? */
  const empty = (pa: PhysAddr, depth: number): boolean => {
    const b = mm.k.phys.readBytes(pa, t[depth]!.entries * bytes);
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
    return true;
  };
  const visit = (table: PhysAddr, d: number, lo: bigint, hi: bigint): void => {
    const span = spanAt(t, d);
    for (let va = lo; va < hi;) {
      const base = va & ~(span - 1n);
      const next = base + span;
      const stop = next < hi ? next : hi;
      const p = table + indexAt(t, d, va) * bytes;
      const child = d < last ? arch.pxdTable(mm, arch.readEntry(mm, p), d) : null;
      if (child !== null) {
        const unused = unspanned && floor <= base && next <= ceiling;
        // A table about to go is walked over its whole span; one that stays only where the range reaches into it.
        if (d + 1 < last) visit(child, d + 1, unused ? base : va, unused ? next : stop);
        if (unspanned ? unused : empty(child, d + 1)) {
          arch.pxdClear(mm, d, p);
          mm.countTables(t[d + 1]!.level, -1);
          arch.pxdFreeTlb(mm, gather, d, child, base);
        }
      }
      va = stop;
    }
  };
  visit(mm.pgd, 0, s, e);
}
