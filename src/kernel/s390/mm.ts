/**
 * An s390 address space: mm_struct with its mm_context (pgtable_list, the
 * context lock, asce and asce_limit, has_pgste/alloc_pgste/uses_skeys, the
 * gmap list, cpu_attach_mask, flush_mm) and the operations on it — mapping a
 * physical range, anonymous demand-paged memory, the page-fault handler with
 * software young/dirty (SPEC A.5), munmap with free_pgtables through an
 * mmu_gather whose tables wait for an RCU grace period, and teardown.
 *
 * Levels: a new mm has three (region-third top, asce_limit 2^42); mapping
 * beyond the limit upgrades it (check_asce_limit → crst_table_upgrade).
 *
 *   ASCE → [R1 → R2 →] R3 table → segment table (pmd) → PTE table (2 KiB) → frame
 *
 * Rules every operation keeps: bad input is rejected before anything
 * changes; running out of memory midway is undone (no leak); a PTE table is
 * freed only through page_table_free_rcu, which unlinks it from every gmap
 * first; frames and tables come back to the allocator only after the TLB
 * flush, tables only after the grace period.
 */
import { Access, FaultKind, Pgm } from "../../abi.js";
import { newTranslation, type Translation } from "../../engine/engine.js";
import { BusError } from "../../phys/phys-mem.js";
import type { PtDesc, PtOwner } from "../ptdesc.js";
import { SpinLock } from "../ptlock.js";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../mm.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../types.js";
import { crstTableFree, crstTableUpgrade, pgdAlloc, pmdAllocOne, pudAllocOne, p4dAllocOne } from "./crst.js";
import { S390Error } from "./errors.js";
import type { Gmap } from "./gmap.js";
import { gmapUnlink } from "./gmap.js";
import type { S390Kernel } from "./kernel.js";
import { pageTableAlloc, pageTableFree, pageTableFreeRcu, pmdPgtable, pmdPgtable31, pmdPopulate, type PgTable, type TableFree } from "./pgalloc.js";
import {
  _ASCE_TABLE_LENGTH, _ASCE_TYPE_REGION3, _ASCE_USER_BITS, _PAGE_INVALID, _PAGE_NOEXEC, _REGION2_SIZE, _REGION_ENTRY_INVALID,
  _SEGMENT_ENTRY_INVALID,
  _SEGMENT_ENTRY_EMPTY, _REGION_ENTRY_ORIGIN, crstEmpty, crstEntry, crstIndex, crstShift, hex, mkPtePhys, pteAddr,
  pteIndex, pteMkdirty, pteMkwrite, pteMkyoung, pteNone, ptePresent, protToPgprot, pteWrite, TASK_SIZE_MAX,
  type CrstLevel,
} from "./pgtable-bits.js";
import { ptepGet, ptepGetAndClear, ptepSetAccessFlags, setPteAt } from "./pgtable.js";
import { asceLevel } from "./crst.js";


/** The end of an ESA/390 (31-bit) address space. */
const ESA_LIMIT = 1n << 31n;

export interface S390Vma {
  start: bigint;
  end: bigint;
  prot: number;
  /** "pfn": a fixed physical range (remap_pfn_range); "anon": demand-paged. */
  kind: "pfn" | "anon";
  pa: PhysAddr;
}

export interface S390MmOptions {
  /** Page tables with PGSTEs (a KVM host process: mm_alloc_pgste + has_pgste). */
  pgste?: boolean;
  /** Storage keys in use by a guest (mm_uses_skeys): keys travel through the PGSTEs. */
  skeys?: boolean;
}

export type S390FaultResult = { ok: true; pa: PhysAddr } | { ok: false; error: "segv" | "oom" };

/** Program-interruption codes a fault handler resolves (translation and protection). */
const FAULT_CODES = new Set<number>([Pgm.Protection, Pgm.PageTranslation, Pgm.SegmentTranslation,
  Pgm.Region1Translation, Pgm.Region2Translation, Pgm.Region3Translation]);

