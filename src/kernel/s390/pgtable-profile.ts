/**
 * The PTE-table allocator profiles of s390 over the years
 * (arch/s390/mm/pgtable.c; arch/s390/mm/pgalloc.c since 4.6), one strategy
 * object each (this file: what they share, and "fullPage"; pgtable-frag.ts:
 * AA/PP; pgtable-flags.ts: FLAGS), chosen once when the S390Kernel is built
 * (which kernels each reproduces: docs/SEMANTICS.md):
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
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, type PhysAddr } from "../types.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import { PgTable, type TableFree } from "./pgalloc.js";
import { _PAGE_INVALID, PAGE_TABLE_SIZE, PAGE_TABLE_SIZE_31 } from "./pgtable-bits.js";

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

export interface FragBitStore {
  get(k: S390Kernel, pt: PtDesc): number;
  /** atomic_xor_bits: XOR `bits` into the byte; returns the new byte. */
  xor(k: S390Kernel, pt: PtDesc, bits: number): number;
}

export const inFragRefcount: FragBitStore = {
  get: (_k, pt) => pt.fragCount & FRAG_BITS_MASK,
  xor: (_k, pt, bits) => (pt.fragCount = (pt.fragCount ^ bits) & FRAG_BITS_MASK),
};

export const inRefcount: FragBitStore = {
  // page->_refcount: 1 (the allocation's reference) + bits << 24.
  get: (k, pt) => ((k.pageRefcount.get(pt.pfn) ?? 1) >>> REFCOUNT_FRAG_SHIFT) & FRAG_BITS_MASK,
  xor: (k, pt, bits) => {
    const v = ((k.pageRefcount.get(pt.pfn) ?? 1) ^ (bits << REFCOUNT_FRAG_SHIFT)) >>> 0;
    k.pageRefcount.set(pt.pfn, v);
    return (v >>> REFCOUNT_FRAG_SHIFT) & FRAG_BITS_MASK;
  },
};

export const inPageFlags: FragBitStore = {
  get: (k, pt) => k.pageFlags.get(pt.pfn) ?? 0,
  xor: (k, pt, bits) => {
    const v = (k.pageFlags.get(pt.pfn) ?? 0) ^ bits;
    k.pageFlags.set(pt.pfn, v);
    return v;
  },
};

const noBits: FragBitStore = { get: () => 0, xor: () => 0 };

// ── pgtable_list (list_add / list_add_tail / list_del) ───────────────────

export function listDel(mm: S390Mm, pt: PtDesc): void {
  const i = mm.pgtableList.indexOf(pt);
  if (i >= 0) mm.pgtableList.splice(i, 1);
}
export function listAdd(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.unshift(pt); }
export function listAddTail(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.push(pt); }

/** pgtable_t for the table at `offset` in page `pt`. */
export const tableAt = (pt: PtDesc, offset: number): PgTable => new PgTable(pt.pfn, offset);

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

export abstract class ProfileBase {
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

/** S390_FULLPAGE: every PTE table a page; PTEs empty, the second half zero. */
export class FullPageTables extends ProfileBase implements PteTableProfile {
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
