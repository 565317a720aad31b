// Split page-table locks (Documentation/mm/split_page_table_lock.rst), the
// pte_offset_map family (mm/pgtable-generic.c), ctor failure.
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { Kernel } from "../../src/kernel/x86/kernel.js";
import type { X86Mm as Mm } from "../../src/kernel/x86/mm.js";
import {
  __pteAlloc, pmdLock, pmdLockptr, pteLockptr, pteOffsetMap, pteOffsetMapLock, pteOffsetMapRoNolock,
  pteOffsetMapRwNolock, pteUnmap, pteUnmapUnlock, setPteAt,
} from "../../src/kernel/pgtable-generic.js";
import { LockdepError } from "../../src/kernel/ptlock.js";
import { PgtLevel } from "../../src/kernel/types.js";
import { entryLockptr, entryPtr, pmdDepth, readEntry, setEntry } from "../../src/kernel/x86/entry.js";
import { paravirtRelease, populate, pteAllocOne } from "../../src/kernel/x86/pgalloc.js";
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, entryAddr } from "../../src/kernel/x86/pgtable-types.js";

const MiB = 1 << 20;

async function setup(opts: { nrCpus?: number } = {}) {
  const e = await createEngine("ts", { physSize: 32 * MiB });
  const k = new Kernel({ mode: "4level", cpu: e, nrCpus: opts.nrCpus });
  const mm = k.mmCreate();
  // Two pte tables under one pmd table: 4 KiB pages at 4 MiB and 6 MiB.
  mm.mapRange(0x40_0000n, 0x1000, { pa: 0x10_0000, prot: "rw" });
  mm.mapRange(0x60_0000n, 0x1000, { pa: 0x20_0000, prot: "rw" });
  return { e, k, mm };
}

/** The pmd entry that maps va (walk without allocating). */
function pmdp(k: Kernel, mm: Mm, va: bigint): number {
  let table = mm.pgd;
  for (let d = 0; d < pmdDepth(k); d++) {
    const tg = k.geometry.tables[d]!;
    const e = readEntry(k, entryPtr(k, table, Number((va >> BigInt(tg.shift)) & BigInt(tg.entries - 1))));
    table = entryAddr(k.geometry, e);
  }
  const tg = k.geometry.tables[pmdDepth(k)]!;
  return entryPtr(k, table, Number((va >> BigInt(tg.shift)) & BigInt(tg.entries - 1)));
}

/** "Thread B": replace the pte table behind pmdp by a new one (under the pmd lock), the old freed via RCU. */
function replacePteTable(k: Kernel, mm: Mm, p: number): number {
  const fresh = pteAllocOne(k, mm)!;
  const oldPt = k.ptdescs.get(entryAddr(k.geometry, readEntry(k, p)) / 4096)!;
  const ptl = pmdLock(k, mm, p);
  populate(k, mm, p, pmdDepth(k), fresh);
  ptl.unlock();
  paravirtRelease(k, PgtLevel.Pte, oldPt);
  k.rcu.call(() => k.ptdescs.dtorFree(oldPt));     // pte_free_defer
  return fresh.pa;
}

