// TLB organisations: the research hierarchy (L1 d/i + shared L2), sets ×
// ways with LRU and tree-PLRU replacement, unified page sizes, and the
// configuration's error messages — on both engines.
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { computeLayout } from "../../src/layout.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import type { TlbConfig } from "../../src/tlb/config.js";
import { enterLongMode, MiB, Tables4 } from "./tables.js";

describe.each(ENGINE_NAMES)("TLB organisations (%s engine)", (name) => {
  async function machine(tlb: TlbConfig): Promise<{ e: Engine; t: Tables4 }> {
    const e = await createEngine(name, { physSize: 32 * MiB, tlb });
    const t = new Tables4(e);
    enterLongMode(e, t);
    return { e, t };
  }
  const page = (i: number): bigint => 0x1000_0000n + BigInt(i) * 0x1000n;

  it("research default: an L1 miss that hits the shared L2 refills L1 without a walk", async () => {
    const { e, t } = await machine({ mode: "research" });
    for (let i = 0; i < 300; i++) t.map4k(page(i), 0x100_0000 + i * 0x1000);
    for (let i = 0; i < 300; i++) e.translate(page(i), Access.Read);   // 300 > 64 L1d entries, < 1024 L2
    e.resetStats();
    expect(e.translate(page(0), Access.Read).pa).toBe(0x100_0000);
    let s = e.stats();
    expect(s.l1.read).toEqual({ hits: 0, misses: 1 });
    expect(s.l2.read).toEqual({ hits: 1, misses: 0 });
    expect(s.walks).toBe(0);
    e.translate(page(0), Access.Read);                                   // now in L1 again
    s = e.stats();
    expect(s.l1.read.hits).toBe(1);
  });

  it("research: fetches use the L1 instruction TLB, data accesses the L1 data TLB, both backed by L2", async () => {
    const { e, t } = await machine({ mode: "research" });
    t.map4k(page(1), 0x200_0000);
    e.translate(page(1), Access.Fetch);
    e.resetStats();
    e.translate(page(1), Access.Read);
    const s = e.stats();
    expect(s.l1.read.misses).toBe(1);
    expect(s.l2.read.hits).toBe(1);
    expect(s.walks).toBe(0);
  });

  it("research: a unified L2 keeps 2 MiB pages evicted from L1", async () => {
    const { e, t } = await machine({ mode: "research", l1d: { large: { sets: 1, ways: 2 } }, l1i: {}, l2: { unified: { sets: 16, ways: 4 } } });
    for (let i = 0; i < 8; i++) t.map2m(0x4000_0000n + BigInt(i) * 0x20_0000n, 0x40_0000 * (i + 1));
    for (let i = 0; i < 8; i++) e.translate(0x4000_0000n + BigInt(i) * 0x20_0000n, Access.Read);
    e.resetStats();
    const r = e.translate(0x4000_0000n + 0x1234n, Access.Read);
    expect(r.shift).toBe(21);
    expect(r.pa).toBe(0x40_0000 + 0x1234);
    expect(e.stats().l2.read.hits).toBe(1);
    expect(e.stats().walks).toBe(0);
  });

  it.each([["lru", 1], ["plru", 2]] as const)("replacement %s picks the textbook victim", async (replacement, victim) => {
    // One set of 4 ways: fill A B C D, touch A, then E replaces B (LRU) or C (tree-PLRU).
    const { e, t } = await machine({ mode: "research", replacement, l1d: { "4k": { sets: 1, ways: 4 } }, l1i: {}, l2: null });
    for (let i = 0; i < 5; i++) t.map4k(page(i), 0x300_0000 + i * 0x1000);
    for (const i of [0, 1, 2, 3, 0, 4]) e.translate(page(i), Access.Read);
    e.resetStats();
    for (const i of [0, 3, 4, victim === 1 ? 2 : 1]) e.translate(page(i), Access.Read);
    expect(e.stats().walks).toBe(0);                            // A, D, E and the survivor of B/C hit
    e.translate(page(victim), Access.Read);                      // the victim walks again
    expect(e.stats().walks).toBe(1);
    expect(e.stats().evictions).toBe(1);
  });
});

describe("TLB configuration errors", () => {
  it("names the bad field", () => {
    expect(() => computeLayout({ tlb: { entries4k: 1000 } })).toThrow(/entries4k must be a power of two/);
    expect(() => computeLayout({ tlb: { mode: "research", replacement: "plru", l1d: { "4k": { sets: 4, ways: 3 } } } }))
      .toThrow(/tree-PLRU needs a power-of-two number of ways/);
    expect(() => computeLayout({ tlb: { mode: "research", l2: { unified: { sets: 3, ways: 2 } } } })).toThrow(/sets must be a power of two/);
    expect(() => computeLayout({ tlb: {}, tlbBytes: 4096 })).toThrow(/raise tlbBytes or shrink the TLB/);
    expect(() => computeLayout({ tlb: { mode: "fastest" as "fast" } })).toThrow(/tlb.mode/);
    // Without a tlb config, a small tlbBytes shrinks the fast default (or turns the TLB off).
    expect(computeLayout({ tlbBytes: 64 }).tlb.structures).toHaveLength(0);
    expect(computeLayout({ tlbBytes: 64 * 1024 }).tlb.structures[0]!.sets).toBeLessThan(16384);
  });
});
