/**
 * A minimal x86-64 address space driven only through pv_ops.mmu, the way
 * Linux's generic mm code drives it (pgd_alloc, __pud_alloc/__pmd_alloc/
 * __pte_alloc with their populate hooks, set_pte_at, free_pgtables, pgd_free).
 * Used to run the same workload on the native and the Xen backend.
 */
import type { PageAllocator } from "../../src/kernel/page-alloc.js";
import type { PvMm, PvMmuOps } from "../../src/paravirt/ops.js";
import type { PhysMem } from "../../src/phys/phys-mem.js";
import { _PAGE_TABLE as PAGE_TABLE, PTE_PFN_MASK } from "../../src/kernel/x86/pgtable-types.js";

const PAGE = 4096;
/** Index of `va` in the table `l` levels above the page (4 = pgd … 1 = pte), 4-level paging. */
const tableIndex = (va: bigint, l: number): number => Number((va >> BigInt(12 + 9 * (l - 1))) & 511n);

export class MiniMm implements PvMm {
  readonly isInitMm = false;
  /** Table pages by level (4 = pgd … 1 = pte), for teardown. */
  readonly tables = new Map<number, number>();   // pfn → level
  private constructor(readonly id: number, readonly pgd: number, private readonly env: MiniEnv) {}

  /** mm_alloc + pgd_alloc: a zeroed pgd with the kernel half cloned from swapper (pgd_ctor). */
  static create(env: MiniEnv, id: number): MiniMm {
    const pfn = env.alloc.allocPage({ zero: true });
    if (pfn === null) throw new Error("oom");
    const pgd = pfn * PAGE;
    for (let i = 256; i < 512; i++) env.phys.write64(pgd + i * 8, env.phys.read64(env.initPgd + i * 8));
    const mm = new MiniMm(id, pgd, env);
    if (!env.ops.pgdAlloc(mm)) throw new Error("paravirt_pgd_alloc failed");
    mm.tables.set(pfn, 4);
    return mm;
  }

  /** The entry address of `va` at `level` (4..1), allocating and populating missing tables. */
  private entry(va: bigint, level: number, populate: boolean): number | null {
    const { ops, phys, alloc } = this.env;
    let table = this.pgd;
    for (let l = 4; l > level; l--) {
      const ep = table + tableIndex(va, l) * 8;
      const raw = phys.read64(ep);
      const val = l === 4 ? ops.p4dVal(raw) : l === 3 ? ops.pudVal(raw) : ops.pmdVal(raw);
      if ((val & 1n) === 0n) {
        if (!populate) return null;
        const pfn = alloc.allocPage({ zero: true });
        if (pfn === null) throw new Error("oom");
        this.tables.set(pfn, l - 1);
        const e = (BigInt(pfn) << 12n) | PAGE_TABLE;
        if (l === 4) { ops.allocPud(this, pfn); ops.setP4d(ep, ops.makeP4d(e)); }
        else if (l === 3) { ops.allocPmd(this, pfn); ops.setPud(ep, ops.makePud(e)); }
        else { ops.allocPte(this, pfn); ops.setPmd(ep, ops.makePmd(e)); }
        table = pfn * PAGE;
      } else {
        table = Number((val & PTE_PFN_MASK) >> 12n) * PAGE;
      }
    }
    return table + tableIndex(va, level) * 8;
  }

  /** Allocate the tables down to `va`'s pte page (__pte_alloc and above). Lazy-MMU sections
   *  in Linux never allocate tables: a queued set_pmd would not be visible to the next read. */
  populate(va: bigint): void { this.entry(va, 1, true); }

  /** set_pte_at(va, pfn_pte(pfn, prot)). */
  map(va: bigint, pfn: number, prot: bigint): void {
    const ptep = this.entry(va, 1, true)!;
    const wasPresent = (this.env.phys.read64(ptep) & 1n) !== 0n;
    this.env.ops.setPte(ptep, this.env.ops.makePte((BigInt(pfn) << 12n) | prot));
    // Replacing a present mapping: the TLB may hold the old one (Linux zaps
    // and flushes before it sets a new pte; the engine's TLB would keep it).
    if (wasPresent) this.env.ops.flushTlbOneUser(va);
  }

