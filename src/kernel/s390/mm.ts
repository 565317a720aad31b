/**
 * An s390 address space: the generic mm (../mm.ts) with its mm_context —
 * pgtable_list, the context lock, asce and asce_limit,
 * has_pgste/alloc_pgste/uses_skeys, the gmap list, cpu_attach_mask,
 * flush_mm — and what only s390 does with it: growing the address space
 * (check_asce_limit → crst_table_upgrade), the PTE walks the gmap and
 * storage-key code use, and accesses that run the fault handler on a DAT
 * exception. Mapping, faults, munmap and teardown are the generic ones,
 * with s390's differences in arch.ts.
 *
 * Levels: a new mm has three (region-third top, asce_limit 2^42); mapping
 * beyond the limit upgrades it.
 *
 *   ASCE → [R1 → R2 →] R3 table → segment table (pmd) → PTE table (2 KiB) → frame
 *
 * A PTE table is freed only through page_table_free_rcu, which unlinks it
 * from every gmap first; frames and tables come back to the allocator only
 * after the TLB flush, tables only after the grace period.
 */
import { Access, FaultKind, Pgm } from "../../abi.js";
import { newTranslation, type Translation } from "../../engine/engine.js";
import { Mm, type FaultResult } from "../mm.js";
import { pxdAllocOffset, pxdOffset } from "../mm-walk.js";
import { __pteAlloc } from "../pgtable-generic.js";
import type { PtDesc } from "../ptdesc.js";
import { SpinLock } from "../ptlock.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "../types.js";
import type { Vma } from "../vma.js";
import { s390MmArch } from "./arch.js";
import { crstTableUpgrade, pgdAlloc } from "./crst.js";
import { S390Error } from "./errors.js";
import type { Gmap } from "./gmap.js";
import { gmapUnlink } from "./gmap.js";
import type { S390Kernel } from "./kernel.js";
import type { PgTable } from "./pgalloc.js";
import { checkBool, checkKeys, checkObject } from "../../check.js";
import {
  _ASCE_TABLE_LENGTH, _ASCE_TYPE_REGION3, _ASCE_USER_BITS, _PAGE_INVALID, _REGION2_SIZE, _SEGMENT_ENTRY_EMPTY,
  _STD_TABLE_LENGTH_31, CRST_ALLOC_ORDER, CRST_ENTRIES, ESA390_LIMIT, hex, SEGMENT_TABLE_ORDER_31,
} from "./pgtable-bits.js";

/** An s390 VMA: always 4 KiB pages. */
export type S390Vma = Vma;

export interface S390MmOptions {
  /** Page tables with PGSTEs (a KVM host process: mm_alloc_pgste + has_pgste). */
  pgste?: boolean;
  /** Storage keys in use by a guest (mm_uses_skeys): keys travel through the PGSTEs. */
  skeys?: boolean;
}

export type S390FaultResult = FaultResult;

/** Program-interruption codes a fault handler resolves (translation and protection). */
const FAULT_CODES = new Set<number>([Pgm.Protection, Pgm.PageTranslation, Pgm.SegmentTranslation,
  Pgm.Region1Translation, Pgm.Region2Translation, Pgm.Region3Translation]);

export class S390Mm extends Mm {
  declare readonly k: S390Kernel;
  readonly arch = s390MmArch;
  /** mm->context.lock: protects pgtable_list and the AA bits. */
  readonly contextLock: SpinLock;
  readonly hasPgste: boolean;
  readonly allocPgste: boolean;
  readonly usesSkeys: boolean;
  /** mm->context.pgtable_list: pages with a free 2 KiB half. */
  readonly pgtableList: PtDesc[] = [];
  /** mm->context.gmap_list. */
  readonly gmaps: Gmap[] = [];
  readonly cpuAttachMask = new Set<number>();
  /** mm->context.flush_mm: a lazy exchange left a flush to do. */
  flushMmPending = false;
  pgdDesc!: PtDesc;
  asce = 0n;
  asceLimit = _REGION2_SIZE;

  private constructor(k: S390Kernel, id: number, opts: S390MmOptions) {
    super(k, id, false);
    this.contextLock = new SpinLock(`mm${id}.context.lock`, k.lockdep);
    this.hasPgste = this.allocPgste = opts.pgste ?? false;
    this.usesSkeys = opts.skeys ?? this.hasPgste;
    if (this.usesSkeys && !this.hasPgste) throw new S390Error("EINVAL", "storage keys for guests need an mm with PGSTEs");
  }

  /** init_new_context + pgd_alloc: a 3-level address space (asce_limit 2^42). */
  static create(k: S390Kernel, opts: S390MmOptions = {}): S390Mm {
    checkObject("S390Mm.create", "options", opts);
    checkKeys("S390Mm.create", "option", opts, ["pgste", "skeys"]);
    for (const key of ["pgste", "skeys"] as const) if (opts[key] !== undefined) checkBool("S390Mm.create", key, opts[key]);
    const mm = new S390Mm(k, k.newMmId(), opts);
    if (k.esa390) {
      // 31-bit (ESA/390): one segment table of 2048 4-byte entries (8 KiB,
      // order 1) is the whole upper level; the ASCE is an STD.
      if (mm.hasPgste) throw new S390Error("EINVAL", "PGSTEs (KVM) need 64-bit page tables, not ESA/390");
      const pgd = k.ptdescs.pagetableAlloc(SEGMENT_TABLE_ORDER_31);
      if (!pgd) throw new S390Error("ENOMEM", "mm_alloc: pgd_alloc failed");
      for (let i = 0; i < CRST_ENTRIES; i++) k.phys.write32(pgd.pa + 4 * i, Number(_SEGMENT_ENTRY_EMPTY), true);
      k.ptdescs.pgdCtor(mm, pgd);
      mm.pgdDesc = pgd;
      mm.asce = BigInt(pgd.pa) | _STD_TABLE_LENGTH_31;
      mm.asceLimit = ESA390_LIMIT;
      k.mms.add(mm);
      return mm;
    }
    const pgd = pgdAlloc(mm);
    if (!pgd) throw new S390Error("ENOMEM", "mm_alloc: pgd_alloc failed");
    mm.pgdDesc = pgd;
    mm.asce = BigInt(pgd.pa) | _ASCE_TABLE_LENGTH | _ASCE_USER_BITS | _ASCE_TYPE_REGION3;
    k.mms.add(mm);
    return mm;
  }

