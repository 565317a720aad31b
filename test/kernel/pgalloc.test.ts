// x86 pgd_alloc / pgd_free (arch/x86/mm/pgtable.c), kernel-PMD sharing,
// pgd_list, paravirt hooks.
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { KernelBugError, KernelOomError } from "../../src/kernel/kernel.js";
import { Kernel } from "../../src/kernel/x86/kernel.js";
import { NativeMmuOps } from "../../src/paravirt/native.js";
import { recordingMmuOps } from "../../src/paravirt/recording.js";
import { entryPtr, readEntry } from "../../src/kernel/x86/entry.js";
import { _PAGE_PRESENT, entryAddr, type PagingMode } from "../../src/kernel/x86/pgtable-types.js";
import { PgtLevel } from "../../src/kernel/types.js";

const MiB = 1 << 20;

async function machine(mode: PagingMode, opts: { shared?: boolean; pti?: boolean } = {}) {
  const e = await createEngine("ts", { physSize: 64 * MiB });
  const ops = recordingMmuOps(new NativeMmuOps({ phys: e.phys, cpu: e, entryBytes: mode === "2level" ? 4 : 8, sharedKernelPmd: opts.shared ?? true }),
    { ignore: ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] });
  const k = new Kernel({ mode, cpu: e, ops, pti: opts.pti });
  ops.clear();
  return { e, k, ops };
}

