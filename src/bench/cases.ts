/**
 * The benchmark's cases: one competitor on one workload each. A case carries
 * what it runs on (a wasmmu engine or the v86 peer), its timed body, and its
 * check — one run whose output is compared with the mapping the machines were
 * built with (src/bench/machine.ts), done before anything is timed. The
 * per-element loops call the engines' methods directly (no closure per
 * translation), so that they measure the translation and not the harness.
 *
 * Every case runs in one paging mode (src/bench/machine.ts: 2level, pae,
 * 4level); the v86 peer runs in 2level and pae (it has no long mode).
 *
 * Workloads:
 *   hit          batched TLB hits, 4 KiB pages (v86: its JIT-style inline probe;
 *                wasm-inline: an emulator's own wasm loop inlining our hit test, translatePa imported for misses)
 *   call         one translation per call from a JS loop: translatePa (Number in, PA out), translate (full record)
 *   walk-hot     every access walks, page tables hot (wasm/ts: TLB off; v86: INVLPG + translate)
 *   walk-random  random accesses over 1 GiB of 4 KiB mappings, TLB smaller than the working set
 *   sweep        random accesses over working sets of 16 … 2^20 pages: hit rate and throughput
 *   limit        what this machine can do: wasm-loop reads 8 bytes and writes 8 bytes per element
 *                (4level only, it does not depend on the mode); walk-loop walks the walk-random
 *                stream over the wasm engine's own tables with the mode's dependent loads and nothing else
 */
import benchWasm from "../../build/bench.wasm";
import { Access } from "../abi.js";
import { EMBED } from "../embed.js";
import type { Engine } from "../engine/index.js";
import { checkBatch, frameOf, loadBatch, MiB, pageStream, type PagingMode, VA_BASE } from "./machine.js";
import type { V86Peer } from "./v86-peer.js";

export const BENCH_WORKLOADS = ["hit", "call", "walk-hot", "walk-random", "sweep", "limit"] as const;

export interface BenchCase {
  readonly mode: PagingMode;
  readonly workload: string;
  readonly engine: string;
  /** Translations performed by one run(). */
  readonly elements: number;
  /** Untimed, before each measurement: load the inputs, warm what the workload has warm. */
  prepare?(): void;
  /** The timed body. */
  run(): void;
  /** Prepare, run once, and compare the output with the mapping; throws naming the case. */
  check(): void;
  /** TLB hit rate of the last measurement (engines with statistics). */
  hitRate?(): number;
}

/** The probe kernels of bench/kernels/probes.ts (bundled as build/bench.wasm). */
export interface Kernels {
  limit(src: number, dst: number, n: number): void;
  v86InlineProbe(tlb: number, mem8: number, src: number, dst: number, n: number): number;
  v86ForcedWalks(src: number, dst: number, n: number): void;
  v86Translates(src: number, dst: number, n: number): void;
  inlineReplay(src: number, dst: number, n: number, mask: bigint): number;
  walk4(ram: number, cr3: bigint, src: number, dst: number, n: number): void;
  walkPae(ram: number, cr3: number, src: number, dst: number, n: number): void;
  walk2(ram: number, cr3: number, src: number, dst: number, n: number): void;
}

/** The probe kernels over `memory`; the v86 imports call into the peer when there is one, the
 *  wasmmu import into the core's translatePa (engine.embedding()) when it is given. */
export async function kernels(memory: WebAssembly.Memory, v86?: V86Peer, translatePa?: (va: number, access: number) => number): Promise<Kernels> {
  const stub = (): number => 0;
  const imports = {
    env: { memory },
    wasmmu: { translatePa: translatePa ?? ((): number => -1) },
    v86: v86 ? { invlpg: v86.ex.instr32_0F01_7_mem, translate: v86.ex.translate_address_system_read_js } : { invlpg: stub, translate: stub },
  };
  const inst = await WebAssembly.instantiate(await WebAssembly.compile(benchWasm as Uint8Array<ArrayBuffer>), imports);
  return inst.exports as unknown as Kernels;
}

/** What the cases of one paging mode run on. */
export interface BenchMachines {
  mode: PagingMode;
  /** Engines with every benchmark page mapped, and with the TLB off (walk-hot). */
  wasm: Engine;
  ts: Engine;
  wasmOff: Engine;
  tsOff: Engine;
  /** The limit and walk probes, over the wasm engine's memory. */
  probe: Kernels;
  /** The v86 peer with its pages mapped in this mode, or null (not installed, or 4level). */
  v86: V86Rig | null;
}

/** Working sets in pages. */
const HIT_PAGES = 4096, HOT_PAGES = 512, RANDOM_PAGES = 262144;
/** Elements per batch case. */
const N = 65536;

