// Each benchmark case checks its own output before it is timed: a wrong
// translation (a PTE pointing at another frame) or a wrong output stops the
// benchmark with the case and the element named — in every paging mode.
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { batchCase, type BenchMachines, benchCases, BENCH_WORKLOADS, callCases, inlineCase, type Kernels, kernels, limitCase,
  streams, V86Rig } from "../../src/bench/cases.js";
import { benchEngine, frameOf, PAGING_MODES, type PagingMode, pageStream, VA_BASE } from "../../src/bench/machine.js";
import { V86Peer } from "../../src/bench/v86-peer.js";
import type { Engine, WasmEngine } from "../../src/engine/index.js";

const PAGES = 512;
/** Point the PTE of `page` at the frame after its own (P RW US A D, as src/bench/machine.ts writes them). */
function redirect(e: Engine, page: number, mode: PagingMode = "4level"): void {
  const t = e.probe(BigInt(VA_BASE + page * 4096), Access.Read);
  if (mode === "2level") e.phys.write32(t.ptePa, (frameOf(page) + 4096) | 0x67);
  else e.phys.write64(t.ptePa, BigInt(frameOf(page) + 4096) | 0x67n);
}

/** The same in v86's guest RAM, found by walking its tables (2-level: 4-byte entries; PAE: PDPT → PD → PT, 8-byte). */
function redirectV86(rig: V86Rig, page: number): void {
  const m = rig.peer.u32, g = rig.peer.mem8 >>> 2, va = VA_BASE + page * 4096;
  const cr3 = rig.mode === "pae" ? 32 << 20 : 8 << 20;   // where V86Rig.create puts the root table
  const rd = (pa: number): number => m[g + (pa >>> 2)]!;
  let pte: number;
  if (rig.mode === "2level") pte = (rd(cr3 + (va >>> 22) * 4) & ~0xfff) + ((va >>> 12) & 1023) * 4;
  else {
    const pd = rd(cr3 + Math.floor(va / 2 ** 30) * 8) & ~0xfff;
    pte = (rd(pd + ((va >>> 21) & 511) * 8) & ~0xfff) + ((va >>> 12) & 511) * 8;
  }
  m[g + (pte >>> 2)] = (frameOf(page) + 4096) | 0x67;
  rig.peer.ex.full_clear_tlb();
}

describe("benchmark case checks", () => {
  it("a batch case passes on the mapping and names the first wrong element", async () => {
    const e = await benchEngine("ts", PAGES, { mode: "off" }, 4096);
    const s = pageStream(4096, PAGES, 7);
    const c = batchCase("4level", "walk-hot", "ts", e, s, false);
    c.check();
    redirect(e, s[10]!);
    const first = s.indexOf(s[10]!);
    expect(() => c.check()).toThrow(`walk-hot/ts (4level): element ${first} translated to 0x0_${(frameOf(s[10]!) + 4096 + ((first * 8) & 0xff8)).toString(16)}`);
  });

  it("the call cases check every translation, on each engine", async () => {
    const wasm = await benchEngine("wasm", PAGES, { mode: "off" }, 4096);
    const ts = await benchEngine("ts", PAGES, { mode: "off" }, 4096);
    const m: BenchMachines = { mode: "4level", wasm, ts, wasmOff: wasm, tsOff: ts, probe: null as never, v86: null };
    const s = pageStream(256, PAGES, 9);
    const cases = callCases(m, s);
    expect(cases.map((c) => c.engine)).toEqual(["wasm", "wasm-record", "ts"]);
    for (const c of cases) c.check();
    redirect(wasm, s[3]!);
    redirect(ts, s[3]!);
    const first = s.indexOf(s[3]!);
    for (const c of cases) expect(() => c.check()).toThrow(new RegExp(`^call/${c.engine} \\(4level\\): element ${first} translated to`));
  });

  it("the emulator-loop case checks hits and imported misses, and names the first wrong element", async () => {
    const wasm = await benchEngine("wasm", PAGES, undefined, 4096) as WasmEngine;
    const probe = await kernels(wasm.memory, undefined, wasm.embedding().translatePa);
    const s = pageStream(4096, PAGES, 11);
    const warm = inlineCase("4level", "hit", wasm, probe, s, true), cold = inlineCase("4level", "hit", wasm, probe, s, false);
    warm.check();
    expect(warm.hitRate!()).toBe(1);
    wasm.flushTlb(true);
    cold.check();
    expect(cold.hitRate!()).toBeLessThan(1);
    redirect(wasm, s[10]!);
    wasm.flushTlb(true);
    const first = s.indexOf(s[10]!);
    expect(() => cold.check()).toThrow(new RegExp(`^hit/wasm-inline \\(4level\\): element ${first} translated to`));
  });

  it("the streaming limit probe checks every element of its output", async () => {
    const wasm = await benchEngine("wasm", PAGES, undefined, 4096) as WasmEngine;
    const probe = await kernels(wasm.memory);
    const s = pageStream(4096, PAGES, 13);
    limitCase(wasm, probe, s).check();
    // A loop that gets the last element wrong (e.g. stops one short).
    const short: Kernels = { ...probe, limit: (src, dst, n) => probe.limit(src, dst, n - 1) };
    expect(() => limitCase(wasm, short, s).check()).toThrow(/^limit\/wasm-loop \(4level\): element 4095 gave 0x0_0, expected the VA XOR 5$/);
  });
});

