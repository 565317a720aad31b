// The benchmark is not a test; this only checks that `bench --quick` runs
// every workload for every engine (each competitor's output is verified by
// the benchmark itself before timing) and reports well-formed figures.
import { describe, expect, it } from "vitest";
import { formatBench, runBench } from "../../src/bench/run.js";

describe("bench --quick (smoke)", () => {
  it("runs hit, call, walk-hot, walk-random, sweep and limit for wasm, ts and v86", async () => {
    const lines: string[] = [];
    const r = await runBench({ quick: true, rounds: 1, minMs: 1, log: (l) => lines.push(l) });
    const has = (w: string, e: string): boolean => r.records.some((x) => x.workload === w && x.engine === e);
    for (const w of ["hit", "walk-hot", "walk-random", "sweep-16", "sweep-1048576"])
      for (const e of ["wasm", "ts", "v86"]) expect(has(w, e), `${w}/${e}`).toBe(true);
    expect(has("limit", "wasm-loop")).toBe(true);
    expect(has("call", "wasm")).toBe(true);
    expect(has("hit", "wasm-inline")).toBe(true);
    for (const x of r.records) {
      expect(x.median).toBeGreaterThan(0);
      expect(x.min).toBeLessThanOrEqual(x.median);
      expect(x.max).toBeGreaterThanOrEqual(x.median);
    }
    // The hit workload's working set fits the TLB: every access hits; the 2^20-page sweep mostly misses.
    expect(r.records.find((x) => x.workload === "hit" && x.engine === "wasm")!.hitRate).toBe(1);
    expect(r.records.find((x) => x.workload === "sweep-1048576" && x.engine === "wasm")!.hitRate).toBeLessThan(0.1);
    expect(r.records.find((x) => x.workload === "hit" && x.engine === "wasm-inline")!.hitRate).toBe(1);
    expect(r.ratios.map((q) => q.name)).toContain("hit wasm / v86 inline probe");
    expect(r.ratios.map((q) => q.name)).toContain("hit wasm-inline (emulator's wasm) / v86 inline probe");
    expect(r.ratios.map((q) => q.name)).toContain("hit wasm-inline / call wasm (translatePa from JS)");
    expect(formatBench(r)).toMatch(/walk-random/);
  });
});
