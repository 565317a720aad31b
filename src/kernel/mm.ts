/**
 * An address space: struct mm_struct and the operations on it, for every
 * architecture — mapping physical ranges (remap_pfn_range / vmap),
 * anonymous demand-paged areas (mmap + the page-fault handler), munmap with
 * free_pgtables through an mmu_gather, mprotect, and teardown (exit_mmap).
 * Each architecture's mm (x86/mm.ts, s390/mm.ts) adds its context and its
 * MmArch; the work is done in vma.ts, remap.ts, memory.ts, zap.ts,
 * free-pgtables.ts and mprotect.ts.
 *
 * Rules every operation keeps:
 *  - bad input (unaligned, overlapping, outside the address space, a PA
 *    outside RAM, a partial huge page) is rejected before anything changes;
 *  - running out of memory in the middle is undone and reported (the
 *    architecture's oomError): nothing leaks, no half-built mapping stays;
 *  - every table write holds the lock that protects it, every table page
 *    attached is announced first and released before it is freed;
 *  - every change that can leave a stale translation is followed by the
 *    invalidation the architecture requires, issued before any freed page
 *    can be reused.
 */
import type { Access } from "../abi.js";
import { BusError } from "../phys/phys-mem.js";
import { checkAccess, checkS64, show } from "../check.js";
import type { MmArch, MmErrno } from "./arch.js";
import { pteDepth, spanAt } from "./arch.js";
import { freePgtables } from "./free-pgtables.js";
import type { KernelBase } from "./kernel.js";
import { handleMmFault } from "./memory.js";
import { protError, parseProt, SZ_4K, type ProtSpec } from "./mman.js";
import { MmuGather } from "./mmu-gather.js";
import { changeProtection } from "./mprotect.js";
import { lookupLeaf, type Leaf } from "./mm-walk.js";
import type { PtOwner } from "./ptdesc.js";
import { SpinLock } from "./ptlock.js";
import { remapPfnRange } from "./remap.js";
import { PgtLevel, type PhysAddr, type TableGeometry } from "./types.js";
import { coveredUpTo, findVma, firstOverlap, insertVma, mergeVmas, removeVmas, splitVmaAt, type Vma } from "./vma.js";
import { zapVma } from "./zap.js";

export { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, SZ_1G, SZ_2M, SZ_4K, SZ_4M, parseProt, protString } from "./mman.js";
export type { ProtSpec } from "./mman.js";
export type { Vma } from "./vma.js";

/** Bytes mapped by one entry of table `depth` of a geometry (x86 PagingGeometry, or any `{ tables }`). */
export const entrySpanAt = (g: { tables: readonly TableGeometry[] }, depth: number): bigint => spanAt(g.tables, depth);

/** The outcome of handleFault. */
export type FaultResult =
  | { ok: true; pa: PhysAddr }
  | { ok: false; error: "segv" | "oom" };

/** mmap_lock (an rw-semaphore), as flags: the model is single-threaded. */
export class RwSem {
  readers = 0;
  writeHeld = false;
  constructor(readonly name: string) {}
  downRead(): void { if (this.writeHeld) throw new Error(`${this.name}: read lock while write-held`); this.readers++; }
  upRead(): void { if (this.readers === 0) throw new Error(`${this.name}: up_read without down_read`); this.readers--; }
  downWrite(): void {
    if (this.writeHeld || this.readers) throw new Error(`${this.name}: write lock while held`);
    this.writeHeld = true;
  }
  upWrite(): void { if (!this.writeHeld) throw new Error(`${this.name}: up_write without down_write`); this.writeHeld = false; }
}

const hex = (v: bigint | number): string => "0x" + v.toString(16);

export interface MapOptions {
  /** Physical address mapped at `va`. */
  pa: number;
  prot: ProtSpec;
  /** Page size in bytes (4 KiB default; 2 MiB / 4 MiB (2-level) / 1 GiB). */
  pageSize?: number;
}

export interface MmapOptions {
  prot: ProtSpec;
  /** 4 KiB (default) or the pmd leaf size (2 MiB, 4 MiB on 2-level). */
  pageSize?: number;
}

