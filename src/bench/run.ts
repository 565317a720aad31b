/**
 * `wasmmu bench`: translation throughput of the wasm and TS engines and of
 * the v86 peer, on the same workloads in the same run, interleaved
 * (A B C … A B C …) after a warm-up round, with every competitor's output
 * checked before it is timed, in three paging modes: 32-bit 2-level (what
 * v86 does: the like-for-like comparison), PAE and x86-64 4-level. The
 * workloads and what each competitor runs are the cases of
 * src/bench/cases.ts; this is the runner: the machines per mode, the checks,
 * the rounds and the paired ratios.
 */
import { cpus } from "node:os";
import { type BenchCase, benchCases, type BenchMachines, BENCH_WORKLOADS, kernels, V86Rig } from "./cases.js";
import type { WasmEngine } from "../engine/index.js";
import { benchEngine, MODE_TITLES, PAGING_MODES, type PagingMode } from "./machine.js";
import { V86Peer } from "./v86-peer.js";

export interface BenchOptions {
  quick?: boolean;
  rounds?: number;
  /** Workload names to run (default: all). */
  workloads?: string[];
  /** Paging modes to run (default: all of PAGING_MODES). */
  modes?: PagingMode[];
  /** CPU milliseconds per measurement (default 60, quick 15). */
  minMs?: number;
  log?: (line: string) => void;
}

export interface BenchRecord { mode: PagingMode; workload: string; engine: string; median: number; min: number; max: number; hitRate?: number }
/** A ratio is listed under the mode of its numerator (its name says when the denominator runs in another). */
export interface BenchRatio { mode: PagingMode; name: string; median: number; min: number; max: number; target?: number; met?: boolean }
export interface BenchResult {
  machine: { cpu: string; cores: number; node: string; v8: string; platform: string };
  rounds: number;
  records: BenchRecord[];
  ratios: BenchRatio[];
  notes: string[];
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Process CPU seconds (user + system). The machine a benchmark runs on is
 *  often shared, and the same loop can change speed by up to 2x with the
 *  load; CPU time, unlike wall time, does not count the slices other
 *  processes ran in. Each loop here is single-threaded. */
const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Translations per CPU second of one measurement of `c`. */
function measure(c: BenchCase, minMs: number): number {
  c.prepare?.();
  let reps = 0;
  const t0 = cpuSeconds();
  let dt = 0;
  do { c.run(); reps++; dt = cpuSeconds() - t0; } while (dt < minMs / 1000);
  return (reps * c.elements) / dt;
}

/** Pages mapped for walk-random and the sweep's largest working set. */
const BIG = 1 << 20;
/** Pages mapped in the TLB-off engines (walk-hot). */
const HOT_PAGES = 512;
/** Sweep working sets: all in 4level, fewer in the 32-bit modes (the run stays near a minute and a half). */
const SWEEPS = {
  full: { "4level": [16, 256, 4096, 16384, 65536, 262144, BIG], other: [16, 4096, 65536, BIG] },
  quick: { "4level": [16, 4096, 65536, BIG], other: [16, BIG] },
};

/** The engines, probes and v86 peer of one paging mode (v86 in 2level and pae only: it has no long mode). */
async function machines(mode: PagingMode, notes: string[]): Promise<BenchMachines> {
  const wasm = await benchEngine("wasm", BIG, undefined, undefined, mode);
  const ts = await benchEngine("ts", BIG, undefined, undefined, mode);
  const wasmOff = await benchEngine("wasm", HOT_PAGES, { mode: "off" }, undefined, mode);
  const tsOff = await benchEngine("ts", HOT_PAGES, { mode: "off" }, undefined, mode);
  const probe = await kernels((wasm as WasmEngine).memory, undefined, (wasm as WasmEngine).embedding().translatePa);
  let v86: V86Rig | null = null;
  if (mode !== "4level") {
    const peer = await V86Peer.create();
    if (typeof peer === "string") notes.push(`v86 ${mode} rows skipped: ${peer}`);
    else {
      try { v86 = await V86Rig.create(peer, BIG, mode); } catch (e) {
        notes.push(`v86 ${mode} rows skipped: it does not translate these page tables (${(e as Error).message})`);
      }
    }
  }
  return { mode, wasm, ts, wasmOff, tsOff, probe, v86 };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const quick = opts.quick ?? false;
  const rounds = opts.rounds ?? (quick ? 3 : 7);
  const minMs = opts.minMs ?? (quick ? 15 : 60);
  const want = new Set<string>(opts.workloads ?? BENCH_WORKLOADS);
  const modes = PAGING_MODES.filter((m) => (opts.modes ?? PAGING_MODES).includes(m));
  const notes: string[] = [];
  const sweeps = quick ? SWEEPS.quick : SWEEPS.full;

  log(`wasmmu bench${quick ? " --quick" : ""}: setting up (${modes.join(", ")}: engines with 2^20 mapped pages, v86 peer)…`);
  const cases: BenchCase[] = [];
  for (const mode of modes)
    cases.push(...benchCases(await machines(mode, notes), want, mode === "4level" ? sweeps["4level"] : sweeps.other));
  // ── check every competitor's output before timing anything ──
  for (const c of cases) c.check();
  log(`checked ${cases.length} cases; ${rounds} rounds after a warm-up, ≥ ${minMs} ms per measurement`);

  const samples = interleavedRounds(cases, rounds, minMs, log);
  return {
    machine: { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, node: process.version, v8: process.versions.v8, platform: `${process.platform} ${process.arch}` },
    rounds, records: records(cases, samples), ratios: pairedRatios(cases, samples), notes,
  };
}

interface Samples {
  /** Translations per CPU second, one per round. */
  rates: Map<BenchCase, number[]>;
  /** TLB hit rates, one per round (cases with statistics). */
  hitRates: Map<BenchCase, number[]>;
}

/**
 * A warm-up round, then `rounds` rounds over every case, every other round in
 * reverse order, so that no case always runs just after the same neighbour.
 */
function interleavedRounds(cases: BenchCase[], rounds: number, minMs: number, log: (line: string) => void): Samples {
  const rates = new Map<BenchCase, number[]>(cases.map((c) => [c, []]));
  const hitRates = new Map<BenchCase, number[]>(cases.map((c) => [c, []]));
  for (const c of cases) measure(c, minMs / 3);              // warm-up (JIT tiers, caches)
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      (globalThis as { gc?: () => void }).gc?.();
      rates.get(c)!.push(measure(c, minMs));
      if (c.hitRate) hitRates.get(c)!.push(c.hitRate());
    }
    log(`  round ${r + 1}/${rounds} done`);
  }
  return { rates, hitRates };
}

