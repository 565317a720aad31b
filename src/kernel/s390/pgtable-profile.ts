/**
 * The PTE-table allocator profiles of s390 (arch/s390/mm/pgalloc.c over the
 * years), one strategy object each, chosen once when the S390Kernel is built:
 *
 *   "fragref"  (6.5–6.7)   2 KiB halves, AA/PP bits in ptdesc->pt_frag_refcount
 *   "refcount" (4.17–6.4)  2 KiB halves, AA/PP bits in the upper byte of page->_refcount
 *   "flags"    (2.6.25–)   slots tracked in page->flags, freed at once (no PP);
 *                          with esa390 four 1 KiB tables per page
 *   "fullPage" (6.8+)      every PTE table a whole page, no per-page bits
 *
 * "fragref" and "refcount" run the same AA/PP scheme (FragmentTables); they
 * differ only in where the byte of bits lives (a FragBitStore). The page bits:
 *
 *      AA_LOWER 0x01 lower half allocated    PP_LOWER 0x10 lower half pending free
 *      AA_UPPER 0x02 upper half allocated    PP_UPPER 0x20 upper half pending free
 *
 * I1: a half is never AA and PP at once. I2: mm->context.pgtable_list only
 * holds pages with exactly one allocated half (a free half to hand out).
 */
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, type PhysAddr } from "../types.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import { PgTable, type TableFree } from "./pgalloc.js";
import { _PAGE_INVALID, hex, PAGE_TABLE_SIZE, PAGE_TABLE_SIZE_31 } from "./pgtable-bits.js";

export type PgtableProfile = "fragref" | "refcount" | "flags" | "fullPage";
export const PGTABLE_PROFILES: readonly PgtableProfile[] = ["fragref", "refcount", "flags", "fullPage"];

export const AA_LOWER = 0x01;
export const AA_UPPER = 0x02;
export const AA_BOTH = AA_LOWER | AA_UPPER;
/** PP (pending free) sits this many bits above the AA bit of the same half. */
export const PP_SHIFT = 4;
export const PP_LOWER = AA_LOWER << PP_SHIFT;
export const PP_UPPER = AA_UPPER << PP_SHIFT;
/** The byte of bits a page carries. */
const FRAG_BITS_MASK = 0xff;
/** S390_REFCOUNT keeps the byte in bits 24..31 of page->_refcount. */
const REFCOUNT_FRAG_SHIFT = 24;
/**
 * The low bits of a pointer queued for __tlb_remove_table name what is freed,
 * in AA positions: one half (AA_LOWER / AA_UPPER), a whole-page table
 * (AA_BOTH), or 0 for a CRST table (whose 16 KiB alignment leaves them free).
 */
export const TABLE_PTR_HALVES = AA_BOTH;

// ── where a page's fragment byte lives ────────────────────────────────────

interface FragBitStore {
  get(k: S390Kernel, pt: PtDesc): number;
  /** atomic_xor_bits: XOR `bits` into the byte; returns the new byte. */
  xor(k: S390Kernel, pt: PtDesc, bits: number): number;
}

const inFragRefcount: FragBitStore = {
  get: (_k, pt) => pt.fragCount & FRAG_BITS_MASK,
  xor: (_k, pt, bits) => (pt.fragCount = (pt.fragCount ^ bits) & FRAG_BITS_MASK),
};

const inRefcount: FragBitStore = {
  // page->_refcount: 1 (the allocation's reference) + bits << 24.
  get: (k, pt) => ((k.pageRefcount.get(pt.pfn) ?? 1) >>> REFCOUNT_FRAG_SHIFT) & FRAG_BITS_MASK,
  xor: (k, pt, bits) => {
    const v = ((k.pageRefcount.get(pt.pfn) ?? 1) ^ (bits << REFCOUNT_FRAG_SHIFT)) >>> 0;
    k.pageRefcount.set(pt.pfn, v);
    return (v >>> REFCOUNT_FRAG_SHIFT) & FRAG_BITS_MASK;
  },
};

const inPageFlags: FragBitStore = {
  get: (k, pt) => k.pageFlags.get(pt.pfn) ?? 0,
  xor: (k, pt, bits) => {
    const v = (k.pageFlags.get(pt.pfn) ?? 0) ^ bits;
    k.pageFlags.set(pt.pfn, v);
    return v;
  },
};

const noBits: FragBitStore = { get: () => 0, xor: () => 0 };

// ── pgtable_list (list_add / list_add_tail / list_del) ───────────────────

function listDel(mm: S390Mm, pt: PtDesc): void {
  const i = mm.pgtableList.indexOf(pt);
  if (i >= 0) mm.pgtableList.splice(i, 1);
}
function listAdd(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.unshift(pt); }
function listAddTail(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.push(pt); }

