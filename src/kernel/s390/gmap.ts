/**
 * gmap — the guest mapping of KVM on s390 (arch/s390/mm/gmap.c as of Linux
 * 4.6: docs/SEMANTICS.md says what later versions add).
 *
 * A KVM guest's "physical" memory is a range of the host process's virtual
 * memory. The gmap is a second set of DAT tables whose *segment* entries are
 * copies of the host's segment entries, so guest and host share the last
 * level: the host's PTE tables (with their PGSTEs) are walked by the guest's
 * translations too, and the storage-key and PGSTE bits the guest's accesses
 * leave land in the host's tables.
 *
 *   guest ASCE → gmap R1/R2/R3 → gmap segment table ──┐
 *                                                      ├─→ host PTE table + PGSTEs → frame
 *   host ASCE  → R3 → host segment table ──────────────┘
 *
 * Two radix trees (Maps here) connect the two sides, keyed in 1 MiB units:
 * guest_to_host[gaddr >> 20] = vmaddr of the segment, and
 * host_to_guest[vmaddr >> 20] = address of the gmap segment entry that
 * copies the host's. The second one is how the host finds the guest entries
 * to invalidate when it frees a PTE table (gmap_unlink) or changes a PTE the
 * guest asked to be told about (ptep_notify).
 */
import { Access, FaultKind, Pgm } from "../../abi.js";
import { newTranslation, type Translation } from "../../engine/engine.js";
import { KernelBugError } from "../kernel.js";
import type { PtDesc } from "../ptdesc.js";
import { SpinLock } from "../ptlock.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "../types.js";
import { crstTableAlloc, crstTableFree, crstTableInit } from "./crst.js";
import { EFAULT, EINVAL, ENOMEM } from "./errors.js";
import type { S390Mm } from "./mm.js";
import type { PgTable } from "./pgalloc.js";
import {
  _ASCE_TABLE_LENGTH, _ASCE_TYPE_MASK, _ASCE_TYPE_REGION1, _ASCE_TYPE_REGION2, _ASCE_TYPE_REGION3, _ASCE_TYPE_SEGMENT,
  _ASCE_USER_BITS, _REGION1_ENTRY_EMPTY, _REGION2_ENTRY_EMPTY, _REGION3_ENTRY_EMPTY, _REGION_ENTRY_INVALID,
  _REGION_ENTRY_LENGTH, _REGION_ENTRY_ORIGIN, _REGION_ENTRY_TYPE_MASK, _SEGMENT_ENTRY_EMPTY, _SEGMENT_ENTRY_INVALID,
  _SEGMENT_ENTRY_LARGE, _SEGMENT_ENTRY_ORIGIN, _REGION1_SHIFT, _REGION1_SIZE, _REGION2_SHIFT, _REGION2_SIZE, _REGION3_SHIFT,
  _REGION3_SIZE, _SEGMENT_SHIFT, _SEGMENT_SIZE, CRST_BYTES, CRST_ENTRIES, hex, PAGE_TABLE_SIZE, TASK_SIZE_MAX,
} from "./pgtable-bits.js";
import { ptepGet, ptepSetNotify, PGSTE_IN_BIT } from "./pgtable.js";
import { _PAGE_INVALID, _PAGE_PROTECT } from "./pgtable-bits.js";

const PMD_SHIFT = _SEGMENT_SHIFT;
const PMD_SIZE = _SEGMENT_SIZE;
const U64_MAX = (1n << 64n) - 1n;
/** Index bits of a region or segment table (2048 entries). */
const CRST_INDEX_MASK = BigInt(CRST_ENTRIES - 1);
const PAGE_OFFSET_MASK = BigInt(PAGE_SIZE - 1);

let nextGmapId = 1;

export class Gmap {
  readonly id = nextGmapId++;
  /** ASCE of the guest address space (what SIE loads for the guest). */
  readonly asce: bigint;
  /** Highest guest address this gmap can map. */
  readonly asceEnd: bigint;
  /** The top table. */
  readonly table: PtDesc;
  /** crst_list: every table of this gmap with its guest base (ptdesc->_pt_s390_gaddr). */
  readonly crstList = new Map<Pfn, { pt: PtDesc; gaddr: bigint }>();
  /** guest_to_host: gaddr >> 20 → vmaddr of the 1 MiB segment. */
  readonly guestToHost = new Map<bigint, bigint>();
  /** host_to_guest: vmaddr >> 20 → physical address of the gmap segment entry. */
  readonly hostToGuest = new Map<bigint, PhysAddr>();
  readonly guestTableLock: SpinLock;
  removed = false;
  /**
   * Failure injection for the radix trees' node allocations (slab, not the
   * page allocator): the n-th next radix_tree_insert / radix_tree_preload
   * fails with -ENOMEM (0: none fails). For tests of the error paths.
   */
  radixFailNth = 0;
  /**
   * The window of gmap_alloc_table between allocating a table (unlocked) and
   * taking guest_table_lock, where another CPU may link its own table first.
   * Called once, then cleared; tests run the racing __gmap_link in it.
   */
  allocTableWindow: (() => void) | undefined;

