// Address spaces translated through both engines: map / fault / mprotect /
// munmap / switch, the invalidations they issue, bad input and OOM rollback.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, PfErr } from "../../src/abi.js";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { KernelOomError } from "../../src/kernel/kernel.js";
import { SZ_1G, SZ_2M, SZ_4K, SZ_4M } from "../../src/kernel/mm.js";
import type { X86Mm as Mm } from "../../src/kernel/x86/mm.js";
import { BusError } from "../../src/phys/phys-mem.js";
import { machine, MODES, type Machine } from "./helpers.js";

const MiB = 1 << 20;
const hugeFor = (mode: string): number => (mode === "2level" ? SZ_4M : SZ_2M);

/** No leak: any table freed below the baseline (an empty table free_pgtables took, e.g. a PAE
 *  preallocated pmd) is back in the allocator, and nothing else moved. */
function expectNoLeak(m: Machine, b: { nr: number; free: number }): void {
  expect(m.k.nrPagetable).toBeLessThanOrEqual(b.nr);
  expect(m.k.alloc.freePagesCount - b.free).toBe(b.nr - m.k.nrPagetable);
  m.k.alloc.checkInvariants();
}
function user(m: Machine): void { m.engine.setCpl(3); }

function expectOk(m: Machine, va: bigint, access: Access, pa: number): void {
  const t = m.cpu.translate(va, access);
  expect(t.fault, `${va.toString(16)} ${["read", "write", "fetch"][access]}`).toBe(FaultKind.None);
  expect(t.pa).toBe(pa);
}
function expectPf(m: Machine, va: bigint, access: Access, err?: number): void {
  const t = m.cpu.translate(va, access);
  expect(t.fault, `${va.toString(16)} ${["read", "write", "fetch"][access]} should fault`).toBe(FaultKind.X86);
  expect(t.vector).toBe(14);
  if (err !== undefined) expect(t.errorCode).toBe(err);
}
function baseline(m: Machine) { return { nr: m.k.nrPagetable, free: m.k.alloc.freePagesCount }; }
function expectBaseline(m: Machine, b: { nr: number; free: number }): void {
  expect(m.k.nrPagetable).toBe(b.nr);
  expect(m.k.alloc.freePagesCount).toBe(b.free);
  m.k.alloc.checkInvariants();
}

