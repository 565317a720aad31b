/**
 * What the generic mm code (mm.ts, mm-walk.ts, memory.ts, remap.ts, zap.ts,
 * free-pgtables.ts, mprotect.ts, pgtable-generic.ts, mmu-gather.ts) asks of
 * an architecture: the shape of an mm's tables, how entries are read,
 * written and built, how table pages are allocated, attached and freed, and
 * what a TLB flush is. It is the part of Linux's include/asm-generic and
 * arch/<arch>/include/asm/{pgtable,pgalloc,tlb}.h that the model needs;
 * x86/arch.ts and s390/arch.ts implement it.
 *
 * Depths count from the top table of an mm (0, its pgd) down to the pte
 * table (the last). "pxd" is an entry of any table above the pte table.
 * Every method gets the mm; an architecture reaches its own kernel through
 * it (mm.k).
 */
import type { Access } from "../abi.js";
import type { Mm } from "./mm.js";
import type { MmuGather } from "./mmu-gather.js";
import type { SpinLock } from "./ptlock.js";
import { PgtLevel, type PhysAddr, type TableGeometry } from "./types.js";
import type { Vma } from "./vma.js";

/** The errno a rejected mm call names. */
export type MmErrno = "EINVAL" | "EEXIST" | "ENOMEM";

export interface MmArch<M extends Mm = Mm, T = unknown> {
  // ── the tables of an mm ─────────────────────────────────────────────────
  /** The tables of `mm` from the top to the pte table (s390: as many as its ASCE has now). */
  tables(mm: M): readonly TableGeometry[];
  /** Bytes of one entry. */
  entryBytes(mm: M): number;
  /** The paging mode, for messages ("4level", "s390 3-level"). */
  pagingName(mm: M): string;
  /** May the table at `depth` (above the pte table) hold leaves, i.e. huge pages? */
  hugeLeaves(mm: M, depth: number): boolean;
  /** First address above user space (TASK_SIZE). */
  taskSize(mm: M): bigint;
  /** Why [va, end) cannot be mapped in `mm` (outside its half of the address space), or null. */
  rangeError(mm: M, va: bigint, end: bigint): string | null;
  /** Make the address space reach `end` before a mapping goes there (s390: check_asce_limit). */
  mmapPrepare?(mm: M, end: bigint): void;

  // ── entries above the pte table ─────────────────────────────────────────
  /** The entry at `pa` (pXd_val / ptep_get), at any depth. */
  readEntry(mm: M, pa: PhysAddr): bigint;
  /** pXd_none: nothing there, a table may be installed. */
  pxdNone(mm: M, e: bigint, depth: number): boolean;
  /** The lower table the entry points to, or null (none, not present, or a leaf). */
  pxdTable(mm: M, e: bigint, depth: number): PhysAddr | null;
  /** pXd_leaf, also for a not-present (PROT_NONE) huge leaf. */
  pxdHuge(mm: M, e: bigint, depth: number): boolean;
  /** pmd_bad: a present pmd that points to a table without the table flags. */
  pmdBad(mm: M, e: bigint): boolean;
  /** pXd_clear: make the entry none, without the lock check (the callers say why). */
  pxdClear(mm: M, depth: number, pa: PhysAddr): void;
  /** set_pXd of a huge leaf (or its clearing). */
  setPxd(mm: M, depth: number, pa: PhysAddr, v: bigint): void;
  /** The lock that protects the entry at `pa` in the table at `depth` (pmd_lockptr, page_table_lock). */
  pxdLockptr(mm: M, pa: PhysAddr, depth: number): SpinLock;

  // ── table pages ─────────────────────────────────────────────────────────
  /** pte_alloc_one … p4d_alloc_one: a new table of `level`, constructed, or null. */
  pxdAllocOne(mm: M, level: PgtLevel): T | null;
  /** pmd_populate … pgd_populate: announce the table and point the entry at `pa` to it. */
  pxdPopulate(mm: M, pa: PhysAddr, depth: number, table: T): void;
  /** pte_free … p4d_free: give back a table that was never attached. */
  pxdFree(mm: M, level: PgtLevel, table: T): void;
  /**
   * pte_free_tlb … p4d_free_tlb: the table at `tablePa`, just detached from
   * its entry in the table at `depth` where it mapped [addr, addr + span),
   * goes to the gather (freed after the flush and the grace period).
   */
  pxdFreeTlb(mm: M, gather: MmuGather, depth: number, tablePa: PhysAddr, addr: bigint): void;
  /**
   * free_pgtables' rule for a table in an unmapped range:
   *  - "empty": it goes once it holds no entry (all zero). x86: tables exist
   *    only where VMAs put entries, so a munmap of a hole has nothing to
   *    free and returns at once, as do_vmi_munmap does;
   *  - "unspanned": it goes when no VMA spans any of it (free_pgd_range's
   *    floor and ceiling), with everything below it. s390: after
   *    crst_table_upgrade the old top table hangs below the new one outside
   *    every VMA, so a munmap of a hole still frees what lies there.
   */
  readonly freePgtablesRule: "empty" | "unspanned";