  /** Physical address of the top table. */
  get pgd(): PhysAddr { return this.pgdDesc.pa; }

  /** Linux keeps no nr_p4ds: a region-second table below the top is not counted (crst_table_upgrade does the same). */
  override countTables(level: PgtLevel, delta: number): void {
    if (level !== PgtLevel.P4d) super.countTables(level, delta);
  }

  // ── walking ─────────────────────────────────────────────────────────

  /** Depth of the segment table (its entries point to PTE tables). */
  private get segmentDepth(): number { return this.arch.tables(this).length - 2; }

  /** The segment entry (pmd) address for `va`, allocating missing region and
   *  segment tables when `alloc`; null above the limit, if missing, or out of memory. */
  pmdOffset(va: bigint, alloc: boolean): PhysAddr | null {
    if (va >= this.asceLimit) return null;
    return alloc ? pxdAllocOffset(this, va, this.segmentDepth) : pxdOffset(this, va, this.segmentDepth);
  }

  /** The segment entry at `pmdp` (4 bytes in ESA/390, else 8). */
  pmdGet(pmdp: PhysAddr): bigint { return this.arch.readEntry(this, pmdp); }

  /** The PTE slot of `va` in the table the segment entry `pmd` points to. */
  private ptepIn(pmd: bigint, va: bigint): PhysAddr {
    const t = this.arch.tables(this);
    const pte = t[t.length - 1]!;
    return this.arch.pxdTable(this, pmd, this.segmentDepth)! +
      this.arch.entryBytes(this) * Number((va >> BigInt(pte.shift)) & BigInt(pte.entries - 1));
  }

  /** The PTE slot for `va` if its PTE table exists (no allocation). */
  lookupPtep(va: bigint): PhysAddr | null {
    const pmdp = this.pmdOffset(va, false);
    if (pmdp === null) return null;
    const pmd = this.pmdGet(pmdp);
    if (this.arch.pxdNone(this, pmd, this.segmentDepth)) return null;
    return this.ptepIn(pmd, va);
  }

  /** get_locked_pte's walk: the PTE slot, allocating tables; null on OOM. */
  getLockedPtep(va: bigint): PhysAddr | null {
    const pmdp = this.pmdOffset(va, true);
    if (pmdp === null) return null;
    if (this.arch.pxdNone(this, this.pmdGet(pmdp), this.segmentDepth) && !__pteAlloc(this.k, this, pmdp)) return null;
    return this.ptepIn(this.pmdGet(pmdp), va);
  }

  /** pmd_lockptr: the segment table's split lock, else page_table_lock. */
  pmdLockptr(pmdp: PhysAddr): SpinLock {
    if (this.k.esa390) return this.pageTableLock;      // no split pmd locks on 31-bit
    const crstPages = 1 << CRST_ALLOC_ORDER;
    const pt = this.k.ptdescs.get(Math.floor(pmdp / (PAGE_SIZE * crstPages)) * crstPages);
    return pt?.ptl ?? this.pageTableLock;
  }

  /** pte_lockptr: the split lock of the PTE table's page (both halves share it). */
  pteLockptr(ptep: PhysAddr): SpinLock {
    return this.k.ptdescs.get(Math.floor(ptep / PAGE_SIZE))?.ptl ?? this.pageTableLock;
  }

  /** Run `fn` with the PTE lock of `ptep` held. */
  withPteLock<T>(ptep: PhysAddr, fn: () => T): T {
    const ptl = this.pteLockptr(ptep);
    ptl.lock();
    try { return fn(); } finally { ptl.unlock(); }
  }

  /** check_asce_limit: grow the address space to cover `end`. */
  checkAsceLimit(end: bigint): void {
    if (end <= this.asceLimit) return;
    if (this.k.esa390) throw new S390Error("EINVAL", `${hex(end)} is beyond the 31-bit address space (2 GiB)`);
    if (crstTableUpgrade(this, end) !== 0)
      throw new S390Error("ENOMEM", `crst_table_upgrade to ${hex(end)}: out of memory; the mm is unchanged`);
  }

  // ── accesses ────────────────────────────────────────────────────────

  /**
   * One access as a user program makes it: translate through this mm's ASCE
   * on the engine; on a translation or protection exception run the fault
   * handler and retry. Returns the final translation (a fault if the handler
   * could not resolve it).
   */
  access(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    for (let attempt = 0; attempt < 4; attempt++) {
      this.k.translate(this.asce, va, access, out);
      if (out.fault === FaultKind.None || out.fault !== FaultKind.S390 || !FAULT_CODES.has(out.vector)) return out;
      if (!this.handleFault(va, access).ok) return out;
    }
    return out;
  }

  /** gmap_unlink for this mm (called by page_table_free_rcu). */
  gmapUnlink(table: PgTable, vmaddr: bigint): void { gmapUnlink(this, table, vmaddr); }
}

/** PTE value for tests and tools: none, or the raw entry. */
export const isPteNone = (pte: bigint): boolean => pte === _PAGE_INVALID;
