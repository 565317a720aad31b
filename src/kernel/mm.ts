/**
 * An address space: struct mm_struct and the operations on it — mapping
 * physical ranges (remap_pfn_range / vmap), anonymous demand-paged areas
 * (mmap + the page-fault handler of mm/memory.c), munmap with free_pgtables
 * through an mmu_gather, mprotect (mm/mprotect.c), and teardown (exit_mmap).
 *
 * Rules every operation keeps:
 *  - bad input (unaligned, overlapping, outside the address space, a PA
 *    outside RAM, a partial huge page) is rejected before anything changes;
 *  - running out of memory in the middle is undone and reported as
 *    KernelOomError: nothing leaks, no half-built mapping stays;
 *  - every table write goes through the paravirt hooks with the protecting
 *    lock held (the checker verifies it), every table page attached gets its
 *    alloc_* hook first and its release_* hook before it is freed;
 *  - every change that can leave a stale translation is followed by the
 *    invalidation the architecture requires (INVLPG / full flush / CR3
 *    reload), issued before any freed page can be reused.
 *
 * A VMA has one page size; its leaves are all of that size. This is how
 * hugetlb VMAs behave (and why a partial huge page is an error, EINVAL).
 */
import type { PvMm } from "../paravirt/ops.js";
import { BusError } from "../phys/phys-mem.js";
import { KernelOomError, type Kernel } from "./kernel.js";
import { MmuGather } from "./mmu-gather.js";
import { __pxdAlloc, pmdDepth, pteAllocMapLock, pteOffsetMapLock, pteUnmapUnlock, setPteAt } from "./pgtable-generic.js";
import type { PtOwner } from "./ptdesc.js";
import { SpinLock } from "./ptlock.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "./types.js";
import { checkEntryLock, entryLockptr, entryPtr, readEntry, setEntry } from "./x86/entry.js";
import { archPageTableSyncKinds, archSyncKernelMappings } from "./x86/kernel-mappings.js";
import { paravirtRelease, pgdAlloc, pgdFree } from "./x86/pgalloc.js";
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_RW, _PAGE_USER,
  entryAddr, entryKind, hugeEntryAddr, isCanonical, isLeafEntry, isPresent, tableIndex,
} from "./x86/pgtable.js";
import { switchMm } from "./x86/tlb.js";
import { checkAccess, checkS64, show } from "../check.js";

export const PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
/** A protection: PROT_* bits, or a string of "r", "w", "x" ("" or "none" for PROT_NONE). */
export type ProtSpec = number | string;

export function parseProt(p: ProtSpec): number {
  if (typeof p === "number") {
    if (!(Number.isInteger(p) && p >= 0 && p <= 7)) throw new RangeError(`protection must be PROT_* bits (0..7), got ${p}`);
    return p;
  }
  if (p === "" || p === "none") return PROT_NONE;
  if (!/^r?w?x?$/.test(p)) throw new RangeError(`protection string must be drawn from "rwx" in that order, got "${p}"`);
  return (p.includes("r") ? PROT_READ : 0) | (p.includes("w") ? PROT_WRITE : 0) | (p.includes("x") ? PROT_EXEC : 0);
}

export const protString = (p: number): string =>
  p === 0 ? "none" : `${p & PROT_READ ? "r" : "-"}${p & PROT_WRITE ? "w" : "-"}${p & PROT_EXEC ? "x" : "-"}`;

export const SZ_4K = 1 << 12, SZ_2M = 1 << 21, SZ_4M = 1 << 22, SZ_1G = 1 << 30;

export interface Vma {
  start: bigint;
  end: bigint;
  prot: number;
  /** "pfn": a fixed physical range (VM_PFNMAP); "anon": demand-paged private memory. */
  kind: "pfn" | "anon";
  /** pfn VMAs: physical address mapped at `start`. */
  pa: number;
  pageSize: number;
}

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

export class Mm implements PvMm, PtOwner {
  pgd: PhysAddr = 0;
  readonly pageTableLock: SpinLock;
  readonly mmapLock: RwSem;
  /** mm_inc_nr_ptes / nr_pmds / nr_puds (and p4ds), in tables. */
  nrPtes = 0;
  nrPmds = 0;
  nrPuds = 0;
  nrP4ds = 0;
  /** context.tlb_gen. */
  tlbGen = 0;
  /** Sorted, disjoint. */
  readonly vmas: Vma[] = [];
  private dead = false;

