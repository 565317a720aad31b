/**
 * x86 page-table page allocation and pgd management
 * (arch/x86/mm/pgtable.c, arch/x86/include/asm/pgalloc.h; SPEC C.2–C.3).
 *
 * Names follow the kernel: the level first, then the verb, in pairs —
 * pteAllocOne/pteFree, pgdCtor/pgdDtor, preallocatePmds/freePmds,
 * pgdListAdd/pgdListDel, pgdAlloc/pgdFree. Unwinding runs in the exact
 * reverse order of acquisition, and every free mirrors its alloc.
 *
 * Every write into a table that is (or may be) visible to the walker goes
 * through the paravirt set_* hooks (setEntry). Initialising a table nobody can
 * see yet (clone_pgd_range into a new pgd, copying the kernel pmd) is a plain
 * store, as Linux's memcpy is.
 */
import { BusError } from "../../phys/phys-mem.js";
import type { Kernel } from "../kernel.js";
import { KernelBugError } from "../kernel.js";
import type { Mm } from "../mm.js";
import { PtDesc } from "../ptdesc.js";
import { useSplitPmdPtlocks, useSplitPtePtlocks, type SpinLock } from "../ptlock.js";
import { PAGE_SIZE, PGT_LEVEL_NAMES, PgtLevel, type PhysAddr } from "../types.js";
import {
  _KERNPG_TABLE, _PAGE_PRESENT, _PAGE_TABLE, depthOf, entryAddr, entryKind, isLeafEntry, tableIndex,
} from "./pgtable.js";

// ── entry access ──────────────────────────────────────────────────────────

export function readEntry(k: Kernel, pa: PhysAddr): bigint {
  // pte_val() & co.: identity natively, machine → pseudo-physical frame under
  // Xen PV. Every backend converts all levels alike (Xen's xen_pte_val,
  // xen_pmd_val, … are all pte_mfn_to_pfn), so one hook serves every level.
  return k.ops.pteVal(k.phys.readEntry(pa, k.geometry.entryBytes));
}

/** The entry's bits as stored, for memcpy-like copies of live entries (clone_pgd_range). */
export function readEntryRaw(k: Kernel, pa: PhysAddr): bigint {
  return k.phys.readEntry(pa, k.geometry.entryBytes);
}

/** Physical address of entry `idx` of the table at `tablePa`. */
export function entryPtr(k: Kernel, tablePa: PhysAddr, idx: number): PhysAddr {
  return tablePa + idx * k.geometry.entryBytes;
}

/** Plain store (tables nobody can walk yet). */
function rawStore(k: Kernel, pa: PhysAddr, v: bigint): void { k.phys.writeEntry(pa, v, k.geometry.entryBytes); }

/** What a table page holding an entry is: owner mm and level. */
export interface TableInfo { mm: Mm; level: PgtLevel; desc: PtDesc | null; tablePa: PhysAddr }

/** The table containing the entry at `pa` (a ptdesc page, or a 32-byte PAE pgd object). */
export function tableOf(k: Kernel, pa: PhysAddr): TableInfo | null {
  const slab = k.pgdCache.ownerOf(pa);
  if (slab) return { mm: slab.mm, level: PgtLevel.Pgd, desc: null, tablePa: slab.pgd };
  const d = k.ptdescs.containing(pa);
  if (!d || !d.pgtable || d.level === null || !d.mm) return null;
  return { mm: d.mm as Mm, level: d.level, desc: d, tablePa: d.pa };
}

/**
 * The lock that protects the entry at `pa` (SPEC F.1): pte_lockptr for pte
 * tables, pmd_lockptr for entries of kind pmd, mm.page_table_lock above;
 * init_mm always uses its page_table_lock.
 */
export function entryLockptr(k: Kernel, pa: PhysAddr): SpinLock {
  const t = tableOf(k, pa);
  if (!t) throw new Error(`entry at 0x${pa.toString(16)} is not inside a live page table`);
  const kind = entryKind(k.geometry, depthOf(k.geometry, t.level));
  if (t.mm.isInitMm || t.desc?.kernelPart) return t.mm.pageTableLock;
  if (kind === PgtLevel.Pte && useSplitPtePtlocks(k.ptdescs.deps.ptlocks)) return t.desc!.ptl!;
  if (kind === PgtLevel.Pmd && useSplitPmdPtlocks(k.ptdescs.deps.ptlocks, k.levels)) return t.desc!.ptl!;
  return t.mm.pageTableLock;
}