/** The page stream of each workload (deterministic seeds: every run times the same accesses). */
export const streams = {
  hit: (): Uint32Array => pageStream(N, HIT_PAGES, 1),
  call: (): Uint32Array => pageStream(4096, HIT_PAGES, 2),
  walkHot: (): Uint32Array => pageStream(N, HOT_PAGES, 3),
  walkRandom: (): Uint32Array => pageStream(N, RANDOM_PAGES, 4),
  sweep: (pages: number): Uint32Array => pageStream(N, pages, 5 + pages),
};

/** The VA of element `i` of a stream: its page plus a varying offset (as loadBatch makes it). */
const vaOf = (stream: Uint32Array, i: number): number => VA_BASE + stream[i]! * 4096 + ((i * 8) & 0xff8);
const paOf = (stream: Uint32Array, i: number): number => frameOf(stream[i]!) + ((i * 8) & 0xff8);

/** A wasmmu engine translating its batch; the batch is (re)loaded before each measurement. */
export function batchCase(mode: PagingMode, workload: string, engine: string, e: Engine, stream: Uint32Array, warm: boolean): BenchCase {
  const n = stream.length;
  let before = 0, acc = 0;
  const c: BenchCase = {
    mode, workload, engine, elements: n,
    prepare: () => {
      loadBatch(e, stream);
      if (warm) e.translateBatch(n);           // fill the TLB with the working set
      const s = e.stats().l1; before = s.hits; acc = s.accesses;
    },
    run: () => { e.translateBatch(n); },
    check: () => {
      c.prepare!();
      e.batch.out.fill(0n);                    // the output must come from the checked run itself
      c.run();
      checkBatch(e, stream, caseName(c));
    },
    hitRate: () => { const s = e.stats().l1; return (s.hits - before) / Math.max(1, s.accesses - acc); },
  };
  return c;
}

/** How errors name a case: workload/engine (mode). */
export const caseName = (c: { mode: PagingMode; workload: string; engine: string }): string => `${c.workload}/${c.engine} (${c.mode})`;

/** A wasm loop that only reads and writes the batch buffers: the memory bandwidth a translation loop cannot beat. */
export function limitCase(wasm: Engine, probe: Kernels, stream: Uint32Array): BenchCase {
  const b = wasm.batch, n = stream.length;
  const c: BenchCase = {
    mode: "4level", workload: "limit", engine: "wasm-loop", elements: n,
    prepare: () => loadBatch(wasm, stream),
    run: () => probe.limit(b.va.byteOffset, b.out.byteOffset, n),
    check: () => {
      c.prepare!();
      b.out.fill(0n);
      c.run();
      for (let i = 0; i < n; i++) {
        if (b.out32[2 * i] !== ((b.va32[2 * i]! ^ 5) >>> 0) || b.out32[2 * i + 1] !== b.va32[2 * i + 1])
          throw new Error(`${caseName(c)}: element ${i} gave 0x${b.out32[2 * i + 1]!.toString(16)}_${b.out32[2 * i]!.toString(16)}, expected the VA XOR 5`);
      }
    },
  };
  return c;
}

/**
 * The minimal walk of `mode` (bench/kernels/probes.ts walk2 / walkPae / walk4)
 * over the wasm engine's own tables, on the stream `stream` (walk-random's):
 * the dependent loads of a walk and nothing else, checked against the mapping.
 */
export function walkLoopCase(mode: PagingMode, wasm: Engine, probe: Kernels, stream: Uint32Array): BenchCase {
  const b = wasm.batch, n = stream.length, ram = wasm.layout.ramBase;
  const cr3 = wasm.x86().cr3;   // the engine's own root table
  const run = mode === "4level" ? () => probe.walk4(ram, cr3, b.va.byteOffset, b.out.byteOffset, n)
    : mode === "pae" ? () => probe.walkPae(ram, Number(cr3), b.va.byteOffset, b.out.byteOffset, n)
    : () => probe.walk2(ram, Number(cr3), b.va.byteOffset, b.out.byteOffset, n);
  const c: BenchCase = {
    mode, workload: "limit", engine: "walk-loop", elements: n,
    prepare: () => loadBatch(wasm, stream),
    run,
    check: () => {
      c.prepare!();
      b.out.fill(0n);
      c.run();
      checkBatch(wasm, stream, caseName(c));
    },
  };
  return c;
}