  constructor(readonly k: Kernel, readonly id: number, readonly isInitMm: boolean) {
    this.pageTableLock = new SpinLock(`mm${id}.page_table_lock`, k.lockdep);
    this.mmapLock = new RwSem(`mm${id}.mmap_lock`);
  }

  /** mm_alloc + pgd_alloc + paravirt enter_mmap. */
  static create(k: Kernel): Mm {
    const mm = new Mm(k, k.newMmId(), false);
    if (pgdAlloc(k, mm) === null) throw new KernelOomError("mm_alloc (pgd_alloc)");
    k.ops.enterMmap(mm);
    k.mms.add(mm);
    return mm;
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

  // ── public operations ───────────────────────────────────────────────────

  /**
   * Map [va, va+size) to [pa, pa+size) with `prot` (remap_pfn_range; in
   * init_mm: vmap/ioremap, followed by arch_sync_kernel_mappings). Overlap
   * with an existing mapping is an error (like MAP_FIXED_NOREPLACE → EEXIST).
   */
  mapRange(va: bigint, size: number, opts: MapOptions): void {
    this.checkLive();
    const prot = parseProt(opts.prot);
    const pageSize = opts.pageSize ?? SZ_4K;
    const end = this.checkRange("mapRange", va, size, pageSize);
    if (opts.pa % pageSize !== 0) throw new RangeError(`mapRange: pa ${hex(opts.pa)} is not aligned to the page size ${hex(pageSize)}`);
    if (!(opts.pa >= 0 && opts.pa + size <= this.k.phys.size)) throw new BusError(opts.pa, size, this.k.phys.size);
    this.checkNoOverlap("mapRange", va, end);
    const vma: Vma = { start: va, end, prot, kind: "pfn", pa: opts.pa, pageSize };
    this.mmapLock.downWrite();
    try {
      this.insertVma(vma);
      const modified = new Set<PgtLevel>();
      if (!this.populateRange(vma, va, end, modified)) {
        this.unmapLocked(va, end);
        throw new KernelOomError(`mapRange(${hex(va)}, ${hex(size)})`);
      }
      if (this.isInitMm && archPageTableSyncKinds(this.k).some((kd) => modified.has(kd)))
        archSyncKernelMappings(this.k, va, end);
    } finally { this.mmapLock.upWrite(); }
  }

  /** An anonymous, demand-paged area: nothing is mapped until the first fault. */
  mmap(va: bigint, size: number, opts: MmapOptions): void {
    this.checkLive();
    if (this.isInitMm) throw new Error("mmap: init_mm has no anonymous memory; use vmap");
    const prot = parseProt(opts.prot);
    const pageSize = opts.pageSize ?? SZ_4K;
    if (pageSize !== SZ_4K && pageSize !== this.pmdLeafSize())
      throw new RangeError(`mmap: anonymous memory uses 4 KiB or ${hex(this.pmdLeafSize())} pages (gigantic pages need CMA), got ${hex(pageSize)}`);
    const end = this.checkRange("mmap", va, size, pageSize);
    this.checkNoOverlap("mmap", va, end);
    this.insertVma({ start: va, end, prot, kind: "anon", pa: 0, pageSize });
  }

  /**
   * munmap: clear every leaf in the range, free page tables that became
   * empty (free_pgtables), flush, then free data and table pages. Holes are
   * not an error (Linux returns 0). A range that cuts a huge page is EINVAL.
   */
  munmap(va: bigint, size: number): void {
    this.checkLive();
    const end = this.checkRange("munmap", va, size, SZ_4K);
    this.checkHugeAligned("munmap", va, end);
    if (!this.vmas.some((v) => v.start < end && va < v.end)) return;    // nothing mapped: 0, like do_vmi_munmap
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
    const prot = parseProt(protSpec);
    const end = this.checkRange("mprotect", va, size, SZ_4K);
    let covered = va;
    for (const v of this.vmas) {
      if (v.end <= covered || v.start >= end) continue;
      if (v.start > covered) break;
      covered = v.end;
    }
    if (covered < end) throw new RangeError(`mprotect(${hex(va)}, ${hex(size)}): ${hex(covered)} is not mapped (ENOMEM)`);
    this.checkHugeAligned("mprotect", va, end);
    this.mmapLock.downWrite();
    try {
      this.splitVmaAt(va);
      this.splitVmaAt(end);
      const g = new MmuGather(this.k, this);
      for (const v of this.vmas) {
        if (v.end <= va || v.start >= end) continue;
        v.prot = prot;
        this.changeProtection(g, v);
      }
      g.finish();
      this.mergeVmas();
    } finally { this.mmapLock.upWrite(); }
  }

  /**
   * The page-fault handler (handle_mm_fault, do_anonymous_page, do_wp_page):
   * `access` 0 read, 1 write, 2 fetch. Anonymous memory gets the shared zero
   * page on a read and a fresh zeroed page on a write (copy-on-write from the
   * zero page); huge anonymous VMAs get a zeroed huge page on first touch.
   * Returns the physical address now mapped at va, or why not.
   */
  handleFault(va: bigint, access: 0 | 1 | 2): FaultResult {
    this.checkLive();
    checkS64("handleFault", "va", va);
    checkAccess("handleFault", access);
    const vma = this.findVma(va);
    const need = access === 1 ? PROT_WRITE : access === 2 ? PROT_EXEC : PROT_READ;
    // x86 cannot express write-only or exec-only: any non-NONE protection reads.
    if (!vma || vma.prot === PROT_NONE || (need !== PROT_READ && !(vma.prot & need))) return { ok: false, error: "segv" };
    this.mmapLock.downRead();
    try { return this.faultLocked(vma, va, access === 1); } finally { this.mmapLock.upRead(); }
  }

  /** exit_mmap + pgd_free: tear everything down. The mm must not be in use. */
  destroy(): void {
    this.checkLive();
    if (this.isInitMm) throw new Error("init_mm is never destroyed");
    const k = this.k;
    if (k.tlb.loadedMm === this) switchMm(k, k.initMm);
    k.ops.exitMmap(this);
    this.mmapLock.downWrite();
    try {
      this.unmapLocked(0n, k.geometry.taskSize);
    } finally { this.mmapLock.upWrite(); }
    pgdFree(k, this, this.pgd);
    if (this.nrTables !== 0) throw new Error(`exit_mmap: mm ${this.id} still accounts ${this.nrTables} page tables`);
    this.pgd = 0;
    this.dead = true;
    k.mms.delete(this);
  }

  get destroyed(): boolean { return this.dead; }

  /**
   * Software walk (follow_pte-like, no side effects): the leaf mapping va, or
   * null. `size` is the leaf's page size; `entry` the raw leaf (which may be
   * a PROT_NONE, not-present leaf).
   */
  lookup(va: bigint): { pa: PhysAddr; size: number; entry: bigint; entryPa: PhysAddr } | null {
    const g = this.k.geometry;
    let table = this.pgd;
    for (let d = 0; d < g.tables.length; d++) {
      const p = entryPtr(this.k, table, tableIndex(g, d, va));
      const e = readEntry(this.k, p);
      if (e === 0n) return null;
      const last = d === g.tables.length - 1;
      const span = 1n << BigInt(g.tables[d]!.shift);
      const leafHere = last || (e & _PAGE_PSE) !== 0n;
      if (leafHere) {
        if (!isPresent(e) && !(e & _PAGE_PROTNONE)) return null;
        const base = last ? entryAddr(g, e) : hugeEntryAddr(g, e, span);
        return { pa: base + Number(va & (span - 1n)), size: Number(span), entry: e, entryPa: p };
      }
      if (!isPresent(e)) return null;
      table = entryAddr(g, e);
    }
    return null;
  }

  findVma(va: bigint): Vma | undefined { return this.vmas.find((v) => v.start <= va && va < v.end); }

  // ── range checks ────────────────────────────────────────────────────────

  private checkLive(): void { if (this.dead) throw new Error(`mm ${this.id} has been destroyed`); }

  /** Leaf size of a pmd-kind entry: 2 MiB, or 4 MiB on 2-level paging. */
  pmdLeafSize(): number {
    const g = this.k.geometry;
    return 2 ** g.tables[pmdDepth(this.k)]!.shift;
  }

  /** Depth of the table whose entries are leaves of `pageSize`, or an error. */
  leafDepth(pageSize: number): number {
    const g = this.k.geometry;
    const d = g.tables.findIndex((t) => 2 ** t.shift === pageSize);
    if (d < 0 || (d !== g.tables.length - 1 && !g.hugeLevels.includes(entryKind(g, d))))
      throw new RangeError(`page size ${hex(pageSize)} is not available in ${g.mode} paging ` +
        `(sizes: ${g.tables.filter((_, i) => i === g.tables.length - 1 || g.hugeLevels.includes(entryKind(g, i))).map((t) => hex(2 ** t.shift)).join(", ")})`);
    return d;
  }

  private checkRange(what: string, va: bigint, size: number, align: number): bigint {
    const g = this.k.geometry;
    if (typeof va !== "bigint") throw new TypeError(`${what}: va must be a BigInt, got ${show(va)}`);
    if (typeof size !== "number") throw new TypeError(`${what}: size must be a Number, got ${show(size)}`);
    this.leafDepth(align);
    if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`${what}: size must be a positive integer, got ${size}`);
    const a = BigInt(align);
    if (va % a !== 0n || BigInt(size) % a !== 0n)
      throw new RangeError(`${what}(${hex(va)}, ${hex(size)}): not aligned to the page size ${hex(align)}`);
    const end = va + BigInt(size);
    if (this.isInitMm) {
      if (va < g.pageOffset || !isCanonical(g, va) || !isCanonical(g, end - 1n) || (end - 1n) >> 63n !== va >> 63n)
        throw new RangeError(`${what}(${hex(va)}, ${hex(size)}): init_mm mappings must lie in the kernel half (≥ ${hex(g.pageOffset)})`);
    } else if (va < 0n || end > g.taskSize) {
      throw new RangeError(`${what}(${hex(va)}, ${hex(size)}): outside user space [0, ${hex(g.taskSize)})`);
    }
    return end;
  }