  constructor(readonly mm: S390Mm, table: PtDesc, asceType: bigint, asceEnd: bigint) {
    this.table = table;
    this.asce = asceType | _ASCE_TABLE_LENGTH | _ASCE_USER_BITS | BigInt(table.pa);
    this.asceEnd = asceEnd;
    this.crstList.set(table.pfn, { pt: table, gaddr: 0n });
    this.guestTableLock = new SpinLock(`gmap${this.id}.guest_table_lock`, mm.k.lockdep);
  }

  /** If a segment entry of this gmap still points at the host PTE table at
   *  `tablePa`, the guest address it maps; else null. */
  linkedTo(tablePa: PhysAddr): bigint | null {
    const phys = this.mm.k.phys;
    for (const entry of this.hostToGuest.values()) {
      const e = phys.read64(entry, true);
      if (!(e & _SEGMENT_ENTRY_INVALID) && Number(e & _SEGMENT_ENTRY_ORIGIN) === tablePa) return __gmapSegmentGaddr(this, entry);
    }
    return null;
  }
}

const read = (g: Gmap, pa: PhysAddr): bigint => g.mm.k.phys.read64(pa, true);
const write = (g: Gmap, pa: PhysAddr, v: bigint): void => g.mm.k.phys.write64(pa, v, true);

/** gmap_flush_tlb: purge the guest's translations (IDTE on the gmap ASCE). */
function gmapFlushTlb(gmap: Gmap): void { gmap.mm.k.flushMm(gmap.asce); }

/**
 * gmap_alloc + gmap_create: a guest address space of at least `limit` bytes
 * for `mm` (which must have PGSTEs). The ASCE type follows the limit:
 * < 2^31 segment, < 2^42 region-third, < 2^53 region-second, else region-first.
 * Returns null when out of memory.
 */
export function gmapCreate(mm: S390Mm, limit: bigint): Gmap | null {
  if (!mm.hasPgste) throw new KernelBugError(`gmap_create: mm ${mm.id} has no PGSTEs (KVM needs mm_alloc_pgste)`);
  if (limit < 0n || limit > U64_MAX) throw new RangeError(`gmap_create: limit ${limit} is not a 64-bit address`);
  let atype: bigint, etype: bigint, end: bigint;
  if (limit < _REGION3_SIZE) { end = _REGION3_SIZE - 1n; atype = _ASCE_TYPE_SEGMENT; etype = _SEGMENT_ENTRY_EMPTY; }
  else if (limit < _REGION2_SIZE) { end = _REGION2_SIZE - 1n; atype = _ASCE_TYPE_REGION3; etype = _REGION3_ENTRY_EMPTY; }
  else if (limit < _REGION1_SIZE) { end = _REGION1_SIZE - 1n; atype = _ASCE_TYPE_REGION2; etype = _REGION2_ENTRY_EMPTY; }
  else { end = U64_MAX; atype = _ASCE_TYPE_REGION1; etype = _REGION1_ENTRY_EMPTY; }
  const pt = crstTableAlloc(mm);                        // gmap tables: no ctor, not process page tables
  if (!pt) return null;
  crstTableInit(mm, pt.pa, etype);
  const gmap = new Gmap(mm, pt, atype, end);
  mm.gmaps.push(gmap);
  return gmap;
}

/** gmap_remove + gmap_free: unlink from the mm, flush, free every table. */
export function gmapRemove(gmap: Gmap): void {
  if (gmap.removed) throw new KernelBugError(`gmap_remove: gmap ${gmap.id} was removed already`);
  const mm = gmap.mm;
  mm.gmaps.splice(mm.gmaps.indexOf(gmap), 1);
  gmap.removed = true;
  gmapFlushTlb(gmap);
  for (const { pt } of gmap.crstList.values()) crstTableFree(mm, pt);   // _pt_s390_gaddr reset with the entry
  gmap.crstList.clear();
  gmap.guestToHost.clear();
  gmap.hostToGuest.clear();
}

/** __gmap_unlink_by_vmaddr: forget host_to_guest[vmaddr] and invalidate the
 *  gmap segment entry; true if it was valid (a flush is due). */
