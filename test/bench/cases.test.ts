// Each benchmark case checks its own output before it is timed: a wrong
// translation (a PTE pointing at another frame) stops the benchmark with the
// case and the element named.
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { batchCase, type BenchMachines, callCases, inlineCase, kernels } from "../../src/bench/cases.js";
import { benchEngine, frameOf, pageStream, VA_BASE } from "../../src/bench/machine.js";
import type { Engine, WasmEngine } from "../../src/engine/index.js";

const PAGES = 512;
/** Point the PTE of `page` at the frame after its own (P RW US A D, as src/bench/machine.ts writes them). */
function redirect(e: Engine, page: number): void {
  const t = e.probe(BigInt(VA_BASE + page * 4096), Access.Read);
  e.phys.write64(t.ptePa, BigInt(frameOf(page) + 4096) | 0x67n);
}

describe("benchmark case checks", () => {
  it("a batch case passes on the mapping and names the first wrong element", async () => {
    const e = await benchEngine("ts", PAGES, { mode: "off" }, 4096);
    const s = pageStream(4096, PAGES, 7);
    const c = batchCase("walk-hot", "ts", e, s, false);
    c.check();
    redirect(e, s[10]!);
    const first = s.indexOf(s[10]!);
    expect(() => c.check()).toThrow(`walk-hot/ts: element ${first} translated to 0x0_${(frameOf(s[10]!) + 4096 + ((first * 8) & 0xff8)).toString(16)}`);
  });

  it("the call cases check every translation, on each engine", async () => {
    const wasm = await benchEngine("wasm", PAGES, { mode: "off" }, 4096);
    const ts = await benchEngine("ts", PAGES, { mode: "off" }, 4096);
    const m: BenchMachines = { wasm, ts, wasmOff: wasm, tsOff: ts, probe: null as never, v86: null };
    const s = pageStream(256, PAGES, 9);
    const cases = callCases(m, s);
    expect(cases.map((c) => c.engine)).toEqual(["wasm", "wasm-record", "ts"]);
    for (const c of cases) c.check();
    redirect(wasm, s[3]!);
    redirect(ts, s[3]!);
    const first = s.indexOf(s[3]!);
    for (const c of cases) expect(() => c.check()).toThrow(new RegExp(`^call/${c.engine}: element ${first} translated to`));
  });

  it("the emulator-loop case checks hits and imported misses, and names the first wrong element", async () => {
    const wasm = await benchEngine("wasm", PAGES, undefined, 4096) as WasmEngine;
    const probe = await kernels(wasm.memory, undefined, wasm.embedding().translatePa);
    const s = pageStream(4096, PAGES, 11);
    const warm = inlineCase("hit", wasm, probe, s, true), cold = inlineCase("hit", wasm, probe, s, false);
    warm.check();
    expect(warm.hitRate!()).toBe(1);
    wasm.flushTlb(true);
    cold.check();
    expect(cold.hitRate!()).toBeLessThan(1);
    redirect(wasm, s[10]!);
    wasm.flushTlb(true);
    const first = s.indexOf(s[10]!);
    expect(() => cold.check()).toThrow(new RegExp(`^hit/wasm-inline: element ${first} translated to`));
  });
});
