/**
 * The native paravirt backend: what `pv_ops.mmu` holds on bare hardware
 * (arch/x86/kernel/paravirt.c, arch/x86/mm/tlb.c). Entry writes are plain
 * stores into guest memory (native_set_pte and friends), alloc/release hooks
 * are no-ops (paravirt_nop), CR3 loads and TLB flushes go to the engine, which
 * applies their architectural effect.
 */
import type { PhysMem } from "../phys/phys-mem.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../kernel/types.js";
import { X86_CR3_PCID_NOFLUSH } from "../kernel/x86/pgtable-types.js";
import {
  TLB_FLUSH_ALL, type FlushTlbInfo, type MmuCpu, type PvMm, type PvMmuOps, type TableGather,
} from "./ops.js";

/**
 * Above this many pages a ranged flush becomes a full local flush
 * (tlb_single_page_flush_ceiling, arch/x86/mm/tlb.c: 33).
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

export interface NativeMmuOptions {
  /** Guest memory the tables live in. */
  phys: PhysMem;
  /** The CPU (an Engine). Without one, CR3 is a plain register and flushes do nothing —
   *  only for allocator-level tests that never translate. */
  cpu?: MmuCpu;
  /** Entry width: 4 for 2-level (non-PAE) paging, else 8 (default). */
  entryBytes?: 4 | 8;
  /** SHARED_KERNEL_PMD decision (default true, as native PAE without PTI). */
  sharedKernelPmd?: boolean;
}

/** The native backend. `bindFixmap` is called by the kernel once init_mm can map fixmap slots. */
export class NativeMmuOps implements PvMmuOps {
  readonly name: string = "native";
  readonly sharedKernelPmd: boolean;
  readonly phys: PhysMem;
  readonly cpu: MmuCpu | undefined;
  readonly entryBytes: 4 | 8;
  private cr2 = 0n;
  private cr3 = 0n;
  private lazyDepth = 0;
  private fixmap: ((idx: number, pa: PhysAddr, prot: bigint) => void) | null = null;

  constructor(opts: NativeMmuOptions) {
    this.phys = opts.phys;
    this.cpu = opts.cpu;
    this.entryBytes = opts.entryBytes ?? 8;
    this.sharedKernelPmd = opts.sharedKernelPmd ?? true;
  }

  /** Install the fixmap mapper (set_pte_vaddr on init_mm). */
  bindFixmap(fn: (idx: number, pa: PhysAddr, prot: bigint) => void): void { this.fixmap = fn; }

  readCr2(): bigint { return this.cr2; }
  writeCr2(v: bigint): void { this.cr2 = BigInt.asUintN(64, v); }
  readCr3(): bigint { return this.cpu ? this.cpu.x86().cr3 : this.cr3; }
  writeCr3(v: bigint): void {
    if (this.cpu) this.cpu.writeCr3(v);
    else this.cr3 = BigInt.asUintN(64, v) & ~X86_CR3_PCID_NOFLUSH;
  }

  enterMmap(_mm: PvMm): void { /* paravirt_nop */ }
  exitMmap(_mm: PvMm): void { /* paravirt_nop */ }

  /** native_flush_tlb_local: reloading CR3 (without NOFLUSH) drops the current PCID's non-global entries. */
  flushTlbUser(): void {
    if (this.cpu) this.cpu.writeCr3(this.cpu.x86().cr3 & ~X86_CR3_PCID_NOFLUSH);
  }
  /** native_flush_tlb_global: everything, global pages included. */
  flushTlbKernel(): void { this.cpu?.flushTlb(true); }
  /** native_flush_tlb_one_user: INVLPG also drops the paging-structure caches (SDM 4.10.4.1). */
  flushTlbOneUser(addr: bigint): void { this.cpu?.invlpg(addr); }

  /**
   * native_flush_tlb_multi → flush_tlb_func on each CPU of the mask. This model
   * has one CPU (number 0); naming another is an error, not a silent no-op.
   */
  flushTlbMulti(cpus: readonly number[], info: FlushTlbInfo): void {
    for (const c of cpus) if (c !== 0) throw new RangeError(`flushTlbMulti: cpu ${c} does not exist (one CPU, number 0)`);
    if (!cpus.includes(0)) return;
    const pages = info.end === TLB_FLUSH_ALL ? Infinity
      : Number((info.end - info.start) >> BigInt(info.strideShift));
    if (pages > TLB_SINGLE_PAGE_FLUSH_CEILING) {
      if (info.mm) this.flushTlbUser(); else this.flushTlbKernel();
      return;
    }
    const step = 1n << BigInt(info.strideShift);
    for (let a = info.start; a < info.end; a += step) this.flushTlbOneUser(a);
  }