/**
 * Write a live entry through the hook for its kind (set_pte … set_pgd). With
 * `check`, lockdep verifies that the lock protecting the entry is held; pass
 * false only where Linux writes without it, and say why at the call site.
 * With PTI, a top-level entry for user space is mirrored into the user pgd
 * (pti_set_user_pgtbl; the kernel copy is not made NX in this model).
 */
export function setEntry(k: Kernel, kind: PgtLevel, pa: PhysAddr, v: bigint, check = true): void {
  if (check) checkEntryLock(k, kind, pa);
  hookSet(k, kind, pa, v);
  if (k.pti) {
    const t = tableOf(k, pa);
    if (t && t.level === PgtLevel.Pgd && (pa - t.tablePa) / k.geometry.entryBytes < k.geometry.tables[0]!.entries / 2)
      hookSet(k, kind, pa + PAGE_SIZE, v);
  }
}

/** Lockdep: the lock protecting the entry at pa must be held for a write of it. */
export function checkEntryLock(k: Kernel, kind: PgtLevel, pa: PhysAddr): void {
  if (!k.lockdep.enabled) return;
  const lock = entryLockptr(k, pa);
  if (!lock.held) k.lockdep.report(`${PGT_LEVEL_NAMES[kind]} entry at 0x${pa.toString(16)} written without holding ${lock.name}`);
}

function hookSet(k: Kernel, kind: PgtLevel, pa: PhysAddr, v: bigint): void {
  switch (kind) {
    // The kernel builds entries from pseudo-physical frames; make_pte & co. turn
    // them into what the hardware walks (identity natively, pfn → mfn on Xen PV).
    case PgtLevel.Pte: k.ops.setPte(pa, k.ops.makePte(v)); break;
    case PgtLevel.Pmd: k.ops.setPmd(pa, k.ops.makePmd(v)); break;
    case PgtLevel.Pud: k.ops.setPud(pa, k.ops.makePud(v)); break;
    case PgtLevel.P4d: k.ops.setP4d(pa, k.ops.makeP4d(v)); break;
    case PgtLevel.Pgd: k.ops.setPgd(pa, k.ops.makePgd(v)); break;
  }
}

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
 * and its ctor; a failing ctor frees the page at once and reports null
 * (SPEC F.3 "ctor can fail").
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

// ── the PAE 32-byte pgd cache (kmem_cache "pgd_cache") ──────────────────

/**
 * PAE with a shared kernel PMD allocates pgds as 32-byte objects
 * (PGD_SIZE, SLAB_PANIC, align 32) from a slab; the slab pages come from the
 * page allocator and go back once empty.
 */
export class PgdCache {
  private readonly slabs = new Map<number, { free: PhysAddr[]; used: number }>();
  private readonly owners = new Map<PhysAddr, { mm: Mm; pgd: PhysAddr }>();
  static readonly OBJ = 32;
  constructor(private readonly k: () => Kernel) {}

  alloc(mm: Mm): PhysAddr | null {
    let slabPfn: number | undefined;
    for (const [pfn, s] of this.slabs) if (s.free.length) { slabPfn = pfn; break; }
    if (slabPfn === undefined) {
      const pfn = this.k().alloc.allocPage({ zero: true });
      if (pfn === null) return null;
      const free: PhysAddr[] = [];
      for (let off = PAGE_SIZE - PgdCache.OBJ; off >= 0; off -= PgdCache.OBJ) free.push(pfn * PAGE_SIZE + off);
      this.slabs.set(pfn, { free, used: 0 });
      slabPfn = pfn;
    }
    const s = this.slabs.get(slabPfn)!;
    const pgd = s.free.pop()!;
    s.used++;
    this.k().phys.fill(pgd, PgdCache.OBJ, 0);
    this.owners.set(pgd, { mm, pgd });
    return pgd;
  }

  free(pgd: PhysAddr): void {
    if (!this.owners.delete(pgd)) throw new Error(`pgd_cache free of 0x${pgd.toString(16)}, which is not allocated`);
    const pfn = Math.floor(pgd / PAGE_SIZE);
    const s = this.slabs.get(pfn)!;
    s.free.push(pgd);
    if (--s.used === 0) { this.slabs.delete(pfn); this.k().alloc.freePage(pfn); }
  }

  /** The pgd object containing entry address pa, with its mm. */
  ownerOf(pa: PhysAddr): { mm: Mm; pgd: PhysAddr } | undefined {
    return this.owners.get(pa - (pa % PgdCache.OBJ));
  }
  get objects(): number { return this.owners.size; }
}

// ── pgd_list ──────────────────────────────────────────────────────────────

