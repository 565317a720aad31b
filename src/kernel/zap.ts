/**
 * Tearing down the leaves of a VMA (mm/memory.c unmap_page_range →
 * zap_pte_range, zap_huge_pmd): each leaf is cleared, its translation
 * handed to the mmu_gather, and an anonymous page (not the zero page) queued
 * to be freed after the flush.
 */
import { entryAt, forEachLeafTable } from "./mm-walk.js";
import { pteDepth } from "./arch.js";
import type { Mm } from "./mm.js";
import type { MmuGather } from "./mmu-gather.js";
import { ptepGet, ptepGetAndClear, pteOffsetMapLock, pteUnmapUnlock } from "./pgtable-generic.js";
import { PAGE_SHIFT, PAGE_SIZE, type PhysAddr } from "./types.js";
import type { Vma } from "./vma.js";

export function zapVma(mm: Mm, gather: MmuGather, vma: Vma): void {
  const k = mm.k, arch = mm.arch, t = arch.tables(mm);
  const depth = mm.leafDepth(vma.pageSize);
  const last = pteDepth(t);
  const ps = BigInt(vma.pageSize);
  const shift = Math.log2(vma.pageSize);
  const order = shift - PAGE_SHIFT;
  const zero = arch.zeroPage(mm);
  const freeData = (old: bigint, d: number): void => {
    if (vma.kind !== "anon" || !arch.ptePresent(old)) return;
    const pa: PhysAddr = arch.leafPa(mm, old, d);
    if (pa !== zero) gather.removePage(pa / PAGE_SIZE, order);
  };
  forEachLeafTable(mm, vma.start, vma.end, depth, (p, s, e) => {
    if (depth !== last) {
      const ptl = arch.pxdLockptr(mm, p, depth);             // zap_huge_pmd / zap_huge_pud
      ptl.lock();
      try {
        const old = arch.readEntry(mm, p);
        if (arch.pxdNone(mm, old, depth)) return;
        arch.pxdClear(mm, depth, p);
        gather.removeTlbEntry(s, shift);
        freeData(old, depth);
      } finally { ptl.unlock(); }
      return;
    }
    if (mm.isInitMm) {
      // vunmap_pte_range: init_mm's pte tables are serialised by its page_table_lock.
      const tablePa = arch.pxdTable(mm, arch.readEntry(mm, p), depth - 1);
      if (tablePa === null) return;
      mm.pageTableLock.lock();
      arch.enterLazyMmu(mm);
      try {
        for (let va = s; va < e; va += ps) {
          const ptep = entryAt(mm, tablePa, depth, va);
          if (arch.pteNone(arch.readEntry(mm, ptep))) continue;
          arch.ptepGetAndClear(mm, va, ptep);
          gather.removeTlbEntry(va, PAGE_SHIFT);
        }
      } finally { arch.leaveLazyMmu(mm); mm.pageTableLock.unlock(); }
      return;
    }
    const m = pteOffsetMapLock(k, mm, p, s);                    // zap_pte_range
    if (!m) return;
    arch.enterLazyMmu(mm);
    try {
      for (let va = s, i = 0; va < e; va += ps, i++) {
        const pte = m.pte.offset(i);
        if (arch.pteNone(ptepGet(k, pte))) continue;
        const old = ptepGetAndClear(k, pte);                    // ptep_get_and_clear_full
        if (old === null) continue;
        gather.removeTlbEntry(va, PAGE_SHIFT);
        freeData(old, depth);
      }
    } finally { arch.leaveLazyMmu(mm); pteUnmapUnlock(k, m.pte, m.ptl); }
  });
}