/** An mmu_gather: cleared ranges, data pages and tables to free after the flush. */
export class S390MmuGather {
  readonly tables: TableFree[] = [];
  readonly pages: Pfn[] = [];
  cleared = false;
  constructor(readonly mm: S390Mm) {}
  removeTable(t: TableFree): void { this.tables.push(t); this.cleared = true; }
  removePage(pfn: Pfn): void { this.pages.push(pfn); }
  /** tlb_finish_mmu: flush if anything was cleared (a deferred lazy flush
   *  included), free data pages, hand tables to RCU. */
  finish(): void {
    const mm = this.mm, k = mm.k;
    if (this.cleared || mm.flushMmPending) {
      mm.flushMmPending = false;
      k.flushMm(mm.asce);
    }
    for (const pfn of this.pages) k.alloc.freePage(pfn);
    k.rcuPending.push(...this.tables);
  }
}

export class S390Mm implements PtOwner {
  readonly isInitMm = false;
  readonly pageTableLock: SpinLock;
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
  nrPtes = 0;
  nrPmds = 0;
  nrPuds = 0;
  readonly vmas: S390Vma[] = [];
  private dead = false;

  private constructor(readonly k: S390Kernel, readonly id: number, opts: S390MmOptions) {
    this.pageTableLock = new SpinLock(`mm${id}.page_table_lock`, k.lockdep);
    this.contextLock = new SpinLock(`mm${id}.context.lock`, k.lockdep);
    this.hasPgste = this.allocPgste = opts.pgste ?? false;
    this.usesSkeys = opts.skeys ?? this.hasPgste;
    if (this.usesSkeys && !this.hasPgste) throw new S390Error("EINVAL", "storage keys for guests need an mm with PGSTEs");
  }