  /** pte_clear + flush_tlb_page (a stale translation must not outlive the mapping). */
  unmap(va: bigint): void {
    const ptep = this.entry(va, 1, false);
    if (ptep === null) return;
    this.env.ops.setPte(ptep, 0n);
    this.env.ops.flushTlbOneUser(va);
  }

  /** The pfn `va` maps to, per the tables (null if unmapped). */
  lookup(va: bigint): number | null {
    const ptep = this.entry(va, 1, false);
    if (ptep === null) return null;
    const v = this.env.ops.pteVal(this.env.phys.read64(ptep));
    return (v & 1n) === 0n ? null : Number((v & PTE_PFN_MASK) >> 12n);
  }

  /** change_pte_range: ptep_modify_prot_start / commit. */
  protect(va: bigint, prot: bigint): void {
    const ptep = this.entry(va, 1, false);
    if (ptep === null) return;
    const { ops } = this.env;
    const old = ops.ptepModifyProtStart(this, va, ptep);
    const oldv = ops.pteVal(old);
    if ((oldv & 1n) === 0n) { ops.ptepModifyProtCommit(this, va, ptep, old, old); return; }
    ops.ptepModifyProtCommit(this, va, ptep, old, ops.makePte((oldv & PTE_PFN_MASK) | prot));
    ops.flushTlbOneUser(va);
  }

  /** free_pte_range for one pmd slot: clear the pmd, release, free (the release hook
   *  runs after the table is detached and before it is freed: src/paravirt/ops.ts). */
  freePteTable(va: bigint): boolean {
    const pmdp = this.entry(va, 2, false);
    if (pmdp === null) return false;
    const { ops, phys, alloc } = this.env;
    const v = ops.pmdVal(phys.read64(pmdp));
    if ((v & 1n) === 0n) return false;
    const pfn = Number((v & PTE_PFN_MASK) >> 12n);
    // zap_pte_range first: a table is freed empty.
    for (let i = 0; i < 512; i++) if (phys.read64(pfn * PAGE + i * 8) !== 0n) ops.setPte(pfn * PAGE + i * 8, 0n);
    ops.setPmd(pmdp, 0n);
    ops.flushTlbUser();
    ops.releasePte(pfn);
    this.tables.delete(pfn);
    alloc.freePage(pfn);
    return true;
  }

  /** exit_mmap + free_pgtables + pgd_free. */
  destroy(): void {
    const { ops, alloc } = this.env;
    ops.exitMmap(this);
    // Bottom-up: clear each table's parent entry, release, free.
    for (const level of [1, 2, 3]) {
      for (const [pfn, l] of [...this.tables]) {
        if (l !== level) continue;
        this.clearParent(pfn, level);
        if (level === 1) ops.releasePte(pfn); else if (level === 2) ops.releasePmd(pfn); else ops.releasePud(pfn);
        this.tables.delete(pfn);
        alloc.freePage(pfn);
      }
    }
    ops.pgdFree(this, this.pgd);
    alloc.freePage(this.pgd / PAGE);
    this.tables.clear();
  }

  private clearParent(pfn: number, level: number): void {
    const { ops, phys } = this.env;
    for (const [ppfn, pl] of this.tables) {
      if (pl !== level + 1) continue;
      for (let i = 0; i < 512; i++) {
        const ep = ppfn * PAGE + i * 8;
        const raw = phys.read64(ep);
        if ((raw & 1n) === 0n) continue;
        const conv = [ops.pteVal, ops.pmdVal, ops.pudVal, ops.p4dVal][level]!.call(ops, raw);
        if (Number((conv & PTE_PFN_MASK) >> 12n) !== pfn) continue;
        if (level === 1) ops.setPmd(ep, 0n); else if (level === 2) ops.setPud(ep, 0n); else ops.setP4d(ep, 0n);
      }
    }
  }
}

export interface MiniEnv {
  ops: PvMmuOps;
  /** The kernel's view of memory (pseudo-physical under Xen). */
  phys: PhysMem;
  alloc: PageAllocator;
  initPgd: number;
}
