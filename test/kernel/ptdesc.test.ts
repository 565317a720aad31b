// ptdesc: ctor/dtor pairing, accounting weight, fallible ctors
// (include/linux/mm.h pagetable_*_ctor / pagetable_dtor).
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { PageAllocator } from "../../src/kernel/page-alloc.js";
import { PtDescError, PtDescTable, type PtOwner } from "../../src/kernel/ptdesc.js";
import { Lockdep, SpinLock } from "../../src/kernel/ptlock.js";
import { PgtLevel } from "../../src/kernel/types.js";

async function table(nrCpus = 4, levels = 4) {
  const e = await createEngine("ts", { physSize: 4 << 20 });
  const alloc = new PageAllocator({ map: [{ start: 0, end: 4 << 20 }], phys: e.phys });
  const lockdep = new Lockdep();
  const t = new PtDescTable({ alloc, phys: e.phys, lockdep, levels, ptlocks: { nrCpus, splitPtlockCpus: 4 } });
  const mm: PtOwner = { id: 1, isInitMm: false, pageTableLock: new SpinLock("mm1.page_table_lock", lockdep) };
  const initMm: PtOwner = { id: 0, isInitMm: true, pageTableLock: new SpinLock("init_mm.page_table_lock", lockdep) };
  return { t, alloc, mm, initMm };
}

describe("ptdesc", () => {
  it("every level is accounted in NR_PAGETABLE by its page count; dtor undoes it", async () => {
    const { t, mm } = await table();
    const pts = [PgtLevel.Pte, PgtLevel.Pmd, PgtLevel.Pud, PgtLevel.P4d, PgtLevel.Pgd].map((lvl) => {
      const pt = t.pagetableAlloc(lvl === PgtLevel.Pgd ? 1 : 0)!;
      expect(t.ctorFor(lvl, mm, pt)).toBe(true);
      expect(pt.level).toBe(lvl);
      return pt;
    });
    expect(t.nrPagetable).toBe(4 + 2);                       // an order-1 (PTI) pgd weighs 2
    expect(pts[0]!.ptl).not.toBeNull();                       // split pte lock
    expect(pts[1]!.ptl).not.toBeNull();                       // split pmd lock (> 2 levels)
    expect(pts[2]!.ptl).toBeNull();
    for (const pt of pts) t.dtorFree(pt);
    expect(t.nrPagetable).toBe(0);
    expect(t.ptlocksAllocated).toBe(0);
    expect(t.ctors).toBe(t.dtors);
  });

  it("ctor and dtor are paired exactly once; a page cannot be freed while constructed", async () => {
    const { t, mm } = await table();
    const pt = t.pagetableAlloc()!;
    expect(t.pteCtor(mm, pt)).toBe(true);
    expect(() => t.pteCtor(mm, pt)).toThrow(PtDescError);
    expect(() => t.pagetableFree(pt)).toThrow(/without its dtor/);
    t.dtor(pt);
    expect(() => t.dtor(pt)).toThrow(/no successful ctor/);
    t.pagetableFree(pt);
    expect(() => t.pagetableFree(pt)).toThrow(/not a live table page/);
  });

  it("a failing ctor leaves no accounting and no lock, and gets no dtor", async () => {
    const { t, alloc, mm } = await table();
    const free = alloc.freePagesCount;
    t.failPtlockNth(1);
    const pt = t.pagetableAlloc()!;
    expect(t.pmdCtor(mm, pt)).toBe(false);
    expect(t.nrPagetable).toBe(0);
    expect(pt.ptl).toBeNull();
    expect(() => t.dtor(pt)).toThrow(PtDescError);
    t.pagetableFree(pt);
    expect(alloc.freePagesCount).toBe(free);
  });

  it("no split locks below CONFIG_SPLIT_PTLOCK_CPUS, none for pmds on 2 levels, none for init_mm", async () => {
    const few = await table(2);
    const a = few.t.pagetableAlloc()!;
    few.t.pteCtor(few.mm, a);
    expect(a.ptl).toBeNull();
    const two = await table(4, 2);
    const b = two.t.pagetableAlloc()!;
    two.t.pmdCtor(two.mm, b);
    expect(b.ptl).toBeNull();
    const k = await table();
    const c = k.t.pagetableAlloc()!;
    k.t.failPtlockNth(1);                                    // would fail if a lock were allocated
    expect(k.t.pteCtor(k.initMm, c)).toBe(true);
    expect(c.ptl).toBeNull();
  });
});
