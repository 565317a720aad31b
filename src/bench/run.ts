/**
 * `wasmmu bench`: translation throughput of the wasm and TS engines and of
 * the v86 peer, on the same workloads in the same run, interleaved
 * (A B C … A B C …) after a warm-up round, with every competitor's output
 * checked before it is timed. The workloads and what each competitor runs
 * are the cases of src/bench/cases.ts; this is the runner: the machines, the
 * checks, the rounds and the paired ratios.
 */
import { cpus } from "node:os";
import { type BenchCase, benchCases, BENCH_WORKLOADS, kernels, V86Rig } from "./cases.js";
import type { WasmEngine } from "../engine/index.js";
import { benchEngine } from "./machine.js";
import { V86Peer } from "./v86-peer.js";

export interface BenchOptions {
  quick?: boolean;
  rounds?: number;
  /** Workload names to run (default: all). */
  workloads?: string[];
  /** CPU milliseconds per measurement (default 60, quick 15). */
  minMs?: number;
  log?: (line: string) => void;
}

export interface BenchRecord { workload: string; engine: string; median: number; min: number; max: number; hitRate?: number }
export interface BenchRatio { name: string; median: number; min: number; max: number; target?: number; met?: boolean }
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

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const quick = opts.quick ?? false;
  const rounds = opts.rounds ?? (quick ? 3 : 7);
  const minMs = opts.minMs ?? (quick ? 15 : 60);
  const want = new Set<string>(opts.workloads ?? BENCH_WORKLOADS);
  const notes: string[] = [];
  const sweep = quick ? [16, 4096, 65536, BIG] : [16, 256, 4096, 16384, 65536, 262144, BIG];

  log(`wasmmu bench${quick ? " --quick" : ""}: setting up (engines with 2^20 mapped pages, v86 peer)…`);
  const wasm = await benchEngine("wasm", BIG);
  const ts = await benchEngine("ts", BIG);
  const wasmOff = await benchEngine("wasm", HOT_PAGES, { mode: "off" });
  const tsOff = await benchEngine("ts", HOT_PAGES, { mode: "off" });
  const probe = await kernels((wasm as WasmEngine).memory, undefined, (wasm as WasmEngine).embedding().translatePa);
  const peer = await V86Peer.create();
  let v86: V86Rig | null = null;
  if (typeof peer === "string") notes.push(`v86 rows skipped: ${peer}`);
  else v86 = await V86Rig.create(peer, BIG);

  const cases = benchCases({ wasm, ts, wasmOff, tsOff, probe, v86 }, want, sweep);
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
    const rec: BenchRecord = { workload: c.workload, engine: c.engine, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    const hr = s.hitRates.get(c)!;
    if (hr.length) rec.hitRate = median(hr);
    return rec;
  });
}

/** The ratios between competitors, each a over b measured in the same round, with their targets. */
function pairedRatios(cases: BenchCase[], s: Samples): BenchRatio[] {
  const find = (w: string, e: string): BenchCase | undefined => cases.find((c) => c.workload === w && c.engine === e);
  const ratios: BenchRatio[] = [];
  const ratio = (name: string, a?: BenchCase, b?: BenchCase, target?: number): void => {
    if (!a || !b) return;
    const xa = s.rates.get(a)!, xb = s.rates.get(b)!;
    const rs = xa.map((x, i) => x / xb[i]!);
    const rr: BenchRatio = { name, median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
    if (target !== undefined) { rr.target = target; rr.met = rr.median >= target; }
    ratios.push(rr);
  };
  ratio("hit wasm / limit probe", find("hit", "wasm"), find("limit", "wasm-loop"), 0.8);
  ratio("hit wasm / v86 inline probe", find("hit", "wasm"), find("hit", "v86"), 2);
  ratio("hit wasm-inline (emulator's wasm) / v86 inline probe", find("hit", "wasm-inline"), find("hit", "v86"));
  ratio("hit wasm-inline / call wasm (translatePa from JS)", find("hit", "wasm-inline"), find("call", "wasm"));
  ratio("walk-hot wasm (4-level) / v86 forced walk (2-level)", find("walk-hot", "wasm"), find("walk-hot", "v86"), 3);
  ratio("hit wasm / ts", find("hit", "wasm"), find("hit", "ts"), 3.5);
  ratio("walk-hot wasm / ts", find("walk-hot", "wasm"), find("walk-hot", "ts"), 2.5);
  ratio("walk-random wasm / ts", find("walk-random", "wasm"), find("walk-random", "ts"));
  ratio("walk-random wasm / v86", find("walk-random", "wasm"), find("walk-random", "v86"));
  ratio("call wasm / v86 (JS loop)", find("call", "wasm"), find("call", "v86"));
  return ratios;
}

/** The result as the tables the command prints. */
export function formatBench(r: BenchResult): string {
  const M = (x: number): string => (x / 1e6).toFixed(1).padStart(8);
  const lines: string[] = [];
  lines.push(`machine: ${r.machine.cpu} × ${r.machine.cores}, Node ${r.machine.node} (V8 ${r.machine.v8}), ${r.machine.platform}; ${r.rounds} rounds`);
  lines.push("rates are translations per CPU second (process CPU time), M = 10^6");
  lines.push("");
  lines.push("workload       engine       median M/s    min M/s    max M/s   ns/transl   TLB hit rate");
  for (const x of r.records) {
    lines.push(`${x.workload.padEnd(14)} ${x.engine.padEnd(11)} ${M(x.median)}   ${M(x.min)}   ${M(x.max)}   ${(1e9 / x.median).toFixed(2).padStart(9)}   ${x.hitRate === undefined ? "" : `${(100 * x.hitRate).toFixed(1)} %`}`);
  }
  lines.push("");
  lines.push("ratio (paired per round)                               median     min     max   target");
  for (const q of r.ratios) {
    const t = q.target === undefined ? "" : `≥ ${q.target}  ${q.met ? "met" : `MISSED (${(100 * q.median / q.target).toFixed(0)} % of target)`}`;
    lines.push(`${q.name.padEnd(52)} ${q.median.toFixed(2).padStart(7)} ${q.min.toFixed(2).padStart(7)} ${q.max.toFixed(2).padStart(7)}   ${t}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}

/** JSON form: `{workload, engine, median, min, max}` records plus the ratios. */
export function benchJson(r: BenchResult): unknown {
  return { machine: r.machine, rounds: r.rounds, records: r.records, ratios: r.ratios, notes: r.notes };
}