export abstract class Mm implements PtOwner {
  /** How this mm's architecture does what differs (x86/arch.ts, s390/arch.ts). */
  abstract readonly arch: MmArch;
  /** Physical address of the top table. */
  abstract readonly pgd: PhysAddr;
  readonly pageTableLock: SpinLock;
  readonly mmapLock: RwSem;
  /** mm_inc_nr_ptes / nr_pmds / nr_puds (and p4ds), in tables. */
  nrPtes = 0;
  nrPmds = 0;
  nrPuds = 0;
  nrP4ds = 0;
  /** Sorted, disjoint. */
  readonly vmas: Vma[] = [];
  protected dead = false;

  constructor(readonly k: KernelBase, readonly id: number, readonly isInitMm: boolean) {
    this.pageTableLock = new SpinLock(`mm${id}.page_table_lock`, k.lockdep);
    this.mmapLock = new RwSem(`mm${id}.mmap_lock`);
  }

  /** Page-table pages this mm owns below its pgd (mm_pgtables_bytes / 4096). */
  get nrTables(): number { return this.nrPtes + this.nrPmds + this.nrPuds + this.nrP4ds; }

  countTables(level: PgtLevel, delta: number): void {
    switch (level) {
      case PgtLevel.Pte: this.nrPtes += delta; break;
      case PgtLevel.Pmd: this.nrPmds += delta; break;
      case PgtLevel.Pud: this.nrPuds += delta; break;
      case PgtLevel.P4d: this.nrP4ds += delta; break;
      case PgtLevel.Pgd: throw new Error("the pgd is not counted in nr_*");
    }
  }

  get destroyed(): boolean { return this.dead; }

  // ── public operations ───────────────────────────────────────────────────

  /**
   * Map [va, va+size) to [pa, pa+size) with `prot` (remap_pfn_range; in
   * init_mm: vmap/ioremap, followed by arch_sync_kernel_mappings). Overlap
   * with an existing mapping is an error (like MAP_FIXED_NOREPLACE → EEXIST).
   */
  mapRange(va: bigint, size: number, opts: MapOptions): void {
    this.checkLive();
    const prot = this.prot(opts.prot);
    const pageSize = opts.pageSize ?? SZ_4K;
    const end = this.checkRange("mapRange", va, size, pageSize);
    if (opts.pa % pageSize !== 0) this.fail("EINVAL", `mapRange: pa ${hex(opts.pa)} is not aligned to the page size ${hex(pageSize)}`);
    if (!(opts.pa >= 0 && opts.pa + size <= this.k.phys.size)) throw new BusError(opts.pa, size, this.k.phys.size);
    this.checkNoOverlap("mapRange", va, end);
    this.arch.mmapPrepare?.(this, end);
    const vma: Vma = { start: va, end, prot, kind: "pfn", pa: opts.pa, pageSize };
    this.mmapLock.downWrite();
    try {
      insertVma(this.vmas, vma);
      const modified = new Set<PgtLevel>();
      if (!remapPfnRange(this, vma, va, end, modified)) {
        this.unmapLocked(va, end);
        throw this.arch.oomError(`mapRange(${hex(va)}, ${hex(size)})`);
      }
      if (this.isInitMm) this.arch.syncKernelMappings?.(this, va, end, modified);
    } finally { this.mmapLock.upWrite(); }
  }

  /** An anonymous, demand-paged area: nothing is mapped until the first fault. */
  mmap(va: bigint, size: number, opts: MmapOptions): void {
    this.checkLive();
    if (this.isInitMm) throw new Error("mmap: init_mm has no anonymous memory; use vmap");
    const prot = this.prot(opts.prot);
    const pageSize = opts.pageSize ?? SZ_4K;
    if (pageSize !== SZ_4K && pageSize !== this.pmdLeafSize())
      this.fail("EINVAL", `mmap: anonymous memory uses 4 KiB or ${hex(this.pmdLeafSize())} pages (gigantic pages need CMA), got ${hex(pageSize)}`);
    const end = this.checkRange("mmap", va, size, pageSize);
    this.checkNoOverlap("mmap", va, end);
    this.arch.mmapPrepare?.(this, end);
    insertVma(this.vmas, { start: va, end, prot, kind: "anon", pa: 0, pageSize });
  }

