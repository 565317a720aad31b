/**
 * Page-table descriptors: the `struct ptdesc` overlay of `struct page` for
 * pages that hold page tables (include/linux/mm_types.h, include/linux/mm.h:
 * pagetable_pte_ctor, pagetable_pmd_ctor, pagetable_dtor).
 *
 *   ptdesc
 *   ┌────────────┬──────────────────────────────────────────────────────────┐
 *   │ pfn, order │ the allocation (x86 PTI pgd: order 1, everything else 0) │
 *   │ level      │ pte/pmd/pud/p4d/pgd, set by the ctor                     │
 *   │ mm         │ owner; for a pgd this is pt_mm (pgd_list walkers use it) │
 *   │ ptl        │ split lock (pte, and pmd with split pmd locks)           │
 *   │ fragCount  │ pt_frag_refcount (s390 2 KiB fragments; 0 on x86)        │
 *   │ pgtable    │ PG_table: between ctor and dtor                          │
 *   └────────────┴──────────────────────────────────────────────────────────┘
 *
 * Constructors may fail (ptlock_init allocates the lock when spinlock_t does
 * not fit in a long, e.g. with lock debugging); destructors never do. Every
 * level is accounted in NR_PAGETABLE, weighted by the allocation's page count
 * (the rule since Linux 6.14: docs/SEMANTICS.md). A ctor runs once per
 * allocation and a dtor exactly once per successful ctor: both are checked.
 */
import type { PhysMem } from "../phys/phys-mem.js";
import type { PageAllocator } from "./page-alloc.js";
import { Lockdep, SpinLock, useSplitPmdPtlocks, useSplitPtePtlocks, type PtlockConfig } from "./ptlock.js";
import { PAGE_SIZE, PGT_LEVEL_NAMES, PgtLevel, type Pfn } from "./types.js";

/** The part of an mm a ptdesc needs to know. */
export interface PtOwner {
  readonly id: number;
  readonly isInitMm: boolean;
  readonly pageTableLock: SpinLock;
}

export class PtDesc {
  level: PgtLevel | null = null;
  mm: PtOwner | null = null;
  ptl: SpinLock | null = null;
  fragCount = 0;
  /** PG_table: the ctor ran and the dtor has not. */
  pgtable = false;
  /** A private copy of a kernel table inside a user pgd (unshared PAE kernel pmd):
   *  its entries belong to the kernel and are serialised by the owner's
   *  page_table_lock under pgd_lock, not by a split lock. */
  kernelPart = false;
  /** The dtor ran (a ptdesc is not reused after its page is freed). */
  destroyed = false;
  constructor(readonly pfn: Pfn, readonly order: number) {}
  get pages(): number { return 1 << this.order; }
  get pa(): number { return this.pfn * PAGE_SIZE; }
  toString(): string {
    return `${this.level === null ? "raw" : PGT_LEVEL_NAMES[this.level]} table at pfn 0x${this.pfn.toString(16)}`;
  }
}

export class PtDescError extends Error {
  constructor(message: string) { super(message); this.name = "PtDescError"; }
}

export interface PtDescTableDeps {
  alloc: PageAllocator;
  phys: PhysMem;
  lockdep: Lockdep;
  ptlocks: PtlockConfig;
  /** Paging levels of the machine (for USE_SPLIT_PMD_PTLOCKS). */
  levels: number;
}

/** All table pages of one machine, their ctors/dtors and NR_PAGETABLE. */
export class PtDescTable {
  private readonly byPfn = new Map<Pfn, PtDesc>();
  /** NR_PAGETABLE, in pages ("PageTables" in /proc/meminfo × 4 KiB). */
  nrPagetable = 0;
  /** Split locks currently allocated (ALLOC_SPLIT_PTLOCKS model). */
  ptlocksAllocated = 0;
  /** ctor / dtor calls (for pairing checks in tests). */
  ctors = 0;
  dtors = 0;
  private ptlockAttempts = 0;
  private readonly ptlockFailAt = new Set<number>();

  constructor(readonly deps: PtDescTableDeps) {}

  get(pfn: Pfn): PtDesc | undefined { return this.byPfn.get(pfn); }
  /** Table page holding physical address pa, if any. */
  containing(pa: number): PtDesc | undefined {
    const pfn = Math.floor(pa / PAGE_SIZE);
    return this.byPfn.get(pfn) ?? this.byPfn.get(pfn - 1);
  }
  all(): IterableIterator<PtDesc> { return this.byPfn.values(); }
  get live(): number { return this.byPfn.size; }