describe.each(ENGINE_NAMES)("mm on the %s engine", (engine) => {
  describe.each(MODES)("%s paging", (mode) => {
    it("maps 4 KiB and huge pages with their permissions and translates through them", async () => {
      const m = await machine(engine, mode, { backing: "sparse", physSize: 2 ** 32 });
      const b = baseline(m);
      const mm = m.k.mmCreate();
      m.k.switchMm(mm);
      user(m);
      const huge = hugeFor(mode);
      mm.mapRange(0x40_0000n, 3 * SZ_4K, { pa: 0x10_0000, prot: "rw" });
      mm.mapRange(0x80_0000n, huge, { pa: 2 * huge, prot: "r", pageSize: huge });
      mm.mapRange(0x100_0000n, SZ_4K, { pa: 0x3000, prot: "rx" });
      expectOk(m, 0x40_1234n, Access.Write, 0x10_1234);
      expectOk(m, 0x40_2fffn, Access.Read, 0x10_2fff);
      expectPf(m, 0x40_3000n, Access.Read, PfErr.U);
      expectOk(m, 0x80_0000n + BigInt(huge) - 1n, Access.Read, 3 * huge - 1);
      expectPf(m, 0x80_0010n, Access.Write, PfErr.P | PfErr.W | PfErr.U);
      expectOk(m, 0x100_0008n, Access.Fetch, 0x3008);
      if (mode !== "2level") expectPf(m, 0x40_0000n, Access.Fetch, PfErr.P | PfErr.U | PfErr.ID);  // NX
      if (mode === "4level" || mode === "5level") {
        mm.mapRange(0x4000_0000n, SZ_1G, { pa: 0, prot: "rw", pageSize: SZ_1G });
        expectOk(m, 0x4000_0000n + 0x12_3456n, Access.Write, 0x12_3456);
      } else {
        expect(() => mm.mapRange(0x4000_0000n, SZ_1G, { pa: 0, prot: "rw", pageSize: SZ_1G })).toThrow(/not available/);
      }
      expect(m.cpu.stale()).toEqual([]);
      mm.destroy();
      expectBaseline(m, b);
    });

    it("no stale translation survives munmap or mprotect (4 KiB and huge)", async () => {
      const m = await machine(engine, mode);
      const mm = m.k.mmCreate();
      m.k.switchMm(mm);
      user(m);
      const huge = hugeFor(mode);
      mm.mapRange(0x40_0000n, 16 * SZ_4K, { pa: 0x20_0000, prot: "rw" });
      mm.mapRange(BigInt(4 * huge), 2 * huge, { pa: 2 * huge, prot: "rw", pageSize: huge });
      for (let i = 0n; i < 16n; i++) m.cpu.translate(0x40_0000n + i * 0x1000n, Access.Write);
      m.cpu.translate(BigInt(4 * huge), Access.Write);
      m.cpu.translate(BigInt(5 * huge) + 0x1000n, Access.Write);
      mm.mprotect(0x40_2000n, 2 * SZ_4K, "r");
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, 0x40_2000n, Access.Write);
      expectOk(m, 0x40_3000n, Access.Read, 0x20_3000);
      mm.mprotect(BigInt(5 * huge), huge, "none");
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, BigInt(5 * huge) + 0x1000n, Access.Read, PfErr.U);
      mm.munmap(0x40_0000n, 8 * SZ_4K);
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, 0x40_1000n, Access.Read);
      expectOk(m, 0x40_8000n, Access.Write, 0x20_8000);
      mm.munmap(BigInt(4 * huge), huge);
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, BigInt(4 * huge), Access.Read);
      // Everything: the tables go too (free_pgtables), and the flush covered them.
      const nrBefore = mm.nrTables;
      mm.munmap(0n, 0x4000_0000);
      expect(m.cpu.stale()).toEqual([]);
      expect(mm.nrTables).toBeLessThan(nrBefore);
      expect(mm.vmas).toEqual([]);
      mm.destroy();
    });

    it("demand paging: zero page on read, a private zeroed page on write (copy-on-write), SIGSEGV outside", async () => {
      const m = await machine(engine, mode);
      const b = baseline(m);
      const mm = m.k.mmCreate();
      m.k.switchMm(mm);
      user(m);
      mm.mmap(0x1000_0000n, 4 * SZ_4K, { prot: "rw" });
      mm.mmap(0x2000_0000n, SZ_4K, { prot: "r" });
      expectPf(m, 0x1000_0010n, Access.Read, PfErr.U);
      expect(mm.handleFault(0x1000_0010n, 0)).toEqual({ ok: true, pa: m.k.zeroPagePa + 0x10 });
      expectOk(m, 0x1000_0010n, Access.Read, m.k.zeroPagePa + 0x10);
      expectPf(m, 0x1000_0010n, Access.Write, PfErr.P | PfErr.W | PfErr.U);
      const w = mm.handleFault(0x1000_0010n, 1);
      expect(w.ok).toBe(true);
      expect(m.cpu.stale()).toEqual([]);                       // the zero-page translation was flushed
      if (!w.ok) throw new Error("the write fault was not handled");
      expect(w.pa).not.toBe(m.k.zeroPagePa + 0x10);
      expectOk(m, 0x1000_0010n, Access.Write, w.pa);
      m.engine.phys.write8(w.pa, 0x5a);
      expect(m.engine.phys.read8(m.k.zeroPagePa + 0x10)).toBe(0);   // the zero page stays zero
      const w2 = mm.handleFault(0x1000_1000n, 1);
      expect(w2.ok && w2.pa !== w.pa).toBe(true);
      expect(mm.handleFault(0x2000_0000n, 1)).toEqual({ ok: false, error: "segv" });
      expect(mm.handleFault(0x3000_0000n, 0)).toEqual({ ok: false, error: "segv" });
      expect(mm.handleFault(0x2000_0000n, 0).ok).toBe(true);
      // A huge anonymous area: one zeroed huge page on first touch.
      const huge = hugeFor(mode);
      mm.mmap(BigInt(16 * huge), huge, { prot: "rw", pageSize: huge });
      const h = mm.handleFault(BigInt(16 * huge) + 0x2345n, 1);
      expect(h.ok && h.pa % huge).toBe(0x2345);
      expectOk(m, BigInt(16 * huge) + 0x2345n, Access.Write, h.ok ? h.pa : -1);
      mm.destroy();
      expectBaseline(m, b);                                     // anonymous pages and tables all freed
    });

    it("switching mms loads CR3 (with PCIDs on 64-bit) and a flush of a non-running mm is applied on return", async () => {
      const m = await machine(engine, mode);
      const a = m.k.mmCreate(), c = m.k.mmCreate();
      a.mapRange(0x40_0000n, SZ_4K, { pa: 0x5000, prot: "rw" });
      c.mapRange(0x40_0000n, SZ_4K, { pa: 0x6000, prot: "rw" });
      m.k.switchMm(a);
      user(m);
      expectOk(m, 0x40_0000n, Access.Write, 0x5000);
      m.k.switchMm(c);
      expectOk(m, 0x40_0000n, Access.Write, 0x6000);
      const pcid = mode === "4level" || mode === "5level";
      if (pcid) expect(m.engine.x86().cr3 & 0xfffn).toBe(2n);
      m.k.switchMm(a);
      if (pcid) expect(m.cpu.invalidations.at(-1)).toBe(`cr3 ${(BigInt(a.pgd) | 1n).toString(16)} noflush`);
      expect(m.cpu.stale()).toEqual([]);
      // Unmap in c while a runs: nothing is flushed now, c's PCID is flushed when c returns.
      m.cpu.invalidations = [];
      c.munmap(0x40_0000n, SZ_4K);
      expect(m.cpu.invalidations).toEqual([]);
      m.k.switchMm(c);
      if (pcid) expect(m.cpu.invalidations.at(-1)).toBe(`cr3 ${(BigInt(c.pgd) | 2n).toString(16)}`);
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, 0x40_0000n, Access.Read);
      m.k.switchMm(a);
      expectOk(m, 0x40_0000n, Access.Read, 0x5000);
      a.destroy();                                               // the running mm: switch to init_mm first
      expect(m.k.tlb.loadedMm).toBe(m.k.initMm);
      c.destroy();
    });

    it("kernel mappings (vmap) reach every mm; vunmap flushes the global translation", async () => {
      const m = await machine(engine, mode);
      const a = m.k.mmCreate();
      const g = m.k.geometry;
      const va = g.vmallocStart + 0x40_0000n;
      m.k.vmap(va, 2 * SZ_4K, 0x7000, "rw");
      const c = m.k.mmCreate();
      for (const mm of [a, c]) {
        m.k.switchMm(mm);
        m.engine.setCpl(0);
        expectOk(m, va + 0x1008n, Access.Write, 0x8008);
        m.engine.setCpl(3);
        expectPf(m, va, Access.Read, PfErr.P | PfErr.U);       // supervisor-only
        m.engine.setCpl(0);
      }
      m.k.vunmap(va, 2 * SZ_4K);
      expect(m.cpu.stale()).toEqual([]);
      expectPf(m, va + 0x1000n, Access.Read);
      a.destroy(); c.destroy();
    });

    it("bad input is rejected before anything changes", async () => {
      const m = await machine(engine, mode);
      const mm = m.k.mmCreate();
      mm.mapRange(0x40_0000n, 2 * SZ_4K, { pa: 0x1000, prot: "rw" });
      const snap = 0;
      const b = baseline(m);
      const huge = hugeFor(mode);
      mm.mapRange(BigInt(8 * huge), huge, { pa: huge, prot: "rw", pageSize: huge });
      const snap2 = Buffer.from(m.engine.phys.readBytes(0, 2 * MiB));
      const b2 = baseline(m);
      const vmas = JSON.stringify(mm.vmas, (_, v) => (typeof v === "bigint" ? v.toString() : v));
      const bad: [string, () => void, RegExp | (new (...a: never[]) => Error)][] = [
        ["unaligned va", () => mm.mapRange(0x40_0800n, SZ_4K, { pa: 0, prot: "r" }), /aligned/],
        ["unaligned size", () => mm.mapRange(0x50_0000n, 100, { pa: 0, prot: "r" }), /aligned/],
        ["unaligned pa", () => mm.mapRange(0x50_0000n, SZ_4K, { pa: 0x800, prot: "r" }), /aligned/],
        ["overlap", () => mm.mapRange(0x40_1000n, 2 * SZ_4K, { pa: 0, prot: "r" }), /overlaps/],
        ["pa beyond RAM", () => mm.mapRange(0x50_0000n, SZ_4K, { pa: 64 * MiB, prot: "r" }), BusError],
        ["kernel address in a user mm", () => mm.mapRange(m.k.geometry.pageOffset, SZ_4K, { pa: 0, prot: "r" }), /outside user space/],
        ["bad prot", () => mm.mapRange(0x50_0000n, SZ_4K, { pa: 0, prot: "wr" }), /rwx/],
        ["bad page size", () => mm.mapRange(0x50_0000n, 0x10000, { pa: 0, prot: "r", pageSize: 0x10000 }), /not available/],
        ["mprotect a hole", () => mm.mprotect(0x40_0000n, 3 * SZ_4K, "r"), /ENOMEM/],
        ["munmap cutting a huge page", () => mm.munmap(BigInt(8 * huge) + 0x1000n, SZ_4K), /EINVAL/],
        ["mprotect cutting a huge page", () => mm.mprotect(BigInt(8 * huge), SZ_4K, "r"), /EINVAL/],
        ["anonymous gigantic page", () => mm.mmap(0x4000_0000n, SZ_1G, { prot: "r", pageSize: SZ_1G }), RangeError],
        ["zero size", () => mm.munmap(0x40_0000n, 0), /positive/],
      ];
      for (const [name, fn, err] of bad) {
        expect(fn, name).toThrow(err as RegExp);
        expect(Buffer.compare(Buffer.from(m.engine.phys.readBytes(0, 2 * MiB)), snap2), name).toBe(0);
        expect(JSON.stringify(mm.vmas, (_, v) => (typeof v === "bigint" ? v.toString() : v)), name).toBe(vmas);
        expectBaseline(m, b2);
      }
      mm.munmap(0x1000_0000n, SZ_4K);                            // a hole: no-op, like Linux
      expectBaseline(m, b2);
      void snap; void b;
      mm.destroy();
    });

    it("running out of memory anywhere inside map or fault rolls back and leaks nothing", async () => {
      const m = await machine(engine, mode, { physSize: 32 * MiB });
      const mm = m.k.mmCreate();
      mm.mapRange(0x10_0000n, SZ_4K, { pa: 0, prot: "r" });
      const b = baseline(m);
      const va = mode === "4level" || mode === "5level" ? 0x7f_c000_0000n : 0x8000_0000n;   // fresh upper tables
      let failures = 0, n = 1;
      for (; n < 12; n++) {
        m.k.alloc.failNth(n);
        try {
          mm.mapRange(va - 0x1000n, 2 * SZ_4K + SZ_2M, { pa: 0x20_0000, prot: "rw" });
        } catch (e) {
          expect(e).toBeInstanceOf(KernelOomError);
          failures++;
          expect(mm.lookup(va)).toBeNull();
          expect(mm.vmas).toHaveLength(1);
          expectNoLeak(m, b);
          continue;
        }
        m.k.alloc.clearFailures();
        mm.munmap(va - 0x1000n, 2 * SZ_4K + SZ_2M);
        expectNoLeak(m, b);
        break;
      }
      expect(failures).toBeGreaterThan(1);
      mm.mmap(va, SZ_4K, { prot: "rw" });
      for (let i = 1; i < 6; i++) {
        m.k.alloc.failNth(i);
        const r = mm.handleFault(va, 1);
        m.k.alloc.clearFailures();
        if (r.ok) break;
        expect(r).toEqual({ ok: false, error: "oom" });
      }
      mm.destroy();
    });
  });
});

