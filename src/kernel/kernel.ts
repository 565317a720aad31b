/**
 * The machine-wide state the generic mm code works with — what Linux keeps
 * in globals: the page allocator, the table descriptors and NR_PAGETABLE,
 * the lock checker, RCU, the live mms — gathered in one object so that
 * several machines can live side by side in one process. Each
 * architecture's kernel extends it (x86/kernel.ts: pv_ops, init_mm,
 * pgd_list, the TLB state; s390/kernel.ts: the CPU, the PTE-table profile,
 * the gmap notifiers).
 */
import type { PhysMem } from "../phys/phys-mem.js";
import type { Mm } from "./mm.js";
import { PageAllocator } from "./page-alloc.js";
import { PtDescTable } from "./ptdesc.js";
import { Lockdep, Rcu, type LockdepMode } from "./ptlock.js";
import type { PhysAddr } from "./types.js";

/** Out of memory in an mm operation: the operation was undone, nothing leaked. */
export class KernelOomError extends Error {
  constructor(what: string) { super(`${what}: out of memory (-ENOMEM); the operation was rolled back`); this.name = "KernelOomError"; }
}

/** A kernel BUG() the model reports instead of crashing (e.g. vmalloc_sync_one). */
export class KernelBugError extends Error {
  constructor(message: string) { super(`kernel BUG: ${message}`); this.name = "KernelBugError"; }
}

/** Hooks a test uses to interleave a second "thread" at the racy points. */
export interface InterleaveHooks {
  /** pte_offset_map_lock / _nolock: after the lockless pmd snapshot, before taking the lock. */
  afterPmdSnapshot?: (pmdp: PhysAddr, snapshot: bigint) => void;
  /** __pte_alloc: after allocating the new table, before taking the pmd lock. */
  beforePmdInstall?: (pmdp: PhysAddr) => void;
}

export interface KernelBaseOptions {
  phys: PhysMem;
  /** Physical page allocator; default: all of guest memory, bottom-up. */
  allocator?: PageAllocator;
  /** NR_CPUS and CONFIG_SPLIT_PTLOCK_CPUS: split locks when nrCpus ≥ splitPtlockCpus (defaults 4 and 4). */
  nrCpus?: number;
  splitPtlockCpus?: number;
  /** Lock checking (default "throw"). */
  lockdep?: LockdepMode;
  /** Paging levels of the machine (for USE_SPLIT_PMD_PTLOCKS). */
  levels: number;
}

export abstract class KernelBase<M extends Mm = Mm> {
  readonly phys: PhysMem;
  readonly alloc: PageAllocator;
  readonly ptdescs: PtDescTable;
  readonly lockdep: Lockdep;
  readonly rcu = new Rcu();
  readonly interleave: InterleaveHooks = {};
  /** pmd_ERROR / pte_ERROR reports (bad entries found and cleared). */
  readonly badEntries: string[] = [];
  /** Live user mms. */
  readonly mms = new Set<M>();
  private nextId = 1;

  constructor(o: KernelBaseOptions) {
    this.phys = o.phys;
    this.lockdep = new Lockdep(o.lockdep ?? "throw");
    this.alloc = o.allocator ?? new PageAllocator({ map: [{ start: 0, end: o.phys.size }], phys: o.phys });
    this.ptdescs = new PtDescTable({
      alloc: this.alloc, phys: o.phys, lockdep: this.lockdep, levels: o.levels,
      ptlocks: { nrCpus: o.nrCpus ?? 4, splitPtlockCpus: o.splitPtlockCpus ?? 4 },
    });
  }

  /** A fresh mm id (on x86 also its context id for ASID bookkeeping). */
  newMmId(): number { return this.nextId++; }

  /** NR_PAGETABLE, in pages. */
  get nrPagetable(): number { return this.ptdescs.nrPagetable; }
}