  private checkNoOverlap(what: string, va: bigint, end: bigint): void {
    const o = this.vmas.find((v) => v.start < end && va < v.end);
    if (o) throw new RangeError(`${what}(${hex(va)}, ${hex(end - va)}): overlaps the mapping [${hex(o.start)}, ${hex(o.end)}) (EEXIST)`);
  }

  /** A range edge inside a huge-page VMA must be aligned to its page size (hugetlb: EINVAL). */
  private checkHugeAligned(what: string, va: bigint, end: bigint): void {
    for (const v of this.vmas) {
      if (v.pageSize === SZ_4K || v.end <= va || v.start >= end) continue;
      const ps = BigInt(v.pageSize);
      for (const edge of [va, end])
        if (edge > v.start && edge < v.end && (edge - v.start) % ps !== 0n)
          throw new RangeError(`${what}: ${hex(edge)} cuts a ${hex(v.pageSize)} page of [${hex(v.start)}, ${hex(v.end)}) (EINVAL)`);
    }
  }

  // ── VMAs ────────────────────────────────────────────────────────────────

  private insertVma(v: Vma): void {
    const i = this.vmas.findIndex((x) => x.start > v.start);
    this.vmas.splice(i < 0 ? this.vmas.length : i, 0, v);
  }

  private splitVmaAt(at: bigint): void {
    const i = this.vmas.findIndex((v) => v.start < at && at < v.end);
    if (i < 0) return;
    const v = this.vmas[i]!;
    const right: Vma = { ...v, start: at, pa: v.kind === "pfn" ? v.pa + Number(at - v.start) : 0 };
    v.end = at;
    this.vmas.splice(i + 1, 0, right);
  }

