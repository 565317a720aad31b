/**
 * s390 PTE-table allocation: sub-page page tables (arch/s390/mm/pgalloc.c).
 *
 * On s390 a PTE table is 256 × 8 B = 2 KiB, half a page, and a segment entry
 * addresses it with 2 KiB alignment. So `pgtable_t` is the table's address,
 * not its page (seed: "CONFIG_HIGHPTE vs. sub-page page tables", 2008), and
 * the allocator may pack several tables into one page. How it does that is
 * the kernel's profile (pgtable-profile.ts: AA/PP bits, FLAGS slots, or a
 * page per table); this file is what every profile shares: the checks on a
 * table handed back, the RCU-deferred free and its end (__tlb_remove_table),
 * and the segment entry that points to a table.
 *
 * A table freed through RCU (page_table_free_rcu) stays busy (its PP bit,
 * or the queued pointer) until the grace period ends, so no lockless walker
 * can find it reused under it.
 *
 * An mm with PGSTEs (KVM) gets a whole page per table: 256 PTEs then 256
 * PGSTEs, the layout SIE requires; such a page is never shared.
 *
 * Constructors and NR_PAGETABLE run per *page*, never per fragment.
 */
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../types.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import {
  _SEGMENT_ENTRY, _SEGMENT_ENTRY_ORIGIN_31, _SEGMENT_ENTRY_PTL_31, hex, pmdPgtableOrigin,
} from "./pgtable-bits.js";
import { AA_BOTH, AA_LOWER, AA_UPPER, PP_SHIFT, TABLE_PTR_HALVES } from "./pgtable-profile.js";

/** pgtable_t: an opaque handle to one PTE table = (frame, byte offset). */
export class PgTable {
  constructor(readonly pfn: Pfn, readonly offset: number) {}
  get pa(): PhysAddr { return this.pfn * PAGE_SIZE + this.offset; }
  static at(pa: PhysAddr): PgTable { return new PgTable(Math.floor(pa / PAGE_SIZE), pa % PAGE_SIZE); }
  toString(): string { return `pgtable ${hex(this.pa)}`; }
}

/** One entry of the RCU table-free batch: the pointer Linux queues
 *  (table | half bits; low bits 0 = a CRST table). */
export interface TableFree {
  ptr: number;
  mm: S390Mm;
  /** "flags": a 2.6.2x fragment (freed with page_table_free after the grace period). */
  kind: "table" | "flags";
}

/** The AA/PP (or FLAGS) bits of a table page. */
export function fragBits(k: S390Kernel, pt: PtDesc): number { return k.pgtable.bits(pt); }

/** The table page behind a PgTable, or a BUG-style error. */
function tablePage(mm: S390Mm, table: PgTable, what: string): PtDesc {
  const pt = mm.k.ptdescs.get(table.pfn);
  if (!pt || !pt.pgtable || pt.level !== 0)
    throw new KernelBugError(`${what}(${table}): not a page-table page (freed already, or never allocated)`);
  if (pt.mm !== mm) throw new KernelBugError(`${what}(${table}): the table belongs to mm ${pt.mm?.id}, not mm ${mm.id}`);
  return pt;
}

/** A table that is a whole page (PGSTEs, or the "fullPage" profile) starts at offset 0. */
function checkWholePage(mm: S390Mm, table: PgTable, idx: number, what: string): boolean {
  if (!mm.allocPgste && !mm.k.pgtable.wholePage) return false;
  if (idx !== 0) throw new KernelBugError(`${what}(${table}): a full-page table starts at offset 0`);
  return true;
}

// ── page_table_alloc ─────────────────────────────────────────────────────

/** page_table_alloc / pte_alloc_one: a PTE table, or null (out of memory). */
export function pageTableAlloc(mm: S390Mm): PgTable | null {
  const t = mm.k.pgtable.alloc(mm);
  mm.k.debugCheck();
  return t;
}
export const pteAllocOne = pageTableAlloc;

// ── page_table_free ──────────────────────────────────────────────────────

/** Which fragment of its page `table` is (0/1, or 0..3 for 1 KiB tables). */
function fragIndex(k: S390Kernel, table: PgTable, what: string): number {
  const size = k.pgtable.tableStride;
  if (table.offset % size !== 0)
    throw new KernelBugError(`${what}(${table}): not the start of a ${size}-byte page table`);
  return table.offset / size;
}

/**
 * page_table_free / pte_free: give a table back now (no RCU). Freeing a
 * half that is not allocated, or a PGSTE table a gmap still links to, is a
 * kernel BUG: reported, and nothing changes.
 */
export function pageTableFree(mm: S390Mm, table: PgTable): void {
  const k = mm.k;
  const pt = tablePage(mm, table, "page_table_free");
  const idx = fragIndex(k, table, "page_table_free");
  if (checkWholePage(mm, table, idx, "page_table_free") && mm.hasPgste) checkNotLinked(mm, table, "page_table_free");
  k.pgtable.free(mm, pt, idx);
  k.debugCheck();
}
export const pteFree = pageTableFree;

