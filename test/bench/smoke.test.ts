// The benchmark is not a test; this checks that a quick run in every paging
// mode reports well-formed figures labelled with their mode (each
// competitor's output is verified by the benchmark itself before timing;
// test/bench/cases.test.ts runs those checks for every case of every mode),
// and that the ratios are paired per round against the targets of each mode.
import { describe, expect, it } from "vitest";
import type { BenchCase } from "../../src/bench/cases.js";
import { PAGING_MODES, type PagingMode } from "../../src/bench/machine.js";
import { benchJson, formatBench, pairedRatios, runBench } from "../../src/bench/run.js";

describe("bench --quick (smoke)", () => {
  it("one workload in every mode: hit for wasm, ts, wasm-inline and v86 (2level, pae), with the mode in text and JSON", async () => {
    const r = await runBench({ quick: true, rounds: 1, minMs: 1, workloads: ["hit"], log: () => {} });
    expect(r.records.map((x) => `${x.mode} ${x.workload}/${x.engine}`)).toEqual([
      "2level hit/wasm", "2level hit/ts", "2level hit/wasm-inline", "2level hit/v86",
      "pae hit/wasm", "pae hit/ts", "pae hit/wasm-inline", "pae hit/v86",
      "4level hit/wasm", "4level hit/ts", "4level hit/wasm-inline",
    ]);
    for (const x of r.records) {
      expect(x.median).toBeGreaterThan(0);
      expect(x.min).toBeLessThanOrEqual(x.median);
      expect(x.max).toBeGreaterThanOrEqual(x.median);
      // The hit workload's working set fits the TLB: every access hits.
      if (x.engine !== "v86") expect(x.hitRate, `${x.mode} ${x.engine}`).toBe(1);
    }
    expect(r.notes).toEqual([]);
    const text = formatBench(r);
    expect(text).toMatch(/── 32-bit 2-level \(like for like with v86\) \[2level\] ──/);
    expect(text).toMatch(/── PAE 3-level \[pae\] ──/);
    expect(text).toMatch(/── x86-64 4-level \[4level\] ──/);
    expect(text).toMatch(/^\[2level\]\nhit wasm \/ v86 inline probe .* ≥ 1\.5 {2}(met|MISSED)/m);
    const json = benchJson(r) as { records: { mode: string }[]; ratios: { mode: string }[] };
    expect(new Set(json.records.map((x) => x.mode))).toEqual(new Set(PAGING_MODES));
    expect(json.ratios.length).toBeGreaterThan(0);
    expect(json.ratios.every((q) => (PAGING_MODES as readonly string[]).includes(q.mode))).toBe(true);
  });

  it("--modes and --workloads narrow the run", async () => {
    const r = await runBench({ quick: true, rounds: 1, minMs: 1, modes: ["pae", "2level"], workloads: ["walk-hot", "limit"], log: () => {} });
    expect(r.records.map((x) => `${x.mode} ${x.workload}/${x.engine}`)).toEqual([
      "2level limit/walk-loop", "2level walk-hot/wasm", "2level walk-hot/ts", "2level walk-hot/v86",
      "pae limit/walk-loop", "pae walk-hot/wasm", "pae walk-hot/ts", "pae walk-hot/v86",
    ]);
  });
});