  /** native_tlb_remove_table: the gather frees the page after the flush. */
  tlbRemoveTable(tlb: TableGather, table: Pfn): void { tlb.removeTable(table); }

  pgdAlloc(_mm: PvMm): boolean { return true; }
  pgdFree(_mm: PvMm, _pgd: PhysAddr): void { /* paravirt_nop */ }

  allocPte(_mm: PvMm, _pfn: Pfn): void { /* paravirt_nop */ }
  allocPmd(_mm: PvMm, _pfn: Pfn): void { /* paravirt_nop */ }
  allocPud(_mm: PvMm, _pfn: Pfn): void { /* paravirt_nop */ }
  allocP4d(_mm: PvMm, _pfn: Pfn): void { /* paravirt_nop */ }
  releasePte(_pfn: Pfn): void { /* paravirt_nop */ }
  releasePmd(_pfn: Pfn): void { /* paravirt_nop */ }
  releasePud(_pfn: Pfn): void { /* paravirt_nop */ }
  releaseP4d(_pfn: Pfn): void { /* paravirt_nop */ }

  setPte(ptep: PhysAddr, pte: bigint): void { this.store(ptep, pte); }
  setPmd(pmdp: PhysAddr, pmd: bigint): void { this.store(pmdp, pmd); }
  setPud(pudp: PhysAddr, pud: bigint): void { this.store(pudp, pud); }
  setP4d(p4dp: PhysAddr, p4d: bigint): void { this.store(p4dp, p4d); }
  setPgd(pgdp: PhysAddr, pgd: bigint): void { this.store(pgdp, pgd); }

  /** ptep_get_and_clear: one exchange, so no A/D update can slip in between. */
  ptepModifyProtStart(_mm: PvMm, _addr: bigint, ptep: PhysAddr): bigint {
    const old = this.phys.readEntry(ptep, this.entryBytes);
    this.store(ptep, 0n);
    return old;
  }
  ptepModifyProtCommit(_mm: PvMm, _addr: bigint, ptep: PhysAddr, _oldPte: bigint, pte: bigint): void {
    this.store(ptep, pte);
  }

  pteVal(pte: bigint): bigint { return pte; }
  makePte(val: bigint): bigint { return val; }
  pmdVal(pmd: bigint): bigint { return pmd; }
  makePmd(val: bigint): bigint { return val; }
  pudVal(pud: bigint): bigint { return pud; }
  makePud(val: bigint): bigint { return val; }
  p4dVal(p4d: bigint): bigint { return p4d; }
  makeP4d(val: bigint): bigint { return val; }
  pgdVal(pgd: bigint): bigint { return pgd; }
  makePgd(val: bigint): bigint { return val; }

  /** Native lazy mode has nothing to batch; the depth is tracked only to catch unbalanced use. */
  enterLazyMmu(): void { this.lazyDepth++; }
  leaveLazyMmu(): void {
    if (this.lazyDepth === 0) throw new Error("leaveLazyMmu() without a matching enterLazyMmu()");
    this.lazyDepth--;
  }
  flushLazyMmu(): void { /* nothing queued natively */ }
  get inLazyMmu(): boolean { return this.lazyDepth > 0; }

  setFixmap(idx: number, pa: PhysAddr, prot: bigint): void {
    if (!this.fixmap) throw new Error(`setFixmap(${idx}): no fixmap area is bound yet (the kernel binds it when init_mm exists)`);
    this.fixmap(idx, pa, prot);
  }

  private store(pa: PhysAddr, v: bigint): void {
    if (pa % this.entryBytes !== 0)
      throw new RangeError(`page-table entry address 0x${pa.toString(16)} is not ${this.entryBytes}-byte aligned`);
    if (Math.floor(pa / PAGE_SIZE) !== Math.floor((pa + this.entryBytes - 1) / PAGE_SIZE))
      throw new RangeError(`page-table entry at 0x${pa.toString(16)} crosses a frame`);
    this.phys.writeEntry(pa, v, this.entryBytes);
  }
}
