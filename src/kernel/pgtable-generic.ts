/**
 * The pte_offset_map family and the pte-table allocation helpers
 * (mm/pgtable-generic.c, mm/memory.c, include/linux/mm.h; SPEC F.2).
 *
 * A "pte pointer" here is a PtePtr: the entry's physical address plus how it
 * was obtained, so that the checking mode can enforce the contracts Linux
 * states only in comments — no writes through a pointer from
 * pte_offset_map_ro_nolock, and writes through a pointer from
 * pte_offset_map_rw_nolock only after proving the pmd is unchanged.
 *
 * Races are made deterministic with Kernel.interleave: a test runs the
 * second "thread" inside the hook between the lockless snapshot and the lock
 * (afterPmdSnapshot) or between allocating and installing a table
 * (beforePmdInstall).
 */
import type { Kernel } from "./kernel.js";
import type { Mm } from "./mm.js";
import type { PtDesc } from "./ptdesc.js";
import { useSplitPtePtlocks, type SpinLock } from "./ptlock.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "./types.js";
import { entryLockptr, entryPtr, readEntry, setEntry } from "./x86/entry.js";
import { populate, pteAllocOne, pteFree, tableAllocOne, tableFree } from "./x86/pgalloc.js";
import { entryAddr, entryKind, isLeafEntry, isPresent, pmdBad, tableIndex } from "./x86/pgtable.js";

export type PteVia = "map" | "map_lock" | "ro_nolock" | "rw_nolock";

/** A mapped pte pointer (pte_t * between pte_offset_map* and pte_unmap). */
export class PtePtr {
  mapped = true;
  constructor(
    readonly mm: Mm,
    /** Physical address of the entry. */
    readonly pa: PhysAddr,
    /** The pte table, as derived from the snapshot. */
    readonly table: PtDesc,
    readonly via: PteVia,
    /** The pmd entry the table was found through, and its snapshot. */
    readonly pmdp: PhysAddr,
    readonly pmdval: bigint,
  ) {}
  /** The pointer to the entry `n` slots further (pte++ within one table). */
  offset(n: number, k: Kernel): PtePtr {
    const p = new PtePtr(this.mm, this.pa + n * k.geometry.entryBytes, this.table, this.via, this.pmdp, this.pmdval);
    p.mapped = this.mapped;
    return p;
  }
}

/** Depth of the table whose entries are pmd-kind (they point to pte tables). */
export const pmdDepth = (k: Kernel): number => k.geometry.tables.length - 2;

/** pte_lockptr(mm, pmd): the pte table's split lock, or mm.page_table_lock without split locks. */
export function pteLockptr(k: Kernel, mm: Mm, pmdval: bigint): SpinLock {
  if (!useSplitPtePtlocks(k.ptdescs.deps.ptlocks)) return mm.pageTableLock;
  const pt = k.ptdescs.get(entryAddr(k.geometry, pmdval) / PAGE_SIZE);
  if (!pt || !pt.ptl)
    throw new Error(`pte_lockptr: the pte table at 0x${entryAddr(k.geometry, pmdval).toString(16)} has no split lock ` +
      `(${pt?.mm?.isInitMm ? "init_mm tables are serialised by init_mm.page_table_lock" : "not a constructed pte table"})`);
  return pt.ptl;
}

/** pmd_lockptr(mm, pmdp): the pmd table's split lock, or mm.page_table_lock. */
export function pmdLockptr(k: Kernel, _mm: Mm, pmdp: PhysAddr): SpinLock { return entryLockptr(k, pmdp); }

/** pmd_lock: take and return the pmd lock. */
export function pmdLock(k: Kernel, mm: Mm, pmdp: PhysAddr): SpinLock {
  const ptl = pmdLockptr(k, mm, pmdp);
  ptl.lock();
  return ptl;
}

/** pud_lock (and above): mm.page_table_lock. */
export function pudLock(_k: Kernel, mm: Mm): SpinLock { mm.pageTableLock.lock(); return mm.pageTableLock; }