  /** init_new_context + pgd_alloc: a 3-level address space (asce_limit 2^42). */
  static create(k: S390Kernel, opts: S390MmOptions = {}): S390Mm {
    const mm = new S390Mm(k, k.newMmId(), opts);
    if (k.esa390) {
      // 31-bit (ESA/390): one segment table of 2048 4-byte entries (8 KiB,
      // order 1) is the whole upper level; the ASCE is an STD with STL 127.
      if (mm.hasPgste) throw new S390Error("EINVAL", "PGSTEs (KVM) need 64-bit page tables, not ESA/390");
      const pgd = k.ptdescs.pagetableAlloc(1);
      if (!pgd) throw new S390Error("ENOMEM", "mm_alloc: pgd_alloc failed");
      for (let i = 0; i < 2048; i++) k.phys.write32(pgd.pa + 4 * i, Number(_SEGMENT_ENTRY_EMPTY), true);
      k.ptdescs.pgdCtor(mm, pgd);
      mm.pgdDesc = pgd;
      mm.asce = BigInt(pgd.pa) | 0x7fn;
      mm.asceLimit = ESA_LIMIT;
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
  get destroyed(): boolean { return this.dead; }
  get nrTables(): number { return this.nrPtes + this.nrPmds + this.nrPuds; }

  // ── walking ─────────────────────────────────────────────────────────

  /** The segment entry (pmd) address for `va`, allocating missing region and
   *  segment tables when `alloc`; null if missing (or out of memory). */
  pmdOffset(va: bigint, alloc: boolean): PhysAddr | null {
    const k = this.k;
    if (k.esa390) return va < ESA_LIMIT ? this.pgd + 4 * Number((va >> 20n) & 0x7ffn) : null;
    let table = this.pgd;
    for (let lvl = asceLevel(this.asce); lvl > 0; lvl--) {
      const ep = table + 8 * crstIndex(lvl as CrstLevel, va);
      let e = k.phys.read64(ep, true);
      if (e & _REGION_ENTRY_INVALID) {
        if (!alloc) return null;
        const below = (lvl - 1) as CrstLevel;
        const pt = below === 0 ? pmdAllocOne(this) : below === 1 ? pudAllocOne(this) : p4dAllocOne(this);
        if (!pt) return null;
        this.pageTableLock.lock();                          // pud_populate and above: page_table_lock
        e = crstEntry(lvl as CrstLevel, pt.pa);
        k.phys.write64(ep, e, true);
        this.pageTableLock.unlock();
        if (below === 0) this.nrPmds++; else if (below === 1) this.nrPuds++;
      }
      table = Number(e & _REGION_ENTRY_ORIGIN);
    }
    return table + 8 * crstIndex(0, va);
  }

  /** The segment entry at `pmdp` (4 bytes in ESA/390, else 8). */
  pmdGet(pmdp: PhysAddr): bigint {
    return this.k.esa390 ? BigInt(this.k.phys.read32(pmdp, true)) : this.k.phys.read64(pmdp, true);
  }
  private pmdSet(pmdp: PhysAddr, v: bigint): void {
    if (this.k.esa390) this.k.phys.write32(pmdp, Number(v), true); else this.k.phys.write64(pmdp, v, true);
  }
  /** The PTE slot of `va` in the table the segment entry `pmd` points to. */
  private ptepIn(pmd: bigint, va: bigint): PhysAddr {
    return this.k.esa390 ? pmdPgtable31(pmd).pa + 4 * pteIndex(va) : pmdPgtable(pmd).pa + 8 * pteIndex(va);
  }

  /** The PTE slot for `va` if its PTE table exists (no allocation). */
  lookupPtep(va: bigint): PhysAddr | null {
    if (va >= this.asceLimit) return null;
    const pmdp = this.pmdOffset(va, false);
    if (pmdp === null) return null;
    const pmd = this.pmdGet(pmdp);
    if (pmd & _SEGMENT_ENTRY_EMPTY) return null;
    return this.ptepIn(pmd, va);
  }

  /** get_locked_pte's walk: the PTE slot, allocating tables; null on OOM. */
  getLockedPtep(va: bigint): PhysAddr | null {
    const pmdp = this.pmdOffset(va, true);
    if (pmdp === null) return null;
    return this.pteAlloc(pmdp, va);
  }

  /** __pte_alloc + pte_offset: a PTE table under the segment entry (installed
   *  under the pmd lock; a lost race frees the new table). */
  private pteAlloc(pmdp: PhysAddr, va: bigint): PhysAddr | null {
    const k = this.k;
    if (this.pmdGet(pmdp) & _SEGMENT_ENTRY_EMPTY) {
      const t = pageTableAlloc(this);
      if (!t) return null;
      const ptl = this.pmdLockptr(pmdp);
      ptl.lock();
      let used = false;
      try {
        if (this.pmdGet(pmdp) & _SEGMENT_ENTRY_EMPTY) {
          this.nrPtes++;
          pmdPopulate(this, pmdp, t);
          used = true;
        }
      } finally { ptl.unlock(); }
      if (!used) pageTableFree(this, t);
    }
    return this.ptepIn(this.pmdGet(pmdp), va);
  }

  /** pmd_lockptr: the segment table's split lock, else page_table_lock. */
  pmdLockptr(pmdp: PhysAddr): SpinLock {
    if (this.k.esa390) return this.pageTableLock;      // no split pmd locks on 31-bit
    const pt = this.k.ptdescs.get(Math.floor(pmdp / (4 * PAGE_SIZE)) * 4);
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

  findVma(va: bigint): S390Vma | undefined { return this.vmas.find((v) => v.start <= va && va < v.end); }

  // ── mapping ─────────────────────────────────────────────────────────

  /** remap_pfn_range: map [va, va+size) to [pa, pa+size) now. */
  mapRange(va: bigint, size: number, opts: { pa: PhysAddr; prot: number }): void {
    const end = this.checkRange("mapRange", va, size);
    if (opts.pa % PAGE_SIZE !== 0) throw new S390Error("EINVAL", `mapRange: pa ${hex(opts.pa)} is not page aligned`);
    if (!(opts.pa >= 0 && opts.pa + size <= this.k.phys.size)) throw new BusError(opts.pa, size, this.k.phys.size);
    this.checkProt(opts.prot);
    this.checkNoOverlap("mapRange", va, end);
    this.checkAsceLimit(end);
    const vma: S390Vma = { start: va, end, prot: opts.prot, kind: "pfn", pa: opts.pa };
    this.insertVma(vma);
    for (let a = va; a < end; a += 4096n) {
      const ptep = this.getLockedPtep(a);
      if (ptep === null) {
        this.munmap(va, size);
        throw new S390Error("ENOMEM", `mapRange(${hex(va)}, ${hex(size)}): out of memory; rolled back`);
      }
      this.withPteLock(ptep, () => setPteAt(this, a, ptep, mkPtePhys(vma.pa + Number(a - va), this.pgprot(vma.prot))));
    }
  }

  /** mmap of anonymous memory: nothing is mapped until the first fault. */
  mmap(va: bigint, size: number, opts: { prot: number }): void {
    const end = this.checkRange("mmap", va, size);
    this.checkProt(opts.prot);
    this.checkNoOverlap("mmap", va, end);
    this.checkAsceLimit(end);
    this.insertVma({ start: va, end, prot: opts.prot, kind: "anon", pa: 0 });
  }

  /**
   * munmap: zap every PTE (ptep_get_and_clear), free the PTE tables and
   * segment/region tables no VMA needs any more (free_pgtables), flush, free
   * anonymous frames; tables go to RCU (S390Kernel.rcuGracePeriod frees them).
   * A range (or the part of one) above the mm's limit holds no VMA and no
   * table: nothing happens there, and the limit stays.
   */
  munmap(va: bigint, size: number): void {
    const end = this.checkRange("munmap", va, size);
    const tlb = new S390MmuGather(this);
    this.splitVmaAt(va);
    this.splitVmaAt(end);
    for (const v of this.vmas.filter((x) => x.start >= va && x.end <= end)) this.zapRange(tlb, v);
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i]!;
      if (v.start >= va && v.end <= end) this.vmas.splice(i, 1);
    }
    this.freePgtables(tlb, va, end);
    tlb.finish();
  }

  /**
   * The page-fault handler (do_dat_exception → handle_mm_fault): a none PTE
   * gets its page (anonymous: a fresh zeroed frame — with PGSTEs the zero
   * page is never used, mm_forbids_zeropage — writable pages made dirty at
   * once as do_anonymous_page does); a present PTE gets young (and dirty on a
   * write) through ptep_set_access_flags. access: 0 read, 1 write, 2 fetch.
   */
  handleFault(va: bigint, access: Access): S390FaultResult {
    this.checkLive();
    const vma = this.findVma(va);
    const need = access === Access.Write ? PROT_WRITE : access === Access.Fetch ? PROT_EXEC | PROT_READ : PROT_READ;
    if (!vma || !(vma.prot & need)) return { ok: false, error: "segv" };
    const write = access === Access.Write;
    const page = va & ~0xfffn;
    const ptep = this.getLockedPtep(va);
    if (ptep === null) return { ok: false, error: "oom" };
    return this.withPteLock(ptep, (): S390FaultResult => {
      const pte = ptepGet(this, ptep);
      if (pteNone(pte)) {
        let pa: PhysAddr;
        let entry: bigint;
        if (vma.kind === "pfn") {
          pa = vma.pa + Number(page - vma.start);
          entry = mkPtePhys(pa, this.pgprot(vma.prot));
          if (write) entry = pteMkdirty(entry);
        } else {
          const pfn = this.k.alloc.allocPage({ zero: true });
          if (pfn === null) return { ok: false, error: "oom" };
          pa = pfn * PAGE_SIZE;
          entry = mkPtePhys(pa, this.pgprot(vma.prot));
          if (vma.prot & PROT_WRITE) entry = pteMkwrite(pteMkdirty(entry));
        }
        setPteAt(this, page, ptep, entry);
        return { ok: true, pa: pa + Number(va & 0xfffn) };
      }
      if (!ptePresent(pte)) return { ok: false, error: "segv" };
      if (write && !pteWrite(pte)) return { ok: false, error: "segv" };   // no COW in this model
      let entry = pte;
      if (write) entry = pteMkdirty(entry);
      entry = pteMkyoung(entry);
      ptepSetAccessFlags(this, page, ptep, entry);
      return { ok: true, pa: pteAddr(pte) + Number(va & 0xfffn) };
    });
  }

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

  /** exit_mmap + pgd_free. Refused while a gmap still uses this mm. */
  destroy(): void {
    this.checkLive();
    if (this.gmaps.length)
      throw new S390Error("EBUSY", `mm ${this.id}: gmap ${this.gmaps.map((g) => g.id).join(", ")} still attached (gmap_free first)`);
    const k = this.k;
    if (k.current === this) { k.current = null; this.cpuAttachMask.delete(0); }
    const tlb = new S390MmuGather(this);
    for (const v of [...this.vmas]) this.zapRange(tlb, v);
    this.vmas.length = 0;
    this.freePgtables(tlb, 0n, 1n << 64n);
    tlb.finish();
    crstTableFree(this, this.pgdDesc);          // the ESA/390 segment table too (its order is in the ptdesc)
    if (this.nrTables !== 0) throw new Error(`exit_mmap: mm ${this.id} still accounts ${this.nrTables} page tables`);
    this.dead = true;
    k.mms.delete(this);
  }

  /** gmap_unlink for this mm (called by page_table_free_rcu). */
  gmapUnlink(table: PgTable, vmaddr: bigint): void { gmapUnlink(this, table, vmaddr); }

  // ── zap and free_pgtables ─────────────────────────────────────────────

  private zapRange(tlb: S390MmuGather, vma: S390Vma): void {
    for (let a = vma.start; a < vma.end; a += 4096n) {
      const ptep = this.lookupPtep(a);
      if (ptep === null) { a = (a | 0xfffffn) + 1n - 4096n; continue; }   // no table: skip the 1 MiB segment
      this.withPteLock(ptep, () => {
        const pte = ptepGet(this, ptep);
        if (pteNone(pte)) return;
        const old = ptepGetAndClear(this, a, ptep);
        tlb.cleared = true;
        if (vma.kind === "anon" && ptePresent(old)) tlb.removePage(pteAddr(old) / PAGE_SIZE);
      });
    }
  }

  /**
   * free_pgtables over [s, e), after the VMAs there are gone: free_pgd_range
   * (mm/memory.c) with floor = the end of the VMA below and ceiling = the
   * start of the VMA above. A PTE, segment or region table below the top is
   * freed when its whole span lies in [floor, ceiling) — nothing of it is in
   * use — PTE tables through page_table_free_rcu (pte_free_tlb), CRST tables
   * through tlb_remove_table with low pointer bits 0 (pmd/pud_free_tlb, whose
   * dtor runs now).
   *
   * Two limits keep the walk honest:
   *  - nothing beyond what the top table covers (2^42, 2^53 or 2^64) is
   *    walked: a range there has no VMA and no table, and its index would
   *    wrap onto the low entries;
   *  - a table that goes is emptied completely first, not only over [s, e):
   *    after crst_table_upgrade the old top table hangs under the new one
   *    whether or not any VMA is near it, and a parent freed over a hole
   *    would otherwise leave it allocated and unreachable. Everything under
   *    an unused span is itself unused, so this frees nothing still needed.
   */
  private freePgtables(tlb: S390MmuGather, s: bigint, e: bigint): void {
    const k = this.k;
    const top = asceLevel(this.asce);
    const covered = k.esa390 ? ESA_LIMIT : 1n << (crstShift(top) + 11n);
    if (e > covered) e = covered;
    if (s >= e) return;
    let floor = 0n, ceiling = covered;
    for (const v of this.vmas) {
      if (v.end <= s && v.end > floor) floor = v.end;
      if (v.start >= e && v.start < ceiling) ceiling = v.start;
    }
    const unused = (lo: bigint, hi: bigint): boolean => floor <= lo && hi <= ceiling;
    if (k.esa390) {
      // One level: the segment table's 4-byte entries, 1 MiB each.
      for (let base = s & ~0xfffffn; base < e; base += 1n << 20n) {
        const ep = this.pgd + 4 * Number(base >> 20n);
        const ent = this.pmdGet(ep);
        if (ent & _SEGMENT_ENTRY_INVALID || !unused(base, base + (1n << 20n))) continue;
        this.pmdSet(ep, _SEGMENT_ENTRY_EMPTY);
        this.nrPtes--;
        pageTableFreeRcu(this, pmdPgtable31(ent), base, tlb);
      }
      return;
    }
    const visit = (table: PhysAddr, lvl: CrstLevel, lo: bigint, hi: bigint): void => {
      const span = 1n << crstShift(lvl);
      for (let va = lo; va < hi;) {
        const base = va & ~(span - 1n);
        const next = base + span;
        const ep = table + 8 * crstIndex(lvl, va);
        const ent = k.phys.read64(ep, true);
        if (!(ent & _REGION_ENTRY_INVALID)) {
          const free = unused(base, next);
          if (lvl === 0) {
            if (free) {
              const t = pmdPgtable(ent);
              k.phys.write64(ep, _SEGMENT_ENTRY_EMPTY, true);
              this.nrPtes--;
              pageTableFreeRcu(this, t, base, tlb);
            }
          } else {
            const child = Number(ent & _REGION_ENTRY_ORIGIN);
            // A table about to go is walked over its whole span; one that
            // stays only where the range reaches into it.
            if (free) visit(child, (lvl - 1) as CrstLevel, base, next);
            else visit(child, (lvl - 1) as CrstLevel, va, next < hi ? next : hi);
            if (free) {
              const pt = k.ptdescs.get(child / PAGE_SIZE)!;
              k.phys.write64(ep, crstEmpty(lvl), true);
              if (lvl === 1) this.nrPmds--; else if (lvl === 2) this.nrPuds--;
              k.ptdescs.dtor(pt);
              tlb.removeTable({ ptr: pt.pa, mm: this, kind: "table" });
            }
          }
        }
        va = next;
      }
    };
    visit(this.pgd, top, s & ~0xfffffn, e);
  }

  /** protection_map for this mm: ESA/390 has no instruction-execution protection (bit 55 must be 0). */
  private pgprot(prot: number): bigint {
    const p = protToPgprot(prot);
    return this.k.esa390 ? p & ~_PAGE_NOEXEC : p;
  }

  // ── checks and VMA bookkeeping ───────────────────────────────────────

  private checkLive(): void { if (this.dead) throw new Error(`mm ${this.id} has been destroyed`); }

  private checkRange(what: string, va: bigint, size: number): bigint {
    this.checkLive();
    if (!(Number.isSafeInteger(size) && size > 0)) throw new S390Error("EINVAL", `${what}: size must be a positive integer, got ${size}`);
    if (va % 4096n !== 0n || size % PAGE_SIZE !== 0) throw new S390Error("EINVAL", `${what}(${hex(va)}, ${hex(size)}): not page aligned`);
    const end = va + BigInt(size);
    if (va < 0n || end > TASK_SIZE_MAX) throw new S390Error("EINVAL", `${what}(${hex(va)}, ${hex(size)}): outside user space`);
    return end;
  }

  private checkProt(prot: number): void {
    if (!(Number.isInteger(prot) && prot >= 0 && prot <= 7)) throw new S390Error("EINVAL", `protection must be PROT_* bits, got ${prot}`);
  }

  private checkNoOverlap(what: string, va: bigint, end: bigint): void {
    const o = this.vmas.find((v) => v.start < end && va < v.end);
    if (o) throw new S390Error("EEXIST", `${what}(${hex(va)}, ${hex(end - va)}): overlaps [${hex(o.start)}, ${hex(o.end)})`);
  }

  /** check_asce_limit: grow the address space to cover `end`. */
  private checkAsceLimit(end: bigint): void {
    if (end <= this.asceLimit) return;
    if (this.k.esa390) throw new S390Error("EINVAL", `${hex(end)} is beyond the 31-bit address space (2 GiB)`);
    if (crstTableUpgrade(this, end) !== 0)
      throw new S390Error("ENOMEM", `crst_table_upgrade to ${hex(end)}: out of memory; the mm is unchanged`);
  }

  private insertVma(v: S390Vma): void {
    const i = this.vmas.findIndex((x) => x.start > v.start);
    if (i < 0) this.vmas.push(v); else this.vmas.splice(i, 0, v);
  }

  private splitVmaAt(at: bigint): void {
    const i = this.vmas.findIndex((v) => v.start < at && at < v.end);
    if (i < 0) return;
    const v = this.vmas[i]!;
    const tail: S390Vma = { ...v, start: at, pa: v.kind === "pfn" ? v.pa + Number(at - v.start) : 0 };
    v.end = at;
    this.vmas.splice(i + 1, 0, tail);
  }
}

/** PTE value for tests and tools: none, or the raw entry. */
export const isPteNone = (pte: bigint): boolean => pte === _PAGE_INVALID;
