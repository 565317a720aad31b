#!/usr/bin/env node
// npm run fuzz [-- --minutes N] [-- FILE…]
//
// The property and differential tests with fresh seeds, round after round,
// for a time budget. `npm test` runs the same properties from fixed seeds
// (test/fuzz.ts); here every round draws a new WASMMU_FUZZ_SEED, so every
// round tries cases no earlier run tried. A failing round prints its seed,
// the command that replays it, and fast-check's own `{ seed, path }` (to make
// it a regression case: pass those to the test's fuzzParams()), and exits 1.
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";

const positive = (v) => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError("must be a positive number of minutes");
  return n;
};
const program = new Command()
  .name("npm run fuzz --")
  .description("run the property and differential tests with fresh seeds for a time budget")
  .option("--minutes <n>", "time budget; no round starts after it", positive, 5)
  .argument("[files...]", "test files (default: every test file with a fast-check property)")
  .parse();
const { minutes } = program.opts();

function propertyFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...propertyFiles(p));
    else if (p.endsWith(".test.ts") && readFileSync(p, "utf8").includes("fc.assert")) out.push(p);
  }
  return out;
}
const files = program.args.length ? program.args : propertyFiles("test");
const vitest = join("node_modules", "vitest", "vitest.mjs");
const deadline = Date.now() + minutes * 60_000;
console.log(`fuzz: ${files.length} files, ${minutes} min budget`);
let round = 0;
while (Date.now() < deadline) {
  round++;
  const seed = randomInt(1, 2 ** 31);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [vitest, "run", ...files], {
    env: { ...process.env, WASMMU_FUZZ: "1", WASMMU_FUZZ_SEED: String(seed), NO_COLOR: "1" },
    encoding: "utf8", maxBuffer: 256 << 20,
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status !== 0) {
    process.stdout.write(r.stdout + r.stderr);
    console.log(`fuzz: round ${round} FAILED (WASMMU_FUZZ_SEED=${seed}, ${secs} s)`);
    console.log(`fuzz: replay with: WASMMU_FUZZ=1 WASMMU_FUZZ_SEED=${seed} npx vitest run ${files.join(" ")}`);
    process.exit(1);
  }
  const tests = /Tests\s+(\d+) passed/.exec(r.stdout.replace(/\x1b\[[0-9;]*m/g, ""))?.[1] ?? "?";
  console.log(`fuzz: round ${round} passed (WASMMU_FUZZ_SEED=${seed}, ${tests} tests, ${secs} s)`);
}
console.log(`fuzz: ${round} rounds, no failure`);