function unlinkByVmaddr(gmap: Gmap, vmaddr: bigint): boolean {
  gmap.guestTableLock.lock();
  try {
    const entry = gmap.hostToGuest.get(vmaddr >> PMD_SHIFT);
    if (entry === undefined) return false;
    gmap.hostToGuest.delete(vmaddr >> PMD_SHIFT);
    const flush = read(gmap, entry) !== _SEGMENT_ENTRY_INVALID;
    write(gmap, entry, _SEGMENT_ENTRY_INVALID);
    return flush;
  } finally { gmap.guestTableLock.unlock(); }
}

/** __gmap_unmap_by_gaddr: drop guest_to_host[gaddr] and its link; true if it existed. */
function unmapByGaddr(gmap: Gmap, gaddr: bigint): boolean {
  const key = gaddr >> PMD_SHIFT;
  const vmaddr = gmap.guestToHost.get(key);
  if (vmaddr === undefined) return false;
  gmap.guestToHost.delete(key);
  unlinkByVmaddr(gmap, vmaddr);
  return true;
}

/**
 * gmap_map_segment: map guest [to, to+len) to host [from, from+len). All
 * three must be 1 MiB aligned, len ≠ 0, no wrap, within TASK_SIZE_MAX and
 * the gmap's asce_end; else -EINVAL with nothing changed.
 */
export function gmapMapSegment(gmap: Gmap, from: bigint, to: bigint, len: bigint): number {
  if ((from | to | len) & (PMD_SIZE - 1n)) return EINVAL;
  if (len === 0n || from < 0n || to < 0n || from + len - 1n > TASK_SIZE_MAX || to + len - 1n > gmap.asceEnd) return EINVAL;
  let flush = false, off = 0n;
  for (; off < len; off += PMD_SIZE) {
    flush = unmapByGaddr(gmap, to + off) || flush;         // remove the old translation
    if (!radixNodeAlloc(gmap)) break;                      // radix_tree_insert: -ENOMEM
    gmap.guestToHost.set((to + off) >> PMD_SHIFT, from + off);
  }
  if (flush) gmapFlushTlb(gmap);
  if (off >= len) return 0;
  // A failed insert leaves no half mapping: the whole range is unmapped
  // (the old translations of the segments already passed are gone too, as in
  // the kernel).
  gmapUnmapSegment(gmap, to, len);
  return ENOMEM;
}

/** gmap_unmap_segment: same alignment rules as gmap_map_segment. */
export function gmapUnmapSegment(gmap: Gmap, to: bigint, len: bigint): number {
  if ((to | len) & (PMD_SIZE - 1n)) return EINVAL;
  if (len === 0n || to < 0n || to + len - 1n > U64_MAX) return EINVAL;
  let flush = false;
  for (let off = 0n; off < len; off += PMD_SIZE) flush = unmapByGaddr(gmap, to + off) || flush;
  if (flush) gmapFlushTlb(gmap);
  return 0;
}

/** __gmap_translate: the host address of `gaddr`, or -EFAULT. */
export function __gmapTranslate(gmap: Gmap, gaddr: bigint): bigint | typeof EFAULT {
  const vmaddr = gmap.guestToHost.get(gaddr >> PMD_SHIFT);
  return vmaddr === undefined ? EFAULT : vmaddr | (gaddr & (PMD_SIZE - 1n));
}

/** One node allocation of a radix tree (radix_tree_insert, radix_tree_preload): false = -ENOMEM. */
function radixNodeAlloc(gmap: Gmap): boolean {
  if (gmap.radixFailNth === 0) return true;
  return --gmap.radixFailNth !== 0;
}

/** gmap_alloc_table: a lower CRST table for the invalid entry at `entry`,
 *  remembering the guest base it covers; if another CPU linked a table
 *  there meanwhile (the entry is valid once guest_table_lock is held), its
 *  table stays and ours is freed (arch/s390/mm/gmap.c gmap_alloc_table). */
function gmapAllocTable(gmap: Gmap, entry: PhysAddr, init: bigint, gaddr: bigint): number {
  const mm = gmap.mm;
  const pt = crstTableAlloc(mm);
  if (!pt) return ENOMEM;
  crstTableInit(mm, pt.pa, init);
  const racer = gmap.allocTableWindow;
  gmap.allocTableWindow = undefined;
  racer?.();
  gmap.guestTableLock.lock();
  let used = false;
  try {
    const e = read(gmap, entry);
    if (e & _REGION_ENTRY_INVALID) {
      gmap.crstList.set(pt.pfn, { pt, gaddr });
      write(gmap, entry, BigInt(pt.pa) | _REGION_ENTRY_LENGTH | (e & _REGION_ENTRY_TYPE_MASK));
      used = true;
    }
  } finally { gmap.guestTableLock.unlock(); }
  if (!used) crstTableFree(mm, pt);
  return 0;
}

