/**
 * x86 page-table page allocation and pgd management
 * (arch/x86/mm/pgtable.c, arch/x86/include/asm/pgalloc.h).
 *
 * Names follow the kernel: the level first, then the verb, in pairs —
 * pteAllocOne/pteFree, pgdCtor/pgdDtor, preallocatePmds/freePmds,
 * pgdAlloc/pgdFree. Unwinding runs in the exact reverse order of
 * acquisition, and every free mirrors its alloc.
 */
import { BusError } from "../../phys/phys-mem.js";
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "../types.js";
import { entryPtr, rawStore, readEntry, readEntryRaw, setEntry } from "./entry.js";
import { pgdListAdd, pgdListDel } from "./kernel-mappings.js";
import { _KERNPG_TABLE, _PAGE_PRESENT, _PAGE_TABLE, entryAddr, entryKind } from "./pgtable-types.js";

// ── paravirt alloc/release pairs by level ─────────────────────────────────

export function paravirtAlloc(k: Kernel, mm: Mm, level: PgtLevel, pt: PtDesc): void {
  switch (level) {
    case PgtLevel.Pte: k.ops.allocPte(mm, pt.pfn); break;
    case PgtLevel.Pmd: k.ops.allocPmd(mm, pt.pfn); break;
    case PgtLevel.Pud: k.ops.allocPud(mm, pt.pfn); break;
    case PgtLevel.P4d: k.ops.allocP4d(mm, pt.pfn); break;
    case PgtLevel.Pgd: throw new Error("pgds are announced with the pgdAlloc hook, not alloc_*");
  }
}

export function paravirtRelease(k: Kernel, level: PgtLevel, pt: PtDesc): void {
  switch (level) {
    case PgtLevel.Pte: k.ops.releasePte(pt.pfn); break;
    case PgtLevel.Pmd: k.ops.releasePmd(pt.pfn); break;
    case PgtLevel.Pud: k.ops.releasePud(pt.pfn); break;
    case PgtLevel.P4d: k.ops.releaseP4d(pt.pfn); break;
    case PgtLevel.Pgd: throw new Error("pgds are released with the pgdFree hook, not release_*");
  }
}

// ── table pages: {pte,pmd,pud,p4d}_alloc_one / _free ─────────────────────

/**
 * pte_alloc_one / pmd_alloc_one / pud_alloc_one / p4d_alloc_one: a zeroed page
 * and its ctor. A ctor can fail (it may allocate the split lock): the page is
 * then freed at once and null reported.
 */
export function tableAllocOne(k: Kernel, mm: Mm, level: PgtLevel): PtDesc | null {
  const pt = k.ptdescs.pagetableAlloc(0);
  if (!pt) return null;
  if (!k.ptdescs.ctorFor(level, mm, pt)) {
    k.ptdescs.pagetableFree(pt);
    return null;
  }
  return pt;
}

/** pte_free / pmd_free / …: dtor + free (pagetable_dtor_free). */
export function tableFree(k: Kernel, pt: PtDesc): void { k.ptdescs.dtorFree(pt); }

export const pteAllocOne = (k: Kernel, mm: Mm): PtDesc | null => tableAllocOne(k, mm, PgtLevel.Pte);
export const pmdAllocOne = (k: Kernel, mm: Mm): PtDesc | null => tableAllocOne(k, mm, PgtLevel.Pmd);
export const pteFree = tableFree;
export const pmdFree = tableFree;

/**
 * pmd_populate / pud_populate / p4d_populate / pgd_populate: announce the
 * child table to the backend (paravirt_alloc_*), then publish the entry.
 * Table entries carry _PAGE_TABLE (user) or _KERNPG_TABLE (init_mm); a PAE
 * pgd slot only PRESENT (the rest is reserved there, SDM 4.4.1).
 */
export function populate(k: Kernel, mm: Mm, entryPa: PhysAddr, depth: number, child: PtDesc, check = true): void {
  const g = k.geometry;
  const childLevel = g.tables[depth + 1]!.level;
  paravirtAlloc(k, mm, childLevel, child);
  const flags = g.mode === "pae" && depth === 0 ? _PAGE_PRESENT : mm.isInitMm ? _KERNPG_TABLE : _PAGE_TABLE;
  setEntry(k, entryKind(g, depth), entryPa, BigInt(child.pa) | flags, check);
  if (g.mode === "pae" && depth === 0) paePdptChanged(k, mm);
}

/**
 * A PAE PDPT entry changed: the CPU holds PDPTEs in registers loaded at CR3
 * load time, so a loaded mm needs a CR3 reload (Intel application note
 * 317080 "TLBs, Paging-Structure Caches, and Their Invalidation", §8.1; the
 * comment at pud_populate in pgtable-3level.h).
 */