/** pgtable_t for the table at `offset` in page `pt`. */
const tableAt = (pt: PtDesc, offset: number): PgTable => new PgTable(pt.pfn, offset);

// ── the strategies ───────────────────────────────────────────────────────

/** What the public page_table_* functions (pgalloc.ts) ask of a profile. */
export interface PteTableProfile {
  readonly name: PgtableProfile;
  /** Bytes from one table to the next within a page: a fragment, or the whole page. */
  readonly tableStride: number;
  /** Every table is a page of its own (no fragments, no per-page bits). */
  readonly wholePage: boolean;
  /** The page's fragment bits (AA/PP, or the FLAGS slots; 0 without fragments). */
  bits(pt: PtDesc): number;
  /** atomic_xor_bits: returns the new bits. */
  xorBits(pt: PtDesc, bits: number): number;
  /** pagetable_dtor_free of a table page, forgetting its bits. */
  dtorFree(pt: PtDesc): void;
  /** page_table_alloc for an mm. */
  alloc(mm: S390Mm): PgTable | null;
  /** page_table_free of table `idx` of page `pt` (the caller has checked the table). */
  free(mm: S390Mm, pt: PtDesc, idx: number): void;
  /** page_table_free_rcu of a fragment: what to queue for the grace period. */
  freeRcu(mm: S390Mm, pt: PtDesc, table: PgTable, idx: number): TableFree;
  /** The profile's invariants over every mm (debug mode; a broken one throws). */
  checkInvariants(): void;
}

abstract class ProfileBase {
  abstract readonly name: PgtableProfile;
  constructor(readonly k: S390Kernel, private readonly store: FragBitStore) {}
  bits(pt: PtDesc): number { return this.store.get(this.k, pt); }
  xorBits(pt: PtDesc, bits: number): number { return this.store.xor(this.k, pt, bits); }

  /** A fresh table page with its ctor run, or null (frame or ptlock allocation failed). */
  protected allocTablePage(mm: S390Mm): PtDesc | null {
    const k = this.k;
    const pt = k.ptdescs.pagetableAlloc(0);
    if (!pt) return null;
    if (!k.ptdescs.pteCtor(mm, pt)) {
      // pagetable_pte_ctor failed: give the page back at once, report NULL.
      k.ptdescs.pagetableFree(pt);
      return null;
    }
    return pt;
  }

  /**
   * Make every PTE slot of a fresh page empty — of its first table only when
   * the page holds one table (PGSTEs, or a whole-page profile): the PGSTE (or
   * unused) rest stays zero, as pagetable_alloc left it.
   */
  protected initTablePage(pa: PhysAddr, oneTable: boolean): void {
    const k = this.k;
    if (k.esa390) {
      const slots = (oneTable ? PAGE_TABLE_SIZE_31 : PAGE_SIZE) / 4;
      for (let i = 0; i < slots; i++) k.phys.write32(pa + 4 * i, Number(_PAGE_INVALID), true);
      return;
    }
    const slots = (oneTable ? PAGE_TABLE_SIZE : PAGE_SIZE) / 8;
    for (let i = 0; i < slots; i++) k.phys.write64(pa + 8 * i, _PAGE_INVALID, true);
  }

  dtorFree(pt: PtDesc): void {
    this.k.pageRefcount.delete(pt.pfn);
    this.k.pageFlags.delete(pt.pfn);
    pt.fragCount = 0;
    this.k.ptdescs.dtorFree(pt);
  }

  /** The list checks every fragment profile shares; returns the listed pages. */
  protected checkLists(each: (mm: S390Mm, pt: PtDesc, state: { seenFull: boolean }) => void): Set<PtDesc> {
    const listed = new Set<PtDesc>();
    for (const mm of this.k.mms) {
      const state = { seenFull: false };
      for (const pt of mm.pgtableList) {
        if (listed.has(pt)) throw new Error(`fragment invariant: ${pt} is listed twice`);
        listed.add(pt);
        if (!pt.pgtable || pt.mm !== mm) throw new Error(`fragment invariant: ${pt} on mm ${mm.id}'s list is not its live table page`);
        each(mm, pt, state);
      }
    }
    return listed;
  }
}

/** S390_REFCOUNT / S390_FRAGREF: two 2 KiB tables per page under AA/PP. */
class FragmentTables extends ProfileBase implements PteTableProfile {
  readonly tableStride = PAGE_TABLE_SIZE;
  readonly wholePage = false;
  constructor(k: S390Kernel, readonly name: "fragref" | "refcount") {
    super(k, name === "fragref" ? inFragRefcount : inRefcount);
  }

