/**
 * s390 PTE-table allocation: sub-page page tables (arch/s390/mm/pgalloc.c;
 * SPEC A.2, A.3).
 *
 * On s390 a PTE table is 256 × 8 B = 2 KiB, half a page, and a segment entry
 * addresses it with 2 KiB alignment. So `pgtable_t` is the table's address,
 * not its page (seed: "CONFIG_HIGHPTE vs. sub-page page tables", 2008), and
 * the allocator packs two tables into one page. Per page, four bits:
 *
 *      0x01 AA lower half allocated      0x10 PP lower half pending free
 *      0x02 AA upper half allocated      0x20 PP upper half pending free
 *
 * I1: a half is never AA and PP at once.  I2: mm->context.pgtable_list only
 * holds pages with exactly one allocated half (a free half to hand out).
 * A table freed through RCU (page_table_free_rcu) keeps its PP bit until the
 * grace period ends (__tlb_remove_table), so no lockless walker can find the
 * half reused under it.
 *
 * An mm with PGSTEs (KVM) gets a whole page per table: 256 PTEs then 256
 * PGSTEs, the layout SIE requires; such a page is never shared.
 *
 * Profiles (S390Kernel.profile): "fragref"/"refcount" (the AA/PP scheme with
 * the bits in pt_frag_refcount or _refcount's upper byte), "flags" (the
 * 2.6.25 scheme with bits in page->flags, four 1 KiB tables per page on
 * 31-bit), "fullPage" (current upstream: no fragments).
 *
 * Constructors and NR_PAGETABLE run per *page*, never per fragment (SPEC A.2).
 */
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../types.js";
import type { S390Kernel } from "./kernel.js";
import type { S390Mm } from "./mm.js";
import { _PAGE_INVALID, _SEGMENT_ENTRY, hex, pmdPgtableOrigin, PTRS_PER_PTE } from "./pgtable-bits.js";

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

const AA_LOWER = 0x01, AA_UPPER = 0x02, AA_BOTH = 0x03;
const PP_SHIFT = 4;

// ── the per-page bits, wherever the profile keeps them ───────────────────

/** The AA/PP (or FLAGS) bits of a table page. */
export function fragBits(k: S390Kernel, pt: PtDesc): number {
  switch (k.profile) {
    case "refcount": return ((k.pageRefcount.get(pt.pfn) ?? 1) >>> 24) & 0xff;
    case "fragref": return pt.fragCount & 0xff;
    case "flags": return k.pageFlags.get(pt.pfn) ?? 0;
    case "fullPage": return 0;
  }
}

/** atomic_xor_bits: XOR `bits` into the page's fragment byte; returns the new value. */
function atomicXorBits(k: S390Kernel, pt: PtDesc, bits: number): number {
  switch (k.profile) {
    case "refcount": {
      // page->_refcount: 1 (the allocation's reference) + AA/PP << 24.
      const v = ((k.pageRefcount.get(pt.pfn) ?? 1) ^ (bits << 24)) >>> 0;
      k.pageRefcount.set(pt.pfn, v);
      return (v >>> 24) & 0xff;
    }
    case "fragref":
      pt.fragCount = (pt.fragCount ^ bits) & 0xff;
      return pt.fragCount;
    case "flags": {
      const v = (k.pageFlags.get(pt.pfn) ?? 0) ^ bits;
      k.pageFlags.set(pt.pfn, v);
      return v;
    }
    case "fullPage": return 0;
  }
}

function forgetBits(k: S390Kernel, pt: PtDesc): void {
  k.pageRefcount.delete(pt.pfn);
  k.pageFlags.delete(pt.pfn);
  pt.fragCount = 0;
}

// ── pgtable_list (list_add / list_add_tail / list_del) ───────────────────

function listDel(mm: S390Mm, pt: PtDesc): void {
  const i = mm.pgtableList.indexOf(pt);
  if (i >= 0) mm.pgtableList.splice(i, 1);
}
function listAdd(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.unshift(pt); }
function listAddTail(mm: S390Mm, pt: PtDesc): void { listDel(mm, pt); mm.pgtableList.push(pt); }

// ── geometry per profile ───────────────────────────────────────────────

/** Tables per page and FRAG_MASK (S390_FLAGS: 2/0x3 on 64-bit, 4/0xf on 31-bit). */
function tablesPerPage(k: S390Kernel): number { return k.esa390 ? 4 : 2; }