describe("NR_PAGETABLE and the free-page count return to their starting values", () => {
  it.each(MODES)("after many mms are built and destroyed (%s, sparse memory)", async (mode) => {
    const m = await machine("wasm", mode, { backing: "sparse", physSize: 2 ** 34 });
    const b = baseline(m);
    const mms: Mm[] = [];
    for (let i = 0; i < 5; i++) {
      const mm = m.k.mmCreate();
      mm.mapRange(BigInt(i) * 0x40_0000n, 64 * SZ_4K, { pa: 0x100_0000, prot: "rw" });
      mm.mmap(0x2000_0000n, 8 * SZ_4K, { prot: "rw" });
      for (let p = 0n; p < 8n; p++) mm.handleFault(0x2000_0000n + p * 0x1000n, Number(p & 1n) as 0 | 1);
      mms.push(mm);
    }
    expect(m.k.nrPagetable).toBeGreaterThan(b.nr);
    for (const mm of mms) mm.destroy();
    expectBaseline(m, b);
    expect(m.k.ptdescs.ptlocksAllocated).toBe(0);
    expect(m.k.pgdList).toHaveLength(0);
  });
});

describe.each(ENGINE_NAMES)("fixmap and lazy MMU mode (%s engine)", (engine) => {
  it("set_fixmap maps a slot in init_mm for every mm; remapping it flushes the old translation", async () => {
    const m = await machine(engine, "4level");
    const mm = m.k.mmCreate();
    m.k.switchMm(mm);
    const va = m.k.fixToVirt(3);
    m.k.ops.setFixmap(3, 0x9000, 0x63n);
    expectOk(m, va + 8n, Access.Write, 0x9008);
    m.k.ops.setFixmap(3, 0xa000, 0x63n);
    expect(m.cpu.stale()).toEqual([]);
    expectOk(m, va + 8n, Access.Write, 0xa008);
    expect(m.k.fixToVirt(0) - m.k.fixToVirt(1)).toBe(4096n);
  });

  it("pte-table loops run in lazy MMU mode, balanced, with the writes inside", async () => {
    const { recordingMmuOps } = await import("../../src/paravirt/recording.js");
    const { NativeMmuOps } = await import("../../src/paravirt/native.js");
    const { Kernel } = await import("../../src/kernel/x86/kernel.js");
    const { createEngine } = await import("../../src/engine/index.js");
    const e = await createEngine(engine, { physSize: 16 << 20 });
    const ops = recordingMmuOps(new NativeMmuOps({ phys: e.phys, cpu: e }));
    const k = new Kernel({ mode: "4level", cpu: e, ops });
    const mm = k.mmCreate();
    ops.clear();
    mm.mapRange(0x40_0000n, 4 * SZ_4K, { pa: 0x1000, prot: "rw" });
    mm.mprotect(0x40_0000n, 4 * SZ_4K, "r");
    mm.munmap(0x40_0000n, 4 * SZ_4K);
    let depth = 0;
    for (const c of ops.log) {
      if (c.op === "enterLazyMmu") depth++;
      if (c.op === "leaveLazyMmu") depth--;
      if (c.op === "setPte" || c.op === "ptepModifyProtCommit") expect(depth, c.op).toBe(1);
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    expect(ops.calls("enterLazyMmu").length).toBe(3);
  });
});
