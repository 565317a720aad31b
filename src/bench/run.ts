/**
 * `wasmmu bench`: translation throughput of the wasm and TS engines and of
 * the v86 peer, on the same workloads in the same run, interleaved
 * (A B C … A B C …) after a warm-up round, with every competitor's output
 * checked before it is timed (STYLE.md habit 15).
 *
 * Workloads (issue 3):
 *   hit          batched TLB hits, 4 KiB pages, x86-64 (v86: its JIT-style inline probe, 2-level)
 *   call         one translation per call from a JS loop: translatePa (Number in, PA out), translate (full record)
 *   walk-hot     every access walks, page tables hot (wasm/ts: TLB off, 4-level; v86: INVLPG + translate, 2-level)
 *   walk-random  random accesses over 1 GiB of 4 KiB mappings, TLB smaller than the working set
 *   sweep        random accesses over working sets of 16 … 2^20 pages: hit rate and throughput
 *   limit        a wasm loop that reads 8 bytes and writes 8 bytes per element (this machine's limit)
 */
import { cpus } from "node:os";
import benchWasm from "../../build/bench.wasm";
import { Access } from "../abi.js";
import type { Engine } from "../engine/index.js";
import { benchEngine, checkBatch, frameOf, loadBatch, MiB, pageStream, VA_BASE } from "./machine.js";
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

/** One timed thing: `run` performs `elements` translations; `prepare` runs untimed before each measurement. */
interface Case {
  workload: string;
  engine: string;
  elements: number;
  prepare?: () => void;
  run: () => void;
  /** Hit rate of the last measurement (engines with statistics). */
  hitRate?: () => number;
}

interface Kernels {
  limit(src: number, dst: number, n: number): void;
  v86InlineProbe(tlb: number, mem8: number, src: number, dst: number, n: number): number;
  v86ForcedWalks(src: number, dst: number, n: number): void;
  v86Translates(src: number, dst: number, n: number): void;
}