  /**
   * Make the n-th split-lock allocation from now fail (1 = the next), i.e. the
   * n-th pte/pmd ctor that needs a lock returns false.
   */
  failPtlockNth(n: number): void {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`failPtlockNth: n must be ≥ 1, got ${n}`);
    this.ptlockFailAt.add(this.ptlockAttempts + n);
  }

  // ── pagetable_alloc / pagetable_free ──────────────────────────────────

  /** pagetable_alloc(GFP_PGTABLE_USER, order): zeroed pages, or null. */
  pagetableAlloc(order = 0): PtDesc | null {
    const pfn = this.deps.alloc.allocPages(order, { zero: true });
    if (pfn === null) return null;
    const pt = new PtDesc(pfn, order);
    this.byPfn.set(pfn, pt);
    return pt;
  }

  /** pagetable_free: the dtor must have run (or the ctor never succeeded). */
  pagetableFree(pt: PtDesc): void {
    if (this.byPfn.get(pt.pfn) !== pt) throw new PtDescError(`pagetable_free of ${pt}, which is not a live table page`);
    if (pt.pgtable) throw new PtDescError(`pagetable_free of ${pt} without its dtor (PG_table still set)`);
    this.byPfn.delete(pt.pfn);
    this.deps.alloc.freePages(pt.pfn, pt.order);
  }

  // ── constructors (may fail) ───────────────────────────────────────────

  /** pagetable_pte_ctor: split lock unless init_mm, PG_table, accounting. */
  pteCtor(mm: PtOwner, pt: PtDesc): boolean {
    this.beginCtor(pt, PgtLevel.Pte, mm);
    if (!mm.isInitMm && useSplitPtePtlocks(this.deps.ptlocks) && !this.ptlockInit(pt)) return false;
    this.finishCtor(pt);
    return true;
  }

  /** pagetable_pmd_ctor: pmd split lock when split pmd locks apply (pmd_huge_pte = NULL is implied). */
  pmdCtor(mm: PtOwner, pt: PtDesc): boolean {
    this.beginCtor(pt, PgtLevel.Pmd, mm);
    if (!mm.isInitMm && useSplitPmdPtlocks(this.deps.ptlocks, this.deps.levels) && !this.ptlockInit(pt)) return false;
    this.finishCtor(pt);
    return true;
  }

  /** pud/p4d/pgd ctors: accounting only (≥6.14), cannot fail. */
  pudCtor(mm: PtOwner, pt: PtDesc): true { this.beginCtor(pt, PgtLevel.Pud, mm); this.finishCtor(pt); return true; }
  p4dCtor(mm: PtOwner, pt: PtDesc): true { this.beginCtor(pt, PgtLevel.P4d, mm); this.finishCtor(pt); return true; }
  pgdCtor(mm: PtOwner, pt: PtDesc): true { this.beginCtor(pt, PgtLevel.Pgd, mm); this.finishCtor(pt); return true; }

  ctorFor(level: PgtLevel, mm: PtOwner, pt: PtDesc): boolean {
    switch (level) {
      case PgtLevel.Pte: return this.pteCtor(mm, pt);
      case PgtLevel.Pmd: return this.pmdCtor(mm, pt);
      case PgtLevel.Pud: return this.pudCtor(mm, pt);
      case PgtLevel.P4d: return this.p4dCtor(mm, pt);
      case PgtLevel.Pgd: return this.pgdCtor(mm, pt);
    }
  }

  // ── destructor (never fails) ──────────────────────────────────────────

  /** pagetable_dtor: free the split lock, clear PG_table, undo accounting. */
  dtor(pt: PtDesc): void {
    if (!pt.pgtable) throw new PtDescError(`dtor of ${pt}: no successful ctor to undo (dtor twice, or after a failed ctor)`);
    if (pt.ptl) {
      if (pt.ptl.held) throw new PtDescError(`dtor of ${pt} while its split lock is held`);
      pt.ptl = null;
      this.ptlocksAllocated--;
    }
    pt.pgtable = false;
    pt.destroyed = true;
    this.nrPagetable -= pt.pages;
    this.dtors++;
  }

  /** pagetable_dtor_free: dtor + free, the usual way a table page goes. */
  dtorFree(pt: PtDesc): void { this.dtor(pt); this.pagetableFree(pt); }

  // ── internals ─────────────────────────────────────────────────────────

  private beginCtor(pt: PtDesc, level: PgtLevel, mm: PtOwner): void {
    if (this.byPfn.get(pt.pfn) !== pt) throw new PtDescError(`ctor on ${pt}, which is not an allocated table page`);
    if (pt.pgtable || pt.destroyed) throw new PtDescError(`second ctor on ${pt}`);
    pt.level = level;
    pt.mm = mm;
  }

  private finishCtor(pt: PtDesc): void {
    pt.pgtable = true;
    this.nrPagetable += pt.pages;
    this.ctors++;
  }

  /** ptlock_init → ptlock_alloc: the allocation that makes ctors fallible. */
  private ptlockInit(pt: PtDesc): boolean {
    if (this.ptlockFailAt.delete(++this.ptlockAttempts)) return false;
    pt.ptl = new SpinLock(`ptl(${pt})`, this.deps.lockdep);
    this.ptlocksAllocated++;
    return true;
  }
}
