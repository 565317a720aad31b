#!/usr/bin/env node
// End-to-end throughput of `wasmmu run` (read + parse + translate through the
// TLB + demand faults + statistics) for every trace format and both engines,
// on the bundled trace and on a large synthetic trace — the figures of the
// README's "Measured throughput" table.
//
//   node scripts/throughput.mjs [--count 100M] [--runs 3] [--dir /tmp/wasmmu-tp] [--skip-ts-large]
//
// The trace files are written once into --dir (the 100 M-access ChampSim file
// is 6.4 GB) and reused. Each cell is the median of --runs runs, as accesses
// per CPU second of the `wasmmu run` process (from its --json report) and per
// wall second. Needs a built CLI (npm run build).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const cli = join(root, "bin/wasmmu.mjs");
const { values: opt } = parseArgs({
  options: {
    count: { type: "string", default: "100M" },
    runs: { type: "string", default: "3" },
    dir: { type: "string", default: "/tmp/wasmmu-throughput" },
    "skip-ts-large": { type: "boolean", default: false },
  },
});
const runs = Number(opt.runs);
mkdirSync(opt.dir, { recursive: true });

const wasmmu = (args) => execFileSync(process.execPath, [cli, ...args], { maxBuffer: 1 << 26 }).toString();
/** Write `out` (once) by converting `input` (a file, or synthetic options). */
const make = (out, input) => {
  if (existsSync(out) && statSync(out).size > 0) return out;
  process.stderr.write(`writing ${out}\n`);
  wasmmu(["convert", ...input, out]);
  return out;
};

const bundled = join(root, "traces/gzip-gpl3.wmt.br");
const small = make(join(opt.dir, "gzip.wmt"), [bundled]);
const big = make(join(opt.dir, `zipf-${opt.count}.wmt`), ["--synthetic", "zipf", "--count", opt.count]);
const workloads = [
  { name: "bundled gzip trace", files: [
    ["WMT + Brotli (as bundled)", bundled], ["WMT", small],
    ["lackey text", make(join(opt.dir, "gzip.lackey"), [small])],
    ["ChampSim", make(join(opt.dir, "gzip.champsimtrace"), [small])],
  ] },
  { name: `synthetic zipf, ${opt.count} accesses`, large: true, files: [
    ["WMT", big],
    ["lackey text", make(join(opt.dir, `zipf-${opt.count}.lackey`), [big])],
    ["ChampSim", make(join(opt.dir, `zipf-${opt.count}.champsimtrace`), [big])],
  ] },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const M = (x) => `${(x / 1e6).toFixed(1)} M/s`;
const rows = [];
for (const w of workloads) {
  for (const [format, file] of w.files) {
    const cells = [];
    let hits = "";
    for (const engine of ["wasm", "ts"]) {
      if (engine === "ts" && w.large && opt["skip-ts-large"]) { cells.push("(skipped)"); continue; }
      const cpu = [], wall = [];
      for (let r = 0; r < runs; r++) {
        const rep = JSON.parse(wasmmu(["run", file, "--engine", engine, "--json", "--no-progress"]));
        cpu.push(rep.time.accessesPerCpuSecond);
        wall.push(rep.time.accessesPerSecond);
        hits = `${(100 * rep.tlb.l1HitRate).toFixed(2)} % L1 hits`;
      }
      cells.push(`${M(median(cpu))} (wall ${M(median(wall))})`);
      process.stderr.write(`${w.name} / ${format} / ${engine}: ${cells.at(-1)}\n`);
    }
    rows.push(`| ${w.name}${hits ? ` (${hits})` : ""} | ${format} | ${cells.join(" | ")} |`);
  }
}
console.log("| workload | format | wasm engine, per CPU s | ts engine, per CPU s |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(r);