  /**
   * munmap: clear every leaf in the range, free page tables that are no
   * longer needed (free_pgtables), flush, then free data and table pages.
   * Holes are not an error (Linux returns 0). A range that cuts a huge page
   * is EINVAL.
   */
  munmap(va: bigint, size: number): void {
    this.checkLive();
    const end = this.checkRange("munmap", va, size, SZ_4K);
    this.checkHugeAligned("munmap", va, end);
    // Nothing mapped: 0, like do_vmi_munmap — unless tables can lie outside every VMA.
    if (this.arch.freePgtablesRule === "empty" && !firstOverlap(this.vmas, va, end)) return;
    this.mmapLock.downWrite();
    try { this.unmapLocked(va, end); } finally { this.mmapLock.upWrite(); }
  }

  /**
   * mprotect: the whole range must be mapped (else ENOMEM, nothing changes);
   * VMAs are split at the edges; every leaf is rewritten with
   * ptep_modify_prot_start/commit and the range is flushed.
   */
  mprotect(va: bigint, size: number, protSpec: ProtSpec): void {
    this.checkLive();
    const prot = this.prot(protSpec);
    const end = this.checkRange("mprotect", va, size, SZ_4K);
    const covered = coveredUpTo(this.vmas, va, end);
    if (covered < end) this.fail("ENOMEM", `mprotect(${hex(va)}, ${hex(size)}): ${hex(covered)} is not mapped (ENOMEM)`);
    this.checkHugeAligned("mprotect", va, end);
    this.mmapLock.downWrite();
    try {
      splitVmaAt(this.vmas, va);
      splitVmaAt(this.vmas, end);
      const g = new MmuGather(this);
      for (const v of this.vmas) {
        if (v.end <= va || v.start >= end) continue;
        v.prot = prot;
        changeProtection(this, g, v);
      }
      g.finish();
      mergeVmas(this.vmas);
    } finally { this.mmapLock.upWrite(); }
  }

  /**
   * The page-fault handler (handle_mm_fault; memory.ts): `access` 0 read,
   * 1 write, 2 fetch. Returns the physical address now mapped at va, or why
   * not.
   */
  handleFault(va: bigint, access: Access | 0 | 1 | 2): FaultResult {
    this.checkLive();
    checkS64("handleFault", "va", va);
    checkAccess("handleFault", access);
    const vma = findVma(this.vmas, va);
    if (!vma || this.arch.accessError(vma, access)) return { ok: false, error: "segv" };
    this.mmapLock.downRead();
    try { return handleMmFault(this, vma, va, access === 1); } finally { this.mmapLock.upRead(); }
  }

  /** exit_mmap + pgd_free: tear everything down. The mm must not be in use. */
  destroy(): void {
    this.checkLive();
    if (this.isInitMm) throw new Error("init_mm is never destroyed");
    this.arch.exitMmap(this);
    this.mmapLock.downWrite();
    try {
      this.unmapLocked(0n, this.arch.taskSize(this));
    } finally { this.mmapLock.upWrite(); }
    this.arch.pgdFree(this);
    if (this.nrTables !== 0) throw new Error(`exit_mmap: mm ${this.id} still accounts ${this.nrTables} page tables`);
    this.dead = true;
    this.k.mms.delete(this);
  }

  /**
   * Software walk (follow_pte-like, no side effects): the leaf mapping va, or
   * null. `size` is the leaf's page size; `entry` the raw leaf (which may be
   * a PROT_NONE, not-present leaf).
   */
  lookup(va: bigint): Leaf | null { return lookupLeaf(this, va); }

  findVma(va: bigint): Vma | undefined { return findVma(this.vmas, va); }

