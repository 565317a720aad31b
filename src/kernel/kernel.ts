/**
 * The kernel side of one machine: everything Linux keeps in globals for the
 * memory-management code — the page allocator, the table descriptors and
 * NR_PAGETABLE, pv_ops.mmu, init_mm and swapper_pg_dir, pgd_list + pgd_lock,
 * the shared zero page, the per-CPU TLB state — gathered in one object so that
 * several machines can live side by side in one process.
 */
import type { PhysMem } from "../phys/phys-mem.js";
import { NativeMmuOps } from "../paravirt/native.js";
import type { MmuCpu, PvMmuOps } from "../paravirt/ops.js";
import { Mm, type ProtSpec } from "./mm.js";
import { PageAllocator } from "./page-alloc.js";
import { PtDesc, PtDescTable } from "./ptdesc.js";
import { Lockdep, Rcu, SpinLock, type LockdepMode } from "./ptlock.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "./types.js";
import { swapperInit } from "./x86/pgalloc.js";
import { PgdCache } from "./x86/pgd-cache.js";
import { flushTlbKernelRange, flushTlbMm, flushTlbMmRange, switchMm } from "./x86/tlb.js";
import { GEOMETRY, type PagingGeometry, type PagingMode } from "./x86/pgtable.js";
import { checkBool, checkOneOf } from "../check.js";
import { checkKernelOptions } from "./options.js";

/** Out of memory in an mm operation: the operation was undone, nothing leaked. */
export class KernelOomError extends Error {
  constructor(what: string) { super(`${what}: out of memory (-ENOMEM); the operation was rolled back`); this.name = "KernelOomError"; }
}

/** A kernel BUG() the model reports instead of crashing (e.g. vmalloc_sync_one). */
export class KernelBugError extends Error {
  constructor(message: string) { super(`kernel BUG: ${message}`); this.name = "KernelBugError"; }
}

/** Hooks a test uses to interleave a second "thread" at the racy points (SPEC F.4 tests 3–8). */
export interface InterleaveHooks {
  /** pte_offset_map_lock / _nolock: after the lockless pmd snapshot, before taking the lock. */
  afterPmdSnapshot?: (pmdp: PhysAddr, snapshot: bigint) => void;
  /** __pte_alloc: after allocating the new table, before taking the pmd lock. */
  beforePmdInstall?: (pmdp: PhysAddr) => void;
}

export interface KernelOptions {
  mode: PagingMode;
  /** Guest memory; taken from `cpu` when that is an engine. */
  phys?: PhysMem;
  /** The CPU whose CR3/TLB the kernel drives: an Engine. */
  cpu?: MmuCpu & { phys?: PhysMem };
  /** pv_ops.mmu; default the native backend over phys/cpu. */
  ops?: PvMmuOps;
  /** Physical page allocator; default: all of guest memory, bottom-up. */
  allocator?: PageAllocator;
  /** Page-table isolation (x86-64 only): order-1 pgds with a user half at +4 KiB. */
  pti?: boolean;
  /** NR_CPUS and CONFIG_SPLIT_PTLOCK_CPUS: split locks when nrCpus ≥ splitPtlockCpus (defaults 4 and 4). */
  nrCpus?: number;
  splitPtlockCpus?: number;
  /** Lock checking (default "throw"). */
  lockdep?: LockdepMode;
  /** Use PCIDs on mm switches when CR4.PCIDE is set (default true). */
  pcid?: boolean;
}

/** TLB_NR_DYN_ASIDS (arch/x86/mm/tlb.c): dynamic ASID slots per CPU. */
export const TLB_NR_DYN_ASIDS = 6;

/** Per-CPU TLB state (struct tlb_state): which mm is loaded, and each ASID slot's mm and tlb_gen. */
export interface TlbState {
  loadedMm: Mm;
  /** CR3 was loaded by switchMm at least once (before that the kernel has not touched the CPU). */
  cr3Loaded: boolean;
  loadedAsid: number;
  ctxs: { ctxId: number; tlbGen: number }[];
  nextAsid: number;
}

export class Kernel {
  readonly geometry: PagingGeometry;
  readonly phys: PhysMem;
  readonly cpu: MmuCpu | undefined;
  readonly ops: PvMmuOps;
  readonly alloc: PageAllocator;
  readonly ptdescs: PtDescTable;
  readonly lockdep: Lockdep;
  readonly rcu = new Rcu();
  readonly pti: boolean;
  readonly pcid: boolean;
  /** pgd_list: every pgd not sharing the kernel PMD, in insertion order (list_add at head in Linux; order is irrelevant). */
  readonly pgdList: PtDesc[] = [];
  readonly pgdLock: SpinLock;
  /** SHARED_KERNEL_PMD as decided for this machine (PAE only; SPEC C.1). */
  readonly sharedKernelPmd: boolean;
  readonly interleave: InterleaveHooks = {};
  /** pmd_ERROR / pte_ERROR reports (bad entries found and cleared). */
  readonly badEntries: string[] = [];
  readonly pgdCache = new PgdCache(() => this);
  /** empty_zero_page. */
  readonly zeroPage: Pfn;
  readonly initMm: Mm;
  /** Live user mms. */
  readonly mms = new Set<Mm>();
  tlb: TlbState;
  private nextId = 1;

