// The run driver on a real kernel and both engines: demand faults counted
// exactly as a reference model of Linux's anonymous-memory faults predicts,
// identical results in the two engines, Ctrl-C and --limit keep what was done.
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { drive } from "../../src/run/driver.js";
import { Machine } from "../../src/run/machine.js";
import { buildReport, type RunReport } from "../../src/run/report.js";
import { engineTlbReport } from "../../src/run/tlb-stats.js";
import { newAccessBuffer, vaNumberAt } from "../../src/trace/access-buffer.js";
import { openTrace } from "../../src/trace/open.js";
import { type SyntheticSpec, SyntheticReader } from "../../src/trace/synthetic.js";

const FIX = (name: string): string => new URL(`../fixtures/traces/${name}`, import.meta.url).pathname;
const MEM = 64 << 20;

/** Linux anonymous memory: a read of a fresh page maps the zero page (one
 *  not-present fault); the first write then faults again (protection) unless
 *  the page's first access was a write (one not-present fault). */
async function modelFaults(spec: SyntheticSpec): Promise<{ np: number; prot: number; written: number }> {
  const r = new SyntheticReader(spec), buf = newAccessBuffer(4096);
  const state = new Map<number, "zero" | "rw">();
  let np = 0, prot = 0;
  for (let n; (n = await r.read(buf)) > 0;)
    for (let i = 0; i < n; i++) {
      const page = Math.floor(vaNumberAt(buf, i) / 4096), w = buf.kind[i] === Access.Write;
      const s = state.get(page);
      if (s === undefined) { np++; state.set(page, w ? "rw" : "zero"); }
      else if (s === "zero" && w) { prot++; state.set(page, "rw"); }
    }
  return { np, prot, written: [...state.values()].filter((s) => s === "rw").length };
}