  /** vma_merge, simplified: neighbours of the same kind, size and protection (and contiguous pa) join. */
  private mergeVmas(): void {
    for (let i = 0; i + 1 < this.vmas.length;) {
      const a = this.vmas[i]!, b = this.vmas[i + 1]!;
      if (a.end === b.start && a.kind === b.kind && a.prot === b.prot && a.pageSize === b.pageSize &&
          (a.kind === "anon" || a.pa + Number(a.end - a.start) === b.pa)) {
        a.end = b.end;
        this.vmas.splice(i + 1, 1);
      } else i++;
    }
  }

  // ── entries ─────────────────────────────────────────────────────────────

  /** The leaf entry for a page at pa with prot (mk_pte / pfn_pte with vm_get_page_prot). */
  private mkLeaf(pa: number, prot: number, huge: boolean, writable: boolean): bigint {
    const g = this.k.geometry;
    let e = BigInt(pa) | (huge ? _PAGE_PSE : 0n);
    if (prot === PROT_NONE) return e | _PAGE_PROTNONE | _PAGE_ACCESSED;
    e |= _PAGE_PRESENT | _PAGE_ACCESSED;
    if (writable) e |= _PAGE_RW;
    if (this.isInitMm) e |= _PAGE_GLOBAL; else e |= _PAGE_USER;
    if (g.hasNx && !(prot & PROT_EXEC)) e |= _PAGE_NX;
    return e;
  }