  alloc(mm: S390Mm): PgTable | null {
    if (!mm.allocPgste) {
      mm.contextLock.lock();
      try {
        const pt = mm.pgtableList[0];
        if (pt) {
          const bits = this.bits(pt);
          // A half is busy if allocated or still pending: reusing a pending half
          // would let a lockless walker see its table change under it.
          const busy = (bits | (bits >> PP_SHIFT)) & AA_BOTH;
          if (busy !== AA_BOTH) {
            const half = busy & AA_LOWER;                       // lower busy → take the upper half
            this.xorBits(pt, AA_LOWER << half);
            listDel(mm, pt);
            return tableAt(pt, half * PAGE_TABLE_SIZE);
          }
        }
      } finally { mm.contextLock.unlock(); }
    }
    const pt = this.allocTablePage(mm);
    if (!pt) return null;
    this.initTablePage(pt.pa, mm.allocPgste);
    if (mm.allocPgste) {
      this.xorBits(pt, AA_BOTH);                                // the whole page, never on the list
      return tableAt(pt, 0);
    }
    this.xorBits(pt, AA_LOWER);
    mm.contextLock.lock();
    listAdd(mm, pt);
    mm.contextLock.unlock();
    return tableAt(pt, 0);
  }

  free(mm: S390Mm, pt: PtDesc, half: number): void {
    if (mm.allocPgste) {
      if (this.bits(pt) !== AA_BOTH)
        throw new KernelBugError(`page_table_free: PGSTE table at ${hex(pt.pa)} has bits ${hex(this.bits(pt))}, expected ${hex(AA_BOTH)}`);
      this.xorBits(pt, AA_BOTH);
      this.dtorFree(pt);
      return;
    }
    const aa = this.checkAllocated(pt, half, "page_table_free");
    mm.contextLock.lock();
    let v: number;
    try {
      // Clear AA and set PP in one step: the half is "pending" for the few
      // instructions until PP is cleared below, so a concurrent alloc skips it.
      v = this.xorBits(pt, aa | (aa << PP_SHIFT));
      if (v & AA_BOTH) listAdd(mm, pt); else listDel(mm, pt);
    } finally { mm.contextLock.unlock(); }
    v = this.xorBits(pt, aa << PP_SHIFT);
    if (v === 0) this.dtorFree(pt);
  }

  freeRcu(mm: S390Mm, pt: PtDesc, table: PgTable, half: number): TableFree {
    const aa = this.checkAllocated(pt, half, "page_table_free_rcu");
    mm.contextLock.lock();
    try {
      const v = this.xorBits(pt, aa | (aa << PP_SHIFT));
      if (v & AA_BOTH) listAddTail(mm, pt); else listDel(mm, pt);
    } finally { mm.contextLock.unlock(); }
    return { ptr: table.pa | aa, mm, kind: "table" };
  }

  /** The AA bit of `half`, which must be set (else a double free: a kernel BUG). */
  private checkAllocated(pt: PtDesc, half: number, what: string): number {
    const aa = AA_LOWER << half;
    if (!(this.bits(pt) & aa))
      throw new KernelBugError(`${what}: double free of the ${half ? "upper" : "lower"} half of ${hex(pt.pa)} ` +
        `(bits ${hex(this.bits(pt))})`);
    return aa;
  }

  checkInvariants(): void {
    const listed = this.checkLists((mm, pt) => {
      const b = this.bits(pt);
      const aa = b & AA_BOTH;
      if (aa !== AA_LOWER && aa !== AA_UPPER)
        throw new Error(`fragment invariant I2: ${pt} on mm ${mm.id}'s list has bits ${hex(b)} (needs exactly one allocated half)`);
    });
    for (const pt of this.k.ptdescs.all()) {
      if (pt.level !== 0 || !pt.pgtable) continue;
      const b = this.bits(pt);
      if ((b & (AA_LOWER | PP_LOWER)) === (AA_LOWER | PP_LOWER) || (b & (AA_UPPER | PP_UPPER)) === (AA_UPPER | PP_UPPER))
        throw new Error(`fragment invariant I1: ${pt} has bits ${hex(b)} (a half both allocated and pending)`);
      if (b === 0) throw new Error(`fragment invariant: ${pt} has no allocated or pending half but was not freed`);
      const owner = pt.mm as S390Mm | null;
      if (owner?.allocPgste && (b !== AA_BOTH || listed.has(pt)))
        throw new Error(`fragment invariant: PGSTE table page ${pt} has bits ${hex(b)}${listed.has(pt) ? " and is listed" : ""}`);
    }
  }
}

/**
 * S390_FLAGS: a bit per table slot of the page in page->flags — two 2 KiB
 * slots on 64-bit (a PGSTE table takes both), four 1 KiB ones on 31-bit.
 * Only the first list page is looked at; a full page moves to the tail, a
 * page with a free slot to the head; everything under page_table_lock.
 */