/**
 * __gmap_link: make the gmap segment entry for `gaddr` share the host's PTE
 * table for `vmaddr`. Allocates missing gmap region/segment tables; the host
 * segment entry must exist (gmap_fault faulted it in), a large host segment
 * is -EFAULT. An already valid gmap entry is left alone (rc 0).
 */
export function __gmapLink(gmap: Gmap, gaddr: bigint, vmaddr: bigint): number {
  const mm = gmap.mm;
  if (gmap.removed) throw new KernelBugError(`__gmap_link on removed gmap ${gmap.id}`);
  let table = gmap.table.pa;
  const type = gmap.asce & _ASCE_TYPE_MASK;
  const levels: [bigint, bigint, bigint, bigint][] = [
    // [asce type needed, index shift, init value of the table below, guest base mask]
    [_ASCE_TYPE_REGION1, _REGION1_SHIFT, _REGION2_ENTRY_EMPTY, U64_MAX & ~(_REGION1_SIZE - 1n)],
    [_ASCE_TYPE_REGION2, _REGION2_SHIFT, _REGION3_ENTRY_EMPTY, U64_MAX & ~(_REGION2_SIZE - 1n)],
    [_ASCE_TYPE_REGION3, _REGION3_SHIFT, _SEGMENT_ENTRY_EMPTY, U64_MAX & ~(_REGION3_SIZE - 1n)],
  ];
  for (const [need, shift, init, mask] of levels) {
    if (type < need) continue;
    const entry = table + 8 * Number((gaddr >> shift) & CRST_INDEX_MASK);
    if ((read(gmap, entry) & _REGION_ENTRY_INVALID) && gmapAllocTable(gmap, entry, init, gaddr & mask)) return ENOMEM;
    table = Number(read(gmap, entry) & _REGION_ENTRY_ORIGIN);
  }
  const entry = table + 8 * Number((gaddr >> PMD_SHIFT) & CRST_INDEX_MASK);
  // Walk the parent mm's table to its segment entry.
  const pmdp = vmaddr < mm.asceLimit ? mm.pmdOffset(vmaddr, false) : null;
  if (pmdp === null) throw new KernelBugError(`__gmap_link: host ${hex(vmaddr)} has no segment table (VM_BUG_ON(pud_none))`);
  const pmd = mm.k.phys.read64(pmdp, true);
  if (pmd & _SEGMENT_ENTRY_LARGE) return EFAULT;         // large pmds cannot be linked
  if (pmd & _SEGMENT_ENTRY_INVALID) throw new KernelBugError(`__gmap_link: host ${hex(vmaddr)} has no PTE table (VM_BUG_ON(pmd_none))`);
  // radix_tree_preload: the node host_to_guest needs, allocated before the
  // locks; if it fails nothing below the upper tables has changed.
  if (!radixNodeAlloc(gmap)) return ENOMEM;
  const ptl = mm.pmdLockptr(pmdp);
  ptl.lock();
  gmap.guestTableLock.lock();
  try {
    if (read(gmap, entry) === _SEGMENT_ENTRY_INVALID) {
      gmap.hostToGuest.set(vmaddr >> PMD_SHIFT, entry);
      write(gmap, entry, mm.k.phys.read64(pmdp, true));   // the shared last level
    }
  } finally { gmap.guestTableLock.unlock(); ptl.unlock(); }
  return 0;
}

/**
 * gmap_fault: resolve a guest DAT fault at `gaddr` — translate to the host
 * address, fault the host page in (fixup_user_fault), link the PTE table.
 * 0, or -EFAULT (no segment mapped there, or the host fault failed).
 */
export function gmapFault(gmap: Gmap, gaddr: bigint, write = false): number {
  const vmaddr = __gmapTranslate(gmap, gaddr);
  if (typeof vmaddr === "number") return vmaddr;
  const r = gmap.mm.handleFault(vmaddr, write ? Access.Write : Access.Read);
  if (!r.ok) return EFAULT;
  return __gmapLink(gmap, gaddr, vmaddr);
}

/**
 * gmap_unlink: the host is freeing the PTE table that maps `vmaddr`; every
 * gmap of the mm forgets it and invalidates its segment entry (flushing the
 * guest TLB if the entry was valid) — before the table is queued for freeing.
 */