  /** pte_modify: keep the frame, A, D and PS; replace the protection bits. */
  private modifyLeaf(old: bigint, prot: number, vma: Vma, huge: boolean): bigint {
    const g = this.k.geometry;
    const pa = huge ? hugeEntryAddr(g, old, BigInt(vma.pageSize)) : entryAddr(g, old);
    // A page still shared with the zero page stays read-only: the next write copies it.
    const writable = (prot & PROT_WRITE) !== 0 && !(vma.kind === "anon" && pa === this.k.zeroPagePa);
    const fresh = this.mkLeaf(pa, prot, huge, writable);
    return fresh | (old & _PAGE_DIRTY) | (prot === PROT_NONE ? 0n : old & _PAGE_ACCESSED);
  }

  // ── populate (map) ──────────────────────────────────────────────────────

  /**
   * Walk to the table holding leaves at `leafDepth`, allocating missing
   * tables (__p4d_alloc … __pte_alloc). Returns the entry address in the
   * parent of the leaf table's... i.e. the leaf entry's address, or null (OOM).
   * `modified` collects the entry kinds that were newly populated (PGTBL_*_MODIFIED).
   */
  private walkAlloc(va: bigint, leafDepth: number, modified?: Set<PgtLevel>): PhysAddr | null {
    const k = this.k, g = k.geometry;
    let table = this.pgd;
    for (let d = 0; d < leafDepth; d++) {
      const p = entryPtr(k, table, tableIndex(g, d, va));
      let e = readEntry(k, p);
      if (e === 0n) {
        if (!__pxdAlloc(k, this, p, d)) return null;
        modified?.add(entryKind(g, d));
        e = readEntry(k, p);
      }
      if (!isPresent(e) || isLeafEntry(e))
        throw new Error(`internal: ${hex(va)} crosses a leaf or non-present entry at depth ${d} (${hex(e)})`);
      table = entryAddr(g, e);
    }
    return entryPtr(k, table, tableIndex(g, leafDepth, va));
  }

  /** Fill every leaf of a pfn VMA in [s, e). false = out of memory (caller unwinds). */
  private populateRange(vma: Vma, s: bigint, e: bigint, modified: Set<PgtLevel>): boolean {
    const k = this.k, g = k.geometry;
    const depth = this.leafDepth(vma.pageSize);
    const last = g.tables.length - 1;
    const ps = BigInt(vma.pageSize);
    const writable = (vma.prot & PROT_WRITE) !== 0;
    for (let va = s; va < e;) {
      if (depth === last) {
        // One pte table at a time: its pmd entry, then every pte up to the table's end under one lock.
        const pmdp = this.walkAlloc(va, depth - 1, modified);
        if (pmdp === null) return false;
        const tableEnd = (va | (entrySpanAt(g, depth - 1) - 1n)) + 1n;
        const stop = tableEnd < e ? tableEnd : e;
        if (this.isInitMm) {
          if (readEntry(k, pmdp) === 0n) { if (!__pxdAlloc(k, this, pmdp, depth - 1)) return false; modified.add(entryKind(g, depth - 1)); }
          const tablePa = entryAddr(g, readEntry(k, pmdp));
          this.pageTableLock.lock();
          k.ops.enterLazyMmu();
          try {
            for (; va < stop; va += ps)
              setEntry(k, PgtLevel.Pte, entryPtr(k, tablePa, tableIndex(g, depth, va)), this.mkLeaf(vma.pa + Number(va - vma.start), vma.prot, false, writable));
          } finally { k.ops.leaveLazyMmu(); this.pageTableLock.unlock(); }
          continue;
        }
        if (readEntry(k, pmdp) === 0n) modified.add(entryKind(g, depth - 1));
        const m = pteAllocMapLock(k, this, pmdp, va);
        if (!m) return false;
        k.ops.enterLazyMmu();                                     // remap_pte_range batches its writes
        try {
          for (let i = 0; va < stop; va += ps, i++)
            setPteAt(k, m.pte.offset(i, k), this.mkLeaf(vma.pa + Number(va - vma.start), vma.prot, false, writable));
        } finally { k.ops.leaveLazyMmu(); pteUnmapUnlock(k, m.pte, m.ptl); }
      } else {
        const p = this.walkAlloc(va, depth, modified);
        if (p === null) return false;
        const ptl = entryLockptr(k, p);
        ptl.lock();
        try { setEntry(k, entryKind(g, depth), p, this.mkLeaf(vma.pa + Number(va - vma.start), vma.prot, true, writable)); }
        finally { ptl.unlock(); }
        va += ps;
      }
    }
    return true;
  }