// ── RCU-deferred freeing ─────────────────────────────────────────────────

/** Where page_table_free_rcu queues a table (an mmu_gather, or straight to RCU). */
export interface TableBatch { removeTable(t: TableFree): void }

/**
 * page_table_free_rcu (via pte_free_tlb): the table leaves the mm now but its
 * memory is reused only after the grace period (S390Kernel.rcuGracePeriod →
 * __tlb_remove_table). A PGSTE table is first unlinked from every gmap that
 * shares it (gmap_unlink), so the guest stops using it before it goes.
 */
export function pageTableFreeRcu(mm: S390Mm, table: PgTable, vmaddr: bigint, tlb?: TableBatch): void {
  const k = mm.k;
  const pt = tablePage(mm, table, "page_table_free_rcu");
  const idx = fragIndex(k, table, "page_table_free_rcu");
  let t: TableFree;
  if (checkWholePage(mm, table, idx, "page_table_free_rcu")) {
    if (mm.hasPgste) mm.gmapUnlink(table, vmaddr);
    t = { ptr: table.pa | TABLE_PTR_HALVES, mm, kind: "table" };
  } else t = k.pgtable.freeRcu(mm, pt, table, idx);
  if (tlb) tlb.removeTable(t); else k.rcuPending.push(t);
  k.debugCheck();
}

/**
 * __tlb_remove_table: the grace period of a queued table has ended.
 * Low pointer bits: 0 a CRST table (order 2), 1/2 a half (clear its PP, free
 * the page when nothing is left), 3 a full page (PGSTE or fullPage).
 */
export function __tlbRemoveTable(k: S390Kernel, t: TableFree): void {
  if (t.kind === "flags") {
    pageTableFree(t.mm, PgTable.at(t.ptr));
    return;
  }
  const mask = t.ptr & TABLE_PTR_HALVES;
  const table = t.ptr ^ mask;
  const pt = k.ptdescs.get(Math.floor(table / PAGE_SIZE));
  if (!pt) throw new KernelBugError(`__tlb_remove_table(${hex(t.ptr)}): no table page there`);
  switch (mask) {
    case 0:                                             // a CRST table
      if (pt.pgtable) k.ptdescs.dtor(pt);
      k.ptdescs.pagetableFree(pt);
      break;
    case AA_LOWER: case AA_UPPER:                       // a half: its PP goes, then maybe the page
      if (k.pgtable.xorBits(pt, mask << PP_SHIFT) === 0) k.pgtable.dtorFree(pt);
      break;
    case AA_BOTH:                                       // a whole-page table
      k.pgtable.xorBits(pt, AA_BOTH);
      k.pgtable.dtorFree(pt);
      break;
  }
  k.debugCheck();
}

// ── pmd_populate / pmd_pgtable ───────────────────────────────────────────

/** pmd_populate: point the segment entry at `pmdp` to the PTE table. */
export function pmdPopulate(mm: S390Mm, pmdp: PhysAddr, table: PgTable): void {
  // ESA/390: a 4-byte entry, page-table origin (64-byte aligned) | its length.
  if (mm.k.esa390) mm.k.phys.write32(pmdp, table.pa | _SEGMENT_ENTRY_PTL_31, true);
  else mm.k.phys.write64(pmdp, _SEGMENT_ENTRY | BigInt(table.pa), true);
}

/** pmd_pgtable: the pgtable_t a segment entry points to (low 11 bits cleared). */
export function pmdPgtable(pmd: bigint): PgTable { return PgTable.at(pmdPgtableOrigin(pmd)); }

/** pmd_pgtable of an ESA/390 segment entry: the origin is 64-byte aligned (1 KiB tables). */
export function pmdPgtable31(ste: bigint): PgTable { return PgTable.at(Number(ste & _SEGMENT_ENTRY_ORIGIN_31)); }

// ── integrity ───────────────────────────────────────────────────────────

/** A PGSTE table must not be freed while a gmap segment entry still points to it. */
function checkNotLinked(mm: S390Mm, table: PgTable, what: string): void {
  for (const g of mm.gmaps) {
    const at = g.linkedTo(table.pa);
    if (at !== null)
      throw new KernelBugError(`${what}(${table}): the table is still linked into gmap ${g.id} at guest ${hex(at)} ` +
        `(page_table_free_rcu unlinks it first)`);
  }
}

/**
 * The allocator's invariants over every mm, as the profile states them
 * (AA/PP: I1 and I2, listed pages live and owned, PGSTE pages whole and
 * unlisted; FLAGS: listed pages non-empty, those with a free slot first).
 * Throws naming the first broken invariant.
 */
export function checkFragmentInvariants(k: S390Kernel): void { k.pgtable.checkInvariants(); }
