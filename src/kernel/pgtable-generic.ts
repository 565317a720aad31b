/**
 * The pte_offset_map family and the pte-table allocation helpers
 * (mm/pgtable-generic.c, mm/memory.c, include/linux/mm.h), for every
 * architecture: entries are read, built and written through the mm's
 * MmArch.
 *
 * A "pte pointer" here is a PtePtr: the entry's physical address plus how it
 * was obtained, so that the checking mode can enforce the contracts Linux
 * states only in comments — no writes through a pointer from
 * pte_offset_map_ro_nolock, and writes through a pointer from
 * pte_offset_map_rw_nolock only after proving the pmd is unchanged.
 *
 * Races are made deterministic with KernelBase.interleave: a test runs the
 * second "thread" inside the hook between the lockless snapshot and the lock
 * (afterPmdSnapshot) or between allocating and installing a table
 * (beforePmdInstall).
 */
import { indexAt, pteDepth } from "./arch.js";
import type { KernelBase } from "./kernel.js";
import type { Mm } from "./mm.js";
import type { PtDesc } from "./ptdesc.js";
import { useSplitPtePtlocks, type SpinLock } from "./ptlock.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "./types.js";

export type PteVia = "map" | "map_lock" | "ro_nolock" | "rw_nolock";

/** A mapped pte pointer (pte_t * between pte_offset_map* and pte_unmap). */
export class PtePtr {
  mapped = true;
  constructor(
    readonly mm: Mm,
    /** Physical address of the entry. */
    readonly pa: PhysAddr,
    /** The pte table's page, as derived from the snapshot. */
    readonly table: PtDesc,
    readonly via: PteVia,
    /** The pmd entry the table was found through, and its snapshot. */
    readonly pmdp: PhysAddr,
    readonly pmdval: bigint,
    /** The virtual address of the page the entry maps. */
    readonly addr: bigint,
  ) {}
  /** The pointer to the entry `n` slots further (pte++ within one table). */
  offset(n: number): PtePtr {
    const p = new PtePtr(this.mm, this.pa + n * this.mm.arch.entryBytes(this.mm), this.table, this.via, this.pmdp, this.pmdval,
      this.addr + BigInt(n * PAGE_SIZE));
    p.mapped = this.mapped;
    return p;
  }
}

/** Depth of the table whose entries point to pte tables (the pmd-kind entries). */
const pmdDepthOf = (mm: Mm): number => pteDepth(mm.arch.tables(mm)) - 1;

/** pte_lockptr(mm, pmd): the pte table's split lock, or mm.page_table_lock without split locks. */
export function pteLockptr(k: KernelBase, mm: Mm, pmdval: bigint): SpinLock {
  if (!useSplitPtePtlocks(k.ptdescs.deps.ptlocks)) return mm.pageTableLock;
  const tablePa = mm.arch.pxdTable(mm, pmdval, pmdDepthOf(mm)) ?? 0;
  const pt = k.ptdescs.get(Math.floor(tablePa / PAGE_SIZE));
  if (!pt || !pt.ptl)
    throw new Error(`pte_lockptr: the pte table at 0x${tablePa.toString(16)} has no split lock ` +
      `(${pt?.mm?.isInitMm ? "init_mm tables are serialised by init_mm.page_table_lock" : "not a constructed pte table"})`);
  return pt.ptl;
}

/** pmd_lockptr(mm, pmdp): the pmd table's split lock, or mm.page_table_lock. */
export function pmdLockptr(_k: KernelBase, mm: Mm, pmdp: PhysAddr): SpinLock {
  return mm.arch.pxdLockptr(mm, pmdp, pmdDepthOf(mm));
}

/** pmd_lock: take and return the pmd lock. */
export function pmdLock(k: KernelBase, mm: Mm, pmdp: PhysAddr): SpinLock {
  const ptl = pmdLockptr(k, mm, pmdp);
  ptl.lock();
  return ptl;
}

/** pud_lock (and above): mm.page_table_lock. */
export function pudLock(_k: KernelBase, mm: Mm): SpinLock { mm.pageTableLock.lock(); return mm.pageTableLock; }

/**
 * __pte_offset_map: lockless snapshot of *pmd inside an RCU read section;
 * null (section left) for none, non-present (migration), huge or bad pmds —
 * a bad one is reported and cleared (pmd_clear_bad).
 */