  /** Leaf size of a pmd-kind entry: 2 MiB, or 4 MiB on 2-level paging (1 MiB on s390). */
  pmdLeafSize(): number {
    const t = this.arch.tables(this);
    return 2 ** t[pteDepth(t) - 1]!.shift;
  }

  /** Depth of the table whose entries are leaves of `pageSize`, or an error. */
  leafDepth(pageSize: number): number {
    const t = this.arch.tables(this), last = pteDepth(t);
    const leafAt = (d: number): boolean => d === last || this.arch.hugeLeaves(this, d);
    const d = t.findIndex((x) => 2 ** x.shift === pageSize);
    if (d < 0 || !leafAt(d))
      this.fail("EINVAL", `page size ${hex(pageSize)} is not available in ${this.arch.pagingName(this)} paging ` +
        `(sizes: ${t.filter((_, i) => leafAt(i)).map((x) => hex(2 ** x.shift)).join(", ")})`);
    return d;
  }

  // ── the work behind munmap and exit_mmap ────────────────────────────────

  /** unmap_region: zap leaves VMA by VMA, free unneeded tables, flush, free. mmap_lock held for write. */
  protected unmapLocked(s: bigint, e: bigint): void {
    const gather = new MmuGather(this);
    splitVmaAt(this.vmas, s);
    splitVmaAt(this.vmas, e);
    for (const v of this.vmas.filter((x) => x.start >= s && x.end <= e)) zapVma(this, gather, v);
    removeVmas(this.vmas, s, e);
    // vmalloc keeps its page tables; user space frees those no longer needed.
    if (!this.isInitMm) freePgtables(this, gather, s, e);
    gather.finish();
  }

  // ── checks ──────────────────────────────────────────────────────────────

  protected checkLive(): void { if (this.dead) throw new Error(`mm ${this.id} has been destroyed`); }

  /** Throw the architecture's error for a rejected call. */
  protected fail(code: MmErrno, message: string): never { throw this.arch.mmError(code, message); }

  private prot(p: ProtSpec): number {
    const why = protError(p);
    if (why) this.fail("EINVAL", why);
    return parseProt(p);
  }

  private checkRange(what: string, va: bigint, size: number, align: number): bigint {
    if (typeof va !== "bigint") throw new TypeError(`${what}: va must be a BigInt, got ${show(va)}`);
    if (typeof size !== "number") throw new TypeError(`${what}: size must be a Number, got ${show(size)}`);
    this.leafDepth(align);
    if (!(Number.isSafeInteger(size) && size > 0)) this.fail("EINVAL", `${what}: size must be a positive integer, got ${size}`);
    const a = BigInt(align);
    if (va % a !== 0n || BigInt(size) % a !== 0n)
      this.fail("EINVAL", `${what}(${hex(va)}, ${hex(size)}): not aligned to the page size ${hex(align)}`);
    const end = va + BigInt(size);
    const why = this.arch.rangeError(this, va, end);
    if (why) this.fail("EINVAL", `${what}(${hex(va)}, ${hex(size)}): ${why}`);
    return end;
  }

  private checkNoOverlap(what: string, va: bigint, end: bigint): void {
    const o = firstOverlap(this.vmas, va, end);
    if (o) this.fail("EEXIST", `${what}(${hex(va)}, ${hex(end - va)}): overlaps the mapping [${hex(o.start)}, ${hex(o.end)}) (EEXIST)`);
  }

  /** A range edge inside a huge-page VMA must be aligned to its page size (hugetlb: EINVAL). */
  private checkHugeAligned(what: string, va: bigint, end: bigint): void {
    for (const v of this.vmas) {
      if (v.pageSize === SZ_4K || v.end <= va || v.start >= end) continue;
      const ps = BigInt(v.pageSize);
      for (const edge of [va, end])
        if (edge > v.start && edge < v.end && (edge - v.start) % ps !== 0n)
          this.fail("EINVAL", `${what}: ${hex(edge)} cuts a ${hex(v.pageSize)} page of [${hex(v.start)}, ${hex(v.end)}) (EINVAL)`);
    }
  }
}