export function gmapUnlink(mm: S390Mm, table: PgTable, vmaddr: bigint): void {
  void table;
  for (const gmap of mm.gmaps) if (unlinkByVmaddr(gmap, vmaddr)) gmapFlushTlb(gmap);
}

/** __gmap_segment_gaddr: the guest address a gmap segment entry maps. */
export function __gmapSegmentGaddr(gmap: Gmap, entry: PhysAddr): bigint {
  const tableBase = entry - (entry % CRST_BYTES);
  const t = gmap.crstList.get(tableBase / PAGE_SIZE);
  if (!t) throw new KernelBugError(`__gmap_segment_gaddr: ${hex(entry)} is not in a table of gmap ${gmap.id}`);
  return t.gaddr + BigInt((entry - tableBase) / 8) * PMD_SIZE;
}

/**
 * ptep_notify: a host PTE whose PGSTE had IN (or VSIE) set is changing. Every
 * gmap that links the segment is told the guest page through each
 * registered notifier (gmap_call_notifier).
 */
export function ptepNotify(mm: S390Mm, vmaddr: bigint, ptep: PhysAddr, bits: bigint): void {
  // The PTE index within its table gives the page within the 1 MiB segment.
  const offset = BigInt((ptep % PAGE_TABLE_SIZE) / 8) * BigInt(PAGE_SIZE);
  for (const gmap of mm.gmaps) {
    gmap.guestTableLock.lock();
    const entry = gmap.hostToGuest.get(vmaddr >> PMD_SHIFT);
    gmap.guestTableLock.unlock();
    if (entry === undefined) continue;
    const gaddr = __gmapSegmentGaddr(gmap, entry) + offset;
    if (bits & PGSTE_IN_BIT) for (const n of mm.k.gmapNotifiers) n(gmap, gaddr, gaddr + BigInt(PAGE_SIZE) - 1n);
  }
}

/**
 * gmap_ipte_notify (later gmap_mprotect_notify): ask to be notified when any
 * page of guest [gaddr, gaddr+len) is invalidated. Each page is faulted in
 * writable and linked; the IN bit goes into its PGSTE once the PTE is valid
 * and unprotected (else the page is tried again). -EINVAL if not page aligned.
 */
export function gmapIpteNotify(gmap: Gmap, gaddr: bigint, len: bigint): number {
  if ((gaddr | len) & PAGE_OFFSET_MASK) return EINVAL;
  const mm = gmap.mm;
  let tries = 0;
  while (len > 0n) {
    const addr = __gmapTranslate(gmap, gaddr);
    if (typeof addr === "number") return addr;
    if (!mm.handleFault(addr, Access.Write).ok) return EFAULT;
    const rc = __gmapLink(gmap, gaddr, addr);
    if (rc) return rc;
    const ptep = mm.lookupPtep(addr);
    if (ptep === null) throw new KernelBugError(`gmap_ipte_notify: no PTE for host ${hex(addr)} after the fault (VM_BUG_ON)`);
    const done = mm.withPteLock(ptep, () => {
      if ((ptepGet(mm, ptep) & (_PAGE_INVALID | _PAGE_PROTECT)) !== 0n) return false;
      ptepSetNotify(mm, ptep);
      return true;
    });
    if (done) { gaddr += BigInt(PAGE_SIZE); len -= BigInt(PAGE_SIZE); tries = 0; }
    else if (++tries > 3) return EFAULT;                  // the model's bound on Linux's retry loop
  }
  return 0;
}

/** Program-interruption codes a host resolves with gmap_fault (DAT and protection). */
const GUEST_FAULTS = new Set<number>([Pgm.Protection, Pgm.PageTranslation, Pgm.SegmentTranslation,
  Pgm.Region1Translation, Pgm.Region2Translation, Pgm.Region3Translation]);

/**
 * A guest access as SIE runs it: translate `gaddr` through the gmap's ASCE
 * on the engine (the last level is the host's PTE table; storage keys of the
 * host frame are set); on a DAT or protection exception the host runs
 * gmap_fault and SIE is re-entered. Returns the final translation and the
 * rc of the last gmap_fault (0 if none failed).
 */
export function gmapGuestAccess(gmap: Gmap, gaddr: bigint, access: Access, out: Translation = newTranslation()): Translation & { rc: number } {
  let rc = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    gmap.mm.k.translate(gmap.asce, gaddr, access, out);
    if (out.fault !== FaultKind.S390 || !GUEST_FAULTS.has(out.vector)) break;
    rc = gmapFault(gmap, gaddr, access === Access.Write);
    if (rc) break;
  }
  return Object.assign(out, { rc });
}
