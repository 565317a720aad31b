/**
 * Changing the protection of a VMA's leaves (mm/mprotect.c change_protection
 * → change_pte_range, change_huge_pmd): every present leaf is rewritten with
 * the new protection through ptep_modify_prot_start/commit, and its
 * translation handed to the mmu_gather for the flush.
 */
import { pteDepth } from "./arch.js";
import { PROT_WRITE } from "./mman.js";
import type { Mm } from "./mm.js";
import type { MmuGather } from "./mmu-gather.js";
import { forEachLeafTable } from "./mm-walk.js";
import { ptepGet, pteOffsetMapLock, pteUnmapUnlock } from "./pgtable-generic.js";
import { PAGE_SHIFT } from "./types.js";
import type { Vma } from "./vma.js";

export function changeProtection(mm: Mm, gather: MmuGather, vma: Vma): void {
  const k = mm.k, arch = mm.arch;
  const { pteModify, ptepModifyProt } = arch;
  if (!pteModify || !ptepModifyProt) throw mm.arch.mmError("EINVAL", `mprotect: not modelled on this architecture (${arch.pagingName(mm)})`);
  const depth = mm.leafDepth(vma.pageSize);
  const last = pteDepth(arch.tables(mm));
  const ps = BigInt(vma.pageSize);
  const zero = arch.zeroPage(mm);
  /** pte_modify with the VMA's new protection; a page still shared with the zero page stays read-only. */
  const modify = (old: bigint, d: number): bigint => {
    const writable = (vma.prot & PROT_WRITE) !== 0 && !(vma.kind === "anon" && arch.leafPa(mm, old, d) === zero);
    return pteModify.call(arch, mm, old, vma.prot, writable, d);
  };
  forEachLeafTable(mm, vma.start, vma.end, depth, (p, s, e) => {
    if (depth !== last) {
      const ptl = arch.pxdLockptr(mm, p, depth);
      ptl.lock();
      try {
        const old = arch.readEntry(mm, p);
        if (arch.pxdNone(mm, old, depth)) return;
        const fresh = modify(old, depth);
        if (fresh !== old) {
          arch.setPxd(mm, depth, p, fresh);                    // change_huge_pmd
          gather.removeTlbEntry(s, Math.log2(vma.pageSize));
        }
      } finally { ptl.unlock(); }
      return;
    }
    if (mm.isInitMm) throw new Error("mprotect on init_mm is not supported (use set_memory_*)");
    const m = pteOffsetMapLock(k, mm, p, s);
    if (!m) return;
    arch.enterLazyMmu(mm);                                       // change_pte_range
    try {
      for (let va = s, i = 0; va < e; va += ps, i++) {
        const pte = m.pte.offset(i);
        const old = ptepGet(k, pte);
        if (arch.pteNone(old)) continue;
        if (modify(old, last) === old) continue;
        ptepModifyProt.call(arch, mm, va, pte.pa, (was) => modify(was, last));
        gather.removeTlbEntry(va, PAGE_SHIFT);
      }
    } finally { arch.leaveLazyMmu(mm); pteUnmapUnlock(k, m.pte, m.ptl); }
  });
}