  constructor(opts: KernelOptions) {
    checkKernelOptions("Kernel", opts, ["mode", "phys", "cpu", "ops", "allocator", "pti", "pcid"]);
    checkOneOf("Kernel", "mode", opts.mode, Object.keys(GEOMETRY) as PagingMode[]);
    for (const k of ["pti", "pcid"] as const) if (opts[k] !== undefined) checkBool("Kernel", k, opts[k]);
    this.geometry = GEOMETRY[opts.mode];
    const phys = opts.phys ?? opts.cpu?.phys;
    if (!phys) throw new TypeError("Kernel needs `phys` (or an engine as `cpu`)");
    this.phys = phys;
    this.cpu = opts.cpu;
    this.pti = opts.pti ?? false;
    if (this.pti && this.geometry.vaBits === 32)
      throw new RangeError("pti: this model implements page-table isolation for x86-64 only");
    this.pcid = opts.pcid ?? true;
    this.lockdep = new Lockdep(opts.lockdep ?? "throw");
    this.pgdLock = new SpinLock("pgd_lock", this.lockdep);
    this.alloc = opts.allocator ?? new PageAllocator({ map: [{ start: 0, end: phys.size }], phys });
    this.ops = opts.ops ?? new NativeMmuOps({ phys, cpu: opts.cpu, entryBytes: this.geometry.entryBytes });
    this.sharedKernelPmd = this.geometry.mode === "pae" && this.ops.sharedKernelPmd && !this.pti;
    this.ptdescs = new PtDescTable({
      alloc: this.alloc, phys, lockdep: this.lockdep, levels: this.geometry.tables.length,
      ptlocks: { nrCpus: opts.nrCpus ?? 4, splitPtlockCpus: opts.splitPtlockCpus ?? 4 },
    });
    const zero = this.alloc.allocPage({ zero: true });
    if (zero === null) throw new KernelOomError("kernel init (empty_zero_page)");
    this.zeroPage = zero;
    this.initMm = new Mm(this, 0, true);
    this.tlb = {
      loadedMm: this.initMm, cr3Loaded: false, loadedAsid: 0, nextAsid: 0,
      ctxs: Array.from({ length: TLB_NR_DYN_ASIDS }, () => ({ ctxId: -1, tlbGen: 0 })),
    };
    swapperInit(this, this.initMm);
    this.ops.bindFixmap?.((idx, pa, prot) => this.setFixmap(idx, pa, prot));
  }

  /** fix_to_virt: fixmap slots grow down from FIXADDR_TOP. */
  fixToVirt(idx: number): bigint {
    const g = this.geometry;
    // FIXADDR_TOP: 32-bit -PAGE_SIZE; x86-64 round_up(VSYSCALL_ADDR + PAGE_SIZE, PMD_SIZE) - PAGE_SIZE.
    const top = g.vaBits === 32 ? 0xffff_f000n : 0xffff_ffff_ff7f_f000n;
    if (!(Number.isInteger(idx) && idx >= 0 && idx < 1024)) throw new RangeError(`fixmap index must be in [0, 1024), got ${idx}`);
    return top - BigInt(idx) * BigInt(PAGE_SIZE);
  }

  /**
   * __native_set_fixmap → set_pte_vaddr: map pa at the slot in init_mm (replacing
   * what was there, with the flush that needs), visible in every mm.
   * `prot` carries the entry's protection bits (RW, NX; PRESENT is implied).
   */
  setFixmap(idx: number, pa: PhysAddr, prot: bigint): void {
    const va = this.fixToVirt(idx);
    if (this.initMm.findVma(va)) this.initMm.munmap(va, PAGE_SIZE);
    const rw = (prot & 2n) !== 0n, nx = (prot & (1n << 63n)) !== 0n;
    this.initMm.mapRange(va, PAGE_SIZE, { pa, prot: `r${rw ? "w" : ""}${nx ? "" : "x"}` });
  }

  /** Paging levels in use (2, 3, 4, 5). */
  get levels(): number { return this.geometry.tables.length; }

  /** A fresh mm id (also its context id for ASID bookkeeping). */
  newMmId(): number { return this.nextId++; }

  /** Page count of swapper/init_mm-owned tables etc. is not in NR_PAGETABLE; this is. */
  get nrPagetable(): number { return this.ptdescs.nrPagetable; }

  /** The frame of the shared zero page as a physical address. */
  get zeroPagePa(): PhysAddr { return this.zeroPage * PAGE_SIZE; }

  /** Create an address space (mm_alloc + mm_init + pgd_alloc + enter_mmap). Throws KernelOomError. */
  mmCreate(): Mm { return Mm.create(this); }

  /** Make `mm` the address space the CPU translates with (CR3 load, PCID-aware). */
  switchMm(mm: Mm): void { switchMm(this, mm); }
  flushTlbMm(mm: Mm): void { flushTlbMm(this, mm); }
  flushTlbMmRange(mm: Mm, start: bigint, end: bigint, strideShift: number, freedTables: boolean): void {
    flushTlbMmRange(this, mm, start, end, strideShift, freedTables);
  }
  flushTlbKernelRange(start: bigint, end: bigint): void { flushTlbKernelRange(this, start, end); }

  /** Map physical memory into the kernel half of every address space (vmap/ioremap into init_mm, then sync). */
  vmap(va: bigint, size: number, pa: number, prot: ProtSpec = "rw", pageSize = PAGE_SIZE): void {
    this.initMm.mapRange(va, size, { pa, prot, pageSize });
  }
  /** Remove a kernel mapping (vunmap): entries cleared, kernel TLB range flushed; page tables stay (as vmalloc's do). */
  vunmap(va: bigint, size: number): void { this.initMm.munmap(va, size); }
}
