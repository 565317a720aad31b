/**
 * The paravirt MMU hook table: Linux's `pv_ops.mmu`
 * (arch/x86/include/asm/paravirt_types.h, struct pv_mmu_ops).
 *
 * Every page-table write the kernel side makes, every table page it attaches
 * to or detaches from an mm, every CR3 load and every TLB flush goes through
 * one of these hooks. The native backend (native.ts) does what bare hardware
 * needs — plain stores, CR3 loads and INVLPGs on the engine, nothing on
 * alloc/release. The Xen PV backend (src/paravirt/xen/mmu-pv.ts) turns the
 * same calls into hypercalls on read-only tables. The recording wrapper
 * (recording.ts) logs every call for tests.
 *
 * Contract the kernel side keeps (what a Xen PV backend relies on: it makes a
 * table read-only in the alloc hook and writable again in the release hook):
 *  - a table page attached to an mm passes through exactly one `alloc*` hook of
 *    its level before the first entry that points to it becomes visible to the
 *    walker, and exactly one `release*` hook after it is detached and before it
 *    is freed (paravirt_alloc_pte/paravirt_release_pte pairs);
 *  - all entry writes of a live table use `set*` (or the modify-prot pair);
 *    zeroing a page that is not yet attached is a plain store.
 *
 * This interface is stable: other backends implement it. Add hooks only at
 * the end of a group and keep PV_MMU_OP_NAMES in step.
 */
import type { Pfn, PhysAddr } from "../kernel/types.js";

/**
 * What the hooks need to know about an mm (struct mm_struct as seen by
 * paravirt code). The kernel's Mm implements it.
 */
export interface PvMm {
  /** Unique per live mm; init_mm is 0. */
  readonly id: number;
  /** Physical address of the (kernel) pgd: what CR3 points to. */
  readonly pgd: PhysAddr;
  /** True for the kernel's own init_mm (swapper_pg_dir). */
  readonly isInitMm: boolean;
}

/** The arguments of a ranged flush (struct flush_tlb_info, arch/x86/mm/tlb.c). */
export interface FlushTlbInfo {
  /** null: a kernel-range flush. */
  readonly mm: PvMm | null;
  /** First virtual address; `end` is exclusive. `end === TLB_FLUSH_ALL` flushes everything of the mm. */
  readonly start: bigint;
  readonly end: bigint;
  /** log2 of the page size being flushed (12, 21 or 30). */
  readonly strideShift: number;
  /** Page-table pages were freed: paging-structure caches must go too. */
  readonly freedTables: boolean;
}

/** `end` value meaning "the whole address space" (TLB_FLUSH_ALL = -1UL). */
export const TLB_FLUSH_ALL = (1n << 64n) - 1n;

/**
 * Where `tlbRemoveTable` hands a table page whose freeing must wait for the
 * TLB flush (struct mmu_gather's table batch, mm/mmu_gather.c).
 */
export interface TableGather {
  /** Queue `pfn` (a detached, released table page) to be freed after the flush. */
  removeTable(pfn: Pfn): void;
}

/**
 * The CPU side a backend drives: the engine API of COMMON.md (an Engine
 * satisfies this structurally). Only what the MMU hooks need.
 */
export interface MmuCpu {
  x86(): { cr3: bigint; cr4: bigint };
  writeCr3(v: bigint): unknown;
  invlpg(va: bigint): void;
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void;
  flushTlb(includeGlobal?: boolean): void;
}

export interface PvMmuOps {
  /** Backend name, e.g. "native" or "xen". */
  readonly name: string;

  /**
   * SHARED_KERNEL_PMD (PAE only; since 2007 the backend's choice through
   * pv_info.shared_kernel_pmd — docs/SEMANTICS.md): may all pgds share the
   * kernel's PMD page for the top 1 GiB? Native hardware: yes. Xen PV: no —
   * every pgd must be a whole page with a private kernel PMD so that it can be
   * pinned and listed on pgd_list. 2-level and 64-bit pgd allocation ignore it.
   */
  readonly sharedKernelPmd: boolean;

  // ── control registers (read_cr2/write_cr2/read_cr3/write_cr3) ──
  /** CR2 is not used by translation; it is the faulting address of the last #PF. */
  readCr2(): bigint;
  writeCr2(v: bigint): void;
  readCr3(): bigint;
  /** Load CR3, with the architectural TLB effect (SDM Vol. 3A §4.10.4.1). */
  writeCr3(v: bigint): void;

  // ── mm lifecycle (enter_mmap / exit_mmap; 2007: activate_mm, dup_mmap) ──
  /** A new mm is about to be used (dup_mmap / arch_dup_mmap): Xen pins its pgd here. */
  enterMmap(mm: PvMm): void;
  /** The mm's mappings are being torn down (exit_mmap): Xen unpins. */
  exitMmap(mm: PvMm): void;