/** Fill a fresh table page: PTE slots empty, a PGSTE half zero. */
function initTablePage(k: S390Kernel, pa: PhysAddr, pgste: boolean): void {
  if (k.esa390) {
    for (let i = 0; i < 4 * PTRS_PER_PTE; i++) k.phys.write32(pa + 4 * i, Number(_PAGE_INVALID), true);
    return;
  }
  const slots = pgste || k.profile === "fullPage" ? PTRS_PER_PTE : 2 * PTRS_PER_PTE;
  for (let i = 0; i < slots; i++) k.phys.write64(pa + 8 * i, _PAGE_INVALID, true);
  // The PGSTE (or unused second) half stays zero: pagetable_alloc zeroed the page.
}

/** A fresh table page with its ctor run, or null (frame or ptlock allocation failed). */
function allocTablePage(mm: S390Mm): PtDesc | null {
  const k = mm.k;
  const pt = k.ptdescs.pagetableAlloc(0);
  if (!pt) return null;
  if (!k.ptdescs.pteCtor(mm, pt)) {
    // pagetable_pte_ctor failed: give the page back at once, report NULL.
    k.ptdescs.pagetableFree(pt);
    return null;
  }
  return pt;
}

function dtorFree(k: S390Kernel, pt: PtDesc): void {
  forgetBits(k, pt);
  k.ptdescs.dtorFree(pt);
}

/** The table page behind a PgTable, or a BUG-style error. */
function tablePage(mm: S390Mm, table: PgTable, what: string): PtDesc {
  const pt = mm.k.ptdescs.get(table.pfn);
  if (!pt || !pt.pgtable || pt.level !== 0)
    throw new KernelBugError(`${what}(${table}): not a page-table page (freed already, or never allocated)`);
  if (pt.mm !== mm) throw new KernelBugError(`${what}(${table}): the table belongs to mm ${pt.mm?.id}, not mm ${mm.id}`);
  return pt;
}

// ── page_table_alloc ─────────────────────────────────────────────────────

/** page_table_alloc / pte_alloc_one: a PTE table, or null (out of memory). */
export function pageTableAlloc(mm: S390Mm): PgTable | null {
  const k = mm.k;
  let t: PgTable | null;
  switch (k.profile) {
    case "fullPage": t = allocFullPage(mm); break;
    case "flags": t = allocFlags(mm); break;
    default: t = allocFragment(mm); break;
  }
  k.debugCheck();
  return t;
}
export const pteAllocOne = pageTableAlloc;

/** S390_REFCOUNT / S390_FRAGREF (SPEC A.3.3). */
function allocFragment(mm: S390Mm): PgTable | null {
  const k = mm.k;
  if (!mm.allocPgste) {
    mm.contextLock.lock();
    try {
      const pt = mm.pgtableList[0];
      if (pt) {
        const bits = fragBits(k, pt);
        // A half is busy if allocated or still pending: reusing a pending half
        // would let a lockless walker see its table change under it.
        const m = (bits | (bits >> PP_SHIFT)) & AA_BOTH;
        if (m !== AA_BOTH) {
          const half = m & 1;                   // lower busy → take the upper half
          atomicXorBits(k, pt, AA_LOWER << half);
          listDel(mm, pt);
          return new PgTable(pt.pfn, half * 2048);
        }
      }
    } finally { mm.contextLock.unlock(); }
  }
  const pt = allocTablePage(mm);
  if (!pt) return null;
  initTablePage(k, pt.pa, mm.allocPgste);
  if (mm.allocPgste) {
    atomicXorBits(k, pt, AA_BOTH);              // the whole page, never on the list
    return new PgTable(pt.pfn, 0);
  }
  atomicXorBits(k, pt, AA_LOWER);
  mm.contextLock.lock();
  listAdd(mm, pt);
  mm.contextLock.unlock();
  return new PgTable(pt.pfn, 0);
}

/** S390_FULLPAGE (SPEC A.3.4): every table a page; PTEs empty, second half zero. */
function allocFullPage(mm: S390Mm): PgTable | null {
  const pt = allocTablePage(mm);
  if (!pt) return null;
  initTablePage(mm.k, pt.pa, true);
  return new PgTable(pt.pfn, 0);
}

/** S390_FLAGS (SPEC A.3.1): only the first list page is looked at; a full
 *  page moves to the tail, a page with a free slot to the head. */
function allocFlags(mm: S390Mm): PgTable | null {
  const k = mm.k;
  const full = (1 << tablesPerPage(k)) - 1;
  let bits = mm.allocPgste && !k.esa390 ? 3 : 1;
  mm.pageTableLock.lock();
  try {
    let pt: PtDesc | null = mm.pgtableList[0] ?? null;
    if (pt && (fragBits(k, pt) & full) === full) pt = null;
    if (!pt) {
      mm.pageTableLock.unlock();
      pt = allocTablePage(mm);
      mm.pageTableLock.lock();
      if (!pt) return null;
      initTablePage(k, pt.pa, mm.allocPgste);
      listAdd(mm, pt);
    }
    let offset = 0;
    while (fragBits(k, pt) & bits) {
      offset += k.pteTableBytes;
      bits <<= 1;
    }
    atomicXorBits(k, pt, bits);
    if ((fragBits(k, pt) & full) === full) listAddTail(mm, pt);
    return new PgTable(pt.pfn, offset);
  } finally { mm.pageTableLock.unlock(); }
}