  // ── fault ───────────────────────────────────────────────────────────────

  private faultLocked(vma: Vma, va: bigint, write: boolean): FaultResult {
    const k = this.k, g = k.geometry;
    const depth = this.leafDepth(vma.pageSize);
    const last = g.tables.length - 1;
    const ps = BigInt(vma.pageSize);
    const page = va & ~(ps - 1n);
    const off = Number(va - page);
    const vmaWritable = (vma.prot & PROT_WRITE) !== 0;
    if (depth === last) {
      const pmdp = this.walkAlloc(va, depth - 1);
      if (pmdp === null) return { ok: false, error: "oom" };
      const m = pteAllocMapLock(k, this, pmdp, va);
      if (!m) return { ok: false, error: "oom" };
      try {
        const old = readEntry(k, m.pte.pa);
        if (old === 0n) {                                         // do_anonymous_page / do_fault
          let pa: number;
          let writable = vmaWritable;
          if (vma.kind === "pfn") pa = vma.pa + Number(page - vma.start);
          else if (write) {
            const pfn = k.alloc.allocPage({ zero: true });
            if (pfn === null) return { ok: false, error: "oom" };
            pa = pfn * PAGE_SIZE;
          } else { pa = k.zeroPagePa; writable = false; }         // the shared zero page, read-only
          let e = this.mkLeaf(pa, vma.prot, false, writable);
          if (write) e |= _PAGE_DIRTY;
          setPteAt(k, m.pte, e);
          return { ok: true, pa: pa + off };
        }
        const pa = entryAddr(g, old);
        if (write && !(old & _PAGE_RW)) {                         // do_wp_page
          if (vma.kind === "anon" && pa === k.zeroPagePa) {
            const pfn = k.alloc.allocPage({ zero: true });        // wp_page_copy: the copy of a zero page is zero
            if (pfn === null) return { ok: false, error: "oom" };
            setPteAt(k, m.pte, 0n);                                // ptep_clear_flush
            k.flushTlbMmRange(this, page, page + ps, 12, false);
            setPteAt(k, m.pte, this.mkLeaf(pfn * PAGE_SIZE, vma.prot, false, true) | _PAGE_DIRTY);
            return { ok: true, pa: pfn * PAGE_SIZE + off };
          }
          // wp_page_reuse: an exclusive page only needs the write bit (x86: no flush, a stale
          // read-only TLB entry at most causes one more, spurious, fault).
          setPteAt(k, m.pte, old | _PAGE_RW | _PAGE_DIRTY);
        }
        return { ok: true, pa: pa + off };
      } finally { pteUnmapUnlock(k, m.pte, m.ptl); }
    }
    // Huge leaf (do_huge_pmd_anonymous_page; pfn huge VMAs are populated at mapRange).
    const p = this.walkAlloc(va, depth);
    if (p === null) return { ok: false, error: "oom" };
    const ptl = entryLockptr(k, p);
    ptl.lock();
    try {
      const old = readEntry(k, p);
      if (old !== 0n) return { ok: true, pa: hugeEntryAddr(g, old, ps) + off };
      let pa: number;
      if (vma.kind === "pfn") pa = vma.pa + Number(page - vma.start);
      else {
        const pfn = k.alloc.allocPages(Math.log2(vma.pageSize / PAGE_SIZE), { zero: true });
        if (pfn === null) return { ok: false, error: "oom" };
        pa = pfn * PAGE_SIZE;
      }
      setEntry(k, entryKind(g, depth), p, this.mkLeaf(pa, vma.prot, true, vmaWritable) | (write ? _PAGE_DIRTY : 0n));
      return { ok: true, pa: pa + off };
    } finally { ptl.unlock(); }
  }

