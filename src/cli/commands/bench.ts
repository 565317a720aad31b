/**
 * `wasmmu bench`: the benchmark (src/bench/run.ts) — wasm and TS engines and
 * the v86 peer on the same workloads in each paging mode, interleaved rounds,
 * paired ratios against the targets.
 */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { fileErrorMessage } from "../../trace/errors.js";
import { type Command, InvalidArgumentError } from "commander";
import { parseCountIn } from "../parse.js";
import { BENCH_WORKLOADS } from "../../bench/cases.js";
import { PAGING_MODES, type PagingMode } from "../../bench/machine.js";
import { benchJson, formatBench, runBench } from "../../bench/run.js";

const WORKLOADS: readonly string[] = BENCH_WORKLOADS;
const MODES: readonly string[] = PAGING_MODES;

/** A comma-separated subset of `allowed` (`what` names the items in the error). */
function subsetOf(allowed: readonly string[], what: string): (v: string) => string[] {
  return (v) => {
    const ws = v.split(",").map((w) => w.trim()).filter(Boolean);
    const bad = ws.filter((w) => !allowed.includes(w));
    if (bad.length || ws.length === 0)
      throw new InvalidArgumentError(`${bad.length ? `unknown ${what}(s) ${bad.join(", ")}` : `no ${what} given`} (expected ${allowed.join(", ")})`);
    return ws;
  };
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("translation throughput: wasm vs TS engine vs the v86 peer (hit, call, walk-hot, walk-random, sweep, limit) in 32-bit 2-level, PAE and x86-64 4-level paging")
    .option("--quick", "a short run (3 rounds, fewer sweep points)")
    .option("--rounds <n>", "measured rounds after the warm-up (1 to 100)", parseCountIn(1, 100))
    .option("--workloads <list>", `comma-separated subset of ${WORKLOADS.join(",")}`, subsetOf(WORKLOADS, "workload"))
    .option("--modes <list>", `comma-separated subset of ${MODES.join(",")} (paging modes; default all)`, subsetOf(MODES, "mode"))
    .option("--json <file>", "also write the figures as JSON ({mode, workload, engine, median, min, max} records and ratios)")
    .action(async (o: { quick?: boolean; rounds?: number; workloads?: string[]; modes?: string[]; json?: string }) => {
      // The output file is opened before the (minutes-long) benchmark, so that a bad path fails at once.
      let fd: number | undefined;
      if (o.json) try { fd = openSync(o.json, "w"); } catch (e) { throw new Error(`--json: ${fileErrorMessage(o.json, e, true)}`); }
      try {
        const r = await runBench({ quick: o.quick, rounds: o.rounds, workloads: o.workloads, modes: o.modes as PagingMode[] | undefined });
        console.log(formatBench(r));
        if (fd !== undefined) {
          writeFileSync(fd, `${JSON.stringify(benchJson(r), null, 2)}\n`);
          console.log(`wrote ${o.json}`);
        }
      } finally { if (fd !== undefined) closeSync(fd); }
    });
}