describe.each(ENGINE_NAMES)("run driver (%s engine)", (engine) => {
  it("counts faults exactly as the fault model predicts (zero page, then copy on write)", async () => {
    const spec: SyntheticSpec = { kind: "uniform", count: 30_000, pages: 3000, seed: 11, writeRatio: 0.3 };
    const m = await Machine.create({ engine, memBytes: MEM, batchCapacity: 4096 });
    const r = await drive(new SyntheticReader(spec), m);
    const want = await modelFaults(spec);
    expect(r.counters.accesses).toBe(30_000);
    expect(r.counters.notPresentFaults).toBe(want.np);
    expect(r.counters.protectionFaults).toBe(want.prot);
    expect(r.counters.pageFaults).toBe(want.np + want.prot);
    expect(r.counters.unhandled).toBe(0);
    expect(r.counters.reads + r.counters.writes + r.counters.fetches).toBe(30_000);
    // Data pages: one per page ever written (reads share the zero page).
    expect(m.dataPages()).toBe(want.written);
  });

  it("runs the lackey fixture: segfaults and a non-canonical address are counted, not fatal", async () => {
    const m = await Machine.create({ engine, memBytes: MEM });
    const reader = await openTrace(FIX("small.lackey"));
    const r = await drive(reader, m);
    expect(r.counters.accesses).toBe(10);
    expect([r.counters.reads, r.counters.writes, r.counters.fetches]).toEqual([3, 4, 3]);
    expect(r.counters.unhandled).toBe(3);
    expect(r.counters.unhandledExamples.join("\n")).toMatch(/0x7ffffffffff8 write: outside the process's address space/);
    expect(r.counters.unhandledExamples.join("\n")).toMatch(/0x800000000000 write: #GP/);
    expect(r.counters.unhandledExamples.join("\n")).toMatch(/0x0 read: outside/);
    // Pages touched: 0x4022000 (fetches), 0x1ffefff000 (read, then write), 0x421e000 (read, write), 0x4023000.
    expect(r.counters.notPresentFaults).toBe(4);
    expect(r.counters.protectionFaults).toBe(2);
  });

  it("an abort stops between chunks and keeps the statistics so far; --limit stops early", async () => {
    const m = await Machine.create({ engine, memBytes: MEM, batchCapacity: 1000 });
    const ac = new AbortController();
    const r = await drive(new SyntheticReader({ kind: "zipf", count: 10_000, pages: 100 }), m,
      { signal: ac.signal, onChunk: (p) => { if (p.accesses >= 3000) ac.abort(); } });
    expect(r.interrupted).toBe(true);
    expect(r.counters.accesses).toBe(3000);
    const m2 = await Machine.create({ engine, memBytes: MEM, batchCapacity: 1000 });
    const r2 = await drive(new SyntheticReader({ kind: "zipf", count: 10_000, pages: 100 }), m2, { limit: 2500 });
    expect(r2.counters.accesses).toBe(2500);
  });

  it("thp collapses dense 2 MiB ranges; the result matches 2 MiB pages from the start", async () => {
    const spec: SyntheticSpec = { kind: "uniform", count: 60_000, pages: 2048, seed: 5 };
    const thp = await Machine.create({ engine, memBytes: MEM, pageSize: "thp", thpThreshold: 128 });
    const r = await drive(new SyntheticReader(spec), thp);
    expect(thp.thpCollapses).toBe(4);                        // 8 MiB = four dense 2 MiB ranges
    const huge = await Machine.create({ engine, memBytes: MEM, pageSize: "2m" });
    await drive(new SyntheticReader(spec), huge);
    expect(thp.processTablePages()).toBe(huge.processTablePages());   // the emptied pte tables were freed
    expect(thp.dataPages()).toBe(huge.dataPages());
    expect(r.counters.unhandled).toBe(0);
    // Each range faulted 4 KiB pages until it reached the threshold, then never again.
    expect(r.counters.notPresentFaults).toBeGreaterThanOrEqual(4 * 128);
    expect(r.counters.notPresentFaults).toBeLessThan(4 * 128 + 8);
  });

  it("a pre-mapped layout runs without a single fault", async () => {
    const spec: SyntheticSpec = { kind: "zipf", count: 20_000, pages: 1000, seed: 2 };
    const m = await Machine.create({ engine, memBytes: MEM });
    const { touchedPages } = await import("../../src/run/driver.js");
    for (const [ctx, pages] of await touchedPages(new SyntheticReader(spec))) expect(m.populate(ctx, pages)).toBe(pages.size);
    const r = await drive(new SyntheticReader(spec), m);
    expect(r.counters.pageFaults).toBe(0);
    expect(r.counters.unhandled).toBe(0);
  });

  it("TLB statistics: every attempt is one lookup (a faulting access is retried); with the TLB off every lookup walks", async () => {
    const spec: SyntheticSpec = { kind: "zipf", count: 40_000, pages: 3000, seed: 4 };
    for (const mode of ["fast", "research", "off"] as const) {
      const m = await Machine.create({ engine, memBytes: MEM, tlb: { mode } });
      const r = await drive(new SyntheticReader(spec), m);
      const t = engineTlbReport(m.engine);
      const attempts = r.counters.accesses + r.counters.pageFaults;
      expect(t.organisation).toBe(mode);
      expect(t.faults.pageFault).toBe(r.counters.pageFaults);
      if (mode === "off") expect(t.walks).toBe(attempts);
      else {
        expect(t.l1.accesses).toBe(attempts);
        if (mode === "fast") expect(t.l1.hits).toBeGreaterThan(t.l1.misses);   // 16384 entries hold all 3000 pages
        if (mode === "fast") expect(t.walks).toBe(t.l1.misses);
        else expect(t.walks).toBeGreaterThanOrEqual(t.l2.misses);
      }
    }
  });

  it("WMT contexts become processes with their own address spaces", async () => {
    const m = await Machine.create({ engine, memBytes: MEM });
    const r = await drive(await openTrace(FIX("small.wmt")), m);
    expect(m.processes).toBe(2);
    expect(r.counters.contextSwitches).toBe(1);
    expect(r.counters.accesses).toBe(5);
    // 0xffff800000001000 is kernel space and 0x7ffffffff000 is the guard page
    // at TASK_SIZE_MAX: a user process gets SIGSEGV for both.
    expect(r.counters.unhandled).toBe(2);
  });
});

describe("both engines give the same report", () => {
  it("uniform, zipf, strided and sweep workloads (differential)", async () => {
    const strip = (r: RunReport): unknown => ({ ...r, machine: { ...r.machine, engine: "" }, time: null });
    for (const kind of ["uniform", "zipf", "strided", "sweep"] as const) {
      const spec: SyntheticSpec = { kind, count: 20_000, pages: 2048, minPages: 16, maxPages: 1024, seed: 3 };
      const reports: unknown[] = [];
      const memories: Buffer[] = [];
      for (const engine of ENGINE_NAMES) {
        const m = await Machine.create({ engine, memBytes: MEM });
        const reader = new SyntheticReader(spec);
        reports.push(strip(buildReport(reader, m, await drive(reader, m), engineTlbReport(m.engine))));
        memories.push(Buffer.from(m.engine.buffer, m.engine.layout.ramBase, MEM));
      }
      expect(reports[1]).toEqual(reports[0]);
      expect(memories[1]!.equals(memories[0]!)).toBe(true);
    }
  });
});