  // ── ptes ────────────────────────────────────────────────────────────────
  pteNone(e: bigint): boolean;
  /** pte_present: maps a frame (x86: also a PROT_NONE pte). */
  ptePresent(e: bigint): boolean;
  pteWrite(e: bigint): boolean;
  /** The frame a leaf at `depth` maps (a pte, or a huge leaf). */
  leafPa(mm: M, e: bigint, depth: number): PhysAddr;
  /** mk_pte / pfn_pte with the VMA's protection; writable or not (the zero page never is). */
  mkPte(mm: M, pa: PhysAddr, prot: number, writable: boolean, huge: boolean): bigint;
  pteMkdirty(e: bigint): bigint;
  pteMkyoung(e: bigint): bigint;
  pteMkwrite(e: bigint): bigint;
  /** set_pte_at: a pte that was none (or is made so) gets `pte`. */
  setPteAt(mm: M, addr: bigint, ptep: PhysAddr, pte: bigint): void;
  /** ptep_get_and_clear: the pte goes (with whatever flush the architecture does at once). */
  ptepGetAndClear(mm: M, addr: bigint, ptep: PhysAddr): bigint;
  /** ptep_clear_flush: clear and flush the page's translation now. */
  ptepClearFlush(mm: M, addr: bigint, ptep: PhysAddr): void;
  /** ptep_set_access_flags: the fault path's young/dirty update; true if the pte changed. */
  ptepSetAccessFlags(mm: M, addr: bigint, ptep: PhysAddr, entry: bigint, dirty: boolean): boolean;
  /** pte_modify of a leaf at `depth`: keep the frame and A/D, take the new protection (mprotect). */
  pteModify?(mm: M, old: bigint, prot: number, writable: boolean, depth: number): bigint;
  /** ptep_modify_prot_start + commit: rewrite a live pte as `modify` says (mprotect). */
  ptepModifyProt?(mm: M, addr: bigint, ptep: PhysAddr, modify: (old: bigint) => bigint): void;
  /** arch_enter_lazy_mmu_mode / arch_leave_lazy_mmu_mode around a pte-table loop. */
  enterLazyMmu(mm: M): void;
  leaveLazyMmu(mm: M): void;
  /** The shared zero page read faults of anonymous memory map, or null (each gets its own frame). */
  zeroPage(mm: M): PhysAddr | null;
  /** access_error: does the VMA's protection refuse this access? */
  accessError(vma: Vma, access: Access): boolean;

  // ── the mm's life and the TLB ───────────────────────────────────────────
  /** arch_exit_mmap: before the teardown of a user mm. */
  exitMmap(mm: M): void;
  /** pgd_free, once every table below the top is gone. */
  pgdFree(mm: M): void;
  /** tlb_flush: invalidate what the gather tore down. */
  tlbFlush(gather: MmuGather): void;
  /** The gather's tables after the flush (tlb_remove_table's batch). */
  tlbRemoveTables(mm: M, tables: readonly unknown[]): void;
  /** arch_sync_kernel_mappings after init_mm got new tables of the kinds in `modified`. */
  syncKernelMappings?(mm: M, start: bigint, end: bigint, modified: ReadonlySet<PgtLevel>): void;

  // ── errors ──────────────────────────────────────────────────────────────
  /** The error a rejected call throws (the architecture's convention: RangeError, S390Error). */
  mmError(code: MmErrno, message: string): Error;
  /** The error an operation that ran out of memory throws after it was undone. */
  oomError(what: string): Error;
}

// ── helpers over an mm's tables ───────────────────────────────────────────

/** Depth of the pte table. */
export const pteDepth = (t: readonly TableGeometry[]): number => t.length - 1;

/** Index of `va` in the table at `depth`. */
export function indexAt(t: readonly TableGeometry[], depth: number, va: bigint): number {
  const tg = t[depth]!;
  return Number((va >> BigInt(tg.shift)) & BigInt(tg.entries - 1));
}

/** Bytes mapped by one entry of the table at `depth`. */
export const spanAt = (t: readonly TableGeometry[], depth: number): bigint => 1n << BigInt(t[depth]!.shift);

/**
 * The kind of the entries of the table at `depth`: the level of the table
 * they point to plus one (what names the set_pXd that writes them), pte
 * for the last table.
 */
export function entryKindAt(t: readonly TableGeometry[], depth: number): PgtLevel {
  const child = t[depth + 1];
  return child ? ((child.level + 1) as PgtLevel) : PgtLevel.Pte;
}
