/**
 * `wasmmu bench`: the benchmark of issue 3 (src/bench/run.ts) — wasm and TS
 * engines and the v86 peer on the same workloads, interleaved rounds,
 * paired ratios against the targets.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { benchJson, formatBench, runBench } from "../../bench/run.js";

const WORKLOADS = ["hit", "call", "walk-hot", "walk-random", "sweep", "limit"];

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("translation throughput: wasm vs TS engine vs the v86 peer (hit, call, walk-hot, walk-random, sweep, limit)")
    .option("--quick", "a short run (3 rounds, fewer sweep points)")
    .option("--rounds <n>", "measured rounds after the warm-up", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error(`--rounds must be an integer 1..100, got "${v}"`);
      return n;
    })
    .option("--workloads <list>", `comma-separated subset of ${WORKLOADS.join(",")}`, (v) => {
      const ws = v.split(",").map((w) => w.trim()).filter(Boolean);
      const bad = ws.filter((w) => !WORKLOADS.includes(w));
      if (bad.length) throw new Error(`unknown workload(s) ${bad.join(", ")} (expected ${WORKLOADS.join(", ")})`);
      return ws;
    })
    .option("--json <file>", "also write the figures as JSON ({workload, engine, median, min, max} records and ratios)")
    .action(async (o: { quick?: boolean; rounds?: number; workloads?: string[]; json?: string }) => {
      const r = await runBench({ quick: o.quick, rounds: o.rounds, workloads: o.workloads });
      console.log(formatBench(r));
      if (o.json) {
        writeFileSync(o.json, `${JSON.stringify(benchJson(r), null, 2)}\n`);
        console.log(`wrote ${o.json}`);
      }
    });
}
