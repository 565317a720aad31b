// The run machine's kernel direct map built by the boot planner: the plan's
// tables are live in swapper_pg_dir, shared into every process's pgd, never
// handed out by the page allocator (a workload that allocates most of RAM
// must not overwrite them), and the report says which plan built them.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../src/abi.js";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { drive } from "../../src/run/driver.js";
import { Machine } from "../../src/run/machine.js";
import { buildReport } from "../../src/run/report.js";
import { engineTlbReport } from "../../src/run/tlb-stats.js";
import { SyntheticReader } from "../../src/trace/synthetic.js";

const MiB = 2 ** 20;

/** Translate kernel direct-map addresses through the current process's pgd (at CPL 0). */
function checkDirectMap(m: Machine, pas: number[]): void {
  const off = m.kernel.geometry.pageOffset;
  m.engine.setCpl(0);
  for (const pa of pas) {
    const r = m.engine.translate(off + BigInt(pa), Access.Read);
    expect(r.fault, `PAGE_OFFSET + 0x${pa.toString(16)}`).toBe(FaultKind.None);
    expect(r.pa).toBe(pa);
  }
  m.engine.setCpl(3);
}

describe.each(ENGINE_NAMES)("run machine booted by the planner (%s engine)", (engine) => {
  it("linux strategy by default on 4level: tables from brk, the direct map reachable from a process", async () => {
    const m = await Machine.create({ engine, memBytes: 256 * MiB, batchCapacity: 4096 });
    const b = m.info.boot!;
    expect(b.strategy).toBe("linux");
    expect(b.tablePages).toBeGreaterThan(0);
    expect(b.brkPages + b.memblockPages).toBe(b.tablePages);
    expect(m.info.kernelMapping).toMatch(/boot planner \(init_mem_mapping/);
    // A workload that takes most of the free RAM, then the direct map still translates.
    const reader = new SyntheticReader({ kind: "uniform", count: 200_000, pages: 40_000, seed: 3, writeRatio: 1 });
    const r = await drive(reader, m);
    expect(r.counters.unhandled).toBe(0);
    expect(m.dataPages()).toBeGreaterThan(39_000);                 // 152 of the 188 MiB free after boot
    checkDirectMap(m, [0x100000, 0x1000000, b.lowestTable, b.highestTable, 200 * MiB + 0x123, 255 * MiB]);
    // Every table page of the plan is still a table page: none was handed to the process.
    const report = buildReport(reader, m, r, engineTlbReport(m.engine));
    expect(report.machine.boot?.tablePages).toBe(b.tablePages);
  });

  it("hpa strategy and 5-level paging build too; the tables sit at the top of RAM when brk runs out", async () => {
    const hpa = await Machine.create({ engine, memBytes: 256 * MiB, boot: "hpa", batchCapacity: 1024 });
    expect(hpa.info.boot!.strategy).toBe("hpa");
    expect(hpa.info.kernelMapping).toMatch(/hpa top-down/);
    hpa.switchTo(1);
    checkDirectMap(hpa, [0x2000, 0x9f000, 0x100000, 128 * MiB, 255 * MiB + 0xff8]);
    const la57 = await Machine.create({ engine, mode: "5level", memBytes: 256 * MiB, batchCapacity: 1024 });
    expect(la57.info.boot!.strategy).toBe("linux");
    la57.switchTo(1);
    checkDirectMap(la57, [0x100000, 100 * MiB]);
  });

  it("above 3 GiB (RAM above the 4 GiB hole, sparse backing) the highest tables are at the top", async () => {
    const m = await Machine.create({ engine, memBytes: 6 * 1024 * MiB, batchCapacity: 1024 });
    const b = m.info.boot!;
    expect(m.info.backing).toBe("sparse");
    expect(b.highestTable).toBeGreaterThan(4 * 1024 * MiB);
    expect(b.memblockPages).toBeGreaterThan(0);
    // Table pages from memblock are out of the buddy pool (mem_init's handover).
    expect(m.kernel.alloc.isReserved(b.highestTable / 4096)).toBe(true);
    m.switchTo(1);
    checkDirectMap(m, [0x100000, 2 * 1024 * MiB - 0x21000, 4 * 1024 * MiB, 8 * 1024 * MiB - 8]);
  });

  it("PAE and 2-level keep the plain map; --boot linux there, or too little RAM for it, is a clear error", async () => {
    const pae = await Machine.create({ engine, mode: "pae", memBytes: 64 * MiB, batchCapacity: 1024 });
    expect(pae.info.boot).toBeNull();
    expect(pae.info.kernelMapping).toMatch(/\(plain\)/);
    await expect(Machine.create({ engine, mode: "pae", memBytes: 64 * MiB, boot: "linux" })).rejects.toThrow(/use --boot plain/);
    await expect(Machine.create({ engine, memBytes: 64 * MiB, boot: "linux" })).rejects.toThrow(/at least 128 MiB/);
    const small = await Machine.create({ engine, memBytes: 64 * MiB, batchCapacity: 1024 });
    expect(small.info.boot).toBeNull();
    expect(small.info.kernelMapping).toMatch(/too little for the boot planner/);
  });
});