export function paePdptChanged(k: Kernel, mm: Mm): void {
  if (k.tlb.loadedMm === mm && k.tlb.cr3Loaded) k.ops.writeCr3(k.ops.readCr3() & ~(1n << 63n));
}

// ── pgd allocation ────────────────────────────────────────────────────

/** PREALLOCATED_PMDS: PAE ? (SHARED ? KERNEL_PGD_BOUNDARY : PTRS_PER_PGD) : 0. */
export function preallocatedPmds(k: Kernel): number {
  if (k.geometry.mode !== "pae") return 0;
  return k.sharedKernelPmd ? k.geometry.kernelPgdBoundary : k.geometry.tables[0]!.entries;
}

/** PGD_ALLOCATION_ORDER: 1 with PTI (kernel pgd + user pgd), else 0. */
export const pgdAllocationOrder = (k: Kernel): number => (k.pti ? 1 : 0);

/** _pgd_alloc: a 32-byte object when PAE shares the kernel PMD, else whole page(s) with the pgd ctor. */
function _pgdAlloc(k: Kernel, mm: Mm): PhysAddr | null {
  if (k.sharedKernelPmd) return k.pgdCache.alloc(mm);
  const pt = k.ptdescs.pagetableAlloc(pgdAllocationOrder(k));
  if (!pt) return null;
  k.ptdescs.pgdCtor(mm, pt);
  return pt.pa;
}

function _pgdFree(k: Kernel, pgd: PhysAddr): void {
  if (k.sharedKernelPmd) { k.pgdCache.free(pgd); return; }
  k.ptdescs.dtorFree(k.ptdescs.get(pgd / PAGE_SIZE)!);
}

/** free_pmds: null-tolerant; dtor + free each, mm_dec_nr_pmds. */
export function freePmds(k: Kernel, mm: Mm, pmds: (PtDesc | null)[]): void {
  for (const pmd of pmds) {
    if (!pmd) continue;
    tableFree(k, pmd);
    mm.nrPmds--;
  }
}

/**
 * preallocate_pmds: all or nothing. Every slot is tried; a failed allocation
 * or ctor is remembered, and at the end one free_pmds cleans up every success.
 */
export function preallocatePmds(k: Kernel, mm: Mm, count: number): PtDesc[] | null {
  const pmds: (PtDesc | null)[] = [];
  let failed = false;
  for (let i = 0; i < count; i++) {
    const pmd = pmdAllocOne(k, mm);
    if (!pmd) failed = true;
    else mm.nrPmds++;
    pmds.push(pmd);
  }
  if (failed) { freePmds(k, mm, pmds); return null; }
  return pmds as PtDesc[];
}

/**
 * pgd_ctor: copy the kernel part of swapper_pg_dir (clone_pgd_range; with PTI
 * also into the user half), and unless the kernel PMD is shared, record the
 * owner (pt_mm) and put the pgd on pgd_list. Caller holds pgd_lock.
 */
function pgdCtor(k: Kernel, mm: Mm, pgd: PhysAddr): void {
  const g = k.geometry;
  const b = g.kernelPgdBoundary, n = g.tables[0]!.entries;
  const swapper = k.initMm.pgd;
  // PAE with an unshared PMD: the kernel slot is filled by pgd_prepopulate_pmd with a private copy.
  if (g.mode !== "pae" || k.sharedKernelPmd) {
    for (const half of k.pti ? [0, PAGE_SIZE] : [0])
      for (let i = b; i < n; i++) rawStore(k, entryPtr(k, pgd + half, i), readEntryRaw(k, entryPtr(k, swapper + half, i)));
  }
  if (!k.sharedKernelPmd) {
    const pt = k.ptdescs.get(pgd / PAGE_SIZE)!;
    pt.mm = mm;                         // pt_mm, read by pgd_list walkers
    pgdListAdd(k, pt);
  }
}

/** pgd_dtor: off pgd_list (under pgd_lock) unless the kernel PMD is shared. */
function pgdDtor(k: Kernel, pgd: PhysAddr): void {
  if (k.sharedKernelPmd) return;
  k.pgdLock.lock();
  try { pgdListDel(k, k.ptdescs.get(pgd / PAGE_SIZE)!); } finally { k.pgdLock.unlock(); }
}

/**
 * pgd_prepopulate_pmd: install the preallocated pmds; slots in the kernel
 * part get a private copy of swapper's kernel pmd first (the pmd is not yet
 * visible, so the copy is a plain store).
 */
