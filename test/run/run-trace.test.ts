// The trace-run use case called as a library, without the command line:
// the same report from both engines, --premap, a watch that aborts, a limit.
import { describe, expect, it } from "vitest";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { runTrace } from "../../src/run/run-trace.js";
import type { SourceOptions } from "../../src/trace/source.js";
import { SYNTHETIC_DEFAULTS } from "../../src/trace/synthetic.js";

const FIX = (name: string): string => new URL(`../fixtures/traces/${name}`, import.meta.url).pathname;
const MEM = 64 << 20;
const SOURCE: SourceOptions = { ...SYNTHETIC_DEFAULTS, count: 1_000_000 };

describe("runTrace", () => {
  it("runs a trace file on both engines with the same counts (small.lackey: 10 accesses, 4 first touches)", async () => {
    const reports = [];
    for (const engine of ENGINE_NAMES) {
      const r = await runTrace({ trace: FIX("small.lackey"), source: SOURCE, machine: { engine, memBytes: MEM } });
      expect(r.aborted).toBe(false);
      expect(r.report.interrupted).toBe(false);
      expect(r.report.accesses.total).toBe(10);
      expect(r.report.faults.notPresent).toBe(4);
      expect(r.machine.info.engine).toBe(engine);
      reports.push(r.report);
    }
    expect(reports[1]!.accesses).toEqual(reports[0]!.accesses);
    expect(reports[1]!.faults).toEqual(reports[0]!.faults);
    expect(reports[1]!.memory).toEqual(reports[0]!.memory);
  });

  it("premap maps every touched page first: no demand faults during the run", async () => {
    const r = await runTrace({ trace: FIX("small.lackey"), source: SOURCE, machine: { memBytes: MEM }, premap: true });
    expect(r.report.accesses.total).toBe(10);
    expect(r.report.faults.pageFaults).toBe(0);
    expect(r.report.memory.premapped).toBeGreaterThan(0);
  });

  it("starts the watch once after boot, stops it once, and an abort keeps the accesses of the chunks that ran", async () => {
    let started = 0, stopped = 0, firstChunk = 0;
    const r = await runTrace({
      source: { ...SOURCE, synthetic: "uniform" }, machine: { memBytes: MEM },
      watch: () => {
        started++;
        const ac = new AbortController();
        return {
          signal: ac.signal,
          onChunk: (p) => { if (firstChunk === 0) firstChunk = p.accesses; ac.abort(); },
          stop: () => { stopped++; },
        };
      },
    });
    expect([started, stopped]).toEqual([1, 1]);
    expect(r.aborted).toBe(true);
    expect(r.report.interrupted).toBe(true);
    expect(firstChunk).toBeGreaterThan(0);
    expect(r.report.accesses.total).toBe(firstChunk);
    expect(firstChunk).toBeLessThan(1_000_000);
  });

  it("a limit stops after exactly that many accesses and marks the run interrupted, not aborted", async () => {
    const r = await runTrace({ source: { ...SOURCE, synthetic: "zipf" }, machine: { memBytes: MEM }, limit: 12_345 });
    expect(r.report.accesses.total).toBe(12_345);
    expect(r.report.interrupted).toBe(true);
    expect(r.aborted).toBe(false);
  });
});
