#!/usr/bin/env node
// Before and after a change in one run: the benchmark machines of two
// checkouts — OTHER (a worktree of an earlier commit, say) and this one —
// loaded into one process, the same workloads timed in interleaved rounds,
// and the ratio this/OTHER paired per round. Speed comparisons between two
// separate runs mix in the machine's drift; this does not.
//
//   git worktree add --detach /tmp/old <commit> && (cd /tmp/old && npm ci && npm run build)
//   node scripts/ab-bench.mjs /tmp/old [--rounds 7] [--modes 2level,pae,4level]
//
// Each checkout's src/bench/machine.ts builds its machines (its own engine
// and core, bundled here by esbuild from its sources and its build/*.wasm),
// so OTHER must have that file with the same exports as this one. Every
// output is checked against the mapping before anything is timed. Rates are
// per CPU second, as in `wasmmu bench`.
import { build } from "esbuild";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const here = resolve(fileURLToPath(import.meta.url), "../..");
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "7" }, modes: { type: "string", default: "2level,pae,4level" } },
});
const other = positionals[0] && resolve(positionals[0]);
if (!other || !existsSync(join(other, "src/bench/machine.ts")) || !existsSync(join(other, "build/mmu.wasm"))) {
  console.error("usage: node scripts/ab-bench.mjs OTHER_CHECKOUT [--rounds N] [--modes LIST]\n" +
    "  OTHER_CHECKOUT: a built checkout (src/bench/machine.ts and build/mmu.wasm present)");
  process.exit(2);
}
const rounds = Number(opt.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) { console.error(`--rounds: an integer in [1, 100], got ${opt.rounds}`); process.exit(2); }
const modes = opt.modes.split(",");
for (const m of modes) if (!["2level", "pae", "4level"].includes(m)) { console.error(`--modes: unknown mode ${m} (expected 2level, pae, 4level)`); process.exit(2); }

// One bundle, two copies of everything: the machines of OTHER and of this checkout.
const dir = mkdtempSync(join(tmpdir(), "wasmmu-ab-"));
const entry = join(dir, "entry.ts");
writeFileSync(entry, `export * as before from ${JSON.stringify(join(other, "src/bench/machine.ts"))};\n` +
  `export * as after from ${JSON.stringify(join(here, "src/bench/machine.ts"))};\n`);
await build({ entryPoints: [entry], outfile: join(dir, "ab.mjs"), bundle: true, format: "esm", platform: "node", target: "es2022",
  loader: { ".wasm": "binary" }, logLevel: "warning", nodePaths: [join(here, "node_modules")] });
const { before, after } = await import(pathToFileURL(join(dir, "ab.mjs")).href);
rmSync(dir, { recursive: true, force: true });

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const measure = (run, n) => { let reps = 0; const t0 = cpu(); let dt = 0; do { run(); reps++; dt = cpu() - t0; } while (dt < 0.06); return (reps * n) / dt; };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The cases of one checkout's machines in one mode: [name, prepare, run, elements]. */
async function cases(m, mode) {
  const N = 65536, out = [];
  const batch = async (name, pages, tlb, stream, warm) => {
    const e = await m.benchEngine("wasm", pages, tlb, N, mode);
    const prep = () => { m.loadBatch(e, stream); if (warm) e.translateBatch(N); };
    prep(); e.translateBatch(N); m.checkBatch(e, stream, name);
    out.push({ name, prep, run: () => e.translateBatch(N), n: N });
  };
  await batch("hit", 2 ** 20, undefined, m.pageStream(N, 4096, 1), true);
  await batch("walk-hot", 512, { mode: "off" }, m.pageStream(N, 512, 3), false);
  await batch("walk-random", 2 ** 20, undefined, m.pageStream(N, 262144, 4), false);
  const e = await m.benchEngine("wasm", 4096, undefined, 16, mode);
  const s = m.pageStream(4096, 4096, 2), vas = Array.from(s, (p, i) => p * 4096 + ((i * 8) & 0xff8));
  for (let i = 0; i < vas.length; i++) if (e.translatePa(vas[i], 0) !== m.frameOf(s[i]) + ((i * 8) & 0xff8)) throw new Error(`call: element ${i}`);
  let sink = 0;
  out.push({ name: "call", prep: () => {}, run: () => { for (let i = 0; i < vas.length; i++) sink += e.translatePa(vas[i], 0); }, n: vas.length });
  return out;
}

console.log(`before: ${other}\nafter:  ${here}\n${rounds} rounds after a warm-up; rates per CPU second, ratio after/before paired per round\n`);
console.log("mode    workload      before ns   after ns   after/before: median    min    max");
for (const mode of modes) {
  const a = await cases(before, mode), b = await cases(after, mode);
  const pairs = a.map((x, i) => [x, b[i]]);
  for (const [x, y] of pairs) { x.prep(); measure(x.run, x.n); y.prep(); measure(y.run, y.n); }
  const ratios = pairs.map(() => []), rb = pairs.map(() => []), ra = pairs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    pairs.forEach(([x, y], i) => {
      const first = r % 2 ? y : x, second = r % 2 ? x : y;
      globalThis.gc?.();
      first.prep(); const f = measure(first.run, first.n);
      second.prep(); const g = measure(second.run, second.n);
      const vb = r % 2 ? g : f, va = r % 2 ? f : g;
      rb[i].push(vb); ra[i].push(va); ratios[i].push(va / vb);
    });
  }
  pairs.forEach(([x], i) => {
    const q = ratios[i];
    console.log(`${mode.padEnd(7)} ${x.name.padEnd(12)} ${(1e9 / median(rb[i])).toFixed(2).padStart(9)} ${(1e9 / median(ra[i])).toFixed(2).padStart(10)}   ${median(q).toFixed(2).padStart(21)} ${Math.min(...q).toFixed(2).padStart(6)} ${Math.max(...q).toFixed(2).padStart(6)}`);
  });
}