function pgdPrepopulatePmd(k: Kernel, mm: Mm, pgd: PhysAddr, pmds: PtDesc[]): void {
  const g = k.geometry;
  for (let i = 0; i < pmds.length; i++) {
    const pmd = pmds[i]!;
    if (i >= g.kernelPgdBoundary) {
      pmd.kernelPart = true;
      const ref = readEntry(k, entryPtr(k, k.initMm.pgd, i));
      if (ref & _PAGE_PRESENT) {
        const src = entryAddr(g, ref);
        for (let j = 0; j < g.tables[1]!.entries; j++) rawStore(k, entryPtr(k, pmd.pa, j), readEntryRaw(k, entryPtr(k, src, j)));
      }
    }
    // pud_populate on a pgd nobody can load yet: no lock needed (pgd_alloc holds pgd_lock).
    populate(k, mm, entryPtr(k, pgd, i), 0, pmd, false);
  }
}

/**
 * pgd_alloc: (1) the pgd, (2) preallocated pmds, (3) the backend's
 * paravirt_pgd_alloc, (4) pgd_ctor + pgd_prepopulate_pmd under pgd_lock so
 * that pgd_list walkers never see a half-built pgd. Returns the pgd's
 * physical address or null, having undone everything.
 */
export function pgdAlloc(k: Kernel, mm: Mm): PhysAddr | null {
  const pgd = _pgdAlloc(k, mm);
  if (pgd === null) return null;
  mm.pgd = pgd;
  const pmds = preallocatePmds(k, mm, preallocatedPmds(k));
  if (!pmds) { _pgdFree(k, pgd); return null; }
  if (!k.ops.pgdAlloc(mm)) { freePmds(k, mm, pmds); _pgdFree(k, pgd); return null; }
  k.pgdLock.lock();
  try {
    pgdCtor(k, mm, pgd);
    pgdPrepopulatePmd(k, mm, pgd, pmds);
  } finally { k.pgdLock.unlock(); }
  return pgd;
}

/**
 * pgd_mop_up_pmds: clear each nonzero preallocated slot, release the pmd to
 * the backend, dtor + free it. (free_pgtables may already have freed user
 * pmds; those slots are zero.)
 */
function pgdMopUpPmds(k: Kernel, mm: Mm, pgd: PhysAddr): void {
  for (let i = 0; i < preallocatedPmds(k); i++) {
    const p = entryPtr(k, pgd, i);
    const e = readEntry(k, p);
    if (!(e & _PAGE_PRESENT)) continue;
    rawStore(k, p, 0n);                 // the pgd is dead: no walker can load it any more
    const pmd = k.ptdescs.get(entryAddr(k.geometry, e) / PAGE_SIZE)!;
    paravirtRelease(k, PgtLevel.Pmd, pmd);
    tableFree(k, pmd);
    mm.nrPmds--;
  }
}

/** pgd_free: mirror of pgd_alloc. */
export function pgdFree(k: Kernel, mm: Mm, pgd: PhysAddr): void {
  pgdMopUpPmds(k, mm, pgd);
  pgdDtor(k, pgd);
  k.ops.pgdFree(mm, pgd);
  _pgdFree(k, pgd);
}

// ── swapper_pg_dir ────────────────────────────────────────────────────────

/**
 * Build init_mm's pgd (swapper_pg_dir). On PAE the kernel pmd of every kernel
 * slot exists from boot (head_32.S), so that shared-PMD pgds can point to it.
 */
export function swapperInit(k: Kernel, initMm: Mm): void {
  const pt = k.ptdescs.pagetableAlloc(pgdAllocationOrder(k));
  if (!pt) throw new Error("kernel init: no memory for swapper_pg_dir");
  k.ptdescs.pgdCtor(initMm, pt);
  initMm.pgd = pt.pa;
  const g = k.geometry;
  if (g.mode === "pae") {
    initMm.pageTableLock.lock();
    try {
      for (let i = g.kernelPgdBoundary; i < g.tables[0]!.entries; i++) {
        const pmd = pmdAllocOne(k, initMm);
        if (!pmd) throw new Error("kernel init: no memory for the kernel pmd");
        populate(k, initMm, entryPtr(k, pt.pa, i), 0, pmd);
      }
    } finally { initMm.pageTableLock.unlock(); }
  }
}

/** A physical address check used by callers that map caller-supplied frames. */
export function checkPhysRange(k: Kernel, pa: number, size: number): void {
  if (!(pa >= 0 && pa + size <= k.phys.size)) throw new BusError(pa, size, k.phys.size);
}
