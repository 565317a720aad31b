/**
 * S390_FLAGS (arch/s390/mm/pgtable.c, 2.6.25–2.6.3x): a bit per table slot
 * of the page in page->flags — two 2 KiB slots on 64-bit (a PGSTE table
 * takes both), four 1 KiB ones on 31-bit. Only the first list page is
 * looked at; a full page moves to the tail, a page with a free slot to the
 * head; everything under page_table_lock. No RCU: a table freed through
 * page_table_free_rcu is freed whole after the grace period.
 */
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE } from "../types.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import type { PgTable, TableFree } from "./pgalloc.js";
import { hex, PAGE_TABLE_SIZE } from "./pgtable-bits.js";
import { inPageFlags, listAdd, listAddTail, listDel, ProfileBase, tableAt, type PteTableProfile } from "./pgtable-profile.js";

/** The S390_FLAGS profile. */
export class FlagsTables extends ProfileBase implements PteTableProfile {
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