  // ── TLB ──
  /** Flush this CPU's non-global translations (native: CR3 reload). */
  flushTlbUser(): void;
  /** Flush everything including global translations (native: CR4.PGE toggle). */
  flushTlbKernel(): void;
  /** Flush one user address on this CPU (native: INVLPG). */
  flushTlbOneUser(addr: bigint): void;
  /** Flush a range on the CPUs in `cpus` (native: local flush_tlb_func on each). */
  flushTlbMulti(cpus: readonly number[], info: FlushTlbInfo): void;
  /** Queue a detached table page for freeing after the flush (tlb_remove_table). */
  tlbRemoveTable(tlb: TableGather, table: Pfn): void;

  // ── pgd lifecycle (paravirt_pgd_alloc / paravirt_pgd_free) ──
  /** Backend work when a pgd is built; false = -ENOMEM (Xen x86-64 allocates the user pgd). */
  pgdAlloc(mm: PvMm): boolean;
  /** Mirror of pgdAlloc, called from pgd_free before the page is freed. */
  pgdFree(mm: PvMm, pgd: PhysAddr): void;

  // ── table pages: alloc before first use, release before free (matched pairs) ──
  allocPte(mm: PvMm, pfn: Pfn): void;
  allocPmd(mm: PvMm, pfn: Pfn): void;
  allocPud(mm: PvMm, pfn: Pfn): void;
  allocP4d(mm: PvMm, pfn: Pfn): void;
  releasePte(pfn: Pfn): void;
  releasePmd(pfn: Pfn): void;
  releasePud(pfn: Pfn): void;
  releaseP4d(pfn: Pfn): void;

  // ── entry writes; `*p` is the physical address of the entry ──
  setPte(ptep: PhysAddr, pte: bigint): void;
  setPmd(pmdp: PhysAddr, pmd: bigint): void;
  setPud(pudp: PhysAddr, pud: bigint): void;
  setP4d(p4dp: PhysAddr, p4d: bigint): void;
  setPgd(pgdp: PhysAddr, pgd: bigint): void;

  /**
   * Read-modify-write of a live PTE (mprotect): start atomically fetches and
   * clears the entry so hardware cannot set A/D in between; commit installs
   * the new value (ptep_modify_prot_start/commit).
   */
  ptepModifyProtStart(mm: PvMm, addr: bigint, ptep: PhysAddr): bigint;
  ptepModifyProtCommit(mm: PvMm, addr: bigint, ptep: PhysAddr, oldPte: bigint, pte: bigint): void;

  // ── entry value conversion (pte_val/make_pte …): identity natively, pfn↔mfn on Xen ──
  pteVal(pte: bigint): bigint;
  makePte(val: bigint): bigint;
  pmdVal(pmd: bigint): bigint;
  makePmd(val: bigint): bigint;
  pudVal(pud: bigint): bigint;
  makePud(val: bigint): bigint;
  p4dVal(p4d: bigint): bigint;
  makeP4d(val: bigint): bigint;
  pgdVal(pgd: bigint): bigint;
  makePgd(val: bigint): bigint;

  // ── lazy MMU mode (arch_enter/leave/flush_lazy_mmu_mode): batch updates ──
  enterLazyMmu(): void;
  leaveLazyMmu(): void;
  flushLazyMmu(): void;

  /** Map physical `pa` at fixmap slot `idx` with protection `prot` (__set_fixmap). */
  setFixmap(idx: number, pa: PhysAddr, prot: bigint): void;

  /**
   * Not a hook: the kernel calls this once init_mm exists to give the backend
   * the function that maps a fixmap slot (set_pte_vaddr on init_mm), which
   * setFixmap needs. Optional so that older backends stay valid.
   */
  bindFixmap?(fn: (idx: number, pa: PhysAddr, prot: bigint) => void): void;
}

/** Every hook name, in the order above (the recording wrapper and tests use it). */
export const PV_MMU_OP_NAMES = [
  "readCr2", "writeCr2", "readCr3", "writeCr3",
  "enterMmap", "exitMmap",
  "flushTlbUser", "flushTlbKernel", "flushTlbOneUser", "flushTlbMulti", "tlbRemoveTable",
  "pgdAlloc", "pgdFree",
  "allocPte", "allocPmd", "allocPud", "allocP4d",
  "releasePte", "releasePmd", "releasePud", "releaseP4d",
  "setPte", "setPmd", "setPud", "setP4d", "setPgd",
  "ptepModifyProtStart", "ptepModifyProtCommit",
  "pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd",
  "enterLazyMmu", "leaveLazyMmu", "flushLazyMmu",
  "setFixmap",
] as const satisfies readonly (keyof PvMmuOps)[];

export type PvMmuOpName = (typeof PV_MMU_OP_NAMES)[number];

/** Compile-time check that PV_MMU_OP_NAMES lists every function-valued hook. */
type FnKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends (...a: never[]) => unknown ? K : never }[keyof T];
type Missing = Exclude<FnKeys<PvMmuOps>, PvMmuOpName | "bindFixmap">;
export const PV_MMU_OPS_COMPLETE: [Missing] extends [never] ? true : Missing = true;