/** Check the physical addresses `pa(i)` of a call case against the mapping. */
function checkCalls(who: string, stream: Uint32Array, pa: (va: number) => number): void {
  for (let i = 0; i < stream.length; i++) {
    const got = pa(vaOf(stream, i)), want = paOf(stream, i);
    if (got !== want) throw new Error(`${who}: element ${i} translated to 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
  }
}

/**
 * An emulator's own wasm loop over the wasm engine's memory (bench/kernels/probes.ts
 * inlineReplay, as examples/emulator/ does it): the batch's VAs in, PAs out, hits
 * inline, misses through the core's imported translatePa. `warm` as batchCase.
 */
export function inlineCase(mode: PagingMode, workload: string, wasm: Engine, probe: Kernels, stream: Uint32Array, warm: boolean): BenchCase {
  if (wasm.layout.tlb.mode !== "fast") throw new Error("inlineCase: the inline hit test needs the fast TLB organisation");
  const b = wasm.batch, n = stream.length;
  const mask = BigInt(EMBED.mask.READ_SUP);   // the bench machines run at CPL 0, EFLAGS.AC clear
  let misses = 0;
  const c: BenchCase = {
    mode, workload, engine: "wasm-inline", elements: n,
    prepare: () => { loadBatch(wasm, stream); if (warm) wasm.translateBatch(n); },
    run: () => { misses = probe.inlineReplay(b.va.byteOffset, b.out.byteOffset, n, mask); },
    check: () => {
      c.prepare!();
      b.out.fill(0n);
      c.run();
      checkBatch(wasm, stream, caseName(c));
    },
    hitRate: () => 1 - misses / n,
  };
  return c;
}

/** One translation per call from a JS loop, on each engine (and v86's own entry point). */
export function callCases(m: BenchMachines, stream: Uint32Array): BenchCase[] {
  const { mode, wasm, ts } = m;
  const vas = Array.from(stream, (_, i) => BigInt(vaOf(stream, i)));
  const vas32 = Array.from(stream, (_, i) => vaOf(stream, i));
  const out = { fault: 0, pa: 0, vector: 0, errorCode: 0, addr: 0n, leaf: 0, shift: 0, ptePa: 0 };
  const cases: BenchCase[] = [];
  const wasmCall: BenchCase = {
    mode, workload: "call", engine: "wasm", elements: vas32.length,
    prepare: () => { for (const v of vas32) wasm.translatePa(v, Access.Read); },
    run: () => { for (let i = 0; i < vas32.length; i++) wasm.translatePa(vas32[i]!, Access.Read); },
    check: () => { wasmCall.prepare!(); wasmCall.run(); checkCalls(caseName(wasmCall), stream, (va) => wasm.translatePa(va, Access.Read)); },
  };
  const wasmRecord: BenchCase = {
    mode, workload: "call", engine: "wasm-record", elements: vas.length,
    run: () => { for (let i = 0; i < vas.length; i++) wasm.translate(vas[i]!, Access.Read, out); },
    check: () => { wasmRecord.run(); checkCalls(caseName(wasmRecord), stream, (va) => wasm.translate(BigInt(va), Access.Read, out).pa); },
  };
  const tsCall: BenchCase = {
    mode, workload: "call", engine: "ts", elements: vas32.length,
    prepare: () => { for (const v of vas32) ts.translatePa(v, Access.Read); },
    run: () => { for (let i = 0; i < vas32.length; i++) ts.translatePa(vas32[i]!, Access.Read); },
    check: () => { tsCall.prepare!(); tsCall.run(); checkCalls(caseName(tsCall), stream, (va) => ts.translatePa(va, Access.Read)); },
  };
  cases.push(wasmCall, wasmRecord, tsCall);
  if (m.v86) {
    const tr = m.v86.peer.ex.translate_address_system_read_js;
    const v86Call: BenchCase = {
      mode, workload: "call", engine: "v86", elements: vas32.length,
      prepare: () => { for (const v of vas32) tr(v); },
      run: () => { for (let i = 0; i < vas32.length; i++) tr(vas32[i]!); },
      check: () => { v86Call.prepare!(); v86Call.run(); checkCalls(caseName(v86Call), stream, (va) => tr(va) >>> 0); },
    };
    cases.push(v86Call);
  }
  return cases;
}

/**
 * The v86 peer as the cases use it: its pages mapped like the engines'
 * (src/bench/machine.ts) in 2level or pae, the probe kernels over its memory,
 * and the VA and output arrays in its guest RAM, above its page tables.
 */
export class V86Rig {
  static readonly SRC = 64 * MiB;
  static readonly DST = 72 * MiB;
  readonly src: number;
  readonly dst: number;

  private constructor(readonly mode: PagingMode, readonly peer: V86Peer, readonly k: Kernels) {
    this.src = peer.mem8 + V86Rig.SRC;
    this.dst = peer.mem8 + V86Rig.DST;
  }

  /** Map `pages` pages (2-level tables from 8 MiB, PAE tables from 32 MiB), find v86's TLB, check one translation through it. */
  static async create(peer: V86Peer, pages: number, mode: "2level" | "pae" = "2level"): Promise<V86Rig> {
    if (mode === "pae") peer.mapPagesPae(32 * MiB, VA_BASE, pages, frameOf);
    else peer.mapPages(8 * MiB, VA_BASE, pages, frameOf);
    peer.locateTlb(VA_BASE + 0x1000, VA_BASE + 0x5000);
    const r = peer.translate(VA_BASE + 0x3000 + 0x123);
    if (r !== frameOf(3) + 0x123) throw new Error(`v86 call check (${mode}): 0x${r.toString(16)}`);
    return new V86Rig(mode, peer, await kernels(peer.ex.memory, peer));
  }

  /** Write the stream's VAs into the source array. */
  load(stream: Uint32Array): void {
    const m = this.peer.u32, base = this.src >>> 2;
    for (let i = 0; i < stream.length; i++) m[base + i] = vaOf(stream, i) >>> 0;
  }

  clearOutput(n: number): void {
    this.peer.u32.fill(0, this.dst >>> 2, (this.dst >>> 2) + n);
  }

  /** Compare the output array with the mapping. */
  verify(stream: Uint32Array, who: string): void {
    const m = this.peer.u32, base = this.dst >>> 2;
    for (let i = 0; i < stream.length; i++) {
      const w = paOf(stream, i);
      if (m[base + i] !== w) throw new Error(`${who}: element ${i} gave 0x${m[base + i]!.toString(16)}, expected 0x${w.toString(16)}`);
    }
  }
}

/**
 * A v86 case over a stream: `warm` translates it once before each
 * measurement (its TLB then holds the working set), `body` is the timed loop.
 */
export function v86Case(rig: V86Rig, workload: string, stream: Uint32Array, warm: boolean,
  body: (rig: V86Rig, n: number) => void): BenchCase {
  const n = stream.length;
  const c: BenchCase = {
    mode: rig.mode, workload, engine: "v86", elements: n,
    prepare: () => { rig.load(stream); if (warm) rig.k.v86Translates(rig.src, rig.dst, n); },
    run: () => body(rig, n),
    check: () => {
      c.prepare!();
      rig.clearOutput(n);
      c.run();
      rig.verify(stream, caseName(c));
    },
  };
  return c;
}

/** v86's JIT-style inline TLB probe, its forced walks (INVLPG + translate) and its translate entry point. */
export const v86Bodies = {
  inlineProbe: (r: V86Rig, n: number): void => { r.k.v86InlineProbe(r.peer.tlbData, r.peer.mem8, r.src, r.dst, n); },
  forcedWalks: (r: V86Rig, n: number): void => r.k.v86ForcedWalks(r.src, r.dst, n),
  translates: (r: V86Rig, n: number): void => r.k.v86Translates(r.src, r.dst, n),
};

/** The cases of the chosen workloads in one paging mode, in the order they are reported. */
export function benchCases(m: BenchMachines, want: ReadonlySet<string>, sweep: readonly number[]): BenchCase[] {
  const { mode, wasm, ts, wasmOff, tsOff, v86 } = m;
  const cases: BenchCase[] = [];
  if (want.has("hit") || (want.has("limit") && mode === "4level")) {
    const s = streams.hit();
    if (want.has("hit")) {
      cases.push(batchCase(mode, "hit", "wasm", wasm, s, true), batchCase(mode, "hit", "ts", ts, s, true));
      cases.push(inlineCase(mode, "hit", wasm, m.probe, s, true));
      if (v86) cases.push(v86Case(v86, "hit", s, true, v86Bodies.inlineProbe));
    }
    if (want.has("limit") && mode === "4level") cases.push(limitCase(wasm, m.probe, s));
  }
  if (want.has("limit")) cases.push(walkLoopCase(mode, wasm, m.probe, streams.walkRandom()));
  if (want.has("call")) cases.push(...callCases(m, streams.call()));
  if (want.has("walk-hot")) {
    const s = streams.walkHot();
    cases.push(batchCase(mode, "walk-hot", "wasm", wasmOff, s, false), batchCase(mode, "walk-hot", "ts", tsOff, s, false));
    if (v86) cases.push(v86Case(v86, "walk-hot", s, false, v86Bodies.forcedWalks));
  }
  if (want.has("walk-random")) {
    const s = streams.walkRandom();
    cases.push(batchCase(mode, "walk-random", "wasm", wasm, s, false), batchCase(mode, "walk-random", "ts", ts, s, false));
    if (v86) cases.push(v86Case(v86, "walk-random", s, false, v86Bodies.translates));
  }
  if (want.has("sweep")) {
    for (const w of sweep) {
      const s = streams.sweep(w);
      const name = `sweep-${w}`;
      cases.push(batchCase(mode, name, "wasm", wasm, s, true), batchCase(mode, name, "ts", ts, s, true));
      if (v86) cases.push(v86Case(v86, name, s, true, v86Bodies.translates));
    }
  }
  return cases;
}
