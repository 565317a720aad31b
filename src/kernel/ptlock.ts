/**
 * Page-table locks (Documentation/mm/split_page_table_lock.rst).
 *
 * The model is single-threaded: a "thread" is a test's sequence of calls, and
 * a race is staged with an interleaving hook (pgtable-generic.ts). A lock is
 * therefore just an owned flag, but it is taken and released exactly where
 * Linux takes and releases it, so that:
 *  - taking a held lock is reported (it would be a deadlock);
 *  - the lock-checking mode (`Lockdep`, like CONFIG_PROVE_LOCKING plus the
 *    page-table assertions) reports a table entry written without the lock
 *    that protects it.
 *
 * Which lock protects an entry:
 *   pte table entries   split lock of that pte table (ptdesc.ptl) if USE_SPLIT_PTE_PTLOCKS,
 *                       else mm.page_table_lock
 *   pmd table entries   split lock of that pmd table if USE_SPLIT_PMD_PTLOCKS
 *                       (split pte locks and more than 2 levels), else mm.page_table_lock
 *   pud and above       mm.page_table_lock
 *   init_mm tables      init_mm.page_table_lock (its ctors allocate no split lock)
 */

export class SpinLock {
  private holder: string | null = null;
  /** Times taken (for tests). */
  acquisitions = 0;
  constructor(readonly name: string, private readonly lockdep?: Lockdep) {}

  get held(): boolean { return this.holder !== null; }

  lock(who = "task"): void {
    if (this.holder !== null) {
      const msg = `deadlock: ${who} takes ${this.name}, already held by ${this.holder}`;
      this.lockdep?.report(msg);
      throw new Error(msg);
    }
    this.holder = who;
    this.acquisitions++;
  }

  unlock(): void {
    if (this.holder === null) {
      const msg = `unlock of ${this.name}, which is not held`;
      this.lockdep?.report(msg);
      throw new Error(msg);
    }
    this.holder = null;
  }
}

export type LockdepMode = "off" | "record" | "throw";

/** Lock-rule checker: collects (or throws on) violations. */
export class Lockdep {
  readonly reports: string[] = [];
  constructor(public mode: LockdepMode = "throw") {}

  get enabled(): boolean { return this.mode !== "off"; }

  report(msg: string): void {
    if (this.mode === "off") return;
    this.reports.push(msg);
    if (this.mode === "throw") throw new LockdepError(msg);
  }
}

export class LockdepError extends Error {
  constructor(message: string) { super(message); this.name = "LockdepError"; }
}

/**
 * RCU as far as page tables need it: lockless walkers (__pte_offset_map) run
 * inside a read-side section; a table freed while a reader may still hold a
 * pointer to it is freed from a callback that runs once no reader is left
 * (pte_free_defer, tlb_remove_table_rcu). Grace periods end as soon as the
 * reader count is zero, which is the strictest deterministic reading.
 */
export class Rcu {
  private depth = 0;
  private pending: (() => void)[] = [];

  get readers(): number { return this.depth; }
  get pendingCallbacks(): number { return this.pending.length; }

  readLock(): void { this.depth++; }

  readUnlock(): void {
    if (this.depth === 0) throw new Error("rcu_read_unlock() without rcu_read_lock()");
    if (--this.depth === 0) this.runPending();
  }

  /** call_rcu: run `fn` after every current reader has left. */
  call(fn: () => void): void {
    if (this.depth === 0) fn();
    else this.pending.push(fn);
  }

  private runPending(): void {
    const p = this.pending;
    this.pending = [];
    for (const fn of p) fn();
  }
}

/** USE_SPLIT_PTE_PTLOCKS / USE_SPLIT_PMD_PTLOCKS from the configuration (include/linux/mm_types_task.h). */
export interface PtlockConfig {
  /** NR_CPUS. */
  nrCpus: number;
  /** CONFIG_SPLIT_PTLOCK_CPUS (default 4). */
  splitPtlockCpus: number;
}

export function useSplitPtePtlocks(c: PtlockConfig): boolean { return c.nrCpus >= c.splitPtlockCpus; }

/** ARCH_ENABLE_SPLIT_PMD_PTLOCK is selected on x86 for PGTABLE_LEVELS > 2. */
export function useSplitPmdPtlocks(c: PtlockConfig, levels: number): boolean {
  return useSplitPtePtlocks(c) && levels > 2;
}