export function __pteOffsetMap(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint, via: PteVia = "map"): PtePtr | null {
  const arch = mm.arch;
  k.rcu.readLock();
  const pmdval = arch.readEntry(mm, pmdp);
  const tablePa = arch.pxdTable(mm, pmdval, pmdDepthOf(mm));
  if (tablePa === null) { k.rcu.readUnlock(); return null; }
  if (arch.pmdBad(mm, pmdval)) {
    k.badEntries.push(`bad pmd 0x${pmdval.toString(16)} at 0x${pmdp.toString(16)}`);
    arch.pxdClear(mm, pmdDepthOf(mm), pmdp);          // pmd_clear_bad: pmd_ERROR then pmd_clear
    k.rcu.readUnlock();
    return null;
  }
  const table = k.ptdescs.get(Math.floor(tablePa / PAGE_SIZE));
  if (!table) { k.rcu.readUnlock(); throw new Error(`pmd at 0x${pmdp.toString(16)} points to 0x${tablePa.toString(16)}, not a page table`); }
  const t = arch.tables(mm);
  const page = addr & ~BigInt(PAGE_SIZE - 1);
  return new PtePtr(mm, tablePa + indexAt(t, pteDepth(t), addr) * arch.entryBytes(mm), table, via, pmdp, pmdval, page);
}

/** pte_offset_map: no lock; the caller may only read (or must lock and recheck itself). */
export function pteOffsetMap(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint): PtePtr | null {
  return __pteOffsetMap(k, mm, pmdp, addr, "map");
}

/** pte_unmap: end the RCU section of the mapping. */
export function pteUnmap(k: KernelBase, pte: PtePtr): void {
  if (!pte.mapped) throw new Error(`pte_unmap of 0x${pte.pa.toString(16)} twice`);
  pte.mapped = false;
  k.rcu.readUnlock();
}

/** pte_unmap_unlock: unlock, then unmap. */
export function pteUnmapUnlock(k: KernelBase, pte: PtePtr, ptl: SpinLock): void {
  ptl.unlock();
  pteUnmap(k, pte);
}

/**
 * pte_offset_map_lock: snapshot, derive the lock from the snapshot (never
 * from a re-read), lock, and accept only if *pmd still equals the snapshot;
 * otherwise unlock, unmap and retry. On success the table is the one
 * installed and stays so while the lock is held.
 */
export function pteOffsetMapLock(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  for (;;) {
    const pte = __pteOffsetMap(k, mm, pmdp, addr, "map_lock");
    if (!pte) return null;
    k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
    const ptl = pteLockptr(k, mm, pte.pmdval);
    ptl.lock();
    if (mm.arch.readEntry(mm, pmdp) === pte.pmdval) return { pte, ptl };
    ptl.unlock();
    pteUnmap(k, pte);
  }
}

/** pte_offset_map_ro_nolock: pointer + its lock (not taken); reading only. */
export function pteOffsetMapRoNolock(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  const pte = __pteOffsetMap(k, mm, pmdp, addr, "ro_nolock");
  if (!pte) return null;
  k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
  return { pte, ptl: pteLockptr(k, mm, pte.pmdval) };
}

/** pte_offset_map_rw_nolock: also returns pmdval; before writing the caller must prove stability. */
export function pteOffsetMapRwNolock(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint):
  { pte: PtePtr; ptl: SpinLock; pmdval: bigint } | null {
  const pte = __pteOffsetMap(k, mm, pmdp, addr, "rw_nolock");
  if (!pte) return null;
  k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
  return { pte, ptl: pteLockptr(k, mm, pte.pmdval), pmdval: pte.pmdval };
}

/** ptep_get. */
export function ptepGet(_k: KernelBase, pte: PtePtr): bigint { return pte.mm.arch.readEntry(pte.mm, pte.pa); }

/**
 * The pointer contracts of a write through a pte pointer: no write after
 * pte_unmap or through ro_nolock, and through rw_nolock only with the lock
 * held and *pmd still equal to the returned pmdval (or the mmap lock held
 * for write). False (reported) when the write must not happen.
 */
function writeAllowed(k: KernelBase, pte: PtePtr): boolean {
  let why: string | null = null;
  if (!pte.mapped) why = "write through a pte pointer after pte_unmap";
  else if (pte.via === "ro_nolock") why = "write through a pte obtained with pte_offset_map_ro_nolock";
  else if (pte.via === "rw_nolock") {
    const held = pteLockptr(k, pte.mm, pte.pmdval).held;
    const same = pte.mm.arch.readEntry(pte.mm, pte.pmdp) === pte.pmdval;
    if (!held) why = "write through a pte_offset_map_rw_nolock pointer without taking its lock";
    else if (!same && !pte.mm.mmapLock.writeHeld) why = "write through a pte_offset_map_rw_nolock pointer after the pmd changed (pmd_same failed)";
  }
  if (!why) return true;
  const msg = `${why} (pte 0x${pte.pa.toString(16)})`;
  k.lockdep.report(msg);
  if (!k.lockdep.enabled) throw new Error(msg);
  return false;
}

