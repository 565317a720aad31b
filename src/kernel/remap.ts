/**
 * Filling a pfn VMA at once (mm/memory.c remap_pfn_range → remap_pte_range;
 * in init_mm, mm/vmalloc.c vmap_range): every leaf of the range is written,
 * tables are allocated on the way, and each pte table is filled under one
 * lock in lazy MMU mode.
 */
import { entryAt, pxdAllocOffset } from "./mm-walk.js";
import { entryKindAt, pteDepth, spanAt } from "./arch.js";
import { PROT_WRITE } from "./mman.js";
import type { Mm } from "./mm.js";
import { __pxdAlloc, pteAllocMapLock, pteUnmapUnlock, setPteAt } from "./pgtable-generic.js";
import type { PgtLevel } from "./types.js";
import type { Vma } from "./vma.js";

/**
 * Write every leaf of the pfn VMA `vma` in [s, e). false = out of memory
 * (the caller unwinds). `modified` collects the kinds of the entries that
 * were populated (PGTBL_*_MODIFIED).
 */
export function remapPfnRange(mm: Mm, vma: Vma, s: bigint, e: bigint, modified: Set<PgtLevel>): boolean {
  const k = mm.k, arch = mm.arch, t = arch.tables(mm);
  const depth = mm.leafDepth(vma.pageSize);
  const last = pteDepth(t);
  const ps = BigInt(vma.pageSize);
  const writable = (vma.prot & PROT_WRITE) !== 0;
  const leaf = (va: bigint, huge: boolean): bigint => arch.mkPte(mm, vma.pa + Number(va - vma.start), vma.prot, writable, huge);
  for (let va = s; va < e;) {
    if (depth !== last) {
      const p = pxdAllocOffset(mm, va, depth, modified);
      if (p === null) return false;
      const ptl = arch.pxdLockptr(mm, p, depth);
      ptl.lock();
      try { arch.setPxd(mm, depth, p, leaf(va, true)); } finally { ptl.unlock(); }
      va += ps;
      continue;
    }
    // One pte table at a time: its pmd entry, then every pte up to the table's end under one lock.
    const pmdp = pxdAllocOffset(mm, va, depth - 1, modified);
    if (pmdp === null) return false;
    const tableEnd = (va | (spanAt(t, depth - 1) - 1n)) + 1n;
    const stop = tableEnd < e ? tableEnd : e;
    if (mm.isInitMm) {
      // init_mm's pte tables have no split lock: init_mm.page_table_lock serialises them.
      if (arch.pxdNone(mm, arch.readEntry(mm, pmdp), depth - 1)) {
        if (!__pxdAlloc(k, mm, pmdp, depth - 1)) return false;
        modified.add(entryKindAt(t, depth - 1));
      }
      const tablePa = arch.pxdTable(mm, arch.readEntry(mm, pmdp), depth - 1)!;
      mm.pageTableLock.lock();
      arch.enterLazyMmu(mm);
      try {
        for (; va < stop; va += ps) arch.setPteAt(mm, va, entryAt(mm, tablePa, depth, va), leaf(va, false));
      } finally { arch.leaveLazyMmu(mm); mm.pageTableLock.unlock(); }
      continue;
    }
    if (arch.pxdNone(mm, arch.readEntry(mm, pmdp), depth - 1)) modified.add(entryKindAt(t, depth - 1));
    const m = pteAllocMapLock(k, mm, pmdp, va);
    if (!m) return false;
    arch.enterLazyMmu(mm);                                  // remap_pte_range batches its writes
    try {
      for (let i = 0; va < stop; va += ps, i++) setPteAt(k, m.pte.offset(i), leaf(va, false));
    } finally { arch.leaveLazyMmu(mm); pteUnmapUnlock(k, m.pte, m.ptl); }
  }
  return true;
}
