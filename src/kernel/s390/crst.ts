/**
 * CRST tables — the region and segment tables (arch/s390/mm/pgalloc.c,
 * arch/s390/include/asm/pgalloc.h).
 *
 * A CRST table has 2048 entries of 8 bytes: 16 KiB, an order-2 allocation,
 * never fragmented. It is initialised to its level's empty entry (invalid,
 * with the table type), because the type field is what the hardware and
 * pgd_offset_raw read to know the level.
 *
 * An address space starts with three levels (asce_limit 2^42, region-third
 * ASCE) and grows on demand: crst_table_upgrade puts a new region-second
 * table (and, past 2^53, a region-first one) on top of the old top table,
 * then reloads the ASCE and flushes. Allocation happens before the lock and
 * publication under it, so a failure leaves the mm exactly as it was.
 */
import type { PtDesc } from "../ptdesc.js";
import type { PhysAddr } from "../types.js";
import { ENOMEM } from "../errno.js";
import { S390Error } from "./errors.js";
import type { S390Mm } from "./mm.js";
import {
  _ASCE_TABLE_LENGTH, _ASCE_TYPE_MASK, _ASCE_TYPE_REGION1, _ASCE_TYPE_REGION2, _ASCE_USER_BITS, _REGION1_ENTRY, _REGION1_ENTRY_EMPTY,
  _REGION1_SIZE, _REGION2_ENTRY, _REGION2_ENTRY_EMPTY, _REGION2_SIZE, _REGION3_ENTRY_EMPTY, _SEGMENT_ENTRY_EMPTY,
  CRST_ALLOC_ORDER, CRST_ENTRIES, hex, TASK_SIZE_MAX,
} from "./pgtable-bits.js";

/** crst_table_alloc: 16 KiB (order 2), not yet initialised; null when out of memory. */
export function crstTableAlloc(mm: S390Mm): PtDesc | null {
  return mm.k.ptdescs.pagetableAlloc(CRST_ALLOC_ORDER);
}

/** crst_table_init: every one of the 2048 entries = `entry`. */
export function crstTableInit(mm: S390Mm, pa: PhysAddr, entry: bigint): void {
  for (let i = 0; i < CRST_ENTRIES; i++) mm.k.phys.write64(pa + 8 * i, entry, true);
}

/** crst_table_free (pagetable_dtor_free for process tables; gmap tables have no ctor). */
export function crstTableFree(mm: S390Mm, pt: PtDesc): void {
  if (pt.pgtable) mm.k.ptdescs.dtor(pt);
  mm.k.ptdescs.pagetableFree(pt);
}

/** A CRST table of one level: allocated, every entry `empty`, constructed; null when out of memory (or the ctor failed). */
function crstAllocOne(mm: S390Mm, empty: bigint, ctor: (pt: PtDesc) => boolean): PtDesc | null {
  const pt = crstTableAlloc(mm);
  if (!pt) return null;
  crstTableInit(mm, pt.pa, empty);
  if (!ctor(pt)) { mm.k.ptdescs.pagetableFree(pt); return null; }
  return pt;
}

/** pmd_alloc_one: a segment table, its split pmd lock (which may fail), accounting. */
export const pmdAllocOne = (mm: S390Mm): PtDesc | null => crstAllocOne(mm, _SEGMENT_ENTRY_EMPTY, (pt) => mm.k.ptdescs.pmdCtor(mm, pt));

/** pud_alloc_one: a region-third table. */
export const pudAllocOne = (mm: S390Mm): PtDesc | null => crstAllocOne(mm, _REGION3_ENTRY_EMPTY, (pt) => mm.k.ptdescs.pudCtor(mm, pt));

/** p4d_alloc_one: a region-second table. */
export const p4dAllocOne = (mm: S390Mm): PtDesc | null => crstAllocOne(mm, _REGION2_ENTRY_EMPTY, (pt) => mm.k.ptdescs.p4dCtor(mm, pt));

/** pgd_alloc for a new mm: the region-third top table of a 3-level space. */
export const pgdAlloc = (mm: S390Mm): PtDesc | null => crstAllocOne(mm, _REGION3_ENTRY_EMPTY, (pt) => mm.k.ptdescs.pgdCtor(mm, pt));

/**
 * crst_table_upgrade(mm, end), modern form: from 3 levels to 4 (end > 2^42)
 * or 5 (end > 2^53) in one step. Returns 0, or −ENOMEM with the mm unchanged.
 */
export function crstTableUpgrade(mm: S390Mm, end: bigint): 0 | typeof ENOMEM {
  const k = mm.k;
  if (mm.asceLimit < _REGION2_SIZE)
    throw new S390Error("EINVAL", `crst_table_upgrade: asce_limit ${hex(mm.asceLimit)} is below 2^42 (VM_BUG_ON)`);
  if (end <= mm.asceLimit) return 0;
  if (end > TASK_SIZE_MAX + 1n)
    throw new S390Error("EINVAL", `crst_table_upgrade: end ${hex(end)} is beyond TASK_SIZE_MAX`);
  let p4d: PtDesc | null = null, pgd: PtDesc | null = null;
  if (mm.asceLimit === _REGION2_SIZE) {
    p4d = crstTableAlloc(mm);
    if (!p4d) return ENOMEM;
    crstTableInit(mm, p4d.pa, _REGION2_ENTRY_EMPTY);
  }
  if (end > _REGION1_SIZE) {
    pgd = crstTableAlloc(mm);
    if (!pgd) {
      if (p4d) k.ptdescs.pagetableFree(p4d);
      return ENOMEM;
    }
    crstTableInit(mm, pgd.pa, _REGION1_ENTRY_EMPTY);
  }
  // Publish under page_table_lock (spin_lock_bh in Linux).
  mm.pageTableLock.lock();
  try {
    if (p4d) {
      k.ptdescs.p4dCtor(mm, p4d);
      k.phys.write64(p4d.pa, _REGION2_ENTRY | BigInt(mm.pgd), true);
      mm.pgdDesc = p4d;
      mm.asceLimit = _REGION1_SIZE;
      mm.asce = BigInt(p4d.pa) | _ASCE_TABLE_LENGTH | _ASCE_USER_BITS | _ASCE_TYPE_REGION2;
      mm.nrPuds++;
    }
    if (pgd) {
      k.ptdescs.pgdCtor(mm, pgd);
      k.phys.write64(pgd.pa, _REGION1_ENTRY | BigInt(mm.pgd), true);
      mm.pgdDesc = pgd;
      mm.asceLimit = TASK_SIZE_MAX;
      mm.asce = BigInt(pgd.pa) | _ASCE_TABLE_LENGTH | _ASCE_USER_BITS | _ASCE_TYPE_REGION1;
    }
  } finally { mm.pageTableLock.unlock(); }
  // On every CPU running this mm: reload the user ASCE, then flush locally.
  if (mm.cpuAttachMask.has(0)) k.loadAsce(mm.asce);
  k.flushMm(mm.asce);
  return 0;
}

/** The table level of a new mm's top and the DAT level numbers (3 R1 … 0 segment). */
export const asceLevel = (asce: bigint): 0 | 1 | 2 | 3 => Number((asce & _ASCE_TYPE_MASK) >> 2n) as 0 | 1 | 2 | 3;