/**
 * __pte_offset_map: lockless snapshot of *pmd inside an RCU read section;
 * null (section left) for none, non-present (migration), huge or bad pmds —
 * a bad one is reported and cleared (pmd_clear_bad).
 */
export function __pteOffsetMap(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint, via: PteVia = "map"): PtePtr | null {
  k.rcu.readLock();
  const pmdval = readEntry(k, pmdp);
  if (pmdval === 0n || !isPresent(pmdval) || isLeafEntry(pmdval)) { k.rcu.readUnlock(); return null; }
  if (pmdBad(pmdval)) {
    k.badEntries.push(`bad pmd 0x${pmdval.toString(16)} at 0x${pmdp.toString(16)}`);
    setEntry(k, PgtLevel.Pmd, pmdp, 0n, false);      // pmd_clear_bad: pmd_ERROR then pmd_clear
    k.rcu.readUnlock();
    return null;
  }
  const tablePa = entryAddr(k.geometry, pmdval);
  const table = k.ptdescs.get(tablePa / PAGE_SIZE);
  if (!table) { k.rcu.readUnlock(); throw new Error(`pmd at 0x${pmdp.toString(16)} points to 0x${tablePa.toString(16)}, not a page table`); }
  const idx = tableIndex(k.geometry, k.geometry.tables.length - 1, addr);
  return new PtePtr(mm, entryPtr(k, tablePa, idx), table, via, pmdp, pmdval);
}

/** pte_offset_map: no lock; the caller may only read (or must lock and recheck itself). */
export function pteOffsetMap(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint): PtePtr | null {
  return __pteOffsetMap(k, mm, pmdp, addr, "map");
}

/** pte_unmap: end the RCU section of the mapping. */
export function pteUnmap(k: Kernel, pte: PtePtr): void {
  if (!pte.mapped) throw new Error(`pte_unmap of 0x${pte.pa.toString(16)} twice`);
  pte.mapped = false;
  k.rcu.readUnlock();
}

/** pte_unmap_unlock: unlock, then unmap. */
export function pteUnmapUnlock(k: Kernel, pte: PtePtr, ptl: SpinLock): void {
  ptl.unlock();
  pteUnmap(k, pte);
}

/**
 * pte_offset_map_lock: snapshot, derive the lock from the snapshot (never
 * from a re-read), lock, and accept only if *pmd still equals the snapshot;
 * otherwise unlock, unmap and retry. On success the table is the one
 * installed and stays so while the lock is held.
 */
export function pteOffsetMapLock(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  for (;;) {
    const pte = __pteOffsetMap(k, mm, pmdp, addr, "map_lock");
    if (!pte) return null;
    k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
    const ptl = pteLockptr(k, mm, pte.pmdval);
    ptl.lock();
    if (readEntry(k, pmdp) === pte.pmdval) return { pte, ptl };
    ptl.unlock();
    pteUnmap(k, pte);
  }
}

/** pte_offset_map_ro_nolock: pointer + its lock (not taken); reading only. */
export function pteOffsetMapRoNolock(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  const pte = __pteOffsetMap(k, mm, pmdp, addr, "ro_nolock");
  if (!pte) return null;
  k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
  return { pte, ptl: pteLockptr(k, mm, pte.pmdval) };
}

/** pte_offset_map_rw_nolock: also returns pmdval; before writing the caller must prove stability. */
export function pteOffsetMapRwNolock(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint):
  { pte: PtePtr; ptl: SpinLock; pmdval: bigint } | null {
  const pte = __pteOffsetMap(k, mm, pmdp, addr, "rw_nolock");
  if (!pte) return null;
  k.interleave.afterPmdSnapshot?.(pmdp, pte.pmdval);
  return { pte, ptl: pteLockptr(k, mm, pte.pmdval), pmdval: pte.pmdval };
}

/** ptep_get. */
export function ptepGet(k: Kernel, pte: PtePtr): bigint { return readEntry(k, pte.pa); }