// ── page_table_free ──────────────────────────────────────────────────────

/** Which fragment of its page `table` is (0/1, or 0..3 for 1 KiB tables). */
function fragIndex(k: S390Kernel, table: PgTable, what: string): number {
  const size = k.profile === "fullPage" ? PAGE_SIZE : k.pteTableBytes;
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
  if (mm.allocPgste || k.profile === "fullPage") {
    if (idx !== 0) throw new KernelBugError(`page_table_free(${table}): a full-page table starts at offset 0`);
    if (mm.hasPgste) checkNotLinked(mm, table, "page_table_free");
  }
  switch (k.profile) {
    case "fullPage": dtorFree(k, pt); break;
    case "flags": freeFlags(mm, pt, idx); break;
    default: freeFragment(mm, pt, idx); break;
  }
  k.debugCheck();
}
export const pteFree = pageTableFree;

function freeFragment(mm: S390Mm, pt: PtDesc, half: number): void {
  const k = mm.k;
  if (mm.allocPgste) {
    if (fragBits(k, pt) !== AA_BOTH)
      throw new KernelBugError(`page_table_free: PGSTE table at ${hex(pt.pa)} has bits ${hex(fragBits(k, pt))}, expected 0x3`);
    atomicXorBits(k, pt, AA_BOTH);
    dtorFree(k, pt);
    return;
  }
  const aa = AA_LOWER << half;
  if (!(fragBits(k, pt) & aa))
    throw new KernelBugError(`page_table_free: double free of the ${half ? "upper" : "lower"} half of ${hex(pt.pa)} ` +
      `(bits ${hex(fragBits(k, pt))})`);
  mm.contextLock.lock();
  let v: number;
  try {
    // Clear AA and set PP in one step: the half is "pending" for the few
    // instructions until PP is cleared below, so a concurrent alloc skips it.
    v = atomicXorBits(k, pt, (aa | (aa << PP_SHIFT)));
    if (v & AA_BOTH) listAdd(mm, pt); else listDel(mm, pt);
  } finally { mm.contextLock.unlock(); }
  v = atomicXorBits(k, pt, aa << PP_SHIFT);
  if (v !== 0) return;
  dtorFree(k, pt);
}

function freeFlags(mm: S390Mm, pt: PtDesc, idx: number): void {
  const k = mm.k;
  const full = (1 << tablesPerPage(k)) - 1;
  const bits = (mm.allocPgste && !k.esa390 ? 3 : 1) << idx;
  if ((fragBits(k, pt) & bits) !== bits)
    throw new KernelBugError(`page_table_free: double free of table ${idx} of ${hex(pt.pa)} (flags ${hex(fragBits(k, pt))})`);
  mm.pageTableLock.lock();
  let last = false;
  try {
    const v = atomicXorBits(k, pt, bits);
    if (v & full) listAdd(mm, pt);              // some fragments in use: to the head
    else { listDel(mm, pt); last = true; }
  } finally { mm.pageTableLock.unlock(); }
  if (last) dtorFree(k, pt);
}

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
  const queue = (t: TableFree): void => { if (tlb) tlb.removeTable(t); else k.rcuPending.push(t); };
  if (mm.allocPgste || k.profile === "fullPage") {
    if (idx !== 0) throw new KernelBugError(`page_table_free_rcu(${table}): a full-page table starts at offset 0`);
    if (mm.hasPgste) mm.gmapUnlink(table, vmaddr);
    queue({ ptr: table.pa | 3, mm, kind: "table" });
  } else if (k.profile === "flags") {
    // 2.6.2x had no RCU table freeing; the table is freed whole after the grace period.
    const bits = (mm.allocPgste && !k.esa390 ? 3 : 1) << idx;
    if ((fragBits(k, pt) & bits) !== bits || k.rcuPending.some((t) => t.kind === "flags" && t.ptr === table.pa))
      throw new KernelBugError(`page_table_free_rcu: double free of table ${idx} of ${hex(pt.pa)}`);
    queue({ ptr: table.pa, mm, kind: "flags" });
  } else {
    const aa = AA_LOWER << idx;
    if (!(fragBits(k, pt) & aa))
      throw new KernelBugError(`page_table_free_rcu: double free of the ${idx ? "upper" : "lower"} half of ${hex(pt.pa)} ` +
        `(bits ${hex(fragBits(k, pt))})`);
    mm.contextLock.lock();
    try {
      const v = atomicXorBits(k, pt, aa | (aa << PP_SHIFT));
      if (v & AA_BOTH) listAddTail(mm, pt); else listDel(mm, pt);
    } finally { mm.contextLock.unlock(); }
    queue({ ptr: table.pa | aa, mm, kind: "table" });
  }
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
  const mask = t.ptr & 3;
  const table = t.ptr ^ mask;
  const pt = k.ptdescs.get(Math.floor(table / PAGE_SIZE));
  if (!pt) throw new KernelBugError(`__tlb_remove_table(${hex(t.ptr)}): no table page there`);
  switch (mask) {
    case 0:
      if (pt.pgtable) k.ptdescs.dtor(pt);
      k.ptdescs.pagetableFree(pt);
      break;
    case 1: case 2: {
      const v = atomicXorBits(k, pt, mask << PP_SHIFT);
      if (v === 0) dtorFree(k, pt);
      break;
    }
    case 3:
      if (k.profile !== "fullPage") atomicXorBits(k, pt, AA_BOTH);
      dtorFree(k, pt);
      break;
  }
  k.debugCheck();
}

