/**
 * The page-fault handler (mm/memory.c handle_mm_fault → handle_pte_fault:
 * do_anonymous_page, do_fault, do_wp_page; do_huge_pmd_anonymous_page), one
 * implementation for every architecture. What differs — the zero page, how
 * a pte is built, whether the fault path has to set young and dirty in
 * software — is asked of the mm's MmArch.
 */
import { pteDepth, spanAt } from "./arch.js";
import { PROT_WRITE } from "./mman.js";
import type { FaultResult, Mm } from "./mm.js";
import { pxdAllocOffset } from "./mm-walk.js";
import {
  ptepClearFlush, ptepGet, ptepSetAccessFlags, pteAllocMapLock, pteUnmapUnlock, setPteAt, type PtePtr,
} from "./pgtable-generic.js";
import { PAGE_SIZE, type PhysAddr } from "./types.js";
import type { Vma } from "./vma.js";

const OOM: FaultResult = { ok: false, error: "oom" };
const SEGV: FaultResult = { ok: false, error: "segv" };

/** handle_mm_fault for an access the VMA allows; mmap_lock held for read. */
export function handleMmFault(mm: Mm, vma: Vma, va: bigint, write: boolean): FaultResult {
  const depth = mm.leafDepth(vma.pageSize);
  return depth === pteDepth(mm.arch.tables(mm)) ? handlePteFault(mm, vma, va, write) : handleHugeFault(mm, vma, va, depth, write);
}

/** The frame a pfn VMA maps at `page`. */
const pfnAt = (vma: Vma, page: bigint): PhysAddr => vma.pa + Number(page - vma.start);

function handlePteFault(mm: Mm, vma: Vma, va: bigint, write: boolean): FaultResult {
  const k = mm.k, arch = mm.arch;
  const page = va & ~BigInt(PAGE_SIZE - 1);
  const off = Number(va - page);
  const pmdp = pxdAllocOffset(mm, va, pteDepth(arch.tables(mm)) - 1);
  if (pmdp === null) return OOM;
  const m = pteAllocMapLock(k, mm, pmdp, va);
  if (!m) return OOM;
  try {
    const old = ptepGet(k, m.pte);
    if (arch.pteNone(old)) return doPteMissing(mm, vma, m.pte, page, off, write);
    if (!arch.ptePresent(old)) return SEGV;                  // no swap in this model
    const pa = arch.leafPa(mm, old, pteDepth(arch.tables(mm)));
    if (write && !arch.pteWrite(old)) return doWpPage(mm, vma, m.pte, old, pa, off);
    let entry = old;
    if (write) entry = arch.pteMkdirty(entry);
    entry = arch.pteMkyoung(entry);
    ptepSetAccessFlags(k, m.pte, entry, write);
    return { ok: true, pa: pa + off };
  } finally { pteUnmapUnlock(k, m.pte, m.ptl); }
}

/**
 * do_anonymous_page / do_fault on a none pte: a pfn VMA maps its frame; an
 * anonymous read maps the shared zero page read-only where the architecture
 * has one, anything else gets a fresh zeroed frame, writable and dirty if
 * the VMA is writable.
 */
function doPteMissing(mm: Mm, vma: Vma, pte: PtePtr, page: bigint, off: number, write: boolean): FaultResult {
  const k = mm.k, arch = mm.arch;
  const vmaWritable = (vma.prot & PROT_WRITE) !== 0;
  const zero = arch.zeroPage(mm);
  let entry: bigint;
  let pa: PhysAddr;
  if (vma.kind === "pfn") {
    pa = pfnAt(vma, page);
    entry = arch.mkPte(mm, pa, vma.prot, vmaWritable, false);
    if (write) entry = arch.pteMkdirty(entry);
  } else if (!write && zero !== null) {
    pa = zero;
    entry = arch.mkPte(mm, pa, vma.prot, false, false);
  } else {
    const pfn = k.alloc.allocPage({ zero: true });
    if (pfn === null) return OOM;
    pa = pfn * PAGE_SIZE;
    entry = arch.mkPte(mm, pa, vma.prot, vmaWritable, false);
    if (vmaWritable) entry = arch.pteMkwrite(arch.pteMkdirty(entry));
  }
  setPteAt(k, pte, entry);
  return { ok: true, pa: pa + off };
}

/**
 * do_wp_page: a write to a present pte without write permission in a
 * writable VMA. A copy of the zero page is a fresh zeroed frame
 * (wp_page_copy, with ptep_clear_flush before the new pte); any other page
 * is this mm's own and only needs the write bit (wp_page_reuse — no flush: a
 * stale read-only TLB entry at most causes one more, spurious, fault).
 */
function doWpPage(mm: Mm, vma: Vma, pte: PtePtr, old: bigint, pa: PhysAddr, off: number): FaultResult {
  const k = mm.k, arch = mm.arch;
  if (vma.kind === "anon" && pa === arch.zeroPage(mm)) {
    const pfn = k.alloc.allocPage({ zero: true });
    if (pfn === null) return OOM;
    ptepClearFlush(k, pte);
    setPteAt(k, pte, arch.pteMkdirty(arch.mkPte(mm, pfn * PAGE_SIZE, vma.prot, true, false)));
    return { ok: true, pa: pfn * PAGE_SIZE + off };
  }
  setPteAt(k, pte, arch.pteMkwrite(arch.pteMkdirty(old)));
  return { ok: true, pa: pa + off };
}

/** A huge leaf (do_huge_pmd_anonymous_page; pfn huge VMAs are populated at mapRange). */
function handleHugeFault(mm: Mm, vma: Vma, va: bigint, depth: number, write: boolean): FaultResult {
  const k = mm.k, arch = mm.arch;
  const ps = spanAt(arch.tables(mm), depth);
  const page = va & ~(ps - 1n);
  const off = Number(va - page);
  const p = pxdAllocOffset(mm, va, depth);
  if (p === null) return OOM;
  const ptl = arch.pxdLockptr(mm, p, depth);
  ptl.lock();
  try {
    const old = arch.readEntry(mm, p);
    if (!arch.pxdNone(mm, old, depth)) return { ok: true, pa: arch.leafPa(mm, old, depth) + off };
    let pa: PhysAddr;
    if (vma.kind === "pfn") pa = pfnAt(vma, page);
    else {
      const pfn = k.alloc.allocPages(Math.log2(vma.pageSize / PAGE_SIZE), { zero: true });
      if (pfn === null) return OOM;
      pa = pfn * PAGE_SIZE;
    }
    let entry = arch.mkPte(mm, pa, vma.prot, (vma.prot & PROT_WRITE) !== 0, true);
    if (write) entry = arch.pteMkdirty(entry);
    arch.setPxd(mm, depth, p, entry);
    return { ok: true, pa: pa + off };
  } finally { ptl.unlock(); }
}