  // ── mprotect ────────────────────────────────────────────────────────────

  private changeProtection(gather: MmuGather, vma: Vma): void {
    const k = this.k, g = k.geometry;
    const depth = this.leafDepth(vma.pageSize);
    const last = g.tables.length - 1;
    const ps = BigInt(vma.pageSize);
    this.forEachLeafTable(vma.start, vma.end, depth, (entryOrPmd, s, e) => {
      if (depth === last) {
        if (this.isInitMm) throw new Error("mprotect on init_mm is not supported (use set_memory_*)");
        const m = pteOffsetMapLock(k, this, entryOrPmd, s);
        if (!m) return;
        k.ops.enterLazyMmu();                                     // change_pte_range
        try {
          for (let va = s, i = 0; va < e; va += ps, i++) {
            const pte = m.pte.offset(i, k);
            const old = readEntry(k, pte.pa);
            if (old === 0n) continue;
            const fresh = this.modifyLeaf(old, vma.prot, vma, false);
            if (fresh === old) continue;
            checkEntryLock(k, PgtLevel.Pte, pte.pa);
            const was = k.ops.ptepModifyProtStart(this, va, pte.pa);
            const next = this.modifyLeaf(k.ops.pteVal(was), vma.prot, vma, false);   // start returns the raw pte
            k.ops.ptepModifyProtCommit(this, va, pte.pa, was, k.ops.makePte(next));
            gather.removeTlbEntry(va, 12);
          }
        } finally { k.ops.leaveLazyMmu(); pteUnmapUnlock(k, m.pte, m.ptl); }
      } else {
        const p = entryOrPmd;
        const ptl = entryLockptr(k, p);
        ptl.lock();
        try {
          const old = readEntry(k, p);
          if (old === 0n) return;
          const fresh = this.modifyLeaf(old, vma.prot, vma, true);
          if (fresh !== old) {
            setEntry(k, entryKind(g, depth), p, fresh);           // change_huge_pmd
            gather.removeTlbEntry(s, Math.log2(vma.pageSize));
          }
        } finally { ptl.unlock(); }
      }
    });
  }

  /**
   * Visit, for [s, e) with leaves at `depth`: for 4K leaves each pmd entry
   * (with the sub-range it covers), for huge leaves each leaf entry. Missing
   * tables are skipped.
   */
  private forEachLeafTable(s: bigint, e: bigint, depth: number, fn: (p: PhysAddr, s: bigint, e: bigint) => void): void {
    const g = this.k.geometry;
    const target = depth === g.tables.length - 1 ? depth - 1 : depth;
    const visit = (table: PhysAddr, d: number, lo: bigint, hi: bigint): void => {
      const span = entrySpanAt(g, d);
      for (let va = lo; va < hi;) {
        const next = (va | (span - 1n)) + 1n;
        const stop = next < hi ? next : hi;
        const p = entryPtr(this.k, table, tableIndex(g, d, va));
        if (d === target) fn(p, va, stop);
        else {
          const ent = readEntry(this.k, p);
          if (isPresent(ent) && !isLeafEntry(ent)) visit(entryAddr(g, ent), d + 1, va, stop);
        }
        va = stop;
      }
    };
    visit(this.pgd, 0, s, e);
  }

  // ── munmap / free_pgtables ──────────────────────────────────────────────

