/**
 * S390_REFCOUNT and S390_FRAGREF (arch/s390/mm/pgalloc.c, 4.17–6.7): two
 * 2 KiB PTE tables per page under the AA/PP bits (pgtable-profile.ts), the
 * one scheme for both profiles — they differ only in where the byte of bits
 * lives (pt_frag_refcount, or the upper byte of page->_refcount). Pages with
 * a free half are on mm->context.pgtable_list, under the context lock.
 */
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import type { PgTable, TableFree } from "./pgalloc.js";
import { hex, PAGE_TABLE_SIZE } from "./pgtable-bits.js";
import {
  AA_BOTH, AA_LOWER, AA_UPPER, inFragRefcount, inRefcount, listAdd, listAddTail, listDel, PP_LOWER, PP_SHIFT, PP_UPPER,
  ProfileBase, tableAt, type PteTableProfile,
} from "./pgtable-profile.js";

/** S390_REFCOUNT / S390_FRAGREF: two 2 KiB tables per page under AA/PP. */
export class FragmentTables extends ProfileBase implements PteTableProfile {
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