/**
 * set_pte_at through a pte pointer, with the pointer contracts checked:
 * no write after pte_unmap or through ro_nolock, and through rw_nolock only
 * with the lock held and *pmd still equal to the returned pmdval (or the
 * mmap lock held for write). A rejected write is not performed.
 */
export function setPteAt(k: Kernel, pte: PtePtr, v: bigint): void {
  let why: string | null = null;
  if (!pte.mapped) why = "write through a pte pointer after pte_unmap";
  else if (pte.via === "ro_nolock") why = "write through a pte obtained with pte_offset_map_ro_nolock";
  else if (pte.via === "rw_nolock") {
    const held = entryLockptr(k, pte.pa).held;
    const same = readEntry(k, pte.pmdp) === pte.pmdval;
    if (!held) why = "write through a pte_offset_map_rw_nolock pointer without taking its lock";
    else if (!same && !pte.mm.mmapLock.writeHeld) why = "write through a pte_offset_map_rw_nolock pointer after the pmd changed (pmd_same failed)";
  }
  if (why) {
    const msg = `${why} (pte 0x${pte.pa.toString(16)})`;
    k.lockdep.report(msg);
    if (!k.lockdep.enabled) throw new Error(msg);
    return;
  }
  setEntry(k, PgtLevel.Pte, pte.pa, v);
}

/**
 * __pte_alloc / pmd_install: allocate outside the lock, then under the pmd
 * lock install it only if the pmd is still none; the loser of a race frees
 * its table (dtor + free). false = -ENOMEM.
 */
export function __pteAlloc(k: Kernel, mm: Mm, pmdp: PhysAddr): boolean {
  const fresh = pteAllocOne(k, mm);
  if (!fresh) return false;
  k.interleave.beforePmdInstall?.(pmdp);
  let spare: PtDesc | null = fresh;
  const ptl = pmdLock(k, mm, pmdp);
  try {
    if (readEntry(k, pmdp) === 0n) {
      mm.nrPtes++;
      populate(k, mm, pmdp, pmdDepth(k), fresh);    // pmd_populate (smp_wmb precedes it in Linux)
      spare = null;
    }
  } finally { ptl.unlock(); }
  if (spare) pteFree(k, spare);
  return true;
}

/** pte_alloc_map_lock: allocate the pte table if needed, then pte_offset_map_lock. */
export function pteAllocMapLock(k: Kernel, mm: Mm, pmdp: PhysAddr, addr: bigint): { pte: PtePtr; ptl: SpinLock } | null {
  if (readEntry(k, pmdp) === 0n && !__pteAlloc(k, mm, pmdp)) return null;
  return pteOffsetMapLock(k, mm, pmdp, addr);
}

/**
 * __pmd_alloc / __pud_alloc / __p4d_alloc, one function: the child table of
 * the entry at `entryPa` (in table `depth`) for a level above pte. Same
 * allocate-outside / install-under-lock shape; the lock is page_table_lock
 * (pud_lock) or the pmd lock for 2-level's pgd-as-pmd. false = -ENOMEM.
 */
export function __pxdAlloc(k: Kernel, mm: Mm, entryPa: PhysAddr, depth: number): boolean {
  if (depth === pmdDepth(k)) return __pteAlloc(k, mm, entryPa);
  const level = k.geometry.tables[depth + 1]!.level;
  const fresh = tableAllocOne(k, mm, level);
  if (!fresh) return false;
  let spare: PtDesc | null = fresh;
  const ptl = entryLockptr(k, entryPa);
  ptl.lock();
  try {
    if (readEntry(k, entryPa) === 0n) {
      mm.countTables(level, +1);
      populate(k, mm, entryPa, depth, fresh);
      spare = null;
    }
  } finally { ptl.unlock(); }
  if (spare) tableFree(k, spare);
  return true;
}

/** The entry kind of a table at `depth` (re-exported for callers of this module). */
export const kindAt = (k: Kernel, depth: number): PgtLevel => entryKind(k.geometry, depth);