  /** unmap_region: zap leaves VMA by VMA, free empty tables, flush, free. mmap_lock held for write. */
  private unmapLocked(s: bigint, e: bigint): void {
    const gather = new MmuGather(this.k, this);
    this.splitVmaAt(s);
    this.splitVmaAt(e);
    for (const v of this.vmas.filter((x) => x.start >= s && x.end <= e)) this.zapVma(gather, v);
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i]!;
      if (v.start >= s && v.end <= e) this.vmas.splice(i, 1);
    }
    // vmalloc keeps its page tables; user space frees those that became empty.
    if (!this.isInitMm) this.freePgtables(gather, s, e);
    gather.finish();
  }

  private zapVma(gather: MmuGather, vma: Vma): void {
    const k = this.k, g = k.geometry;
    const depth = this.leafDepth(vma.pageSize);
    const last = g.tables.length - 1;
    const ps = BigInt(vma.pageSize);
    const order = Math.log2(vma.pageSize / PAGE_SIZE);
    const freeData = (pa: number): void => {
      if (vma.kind === "anon" && pa !== k.zeroPagePa) gather.removePage(pa / PAGE_SIZE, order);
    };
    this.forEachLeafTable(vma.start, vma.end, depth, (p, s, e) => {
      if (depth === last) {
        if (this.isInitMm) {
          const pmd = readEntry(k, p);
          if (!isPresent(pmd) || isLeafEntry(pmd)) return;
          const tablePa = entryAddr(g, pmd);
          this.pageTableLock.lock();
          k.ops.enterLazyMmu();
          try {
            for (let va = s; va < e; va += ps) {
              const ptep = entryPtr(k, tablePa, tableIndex(g, depth, va));
              if (readEntry(k, ptep) === 0n) continue;
              setEntry(k, PgtLevel.Pte, ptep, 0n);
              gather.removeTlbEntry(va, 12);
            }
          } finally { k.ops.leaveLazyMmu(); this.pageTableLock.unlock(); }
          return;
        }
        const m = pteOffsetMapLock(k, this, p, s);                // zap_pte_range
        if (!m) return;
        k.ops.enterLazyMmu();
        try {
          for (let va = s, i = 0; va < e; va += ps, i++) {
            const pte = m.pte.offset(i, k);
            const old = readEntry(k, pte.pa);
            if (old === 0n) continue;
            setPteAt(k, pte, 0n);                                  // ptep_get_and_clear_full
            gather.removeTlbEntry(va, 12);
            freeData(entryAddr(g, old));
          }
        } finally { k.ops.leaveLazyMmu(); pteUnmapUnlock(k, m.pte, m.ptl); }
      } else {
        const ptl = entryLockptr(k, p);                          // zap_huge_pmd / zap_huge_pud
        ptl.lock();
        try {
          const old = readEntry(k, p);
          if (old === 0n) return;
          setEntry(k, entryKind(g, depth), p, 0n);
          gather.removeTlbEntry(s, Math.log2(vma.pageSize));
          freeData(hugeEntryAddr(g, old, ps));
        } finally { ptl.unlock(); }
      }
    });
  }

  /**
   * free_pgtables over [s, e): every table below the pgd that intersects the
   * range and holds no entry any more is detached (its parent entry cleared —
   * without the table lock, as free_pgd_range does under the exclusive
   * mmap_lock), released to the backend (paravirt_release_*), uncounted, and
   * handed to the gather (tlb_remove_table) to be freed after the flush.
   * Clearing a PAE PDPT entry needs a CR3 reload (need_flush_all).
   */
  private freePgtables(gather: MmuGather, s: bigint, e: bigint): void {
    const k = this.k, g = k.geometry;
    const last = g.tables.length - 1;
    const visit = (table: PhysAddr, d: number, lo: bigint, hi: bigint): void => {
      const span = entrySpanAt(g, d);
      for (let va = lo; va < hi;) {
        const chunk = va & ~(span - 1n);
        const next = chunk + span;
        const stop = next < hi ? next : hi;
        const p = entryPtr(k, table, tableIndex(g, d, va));
        const ent = readEntry(k, p);
        if (isPresent(ent) && !isLeafEntry(ent) && d < last) {
          const child = entryAddr(g, ent);
          if (d + 1 < last) visit(child, d + 1, va, stop);
          if (tableIsEmpty(k, child, d + 1)) {
            const level = g.tables[d + 1]!.level;
            const pt = k.ptdescs.get(child / PAGE_SIZE)!;
            setEntry(k, entryKind(g, d), p, 0n, false);
            paravirtRelease(k, level, pt);
            this.countTables(level, -1);
            k.ops.tlbRemoveTable(gather, pt.pfn);
            gather.coverTable(chunk, span);
            if (g.mode === "pae" && d === 0) gather.needFlushAll = true;
          }
        }
        va = stop;
      }
    };
    visit(this.pgd, 0, s, e);
  }
}

/** Bytes mapped by one entry of table `depth`. */
export function entrySpanAt(g: { tables: readonly { shift: number }[] }, depth: number): bigint {
  return 1n << BigInt(g.tables[depth]!.shift);
}

/** Does the table hold no entry at all? */
function tableIsEmpty(k: Kernel, pa: PhysAddr, depth: number): boolean {
  const bytes = k.phys.readBytes(pa, k.geometry.tables[depth]!.entries * k.geometry.entryBytes);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