// ── pmd_populate / pmd_pgtable (SPEC A.2) ────────────────────────────────

/** pmd_populate: point the segment entry at `pmdp` to the PTE table. */
export function pmdPopulate(mm: S390Mm, pmdp: PhysAddr, table: PgTable): void {
  // ESA/390: a 4-byte entry, page-table origin (64-byte aligned) | PTL 15 (256 entries).
  if (mm.k.esa390) mm.k.phys.write32(pmdp, table.pa | 0xf, true);
  else mm.k.phys.write64(pmdp, _SEGMENT_ENTRY | BigInt(table.pa), true);
}

/** pmd_pgtable: the pgtable_t a segment entry points to (low 11 bits cleared). */
export function pmdPgtable(pmd: bigint): PgTable { return PgTable.at(pmdPgtableOrigin(pmd)); }

/** pmd_pgtable of an ESA/390 segment entry: the origin is 64-byte aligned (1 KiB tables). */
export function pmdPgtable31(ste: bigint): PgTable { return PgTable.at(Number(ste & 0x7fff_ffc0n)); }

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
 * The fragment invariants (SPEC A.3.3, A.6.5), over every mm: I1 no half AA
 * and PP at once; I2 a listed page has exactly one allocated half; listed
 * pages belong to that mm and are live; PGSTE pages are whole and unlisted.
 * S390_FLAGS instead: listed pages are non-empty, non-full ones first.
 * Throws naming the first broken invariant.
 */
export function checkFragmentInvariants(k: S390Kernel): void {
  if (k.profile === "fullPage") return;
  const listed = new Set<PtDesc>();
  for (const mm of k.mms) {
    let seenFull = false;
    const full = (1 << tablesPerPage(k)) - 1;
    for (const pt of mm.pgtableList) {
      if (listed.has(pt)) throw new Error(`fragment invariant: ${pt} is listed twice`);
      listed.add(pt);
      if (!pt.pgtable || pt.mm !== mm) throw new Error(`fragment invariant: ${pt} on mm ${mm.id}'s list is not its live table page`);
      const b = fragBits(k, pt);
      if (k.profile === "flags") {
        if ((b & full) === 0) throw new Error(`fragment invariant (flags): empty page ${pt} on the list`);
        if ((b & full) === full) seenFull = true;
        else if (seenFull) throw new Error(`fragment invariant (flags): ${pt} with a free slot behind a full page`);
        continue;
      }
      const aa = b & AA_BOTH;
      if (aa !== AA_LOWER && aa !== AA_UPPER)
        throw new Error(`fragment invariant I2: ${pt} on mm ${mm.id}'s list has bits ${hex(b)} (needs exactly one allocated half)`);
    }
  }
  if (k.profile === "flags") return;
  for (const pt of k.ptdescs.all()) {
    if (pt.level !== 0 || !pt.pgtable) continue;
    const b = fragBits(k, pt);
    if ((b & 0x11) === 0x11 || (b & 0x22) === 0x22)
      throw new Error(`fragment invariant I1: ${pt} has bits ${hex(b)} (a half both allocated and pending)`);
    if (b === 0) throw new Error(`fragment invariant: ${pt} has no allocated or pending half but was not freed`);
    const owner = pt.mm as S390Mm | null;
    if (owner?.allocPgste && (b !== AA_BOTH || listed.has(pt)))
      throw new Error(`fragment invariant: PGSTE table page ${pt} has bits ${hex(b)}${listed.has(pt) ? " and is listed" : ""}`);
  }
}