/** set_pte_at through a pte pointer, with the pointer contracts checked. A rejected write is not performed. */
export function setPteAt(k: KernelBase, pte: PtePtr, v: bigint): void {
  if (writeAllowed(k, pte)) pte.mm.arch.setPteAt(pte.mm, pte.addr, pte.pa, v);
}

/** ptep_get_and_clear through a pte pointer (the contracts of setPteAt); the old pte, or null if refused. */
export function ptepGetAndClear(k: KernelBase, pte: PtePtr): bigint | null {
  return writeAllowed(k, pte) ? pte.mm.arch.ptepGetAndClear(pte.mm, pte.addr, pte.pa) : null;
}

/** ptep_clear_flush through a pte pointer. */
export function ptepClearFlush(k: KernelBase, pte: PtePtr): void {
  if (writeAllowed(k, pte)) pte.mm.arch.ptepClearFlush(pte.mm, pte.addr, pte.pa);
}

/** ptep_set_access_flags through a pte pointer. */
export function ptepSetAccessFlags(k: KernelBase, pte: PtePtr, entry: bigint, dirty: boolean): boolean {
  return writeAllowed(k, pte) && pte.mm.arch.ptepSetAccessFlags(pte.mm, pte.addr, pte.pa, entry, dirty);
}

/**
 * __pte_alloc / pmd_install: allocate outside the lock, then under the pmd
 * lock install it only if the pmd is still none; the loser of a race frees
 * its table (dtor + free). false = -ENOMEM.
 */
export function __pteAlloc(k: KernelBase, mm: Mm, pmdp: PhysAddr): boolean {
  const arch = mm.arch, depth = pmdDepthOf(mm);
  const fresh = arch.pxdAllocOne(mm, PgtLevel.Pte);
  if (!fresh) return false;
  k.interleave.beforePmdInstall?.(pmdp);
  let spare: unknown = fresh;
  const ptl = pmdLock(k, mm, pmdp);
  try {
    if (arch.pxdNone(mm, arch.readEntry(mm, pmdp), depth)) {
      mm.countTables(PgtLevel.Pte, +1);
      arch.pxdPopulate(mm, pmdp, depth, fresh);    // pmd_populate (smp_wmb precedes it in Linux)
      spare = null;
    }
  } finally { ptl.unlock(); }
  if (spare) arch.pxdFree(mm, PgtLevel.Pte, spare);
  return true;
}

/** pte_alloc_map_lock: allocate the pte table if needed, then pte_offset_map_lock. */
export function pteAllocMapLock(k: KernelBase, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  if (mm.arch.pxdNone(mm, mm.arch.readEntry(mm, pmdp), pmdDepthOf(mm)) && !__pteAlloc(k, mm, pmdp)) return null;
  return pteOffsetMapLock(k, mm, pmdp, addr);
}

/**
 * __pmd_alloc / __pud_alloc / __p4d_alloc, one function: the child table of
 * the entry at `entryPa` (in table `depth`) for a level above pte. Same
 * allocate-outside / install-under-lock shape; the lock is the one that
 * protects the entry (page_table_lock, or the pmd lock for 2-level's
 * pgd-as-pmd). false = -ENOMEM.
 */
export function __pxdAlloc(k: KernelBase, mm: Mm, entryPa: PhysAddr, depth: number): boolean {
  if (depth === pmdDepthOf(mm)) return __pteAlloc(k, mm, entryPa);
  const arch = mm.arch;
  const level = arch.tables(mm)[depth + 1]!.level;
  const fresh = arch.pxdAllocOne(mm, level);
  if (!fresh) return false;
  let spare: unknown = fresh;
  const ptl = arch.pxdLockptr(mm, entryPa, depth);
  ptl.lock();
  try {
    if (arch.pxdNone(mm, arch.readEntry(mm, entryPa), depth)) {
      mm.countTables(level, +1);
      arch.pxdPopulate(mm, entryPa, depth, fresh);
      spare = null;
    }
  } finally { ptl.unlock(); }
  if (spare) arch.pxdFree(mm, level, spare);
  return true;
}