class FlagsTables extends ProfileBase implements PteTableProfile {
  readonly name = "flags";
  readonly wholePage = false;
  readonly tableStride: number;
  /** FRAG_MASK: every slot of a page in use. */
  private readonly full: number;
  constructor(k: S390Kernel) {
    super(k, inPageFlags);
    this.tableStride = k.pteTableBytes;
    this.full = (1 << (PAGE_SIZE / this.tableStride)) - 1;
  }

  /** The slot bits one table of this mm takes, starting at slot 0. */
  private slotBits(mm: S390Mm): number {
    const slots = mm.allocPgste && !this.k.esa390 ? (2 * PAGE_TABLE_SIZE) / this.tableStride : 1;
    return (1 << slots) - 1;
  }

  alloc(mm: S390Mm): PgTable | null {
    let bits = this.slotBits(mm);
    mm.pageTableLock.lock();
    try {
      let pt: PtDesc | null = mm.pgtableList[0] ?? null;
      if (pt && (this.bits(pt) & this.full) === this.full) pt = null;
      if (!pt) {
        mm.pageTableLock.unlock();
        pt = this.allocTablePage(mm);
        mm.pageTableLock.lock();
        if (!pt) return null;
        this.initTablePage(pt.pa, mm.allocPgste);
        listAdd(mm, pt);
      }
      let offset = 0;
      while (this.bits(pt) & bits) {
        offset += this.tableStride;
        bits <<= 1;
      }
      this.xorBits(pt, bits);
      if ((this.bits(pt) & this.full) === this.full) listAddTail(mm, pt);
      return tableAt(pt, offset);
    } finally { mm.pageTableLock.unlock(); }
  }

  free(mm: S390Mm, pt: PtDesc, idx: number): void {
    const bits = this.slotBits(mm) << idx;
    if ((this.bits(pt) & bits) !== bits)
      throw new KernelBugError(`page_table_free: double free of table ${idx} of ${hex(pt.pa)} (flags ${hex(this.bits(pt))})`);
    mm.pageTableLock.lock();
    let last = false;
    try {
      const v = this.xorBits(pt, bits);
      if (v & this.full) listAdd(mm, pt);                       // some slots in use: to the head
      else { listDel(mm, pt); last = true; }
    } finally { mm.pageTableLock.unlock(); }
    if (last) this.dtorFree(pt);
  }

  freeRcu(mm: S390Mm, pt: PtDesc, table: PgTable, idx: number): TableFree {
    // 2.6.2x had no RCU table freeing; the table is freed whole after the grace period.
    const bits = this.slotBits(mm) << idx;
    if ((this.bits(pt) & bits) !== bits || this.k.rcuPending.some((t) => t.kind === "flags" && t.ptr === table.pa))
      throw new KernelBugError(`page_table_free_rcu: double free of table ${idx} of ${hex(pt.pa)}`);
    return { ptr: table.pa, mm, kind: "flags" };
  }

  /** Listed pages are non-empty, and the ones with a free slot come first. */
  checkInvariants(): void {
    this.checkLists((_mm, pt, state) => {
      const b = this.bits(pt);
      if ((b & this.full) === 0) throw new Error(`fragment invariant (flags): empty page ${pt} on the list`);
      if ((b & this.full) === this.full) state.seenFull = true;
      else if (state.seenFull) throw new Error(`fragment invariant (flags): ${pt} with a free slot behind a full page`);
    });
  }
}

/** S390_FULLPAGE: every PTE table a page; PTEs empty, the second half zero. */
class FullPageTables extends ProfileBase implements PteTableProfile {
  readonly name = "fullPage";
  readonly tableStride = PAGE_SIZE;
  readonly wholePage = true;
  constructor(k: S390Kernel) { super(k, noBits); }

  alloc(mm: S390Mm): PgTable | null {
    const pt = this.allocTablePage(mm);
    if (!pt) return null;
    this.initTablePage(pt.pa, true);
    return tableAt(pt, 0);
  }

  free(_mm: S390Mm, pt: PtDesc): void { this.dtorFree(pt); }

  freeRcu(mm: S390Mm, _pt: PtDesc, table: PgTable): TableFree {
    return { ptr: table.pa | TABLE_PTR_HALVES, mm, kind: "table" };
  }

  checkInvariants(): void {}
}

/** The strategy for `name` on kernel `k`. */
export function pteTableProfile(k: S390Kernel, name: PgtableProfile): PteTableProfile {
  switch (name) {
    case "fragref": case "refcount": return new FragmentTables(k, name);
    case "flags": return new FlagsTables(k);
    case "fullPage": return new FullPageTables(k);
  }
}