describe("x86 pgd allocation", () => {
  it("PAE, SHARED=1: a 32-byte pgd, 3 pmds, pgd[3] == swapper[3], not on pgd_list, alloc_pmd ×3", async () => {
    const { k, ops } = await machine("pae", { shared: true });
    expect(k.sharedKernelPmd).toBe(true);
    const mm = k.mmCreate();
    expect(mm.pgd % 32).toBe(0);
    const mine = ops.calls("allocPmd").map((c) => c.args[1]);
    expect(mine).toHaveLength(3);
    const other = k.mmCreate();                                 // slab objects share a page
    expect(Math.floor(other.pgd / 4096)).toBe(Math.floor(mm.pgd / 4096));
    expect(Math.abs(other.pgd - mm.pgd)).toBe(32);
    expect(k.pgdCache.objects).toBe(2);
    other.destroy();
    ops.clear();
    const third = k.mmCreate();
    expect(ops.calls("allocPmd")).toHaveLength(3);
    third.destroy();
    expect(mm.nrPmds).toBe(3);
    expect(readEntry(k, entryPtr(k, mm.pgd, 3))).toBe(readEntry(k, entryPtr(k, k.initMm.pgd, 3)));
    expect(k.pgdList).toHaveLength(0);
    for (let i = 0; i < 3; i++) {
      const e = readEntry(k, entryPtr(k, mm.pgd, i));
      expect(e & 0xfffn).toBe(1n);                             // PDPT entries carry only PRESENT
      expect(mine[i]).toBe(entryAddr(k.geometry, e) / 4096);
    }
  });

  it("PAE, SHARED=0: page-sized pgd, 4 pmds, a private copy of the kernel pmd, on pgd_list with pt_mm", async () => {
    const { k } = await machine("pae", { shared: false });
    k.vmap(0xf000_0000n, 0x2000, 0x100000);                 // give swapper's kernel pmd some content
    const mm = k.mmCreate();
    expect(mm.pgd % 4096).toBe(0);
    expect(mm.nrPmds).toBe(4);
    const mine = entryAddr(k.geometry, readEntry(k, entryPtr(k, mm.pgd, 3)));
    const swapper = entryAddr(k.geometry, readEntry(k, entryPtr(k, k.initMm.pgd, 3)));
    expect(mine).not.toBe(swapper);
    for (let j = 0; j < 512; j++) expect(readEntry(k, entryPtr(k, mine, j))).toBe(readEntry(k, entryPtr(k, swapper, j)));
    expect(readEntry(k, entryPtr(k, mine, 384))).not.toBe(0n);  // the vmap's pte table is in the copy
    expect(k.pgdList.map((p) => p.pa)).toEqual([mm.pgd]);
    expect(k.pgdList[0]!.mm).toBe(mm);
  });

  it("failure of the 2nd pmd ctor (SHARED=0): null, all pmds freed with dtor, counters and pgd_list unchanged", async () => {
    const { k, ops } = await machine("pae", { shared: false });
    const nr = k.nrPagetable, free = k.alloc.freePagesCount, dtors = k.ptdescs.dtors;
    k.ptdescs.failPtlockNth(2);
    expect(() => k.mmCreate()).toThrow(KernelOomError);
    expect(k.nrPagetable).toBe(nr);
    expect(k.alloc.freePagesCount).toBe(free);
    expect(k.pgdList).toHaveLength(0);
    // 3 pmds passed their ctor (1st, 3rd, 4th) and the pgd: 4 dtors; the failed one got none.
    expect(k.ptdescs.dtors - dtors).toBe(4);
    expect(ops.calls("allocPmd", "setPud", "pgdAlloc")).toHaveLength(0);  // nothing was published
    const mm = k.mmCreate();                                     // and the next attempt works
    expect(mm.nrPmds).toBe(4);
  });

  it("page allocation failing anywhere inside pgd_alloc unwinds completely", async () => {
    for (const mode of ["2level", "pae", "4level", "5level"] as const) {
      for (let n = 1; n <= 5; n++) {
        const { k } = await machine(mode, { shared: false });
        const nr = k.nrPagetable, free = k.alloc.freePagesCount;
        k.alloc.failNth(n);
        try { k.mmCreate().destroy(); } catch (err) { expect(err).toBeInstanceOf(KernelOomError); }
        expect(k.nrPagetable).toBe(nr);
        expect(k.alloc.freePagesCount).toBe(free);
        expect(k.pgdList).toHaveLength(0);
      }
    }
  });

  it("SHARED=0: a vmalloc populating a new kernel pmd entry is copied into every pgd; a conflicting one is a BUG", async () => {
    const { k } = await machine("pae", { shared: false });
    const a = k.mmCreate(), b = k.mmCreate();
    const va = 0xf020_0000n;                                  // pmd index 385 in the kernel slot
    const slot = (mm: { pgd: number }) => entryPtr(k, entryAddr(k.geometry, readEntry(k, entryPtr(k, mm.pgd, 3))), 385);
    expect(readEntry(k, slot(a))).toBe(0n);
    k.vmap(va, 0x1000, 0x200000);
    const ref = readEntry(k, slot(k.initMm));
    expect(ref & _PAGE_PRESENT).toBe(1n);
    expect(readEntry(k, slot(a))).toBe(ref);
    expect(readEntry(k, slot(b))).toBe(ref);
    // Corrupt b's private copy of another slot so that it points elsewhere, then map there.
    const bad = slot(b) + 8;
    k.phys.write64(bad, 0x123000n | 0x63n);
    expect(() => k.vmap(va + 0x20_0000n, 0x1000, 0x300000)).toThrow(KernelBugError);
    expect(readEntry(k, slot(a) + 8)).toBe(readEntry(k, slot(k.initMm) + 8));  // the others were still synced
  });

  it("2-level and 64-bit: new kernel top-level entries reach every pgd on pgd_list", async () => {
    for (const [mode, va] of [["2level", 0xf040_0000n], ["4level", 0xffff_c900_0000_0000n], ["5level", 0xffa0_0000_0000_0000n]] as const) {
      const { k } = await machine(mode);
      const mm = k.mmCreate();
      const idx = Number((va >> BigInt(k.geometry.tables[0]!.shift)) & BigInt(k.geometry.tables[0]!.entries - 1));
      expect(readEntry(k, entryPtr(k, mm.pgd, idx))).toBe(0n);
      k.vmap(va, 0x1000, 0x5000);
      expect(readEntry(k, entryPtr(k, mm.pgd, idx))).not.toBe(0n);
      expect(readEntry(k, entryPtr(k, mm.pgd, idx))).toBe(readEntry(k, entryPtr(k, k.initMm.pgd, idx)));
      expect(mm.lookup(va)?.pa).toBe(0x5000);
    }
  });

  it("pgd_free: off pgd_list, release_pmd for each preallocated slot, then the pgd_free hook", async () => {
    const e = await createEngine("ts", { physSize: 64 * MiB });
    let listAtPgdFree = -1;
    let kk: Kernel | null = null;
    class Watching extends NativeMmuOps {
      override pgdFree(m: Parameters<NativeMmuOps["pgdFree"]>[0], p: number): void { listAtPgdFree = kk!.pgdList.length; super.pgdFree(m, p); }
    }
    const ops = recordingMmuOps(new Watching({ phys: e.phys, cpu: e, sharedKernelPmd: false }));
    const k = kk = new Kernel({ mode: "pae", cpu: e, ops });
    const mm = k.mmCreate();
    const pmds = [0, 1, 2, 3].map((i) => entryAddr(k.geometry, readEntry(k, entryPtr(k, mm.pgd, i))) / 4096);
    ops.clear();
    mm.destroy();
    const seq = ops.calls("releasePmd", "pgdFree");
    // free_pgtables released the three (empty) user pmds, pgd_mop_up_pmds the kernel one.
    expect(seq.map((c) => c.op)).toEqual(["releasePmd", "releasePmd", "releasePmd", "releasePmd", "pgdFree"]);
    expect(new Set(seq.slice(0, 4).map((c) => c.args[0]))).toEqual(new Set(pmds));
    expect(listAtPgdFree).toBe(0);
  });

  it("pgd_free right after pgd_alloc releases every preallocated pmd in slot order", async () => {
    const { k, ops } = await machine("pae", { shared: true });
    const mm = k.mmCreate();
    const pmds = [0, 1, 2].map((i) => entryAddr(k.geometry, readEntry(k, entryPtr(k, mm.pgd, i))) / 4096);
    ops.clear();
    mm.destroy();
    const seq = ops.calls("releasePmd", "pgdFree");
    expect(seq.map((c) => c.op).at(-1)).toBe("pgdFree");
    expect(seq.filter((c) => c.op === "releasePmd").map((c) => c.args[0]).sort()).toEqual([...pmds].sort());
    expect(k.pgdCache.objects).toBe(0);
  });

  it("x86-64: the pgd clones entries 273..511 from swapper; 0..272 are zero", async () => {
    const { k } = await machine("4level");
    k.vmap(0xffff_8880_0000_0000n, 0x1000, 0x1000);           // slot 273
    k.vmap(0xffff_ffff_8000_0000n, 0x1000, 0x2000);           // slot 511
    const mm = k.mmCreate();
    for (let i = 0; i < 512; i++) {
      const mine = readEntry(k, entryPtr(k, mm.pgd, i));
      if (i < 273) expect(mine).toBe(0n);
      else expect(mine).toBe(readEntry(k, entryPtr(k, k.initMm.pgd, i)));
    }
    expect(readEntry(k, entryPtr(k, mm.pgd, 273))).not.toBe(0n);
    expect(readEntry(k, entryPtr(k, mm.pgd, 511))).not.toBe(0n);
    expect(k.pgdList.map((p) => p.pa)).toEqual([mm.pgd]);     // SHARED_KERNEL_PMD is 0 on x86-64
  });

  it("PTI: pgd allocation order 1; the user half at pgd + 4096 gets the kernel clone and user entries", async () => {
    const { k } = await machine("4level", { pti: true });
    k.vmap(0xffff_8880_0000_0000n, 0x1000, 0x1000);
    const nr = k.nrPagetable;
    const mm = k.mmCreate();
    expect(k.alloc.allocatedOrder(mm.pgd / 4096)).toBe(1);
    expect(k.nrPagetable - nr).toBe(2);                         // accounting weight 2 pages
    expect(readEntry(k, entryPtr(k, mm.pgd + 4096, 273))).toBe(readEntry(k, entryPtr(k, k.initMm.pgd + 4096, 273)));
    mm.mapRange(0x40_0000n, 0x1000, { pa: 0x9000, prot: "r" });
    expect(readEntry(k, entryPtr(k, mm.pgd + 4096, 0))).toBe(readEntry(k, entryPtr(k, mm.pgd, 0)));
    mm.destroy();
    expect(k.nrPagetable).toBe(nr);
  });

  it("PAE unshared: pgd[i] == pa(pmd_i) | 1 for i in 0..3, each alloc hook before its entry write", async () => {
    const { k, ops } = await machine("pae", { shared: false });
    const mm = k.mmCreate();
    const seq = ops.calls("allocPmd", "setPud");
    expect(seq.map((c) => c.op)).toEqual(["allocPmd", "setPud", "allocPmd", "setPud", "allocPmd", "setPud", "allocPmd", "setPud"]);
    for (let i = 0; i < 4; i++) {
      const pfn = seq[2 * i]!.args[1] as number;
      expect(seq[2 * i + 1]!.args).toEqual([entryPtr(k, mm.pgd, i), BigInt(pfn * 4096) | 1n]);
      expect(readEntry(k, entryPtr(k, mm.pgd, i))).toBe(BigInt(pfn * 4096) | 1n);
    }
  });

  it("every table page attached passes exactly one alloc_* hook before its entry and one release_* before its free", async () => {
    for (const mode of ["2level", "pae", "4level", "5level"] as const) {
      const { k, ops } = await machine(mode, { shared: mode !== "pae" });
      const mm = k.mmCreate();
      mm.mapRange(0x40_0000n, 0x40_0000, { pa: 0x40_0000, prot: "rw" });
      mm.mmap(0x1000_0000n, 0x10000, { prot: "rw" });
      mm.handleFault(0x1000_0000n, 1);
      mm.munmap(0x40_0000n, 0x20_0000);
      mm.destroy();
      const live = new Map<number, string>();
      const released = new Set<number>();
      for (const c of ops.log) {
        if (c.op.startsWith("alloc")) {
          const pfn = c.args[1] as number;
          expect(live.has(pfn), `${mode}: ${pfn} allocated twice`).toBe(false);
          live.set(pfn, c.op.slice(5));
        } else if (c.op.startsWith("release")) {
          const pfn = c.args[0] as number;
          expect(live.get(pfn), `${mode}: release of ${pfn} without alloc`).toBe(c.op.slice(7));
          live.delete(pfn);
          released.add(pfn);
        }
      }
      expect(live.size, `${mode}: tables never released`).toBe(0);
      expect(released.size).toBeGreaterThan(0);
      // release happened before the frames went back: none is still allocated.
      for (const pfn of released) expect(k.alloc.allocatedOrder(pfn)).toBeUndefined();
      void PgtLevel.Pte;
    }
  });
});