/** pgd_list_add: caller holds pgd_lock. */
export function pgdListAdd(k: Kernel, pgd: PtDesc): void {
  if (!k.pgdLock.held) k.lockdep.report("pgd_list_add without pgd_lock");
  k.pgdList.push(pgd);
}

/** pgd_list_del: caller holds pgd_lock. */
export function pgdListDel(k: Kernel, pgd: PtDesc): void {
  if (!k.pgdLock.held) k.lockdep.report("pgd_list_del without pgd_lock");
  const i = k.pgdList.indexOf(pgd);
  if (i < 0) throw new Error(`pgd_list_del: ${pgd} is not on pgd_list`);
  k.pgdList.splice(i, 1);
}

// ── pgd allocation (SPEC C.3) ─────────────────────────────────────────────

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

// ── kernel-mapping synchronisation (SPEC C.3) ─────────────────────────────

/**
 * Depth of the table whose entries are per-pgd copies of init_mm's and so
 * must be synchronised: the pmd-kind entries on 32-bit (the pgd itself for
 * 2-level, the private kernel pmd for unshared PAE), the top level on 64-bit.
 * null when nothing needs syncing (PAE with a shared kernel PMD).
 */
export function syncDepth(k: Kernel): number | null {
  const g = k.geometry;
  if (g.mode === "pae") return k.sharedKernelPmd ? null : 1;
  return 0;
}

/** ARCH_PAGE_TABLE_SYNC_MASK as a set of entry kinds. */
export function archPageTableSyncKinds(k: Kernel): PgtLevel[] {
  const d = syncDepth(k);
  return d === null ? [] : [entryKind(k.geometry, d)];
}

/** Walk a pgd down to the entry of `va` in table `depth`; null if a table on the way is missing. */
function entryAt(k: Kernel, pgd: PhysAddr, va: bigint, depth: number): PhysAddr | null {
  let table = pgd;
  for (let d = 0; d < depth; d++) {
    const e = readEntry(k, entryPtr(k, table, tableIndex(k.geometry, d, va)));
    if (!(e & _PAGE_PRESENT) || isLeafEntry(e)) return null;
    table = entryAddr(k.geometry, e);
  }
  return entryPtr(k, table, tableIndex(k.geometry, depth, va));
}

/**
 * arch_sync_kernel_mappings / vmalloc_sync_all / sync_global_pgds: copy every
 * present init_mm entry of the synchronised level in [start, end) into each
 * pgd on pgd_list whose slot is empty. A slot that is present but points
 * elsewhere is the kernel's BUG_ON: reported as KernelBugError (after the
 * other pgds were handled, so a report loses nothing). Returns the number of
 * entries copied.
 */
export function archSyncKernelMappings(k: Kernel, start: bigint, end: bigint): number {
  const depth = syncDepth(k);
  if (depth === null) return 0;
  const g = k.geometry;
  const span = 1n << BigInt(g.tables[depth]!.shift);
  const kind = entryKind(g, depth);
  let copied = 0;
  const bugs: string[] = [];
  const lo = start < g.pageOffset ? g.pageOffset : start;
  k.pgdLock.lock();
  try {
    for (let addr = lo & ~(span - 1n); addr < end && addr >= lo - span; addr += span) {
      const refp = entryAt(k, k.initMm.pgd, addr, depth);
      if (refp === null) continue;
      const ref = readEntry(k, refp);
      if (!(ref & _PAGE_PRESENT)) continue;
      for (const pt of k.pgdList) {
        const mm = pt.mm as Mm;
        mm.pageTableLock.lock();
        try {
          const p = entryAt(k, pt.pa, addr, depth);
          if (p === null) continue;
          const cur = readEntry(k, p);
          if (!(cur & _PAGE_PRESENT)) { setEntry(k, kind, p, ref); copied++; }
          else if (entryAddr(g, cur) !== entryAddr(g, ref))
            bugs.push(`${PGT_LEVEL_NAMES[kind]} entry for 0x${addr.toString(16)} in the pgd of mm ${mm.id} points to ` +
              `0x${entryAddr(g, cur).toString(16)}, init_mm's to 0x${entryAddr(g, ref).toString(16)}`);
        } finally { mm.pageTableLock.unlock(); }
      }
      if (addr + span < addr) break;
    }
  } finally { k.pgdLock.unlock(); }
  if (bugs.length) throw new KernelBugError(bugs.join("; "));
  return copied;
}

/** A physical address check used by callers that map caller-supplied frames. */
export function checkPhysRange(k: Kernel, pa: number, size: number): void {
  if (!(pa >= 0 && pa + size <= k.phys.size)) throw new BusError(pa, size, k.phys.size);
}