async function kernels(memory: WebAssembly.Memory, v86?: V86Peer): Promise<Kernels> {
  const stub = (): number => 0;
  const imports = {
    env: { memory },
    v86: v86 ? { invlpg: v86.ex.instr32_0F01_7_mem, translate: v86.ex.translate_address_system_read_js } : { invlpg: stub, translate: stub },
  };
  const inst = await WebAssembly.instantiate(await WebAssembly.compile(benchWasm as Uint8Array<ArrayBuffer>), imports);
  return inst.exports as unknown as Kernels;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Process CPU seconds (user + system). The benchmark VM is shared and
 *  oversubscribed (TOOLCHAIN.md: "the same loop can change speed by up to
 *  2x"); CPU time, unlike wall time, does not count the slices other
 *  processes ran in. Each loop here is single-threaded. */
const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Translations per CPU second of one measurement of `c`. */
function measure(c: Case, minMs: number): number {
  c.prepare?.();
  let reps = 0;
  const t0 = cpuSeconds();
  let dt = 0;
  do { c.run(); reps++; dt = cpuSeconds() - t0; } while (dt < minMs / 1000);
  return (reps * c.elements) / dt;
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const quick = opts.quick ?? false;
  const rounds = opts.rounds ?? (quick ? 3 : 7);
  const minMs = opts.minMs ?? (quick ? 15 : 60);
  const want = new Set(opts.workloads ?? ["hit", "call", "walk-hot", "walk-random", "sweep", "limit"]);
  const notes: string[] = [];
  const N = 65536;
  const BIG = 1 << 20;                       // pages mapped for walk-random and sweep
  const HIT_PAGES = 4096, HOT_PAGES = 512, RANDOM_PAGES = 262144;
  const SWEEP = quick ? [16, 4096, 65536, BIG] : [16, 256, 4096, 16384, 65536, 262144, BIG];

  log(`wasmmu bench${quick ? " --quick" : ""}: setting up (engines with 2^20 mapped pages, v86 peer)…`);
  const wasm = await benchEngine("wasm", BIG);
  const ts = await benchEngine("ts", BIG);
  const wasmOff = await benchEngine("wasm", HOT_PAGES, { mode: "off" });
  const tsOff = await benchEngine("ts", HOT_PAGES, { mode: "off" });
  const probe = await kernels((wasm as unknown as { memory: WebAssembly.Memory }).memory);

  const peer = await V86Peer.create();
  let v86: V86Peer | null = null, vk: Kernels | null = null;
  if (typeof peer === "string") notes.push(`v86 rows skipped: ${peer}`);
  else {
    v86 = peer;
    v86.mapPages(8 * MiB, VA_BASE, BIG, frameOf);
    v86.locateTlb(VA_BASE + 0x1000, VA_BASE + 0x5000);
    vk = await kernels(v86.ex.memory, v86);
  }
  // v86's VA and output arrays live in its guest RAM, above its page tables.
  const V86_SRC = 64 * MiB, V86_DST = 72 * MiB;
  const v86Load = (stream: Uint32Array): void => {
    const m = v86!.u32, base = (v86!.mem8 + V86_SRC) >>> 2;
    for (let i = 0; i < stream.length; i++) m[base + i] = (VA_BASE + stream[i]! * 4096 + ((i * 8) & 0xff8)) >>> 0;
  };
  const v86Check = (stream: Uint32Array, who: string): void => {
    const m = v86!.u32, base = (v86!.mem8 + V86_DST) >>> 2;
    for (let i = 0; i < stream.length; i++) {
      const w = frameOf(stream[i]!) + ((i * 8) & 0xff8);
      if (m[base + i] !== w) throw new Error(`${who}: element ${i} gave 0x${m[base + i]!.toString(16)}, expected 0x${w.toString(16)}`);
    }
  };

  const cases: Case[] = [];
  /** Batch cases on a wasmmu engine; the batch is (re)loaded before each measurement. */
  const batchCase = (workload: string, e: Engine, engine: string, stream: Uint32Array, warm: boolean): Case => {
    const n = stream.length;
    let before = 0, acc = 0;
    return {
      workload, engine, elements: n,
      prepare: () => {
        loadBatch(e, stream);
        if (warm) e.translateBatch(n);           // fill the TLB with the working set
        const s = e.stats().l1; before = s.hits; acc = s.accesses;
      },
      run: () => { e.translateBatch(n); },
      hitRate: () => { const s = e.stats().l1; return (s.hits - before) / Math.max(1, s.accesses - acc); },
    };
  };

  if (want.has("hit") || want.has("limit")) {
    const s = pageStream(N, HIT_PAGES, 1);
    if (want.has("hit")) {
      cases.push(batchCase("hit", wasm, "wasm", s, true), batchCase("hit", ts, "ts", s, true));
      if (v86 && vk) {
        const mem8 = v86.mem8;
        cases.push({
          workload: "hit", engine: "v86", elements: N,
          prepare: () => { v86Load(s); vk!.v86Translates(mem8 + V86_SRC, mem8 + V86_DST, N); },
          run: () => { vk!.v86InlineProbe(v86!.tlbData, mem8, mem8 + V86_SRC, mem8 + V86_DST, N); },
        });
      }
    }
    if (want.has("limit")) {
      const b = wasm.batch;
      cases.push({
        workload: "limit", engine: "wasm-loop", elements: N,
        prepare: () => loadBatch(wasm, s),
        run: () => probe.limit(b.va.byteOffset, b.out.byteOffset, N),
      });
    }
  }
  if (want.has("call")) {
    const s = pageStream(4096, HIT_PAGES, 2);
    const vas = Array.from(s, (p, i) => BigInt(VA_BASE + p * 4096 + ((i * 8) & 0xff8)));
    const vas32 = Array.from(s, (p, i) => VA_BASE + p * 4096 + ((i * 8) & 0xff8));
    cases.push({
      workload: "call", engine: "wasm", elements: vas32.length,
      prepare: () => { for (const v of vas32) wasm.translatePa(v, Access.Read); },
      run: () => { for (let i = 0; i < vas32.length; i++) wasm.translatePa(vas32[i]!, Access.Read); },
    });
    const out = { fault: 0, pa: 0, vector: 0, errorCode: 0, addr: 0n, leaf: 0, shift: 0, ptePa: 0 };
    cases.push({
      workload: "call", engine: "wasm-record", elements: vas.length,
      run: () => { for (let i = 0; i < vas.length; i++) wasm.translate(vas[i]!, Access.Read, out); },
    });
    cases.push({
      workload: "call", engine: "ts", elements: vas32.length,
      prepare: () => { for (const v of vas32) ts.translatePa(v, Access.Read); },
      run: () => { for (let i = 0; i < vas32.length; i++) ts.translatePa(vas32[i]!, Access.Read); },
    });
    if (v86) {
      const tr = v86.ex.translate_address_system_read_js;
      cases.push({
        workload: "call", engine: "v86", elements: vas32.length,
        prepare: () => { for (const v of vas32) tr(v); },
        run: () => { for (let i = 0; i < vas32.length; i++) tr(vas32[i]!); },
      });
    }
  }
  if (want.has("walk-hot")) {
    const s = pageStream(N, HOT_PAGES, 3);
    cases.push(batchCase("walk-hot", wasmOff, "wasm", s, false), batchCase("walk-hot", tsOff, "ts", s, false));
    if (vk) {
      const mem8 = v86!.mem8;
      cases.push({
        workload: "walk-hot", engine: "v86", elements: N,
        prepare: () => v86Load(s),
        run: () => vk!.v86ForcedWalks(mem8 + V86_SRC, mem8 + V86_DST, N),
      });
    }
  }
  if (want.has("walk-random")) {
    const s = pageStream(N, RANDOM_PAGES, 4);
    cases.push(batchCase("walk-random", wasm, "wasm", s, false), batchCase("walk-random", ts, "ts", s, false));
    if (vk) {
      const mem8 = v86!.mem8;
      cases.push({
        workload: "walk-random", engine: "v86", elements: N,
        prepare: () => v86Load(s),
        run: () => vk!.v86Translates(mem8 + V86_SRC, mem8 + V86_DST, N),
      });
    }
  }
  if (want.has("sweep")) {
    for (const w of SWEEP) {
      const s = pageStream(N, w, 5 + w);
      const name = `sweep-${w}`;
      cases.push(batchCase(name, wasm, "wasm", s, true), batchCase(name, ts, "ts", s, true));
      if (vk) {
        const mem8 = v86!.mem8;
        cases.push({
          workload: name, engine: "v86", elements: N,
          prepare: () => { v86Load(s); vk!.v86Translates(mem8 + V86_SRC, mem8 + V86_DST, N); },
          run: () => vk!.v86Translates(mem8 + V86_SRC, mem8 + V86_DST, N),
        });
      }
    }
  }

  // ── check every competitor's output before timing anything ──
  for (const c of cases) {
    c.prepare?.();
    // Outputs must come from the checked run itself.
    if (c.engine === "v86") v86!.u32.fill(0, (v86!.mem8 + V86_DST) >>> 2, ((v86!.mem8 + V86_DST) >>> 2) + c.elements);
    else if (c.workload !== "call") (c.workload === "walk-hot" ? (c.engine === "wasm" ? wasmOff : tsOff) : c.engine === "ts" ? ts : wasm).batch.out.fill(0n);
    c.run();
    if (c.engine === "wasm" || c.engine === "ts") {
      const e = c.workload === "walk-hot" ? (c.engine === "wasm" ? wasmOff : tsOff) : c.engine === "wasm" ? wasm : ts;
      if (c.workload !== "call") checkBatch(e, streamOf(e), `${c.workload}/${c.engine}`);
    } else if (c.engine === "v86" && c.workload !== "call") {
      const n = c.elements, m = v86!.u32, src = (v86!.mem8 + V86_SRC) >>> 2;
      const s = new Uint32Array(n);
      for (let i = 0; i < n; i++) s[i] = Math.floor((m[src + i]! - VA_BASE) / 4096);
      v86Check(s, `${c.workload}/v86`);
    } else if (c.workload === "limit") {
      const b = wasm.batch;
      for (let i = 0; i < 8; i++) if (b.out32[2 * i] !== ((b.va32[2 * i]! ^ 5) >>> 0)) throw new Error("limit probe: wrong output");
    }
  }
  if (v86) {
    const r = v86.translate(VA_BASE + 0x3000 + 0x123);
    if (r !== frameOf(3) + 0x123) throw new Error(`v86 call check: 0x${r.toString(16)}`);
  }
  log(`checked ${cases.length} cases; ${rounds} rounds after a warm-up, ≥ ${minMs} ms per measurement`);

  // ── interleaved rounds ──
  const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const rates = new Map<Case, number[]>(cases.map((c) => [c, []]));
  for (const c of cases) measure(c, minMs / 3);              // warm-up (JIT tiers, caches)
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      (globalThis as { gc?: () => void }).gc?.();
      samples.get(c)!.push(measure(c, minMs));
      if (c.hitRate) rates.get(c)!.push(c.hitRate());
    }
    log(`  round ${r + 1}/${rounds} done`);
  }

  const records: BenchRecord[] = cases.map((c) => {
    const xs = samples.get(c)!;
    const rec: BenchRecord = { workload: c.workload, engine: c.engine, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    const hr = rates.get(c)!;
    if (hr.length) rec.hitRate = median(hr);
    return rec;
  });
  const find = (w: string, e: string): Case | undefined => cases.find((c) => c.workload === w && c.engine === e);
  const ratios: BenchRatio[] = [];
  const ratio = (name: string, a?: Case, b?: Case, target?: number): void => {
    if (!a || !b) return;
    const xa = samples.get(a)!, xb = samples.get(b)!;
    const rs = xa.map((x, i) => x / xb[i]!);
    const rr: BenchRatio = { name, median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
    if (target !== undefined) { rr.target = target; rr.met = rr.median >= target; }
    ratios.push(rr);
  };
  ratio("hit wasm / limit probe", find("hit", "wasm"), find("limit", "wasm-loop"), 0.8);
  ratio("hit wasm / v86 inline probe", find("hit", "wasm"), find("hit", "v86"), 2);
  ratio("walk-hot wasm (4-level) / v86 forced walk (2-level)", find("walk-hot", "wasm"), find("walk-hot", "v86"), 3);
  ratio("hit wasm / ts", find("hit", "wasm"), find("hit", "ts"), 3.5);
  ratio("walk-hot wasm / ts", find("walk-hot", "wasm"), find("walk-hot", "ts"), 2.5);
  ratio("walk-random wasm / ts", find("walk-random", "wasm"), find("walk-random", "ts"));
  ratio("walk-random wasm / v86", find("walk-random", "wasm"), find("walk-random", "v86"));
  ratio("call wasm / v86 (JS loop)", find("call", "wasm"), find("call", "v86"));

  return {
    machine: { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, node: process.version, v8: process.versions.v8, platform: `${process.platform} ${process.arch}` },
    rounds, records, ratios, notes,
  };

  function streamOf(e: Engine): Uint32Array {
    const n = e.batch.capacity, s = new Uint32Array(n), v = e.batch.va32;
    for (let i = 0; i < n; i++) s[i] = Math.floor((v[2 * i]! + v[2 * i + 1]! * 2 ** 32 - VA_BASE) / 4096);
    return s;
  }
}

/** The result as the tables the command prints. */
export function formatBench(r: BenchResult): string {
  const M = (x: number): string => (x / 1e6).toFixed(1).padStart(8);
  const lines: string[] = [];
  lines.push(`machine: ${r.machine.cpu} × ${r.machine.cores}, Node ${r.machine.node} (V8 ${r.machine.v8}), ${r.machine.platform}; ${r.rounds} rounds`);
  lines.push("rates are translations per CPU second (process CPU time), M = 10^6");
  lines.push("");
  lines.push("workload       engine      median M/s    min M/s    max M/s   ns/transl   TLB hit rate");
  for (const x of r.records) {
    lines.push(`${x.workload.padEnd(14)} ${x.engine.padEnd(10)} ${M(x.median)}   ${M(x.min)}   ${M(x.max)}   ${(1e9 / x.median).toFixed(2).padStart(9)}   ${x.hitRate === undefined ? "" : `${(100 * x.hitRate).toFixed(1)} %`}`);
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