function records(cases: BenchCase[], s: Samples): BenchRecord[] {
  return cases.map((c) => {
    const xs = s.rates.get(c)!;
    const rec: BenchRecord = { mode: c.mode, workload: c.workload, engine: c.engine, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    const hr = s.hitRates.get(c)!;
    if (hr.length) rec.hitRate = median(hr);
    return rec;
  });
}

/**
 * The ratios between competitors, each a over b measured in the same round,
 * with their targets. Like for like with v86 is 2level; 4level is held to
 * this machine's limits (the probes) and to v86 in its own, cheaper mode.
 */
export function pairedRatios(cases: readonly BenchCase[], s: Pick<Samples, "rates">): BenchRatio[] {
  const find = (m: PagingMode, w: string, e: string): BenchCase | undefined => cases.find((c) => c.mode === m && c.workload === w && c.engine === e);
  const ratios: BenchRatio[] = [];
  const ratio = (mode: PagingMode, name: string, a?: BenchCase, b?: BenchCase, target?: number): void => {
    if (!a || !b) return;
    const xa = s.rates.get(a)!, xb = s.rates.get(b)!;
    const rs = xa.map((x, i) => x / xb[i]!);
    const rr: BenchRatio = { mode, name, median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
    if (target !== undefined) { rr.target = target; rr.met = rr.median >= target; }
    ratios.push(rr);
  };
  const v86Targets = { hit: 1.5, call: 1.0, walkHot: 1.5, walkRandom: 1.0 };
  for (const m of PAGING_MODES) {
    const f = (w: string, e: string): BenchCase | undefined => find(m, w, e);
    // v86 targets hold like for like (2level); in PAE the same ratios are for information.
    const t = (x: number): number | undefined => (m === "2level" ? x : undefined);
    if (m === "4level") {
      ratio(m, "hit wasm / limit probe (streaming)", f("hit", "wasm"), f("limit", "wasm-loop"), 0.5);
      ratio(m, "walk-random wasm / walk-loop probe", f("walk-random", "wasm"), f("limit", "walk-loop"), 0.5);
      ratio(m, "walk-random wasm (4-level) / v86 (2-level)", f("walk-random", "wasm"), find("2level", "walk-random", "v86"), 1.0);
      ratio(m, "hit wasm (4-level) / v86 inline probe (2-level)", f("hit", "wasm"), find("2level", "hit", "v86"));
      ratio(m, "walk-hot wasm (4-level) / v86 forced walk (2-level)", f("walk-hot", "wasm"), find("2level", "walk-hot", "v86"));
    } else {
      ratio(m, "hit wasm / v86 inline probe", f("hit", "wasm"), f("hit", "v86"), t(v86Targets.hit));
      ratio(m, "call wasm / v86 (JS loop)", f("call", "wasm"), f("call", "v86"), t(v86Targets.call));
      ratio(m, "walk-hot wasm / v86 forced walk", f("walk-hot", "wasm"), f("walk-hot", "v86"), t(v86Targets.walkHot));
      ratio(m, "walk-random wasm / v86", f("walk-random", "wasm"), f("walk-random", "v86"), t(v86Targets.walkRandom));
      ratio(m, "hit wasm-inline (emulator's wasm) / v86 inline probe", f("hit", "wasm-inline"), f("hit", "v86"));
      ratio(m, "walk-random wasm / walk-loop probe", f("walk-random", "wasm"), f("limit", "walk-loop"));
    }
    ratio(m, "hit wasm / ts", f("hit", "wasm"), f("hit", "ts"), 3.5);
    ratio(m, "walk-hot wasm / ts", f("walk-hot", "wasm"), f("walk-hot", "ts"), 2.5);
    ratio(m, "walk-random wasm / ts", f("walk-random", "wasm"), f("walk-random", "ts"));
    ratio(m, "walk-hot wasm / walk-loop probe", f("walk-hot", "wasm"), f("limit", "walk-loop"));
    ratio(m, "hit wasm-inline / call wasm (translatePa from JS)", f("hit", "wasm-inline"), f("call", "wasm"));
    if (m === "pae") {
      for (const w of ["hit", "walk-hot", "walk-random"])
        ratio(m, `${w} wasm (pae) / wasm (2level)`, f(w, "wasm"), find("2level", w, "wasm"));
    }
  }
  return ratios;
}

/** The result as the tables the command prints: records and ratios under a header per paging mode. */
export function formatBench(r: BenchResult): string {
  const M = (x: number): string => (x / 1e6).toFixed(1).padStart(8);
  const lines: string[] = [];
  lines.push(`machine: ${r.machine.cpu} × ${r.machine.cores}, Node ${r.machine.node} (V8 ${r.machine.v8}), ${r.machine.platform}; ${r.rounds} rounds`);
  lines.push("rates are translations per CPU second (process CPU time), M = 10^6");
  const modes = PAGING_MODES.filter((m) => r.records.some((x) => x.mode === m) || r.ratios.some((q) => q.mode === m));
  for (const m of modes) {
    lines.push("");
    lines.push(`── ${MODE_TITLES[m]} [${m}] ──`);
    lines.push("workload       engine       median M/s    min M/s    max M/s   ns/transl   TLB hit rate");
    for (const x of r.records.filter((y) => y.mode === m)) {
      lines.push(`${x.workload.padEnd(14)} ${x.engine.padEnd(11)} ${M(x.median)}   ${M(x.min)}   ${M(x.max)}   ${(1e9 / x.median).toFixed(2).padStart(9)}   ${x.hitRate === undefined ? "" : `${(100 * x.hitRate).toFixed(1)} %`}`);
    }
  }
  lines.push("");
  lines.push("ratio (paired per round)                               median     min     max   target");
  for (const m of modes) {
    const qs = r.ratios.filter((q) => q.mode === m);
    if (!qs.length) continue;
    lines.push(`[${m}]`);
    for (const q of qs) {
      const t = q.target === undefined ? "" : `≥ ${q.target}  ${q.met ? "met" : `MISSED (${(100 * q.median / q.target).toFixed(0)} % of target)`}`;
      lines.push(`${q.name.padEnd(52)} ${q.median.toFixed(2).padStart(7)} ${q.min.toFixed(2).padStart(7)} ${q.max.toFixed(2).padStart(7)}   ${t}`);
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}

/** JSON form: `{mode, workload, engine, median, min, max}` records plus the ratios (each with its mode). */
export function benchJson(r: BenchResult): unknown {
  return { machine: r.machine, rounds: r.rounds, records: r.records, ratios: r.ratios, notes: r.notes };
}