describe("split page-table locks and pte_offset_map", () => {
  it("split pte locks are per table; without split locks both are mm.page_table_lock", async () => {
    const { k, mm } = await setup();
    const a = pteLockptr(k, mm, readEntry(k, pmdp(k, mm, 0x40_0000n)));
    const b = pteLockptr(k, mm, readEntry(k, pmdp(k, mm, 0x60_0000n)));
    expect(a).not.toBe(b);
    expect(a).not.toBe(mm.pageTableLock);
    const s = await setup({ nrCpus: 2 });
    expect(pteLockptr(s.k, s.mm, readEntry(s.k, pmdp(s.k, s.mm, 0x40_0000n)))).toBe(s.mm.pageTableLock);
    expect(pteLockptr(s.k, s.mm, readEntry(s.k, pmdp(s.k, s.mm, 0x60_0000n)))).toBe(s.mm.pageTableLock);
    expect(s.k.ptdescs.ptlocksAllocated).toBe(0);
  });

  it("pmd_lockptr is one lock for every entry of a pmd table; pud-level entries use page_table_lock", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const table = p - (p % 4096);
    const lock = pmdLockptr(k, mm, table);
    for (let i = 0; i < 512; i += 37) expect(pmdLockptr(k, mm, table + 8 * i)).toBe(lock);
    expect(lock).not.toBe(mm.pageTableLock);
    const pudp = entryPtr(k, entryAddr(k.geometry, readEntry(k, mm.pgd)), 0);
    expect(entryLockptr(k, pudp)).toBe(mm.pageTableLock);
    expect(entryLockptr(k, mm.pgd)).toBe(mm.pageTableLock);
  });

  it("pmd replaced between snapshot and lock: retry, return a pte in the new table with its lock held", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const t1 = entryAddr(k.geometry, readEntry(k, p));
    let t2 = -1, snapshots = 0;
    k.interleave.afterPmdSnapshot = () => { if (snapshots++ === 0) t2 = replacePteTable(k, mm, p); };
    const r = pteOffsetMapLock(k, mm, p, 0x40_0000n)!;
    k.interleave.afterPmdSnapshot = undefined;
    expect(snapshots).toBe(2);
    expect(t2).not.toBe(t1);
    expect(r.pte.table.pa).toBe(t2);
    expect(r.pte.pa).toBe(t2);
    expect(r.ptl).toBe(k.ptdescs.get(t2 / 4096)!.ptl);
    expect(r.ptl.held).toBe(true);
    // T1 was freed (RCU) once the first attempt left its read section, not before.
    expect(k.ptdescs.get(t1 / 4096)).toBeUndefined();
    expect(k.rcu.readers).toBe(1);
    pteUnmapUnlock(k, r.pte, r.ptl);
    expect(k.rcu.readers).toBe(0);
  });

  it("pmd turned huge before the recheck: null, no lock held, RCU released", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const t1 = entryAddr(k.geometry, readEntry(k, p));
    const oldPt = k.ptdescs.get(t1 / 4096)!;
    k.interleave.afterPmdSnapshot = () => {
      k.interleave.afterPmdSnapshot = undefined;
      const ptl = pmdLock(k, mm, p);                       // collapse to a huge pmd (khugepaged-like)
      setEntry(k, PgtLevel.Pmd, p, 0x80_0000n | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_PSE);
      ptl.unlock();
      paravirtRelease(k, PgtLevel.Pte, oldPt);
      mm.nrPtes--;
      k.rcu.call(() => k.ptdescs.dtorFree(oldPt));
    };
    let ptlOut: unknown = "untouched";
    const r = pteOffsetMapLock(k, mm, p, 0x40_0000n);
    if (r) ptlOut = r.ptl;
    expect(r).toBeNull();
    expect(ptlOut).toBe("untouched");
    expect(oldPt.ptl).toBeNull();                          // dtor ran after the reader left
    expect(mm.pageTableLock.held).toBe(false);
    expect(pmdLockptr(k, mm, p).held).toBe(false);
    expect(k.rcu.readers).toBe(0);
    // Tidy: remove the huge entry so teardown accounting holds.
    const ptl = pmdLock(k, mm, p); setEntry(k, PgtLevel.Pmd, p, 0n); ptl.unlock();
  });

  it("a bad pmd value gives null and is cleared (pmd_clear_bad)", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const good = readEntry(k, p);
    k.phys.write64(p, (good & ~_PAGE_RW));                 // present, but not the table flags
    expect(pteOffsetMap(k, mm, p, 0x40_0000n)).toBeNull();
    expect(readEntry(k, p)).toBe(0n);
    expect(k.badEntries).toHaveLength(1);
    expect(k.rcu.readers).toBe(0);
  });

  it("rw_nolock returns the snapshot; a write after pmd_same fails is rejected", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const snap = readEntry(k, p);
    const r = pteOffsetMapRwNolock(k, mm, p, 0x40_0000n)!;
    expect(r.pmdval).toBe(snap);
    r.ptl.lock();
    setPteAt(k, r.pte, readEntry(k, r.pte.pa) | 0x40n);     // pmd_same holds: allowed
    expect(readEntry(k, r.pte.pa) & 0x40n).toBe(0x40n);
    r.ptl.unlock();
    replacePteTable(k, mm, p);
    r.ptl.lock();
    const before = readEntry(k, r.pte.pa);
    expect(() => setPteAt(k, r.pte, 0x1234_5067n)).toThrow(LockdepError);
    expect(readEntry(k, r.pte.pa)).toBe(before);          // the write did not happen
    expect(k.lockdep.reports.at(-1)).toMatch(/pmd_same failed/);
    pteUnmapUnlock(k, r.pte, r.ptl);
  });

  it("any write through a ro_nolock pte is a contract violation", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x40_0000n);
    const r = pteOffsetMapRoNolock(k, mm, p, 0x40_0000n)!;
    const before = readEntry(k, r.pte.pa);
    r.ptl.lock();                                          // even under the lock
    expect(() => setPteAt(k, r.pte, 0n)).toThrow(/ro_nolock/);
    expect(readEntry(k, r.pte.pa)).toBe(before);
    r.ptl.unlock();
    pteUnmap(k, r.pte);
    expect(() => setPteAt(k, r.pte, 0n)).toThrow(/after pte_unmap/);
  });

  it("lockdep: a pte written without its split lock is reported", async () => {
    const { k, mm } = await setup();
    const pte = pteOffsetMap(k, mm, pmdp(k, mm, 0x40_0000n), 0x40_0000n)!;
    expect(() => setPteAt(k, pte, 0n)).toThrow(/without holding ptl/);
    k.lockdep.mode = "record";
    setPteAt(k, pte, readEntry(k, pte.pa));
    expect(k.lockdep.reports).toHaveLength(2);
    pteUnmap(k, pte);
  });

  it("__pte_alloc race: one table installed, the loser freed with its dtor, nr_ptes +1, NR_PAGETABLE +1", async () => {
    const { k, mm } = await setup();
    const p = pmdp(k, mm, 0x80_0000n);                      // none yet
    expect(readEntry(k, p)).toBe(0n);
    const nr = k.nrPagetable, ptes = mm.nrPtes, dtors = k.ptdescs.dtors, free = k.alloc.freePagesCount;
    k.interleave.beforePmdInstall = () => {
      k.interleave.beforePmdInstall = undefined;
      expect(__pteAlloc(k, mm, p)).toBe(true);             // thread B wins
    };
    expect(__pteAlloc(k, mm, p)).toBe(true);               // thread A loses, frees its table
    expect(readEntry(k, p) & _PAGE_PRESENT).toBe(1n);
    expect(mm.nrPtes - ptes).toBe(1);
    expect(k.nrPagetable - nr).toBe(1);
    expect(k.ptdescs.dtors - dtors).toBe(1);
    expect(free - k.alloc.freePagesCount).toBe(1);
  });

  it("ptlock allocation failure: pte_alloc_one gives null, page freed, NR_PAGETABLE unchanged, the fault is OOM", async () => {
    const { k, mm } = await setup();
    mm.mmap(0x100_0000n, 0x1000, { prot: "rw" });
    const nr = k.nrPagetable, free = k.alloc.freePagesCount;
    k.ptdescs.failPtlockNth(1);
    expect(pteAllocOne(k, mm)).toBeNull();
    expect(k.nrPagetable).toBe(nr);
    expect(k.alloc.freePagesCount).toBe(free);
    // A fault needing a new pte table whose ctor fails.
    k.ptdescs.failPtlockNth(1);
    expect(mm.handleFault(0x100_0000n, 1)).toEqual({ ok: false, error: "oom" });
    expect(k.ptdescs.ptlocksAllocated).toBeGreaterThan(0);
    expect(mm.handleFault(0x100_0000n, 1).ok).toBe(true);  // memory is back: the retry works
  });

  it("init_mm tables: the ctor allocates no ptlock, and pte_lockptr on them is an error", async () => {
    const { k } = await setup();
    const locks = k.ptdescs.ptlocksAllocated;
    k.vmap(0xffff_c900_0000_0000n, 0x1000, 0x3000);
    expect(k.ptdescs.ptlocksAllocated).toBe(locks);
    const p = pmdp(k, k.initMm, 0xffff_c900_0000_0000n);
    const pt = k.ptdescs.get(entryAddr(k.geometry, readEntry(k, p)) / 4096)!;
    expect(pt.level).toBe(PgtLevel.Pte);
    expect(pt.pgtable).toBe(true);
    expect(pt.ptl).toBeNull();
    expect(() => pteLockptr(k, k.initMm, readEntry(k, p))).toThrow(/init_mm/);
  });
});
