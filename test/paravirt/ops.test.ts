import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { NativeMmuOps } from "../../src/paravirt/native.js";
import { PV_MMU_OP_NAMES, TLB_FLUSH_ALL, type MmuCpu, type PvMm } from "../../src/paravirt/ops.js";
import { recordingMmuOps } from "../../src/paravirt/recording.js";

/** A CPU that records what the backend asked of it. */
function fakeCpu(): MmuCpu & { calls: string[] } {
  let cr3 = 0n;
  const calls: string[] = [];
  return {
    calls,
    x86: () => ({ cr3, cr4: 0n }),
    writeCr3: (v: bigint) => { calls.push(`cr3 ${v.toString(16)}`); cr3 = v & ~(1n << 63n); },
    invlpg: (va: bigint) => { calls.push(`invlpg ${va.toString(16)}`); },
    invpcid: (t, p, va) => { calls.push(`invpcid ${t} ${p} ${va.toString(16)}`); },
    flushTlb: (g = true) => { calls.push(`flush ${g}`); },
  };
}

const mm: PvMm = { id: 1, pgd: 0x5000, isInitMm: false };

describe("paravirt: native backend", () => {
  it("set_* are plain little-endian stores of 8 (or 4) bytes; alloc/release touch nothing", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const ops = new NativeMmuOps({ phys: e.phys });
    ops.setPte(0x1008, 0x1234_5067n);
    ops.setPmd(0x2000, 0x8000_0000_0000_3063n);
    ops.setPud(0x3ff8, 1n); ops.setP4d(0x4000, 2n); ops.setPgd(0x4008, 3n);
    expect(e.phys.read64(0x1008)).toBe(0x1234_5067n);
    expect(e.phys.read64(0x2000)).toBe(0x8000_0000_0000_3063n);
    expect([e.phys.read64(0x3ff8), e.phys.read64(0x4000), e.phys.read64(0x4008)]).toEqual([1n, 2n, 3n]);
    const before = e.phys.readBytes(0, 1 << 20);
    ops.allocPte(mm, 7); ops.releasePte(7); ops.allocPmd(mm, 8); ops.releasePmd(8);
    ops.allocPud(mm, 9); ops.releasePud(9); ops.allocP4d(mm, 10); ops.releaseP4d(10);
    expect(ops.pgdAlloc(mm)).toBe(true);
    ops.pgdFree(mm, mm.pgd);
    expect(Buffer.compare(e.phys.readBytes(0, 1 << 20), before)).toBe(0);
    const two = new NativeMmuOps({ phys: e.phys, entryBytes: 4 });
    two.setPte(0x5004, 0xabcd_e067n);
    expect(e.phys.read32(0x5004)).toBe(0xabcd_e067);
    expect(e.phys.read32(0x5008)).toBe(0);
    expect(() => two.setPte(0x5002, 1n)).toThrow(/aligned/);
  });

  it("ptep_modify_prot_start clears and returns the old entry; commit stores the new one", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const ops = new NativeMmuOps({ phys: e.phys });
    ops.setPte(0x1000, 0x7067n);
    const old = ops.ptepModifyProtStart(mm, 0x400000n, 0x1000);
    expect(old).toBe(0x7067n);
    expect(e.phys.read64(0x1000)).toBe(0n);
    ops.ptepModifyProtCommit(mm, 0x400000n, 0x1000, old, old & ~2n);
    expect(e.phys.read64(0x1000)).toBe(0x7065n);
  });

  it("CR3 loads and TLB flushes reach the CPU with their native meaning", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const cpu = fakeCpu();
    const ops = new NativeMmuOps({ phys: e.phys, cpu });
    ops.writeCr3(0x5000n | 3n);
    expect(ops.readCr3()).toBe(0x5003n);
    ops.flushTlbUser();                     // CR3 reload without NOFLUSH
    ops.flushTlbKernel();
    ops.flushTlbOneUser(0x7000n);
    ops.flushTlbMulti([0], { mm, start: 0x10000n, end: 0x13000n, strideShift: 12, freedTables: false });
    ops.flushTlbMulti([0], { mm, start: 0n, end: TLB_FLUSH_ALL, strideShift: 12, freedTables: true });
    ops.flushTlbMulti([0], { mm: null, start: 0n, end: 34n << 12n, strideShift: 12, freedTables: false });
    expect(cpu.calls).toEqual([
      "cr3 5003", "cr3 5003", "flush true", "invlpg 7000",
      "invlpg 10000", "invlpg 11000", "invlpg 12000", "cr3 5003", "flush true",
    ]);
    expect(() => ops.flushTlbMulti([1], { mm, start: 0n, end: 1n, strideShift: 12, freedTables: false })).toThrow(/cpu 1/);
  });

  it("lazy MMU mode must be balanced; CR2 is a register; fixmap needs a bound mapper", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const ops = new NativeMmuOps({ phys: e.phys });
    ops.enterLazyMmu(); ops.flushLazyMmu();
    expect(ops.inLazyMmu).toBe(true);
    ops.leaveLazyMmu();
    expect(() => ops.leaveLazyMmu()).toThrow(/without a matching/);
    ops.writeCr2(0xdead000n);
    expect(ops.readCr2()).toBe(0xdead000n);
    expect(() => ops.setFixmap(3, 0x1000, 0x63n)).toThrow(/no fixmap/);
    const got: unknown[] = [];
    ops.bindFixmap((...a) => got.push(a));
    ops.setFixmap(3, 0x1000, 0x63n);
    expect(got).toEqual([[3, 0x1000, 0x63n]]);
    const gathered: number[] = [];
    ops.tlbRemoveTable({ removeTable: (p) => gathered.push(p) }, 42);
    expect(gathered).toEqual([42]);
  });
});

describe("paravirt: recording wrapper", () => {
  it("logs every hook in order with arguments and results, and forwards each", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const rec = recordingMmuOps(new NativeMmuOps({ phys: e.phys, sharedKernelPmd: false }), { ignore: ["pteVal"] });
    expect(rec.sharedKernelPmd).toBe(false);
    expect(rec.name).toBe("recording(native)");
    rec.allocPte(mm, 5);
    rec.setPmd(0x2000, 0x5067n);
    rec.pteVal(1n);
    expect(rec.pgdAlloc(mm)).toBe(true);
    expect(e.phys.read64(0x2000)).toBe(0x5067n);
    expect(rec.log.map((c) => c.op)).toEqual(["allocPte", "setPmd", "pgdAlloc"]);
    expect(rec.log[1]!.args).toEqual([0x2000, 0x5067n]);
    expect(rec.log[2]!.result).toBe(true);
    expect(rec.calls("setPmd").length).toBe(1);
    rec.clear();
    expect(rec.log).toEqual([]);
  });

  it("wraps every hook of the table", async () => {
    const e = await createEngine("ts", { physSize: 1 << 20 });
    const rec = recordingMmuOps(new NativeMmuOps({ phys: e.phys }));
    for (const op of PV_MMU_OP_NAMES) expect(typeof rec[op]).toBe("function");
    expect(new Set(PV_MMU_OP_NAMES).size).toBe(PV_MMU_OP_NAMES.length);
  });
});