// Every case of every mode, over machines with the first GiB mapped (walk-random's
// working set): all pass; then pages 0 … 4095 (which every stream visits) point
// one frame further in every engine and in v86, and every case's check names itself.
describe.each(PAGING_MODES)("every case of %s catches a wrong mapping", (mode) => {
  it("passes on the mapping, throws naming the case after a remap", async () => {
    const pages = 262144;
    const wasm = await benchEngine("wasm", pages, undefined, 65536, mode);
    const ts = await benchEngine("ts", pages, undefined, 65536, mode);
    const wasmOff = await benchEngine("wasm", 512, { mode: "off" }, 65536, mode);
    const tsOff = await benchEngine("ts", 512, { mode: "off" }, 65536, mode);
    const probe = await kernels((wasm as WasmEngine).memory, undefined, (wasm as WasmEngine).embedding().translatePa);
    let v86: V86Rig | null = null;
    if (mode !== "4level") {
      const peer = await V86Peer.create();
      if (typeof peer === "string") throw new Error(peer);   // v86 is a devDependency: it must be there
      v86 = await V86Rig.create(peer, pages, mode);
    }
    const cases = benchCases({ mode, wasm, ts, wasmOff, tsOff, probe, v86 }, new Set(BENCH_WORKLOADS), [16]);
    const names = cases.map((c) => `${c.workload}/${c.engine}`);
    const v86Rows = mode === "4level" ? [] : ["hit/v86", "call/v86", "walk-hot/v86", "walk-random/v86", "sweep-16/v86"];
    expect(names.sort()).toEqual([
      "hit/wasm", "hit/ts", "hit/wasm-inline", ...(mode === "4level" ? ["limit/wasm-loop"] : []), "limit/walk-loop",
      "call/wasm", "call/wasm-record", "call/ts", "walk-hot/wasm", "walk-hot/ts", "walk-random/wasm", "walk-random/ts",
      "sweep-16/wasm", "sweep-16/ts", ...v86Rows,
    ].sort());
    for (const c of cases) expect(c.mode).toBe(mode);
    for (const c of cases) c.check();

    for (const e of [wasm, ts]) { for (let p = 0; p < 4096; p++) redirect(e, p, mode); e.flushTlb(true); }
    for (const e of [wasmOff, tsOff]) for (let p = 0; p < 512; p++) redirect(e, p, mode);
    if (v86) for (let p = 0; p < 4096; p++) redirectV86(v86, p);
    // The streaming limit probe does not translate: a remap leaves it right.
    for (const c of cases) {
      if (c.engine === "wasm-loop") { c.check(); continue; }
      expect(() => c.check(), `${c.workload}/${c.engine}`).toThrow(new RegExp(`^${c.workload}/${c.engine} \\(${mode}\\): element \\d+ `));
    }
  });
});

describe("machines per paging mode", () => {
  // Pages at the edges of each level's tables and across the 4 GiB, plus a random sample.
  const sample = [0, 1, 511, 512, 1023, 1024, 262143, 262144, 524287, 524288, 786432, 1048575, ...pageStream(64, 1 << 20, 17)];
  it.each(PAGING_MODES)("%s: both engines translate 2^20 pages to frameOf(i)", async (mode) => {
    for (const name of ["wasm", "ts"] as const) {
      const e = await benchEngine(name, 1 << 20, undefined, 4096, mode);
      expect(e.x86().cr3).toBe(BigInt(32 << 20));
      for (const p of sample) {
        const t = e.translate(BigInt(VA_BASE + p * 4096 + 0x9a8), Access.Read);
        expect(t.fault, `${name} page ${p}`).toBe(0);
        expect(t.pa, `${name} page ${p}`).toBe(16 * 2 ** 20 + (p % 4096) * 4096 + 0x9a8);
      }
      // The mode is the one asked for: 2-level leaves are 4-byte entries in 4 KiB tables of 1024,
      // PAE and IA-32e leaves 8-byte entries in tables of 512.
      const pte = e.probe(BigInt(VA_BASE + 1023 * 4096), Access.Read).ptePa;
      expect(pte % 4096).toBe(mode === "2level" ? 1023 * 4 : 511 * 8);
    }
  });
});

describe("the minimal walk probes", () => {
  it.each(PAGING_MODES)("%s: walk-loop outputs frameOf for the walk-random stream", async (mode) => {
    const wasm = await benchEngine("wasm", 262144, undefined, 65536, mode) as WasmEngine;
    const probe = await kernels(wasm.memory);
    const s = streams.walkRandom();
    const c = benchCases({ mode, wasm, ts: wasm, wasmOff: wasm, tsOff: wasm, probe, v86: null }, new Set(["limit"]), [])
      .find((x) => x.engine === "walk-loop")!;
    c.check();
    // Independently of checkBatch: PA = frameOf(page) + the offset loadBatch gave element i.
    const out = wasm.batch.out32;
    for (let i = 0; i < s.length; i++) {
      if (out[2 * i] !== frameOf(s[i]!) + ((i * 8) & 0xff8) || out[2 * i + 1] !== 0) throw new Error(`element ${i}: 0x${out[2 * i]!.toString(16)}`);
    }
  });
});
