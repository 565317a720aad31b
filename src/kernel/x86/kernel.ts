/**
 * The x86 kernel side of one machine: on top of the generic state
 * (../kernel.ts), pv_ops.mmu, init_mm and swapper_pg_dir, pgd_list +
 * pgd_lock, the PAE pgd cache, the shared zero page, the per-CPU TLB state
 * and the fixmap.
 */
import { checkBool, checkOneOf } from "../../check.js";
import { NativeMmuOps } from "../../paravirt/native.js";
import type { MmuCpu, PvMmuOps } from "../../paravirt/ops.js";
import type { PhysMem } from "../../phys/phys-mem.js";
import { KernelBase, KernelOomError } from "../kernel.js";
import type { ProtSpec } from "../mman.js";
import { checkKernelOptions } from "../options.js";
import type { PageAllocator } from "../page-alloc.js";
import type { PtDesc } from "../ptdesc.js";
import { SpinLock, type LockdepMode } from "../ptlock.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../types.js";
import { X86Mm } from "./mm.js";
import { swapperInit } from "./pgalloc.js";
import { PgdCache } from "./pgd-cache.js";
import { GEOMETRY, type PagingGeometry, type PagingMode } from "./pgtable-types.js";
import { flushTlbKernelRange, flushTlbMm, flushTlbMmRange, switchMm, TLB_NR_DYN_ASIDS, type TlbState } from "./tlb.js";

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

export class Kernel extends KernelBase<X86Mm> {
  readonly geometry: PagingGeometry;
  readonly cpu: MmuCpu | undefined;
  readonly ops: PvMmuOps;
  readonly pti: boolean;
  readonly pcid: boolean;
  /** pgd_list: every pgd not sharing the kernel PMD, in insertion order (list_add at head in Linux; order is irrelevant). */
  readonly pgdList: PtDesc[] = [];
  readonly pgdLock: SpinLock;
  /** SHARED_KERNEL_PMD as decided for this machine (PAE only). */
  readonly sharedKernelPmd: boolean;
  readonly pgdCache = new PgdCache(() => this);
  /** empty_zero_page. */
  readonly zeroPage: Pfn;
  readonly initMm: X86Mm;
  tlb: TlbState;

  constructor(opts: KernelOptions) {
    checkKernelOptions("Kernel", opts, ["mode", "phys", "cpu", "ops", "allocator", "pti", "pcid"]);
    checkOneOf("Kernel", "mode", opts.mode, Object.keys(GEOMETRY) as PagingMode[]);
    for (const k of ["pti", "pcid"] as const) if (opts[k] !== undefined) checkBool("Kernel", k, opts[k]);
    const geometry = GEOMETRY[opts.mode];
    const phys = opts.phys ?? opts.cpu?.phys;
    if (!phys) throw new TypeError("Kernel needs `phys` (or an engine as `cpu`)");
    if ((opts.pti ?? false) && geometry.vaBits === 32)
      throw new RangeError("pti: this model implements page-table isolation for x86-64 only");
    super({ phys, allocator: opts.allocator, nrCpus: opts.nrCpus, splitPtlockCpus: opts.splitPtlockCpus,
      lockdep: opts.lockdep, levels: geometry.tables.length });
    this.geometry = geometry;
    this.cpu = opts.cpu;
    this.pti = opts.pti ?? false;
    this.pcid = opts.pcid ?? true;
    this.pgdLock = new SpinLock("pgd_lock", this.lockdep);
    // The paravirt backend is the caller's; bare hardware when none is given.
    this.ops = opts.ops ?? new NativeMmuOps({ phys, cpu: opts.cpu, entryBytes: geometry.entryBytes });
    this.sharedKernelPmd = geometry.mode === "pae" && this.ops.sharedKernelPmd && !this.pti;
    const zero = this.alloc.allocPage({ zero: true });
    if (zero === null) throw new KernelOomError("kernel init (empty_zero_page)");
    this.zeroPage = zero;
    this.initMm = new X86Mm(this, 0, true);
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

  /** The frame of the shared zero page as a physical address. */
  get zeroPagePa(): PhysAddr { return this.zeroPage * PAGE_SIZE; }

  /** Create an address space (mm_alloc + mm_init + pgd_alloc + enter_mmap). Throws KernelOomError. */
  mmCreate(): X86Mm { return X86Mm.create(this); }

  /** Make `mm` the address space the CPU translates with (CR3 load, PCID-aware). */
  switchMm(mm: X86Mm): void { switchMm(this, mm); }
  flushTlbMm(mm: X86Mm): void { flushTlbMm(this, mm); }
  flushTlbMmRange(mm: X86Mm, start: bigint, end: bigint, strideShift: number, freedTables: boolean): void {
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