describe("paired ratios and targets", () => {
  // Every row of a full run, with made-up rates per round: round r runs at (r + 1) × base (10
  // unless listed), except walk-random ts, which runs at 1, 10, 1 (so that a ratio of medians differs).
  const rows: Record<PagingMode, string[]> = {
    "2level": ["hit/wasm", "hit/ts", "hit/wasm-inline", "hit/v86", "limit/walk-loop", "call/wasm", "call/v86",
      "walk-hot/wasm", "walk-hot/ts", "walk-hot/v86", "walk-random/wasm", "walk-random/ts", "walk-random/v86"],
    pae: ["hit/wasm", "hit/ts", "hit/wasm-inline", "hit/v86", "limit/walk-loop", "call/wasm", "call/v86",
      "walk-hot/wasm", "walk-hot/ts", "walk-hot/v86", "walk-random/wasm", "walk-random/ts", "walk-random/v86"],
    "4level": ["hit/wasm", "hit/ts", "hit/wasm-inline", "limit/wasm-loop", "limit/walk-loop", "call/wasm",
      "walk-hot/wasm", "walk-hot/ts", "walk-random/wasm", "walk-random/ts"],
  };
  const base: Record<string, number> = {
    "2level hit/wasm": 600, "2level hit/ts": 200, "2level hit/v86": 300, "2level walk-hot/ts": 20, "4level hit/ts": 100, "2level call/wasm": 50, "2level call/v86": 100,
    "2level walk-hot/wasm": 60, "2level walk-hot/v86": 50, "2level walk-random/wasm": 20, "2level walk-random/v86": 10,
    "4level hit/wasm": 500, "4level limit/wasm-loop": 2000, "4level walk-random/wasm": 30, "4level limit/walk-loop": 50,
    "pae walk-random/wasm": 10,
  };
  const cases: BenchCase[] = [];
  const rates = new Map<BenchCase, number[]>();
  for (const mode of PAGING_MODES) {
    for (const row of rows[mode]) {
      const [workload, engine] = row.split("/") as [string, string];
      const c: BenchCase = { mode, workload, engine, elements: 1, run: () => {}, check: () => {} };
      cases.push(c);
      const b = base[`${mode} ${row}`] ?? 10;
      rates.set(c, [0, 1, 2].map((r) => (row === "walk-random/ts" ? [1, 10, 1][r]! : b * (r + 1))));
    }
  }
  const ratios = pairedRatios(cases, { rates });
  const get = (m: PagingMode, name: string) => ratios.find((q) => q.mode === m && q.name === name);

  it("has the targets of each mode, met or missed by the median", () => {
    const targets = ratios.filter((q) => q.target !== undefined).map((q) => `${q.mode} ${q.name} ≥ ${q.target}: ${q.met ? "met" : "MISSED"}`);
    expect(targets).toEqual([
      "2level hit wasm / v86 inline probe ≥ 1.5: met",            // 600 / 300 = 2
      "2level call wasm / v86 (JS loop) ≥ 1: MISSED",             // 50 / 100
      "2level walk-hot wasm / v86 forced walk ≥ 1.5: MISSED",     // 60 / 50 = 1.2
      "2level walk-random wasm / v86 ≥ 1: met",                   // 20 / 10
      "2level hit wasm / ts ≥ 3.5: MISSED",                       // 600 / 200
      "2level walk-hot wasm / ts ≥ 2.5: met",                     // 60 / 20
      "pae hit wasm / ts ≥ 3.5: MISSED",                          // 10 / 10
      "pae walk-hot wasm / ts ≥ 2.5: MISSED",
      "4level hit wasm / limit probe (streaming) ≥ 0.5: MISSED",  // 500 / 2000
      "4level walk-random wasm / walk-loop probe ≥ 0.5: met",     // 30 / 50
      "4level walk-random wasm (4-level) / v86 (2-level) ≥ 1: met",   // 30 / 10
      "4level hit wasm / ts ≥ 3.5: met",                          // 500 / 100
      "4level walk-hot wasm / ts ≥ 2.5: MISSED",                  // 10 / 10
    ].map((l) => l.replace(/ +\/\/.*$/, "")));
  });

  it("pairs per round and keeps the informative ratios without a target", () => {
    // walk-random wasm / ts in 2level: rounds 20/1, 40/10, 60/1 → 20, 4, 60: median 20 (the ratio of the medians is 40).
    expect(get("2level", "walk-random wasm / ts")).toMatchObject({ median: 20, min: 4, max: 60 });
    expect(get("2level", "walk-random wasm / ts")!.target).toBeUndefined();
    for (const name of ["hit wasm / v86 inline probe", "call wasm / v86 (JS loop)", "walk-hot wasm / v86 forced walk", "walk-random wasm / v86"])
      expect(get("pae", name)?.target, name).toBeUndefined();
    expect(get("pae", "hit wasm / v86 inline probe")).toBeDefined();
    expect(get("pae", "walk-random wasm (pae) / wasm (2level)")).toMatchObject({ median: 0.5, min: 0.5, max: 0.5 });
    for (const m of PAGING_MODES) {
      expect(get(m, "walk-hot wasm / walk-loop probe"), m).toBeDefined();
      expect(get(m, "hit wasm-inline / call wasm (translatePa from JS)"), m).toBeDefined();
    }
    expect(get("2level", "hit wasm-inline (emulator's wasm) / v86 inline probe")).toBeDefined();
    expect(get("4level", "walk-hot wasm (4-level) / v86 forced walk (2-level)")).toMatchObject({ median: 0.2 });
  });
});
