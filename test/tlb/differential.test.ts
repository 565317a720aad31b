// Differential and equivalence properties of the TLB.
// 1. wasm ≡ ts: random page tables, random accesses at random CPL/AC/PKRU,
//    entries changed behind the TLB's back, INVLPG, CR3 loads with PCIDs and
//    bit 63, INVPCID, CR4.PGE toggles, full flushes, batches — under the fast
//    TLB and research hierarchies (LRU and tree-PLRU, small enough to evict),
//    with and without paging-structure caches (non-leaf entries changed too):
//    identical results, and identical memory byte for byte (page tables, the
//    TLB region itself and the statistics).
// 2. TLB on ≡ TLB off for software that invalidates as the SDM requires.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, Mem } from "../../src/abi.js";
import { createEngine, type Engine, newTranslation } from "../../src/engine/index.js";
import type { TlbConfig } from "../../src/tlb/config.js";
import { CR4_PCIDE, CR4_PGE, CR4_PKE, CR4_SMAP, CR4_SMEP, enterLongMode, MiB, Tables4 } from "./tables.js";

/** xorshift32 (deterministic from the fast-check seed). */
class Rng {
  constructor(private s: number) { this.s = s >>> 0 || 1; }
  u32(): number { let x = this.s; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; this.s = x >>> 0; return this.s; }
  below(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
}

const CONFIGS: TlbConfig[] = [
  { entries4k: 16, entriesLarge: 4, entries1g: 2 },
  {},
  { mode: "research", l1d: { "4k": { sets: 4, ways: 2 }, large: { sets: 1, ways: 2 } }, l1i: { "4k": { sets: 2, ways: 2 } },
    l2: { unified: { sets: 4, ways: 4 }, "1g": { sets: 1, ways: 2 } } },
  { mode: "research", replacement: "plru", l1d: { "4k": { sets: 2, ways: 4 } }, l1i: { "4k": { sets: 1, ways: 4 } },
    l2: { "4k": { sets: 4, ways: 8 }, large: { sets: 2, ways: 2 } } },
  // Paging-structure caches small enough to evict: direct-mapped (PCID-hashed sets) and LRU …
  { entries4k: 16, entriesLarge: 4, entries1g: 2,
    psc: { pml5: { sets: 1, ways: 1 }, pml4: { sets: 2, ways: 1 }, pdpt: { sets: 1, ways: 2 }, pd: { sets: 2, ways: 1 } } },
  { mode: "research", psc: { pml4: { sets: 1, ways: 2 }, pdpt: { sets: 1, ways: 2 }, pd: { sets: 1, ways: 2 } },
    l1d: { "4k": { sets: 2, ways: 2 } }, l1i: { "4k": { sets: 1, ways: 2 } }, l2: null },
  // … and tree-PLRU with the research defaults.
  { mode: "research", replacement: "plru", psc: true },
];

/** VAs: 48 4 KiB pages in two clusters (user low half, kernel high half), 8 2 MiB pages, 2 1 GiB pages. */
function vaOf(i: number): bigint {
  if (i < 24) return 0x40_0000n + BigInt(i) * 0x1000n;
  if (i < 48) return 0xffff_8000_0000_0000n + BigInt(i) * 0x1000n;
  if (i < 56) return 0x8000_0000n + BigInt(i - 48) * 0x20_0000n;
  return 0x40_0000_0000n + BigInt(i - 56) * 0x4000_0000n;
}
const NVA = 58;

/** Global pages are only allowed where every address space maps them alike
 *  (SDM §4.10.2.4); the on ≡ off property's second address space does not. */
let allowGlobal = true;

function randomEntry(r: Rng, i: number): bigint {
  let v = i >= 56 ? BigInt(r.below(4)) << 30n : i >= 48 ? BigInt(8 + r.below(8)) << 21n : BigInt(0x100 + r.below(256)) << 12n;
  if (!r.chance(0.08)) v |= 1n;                    // P
  if (r.chance(0.7)) v |= 2n;                      // RW
  if (i < 24 || i >= 48 ? r.chance(0.85) : r.chance(0.1)) v |= 4n;   // US
  if (r.chance(0.3)) v |= 0x20n;                   // A
  if (r.chance(0.3)) v |= 0x40n;                   // D
  if (r.chance(0.2) && allowGlobal) v |= 0x100n;  // G
  if (r.chance(0.15)) v |= 1n << 63n;              // XD
  if (r.chance(0.2)) v |= BigInt(r.below(16)) << 59n;   // protection key
  return v;
}

/** eps: the leaf entries of the VAs; nonLeaf: the PML4Es, PDPTEs and PDEs above them. */
interface Machine { e: Engine; t: Tables4; eps: number[]; nonLeaf: number[]; second: Tables4 }

async function machine(name: "wasm" | "ts", tlb: TlbConfig, seed: number): Promise<Machine> {
  const e = await createEngine(name, { physSize: 16 * MiB, tlb, batchCapacity: 64 });
  const t = new Tables4(e, 4 * MiB), second = new Tables4(e, 6 * MiB);
  const r = new Rng(seed);
  const eps: number[] = [];
  for (let i = 0; i < NVA; i++) {
    const va = vaOf(i), v = randomEntry(r, i);
    const ep = i >= 56 ? t.map1g(va, 0, 0n) : i >= 48 ? t.map2m(va, 0, 0n) : t.map4k(va, 0, 0n);
    e.phys.write64(ep, i >= 48 ? v | 0x80n : v);
    eps.push(ep);
    // A second address space (PCID 2) sharing the large pages and half the small ones.
    if (i < 48 && i % 2 === 0) second.map4k(va, 0x300_000 + i * 0x1000);
  }
  const nonLeaf = [...new Set([0, 24, 48, 56].flatMap((i) => [2, 3, 4].filter((l) => l > (i >= 56 ? 3 : i >= 48 ? 2 : 1))
    .map((l) => t.entryPa(vaOf(i), l))))];
  enterLongMode(e, t, CR4_PCIDE | CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PKE, 1);
  return { e, t, eps, nonLeaf, second };
}

/** One random operation; returns a string describing everything observable. */
function step(m: Machine, r: Rng, invalidateProperly: boolean): string {
  // A cached translation reports the D bit it was filled with (an L1i entry
  // filled before a store set D stays clean), so on ≡ off compares leaf & ~D.
  const leafMask = invalidateProperly ? ~8 : ~0;
  const { e, t, eps } = m;
  const k = r.below(100);
  if (k < 55) {
    const va = vaOf(r.below(NVA)) + BigInt(r.below(4096) & ~7);
    const x = e.translate(va, r.below(3) as Access, newTranslation());
    return `t ${x.fault} ${x.pa} ${x.vector} ${x.errorCode} ${x.addr} ${x.leaf & leafMask} ${x.shift} ${x.ptePa}`;
  }
  if (k < 65) {
    const i = r.below(NVA), v = randomEntry(r, i);
    e.phys.write64(eps[i]!, i >= 48 ? v | 0x80n : v);
    if (invalidateProperly) e.invlpg(vaOf(i));
    return "w";
  }
  if (k < 70) {
    const i = r.below(NVA);
    e.phys.write64(eps[i]!, e.phys.read64(eps[i]!) & ~0x60n);     // clear A and D (ptep_test_and_clear_young)
    if (invalidateProperly) e.invlpg(vaOf(i));
    return "ad";
  }
  if (k < 75) {
    const n = 1 + r.below(40);
    for (let i = 0; i < n; i++) {
      e.batch.va[i] = vaOf(r.below(NVA)) + BigInt(r.below(4096));
      e.batch.kind[i] = r.below(3);
    }
    const f = e.translateBatch(n);
    return `b ${f} ${Array.from(e.batch.out.subarray(0, n)).join(",")}`;
  }
  if (k < 77) {
    // A non-leaf entry changes (permissions, XD, A): stale in the paging-structure
    // caches and the TLB until invalidated; software that invalidates properly
    // flushes every page below it (INVLPG also drops the PCID's PSC entries).
    const ep = m.nonLeaf[r.below(m.nonLeaf.length)]!;
    const bit = [2n, 4n, 0x20n, 1n << 63n][r.below(4)]!;
    e.phys.write64(ep, e.phys.read64(ep) ^ bit);
    if (invalidateProperly) for (let i = 0; i < NVA; i++) e.invlpg(vaOf(i));
    return "nl";
  }
  if (k < 80) { e.invlpg(vaOf(r.below(NVA))); return "i"; }
  if (k < 84) {
    const pcid = 1 + r.below(2), keep = !invalidateProperly && r.chance(0.5);
    const root = pcid === 1 ? t.pml4 : m.second.pml4;
    e.writeCr3((keep ? 1n << 63n : 0n) | BigInt(root) | BigInt(pcid));
    return "cr3";
  }
  if (k < 87) { e.invpcid(r.below(4) as 0 | 1 | 2 | 3, 1 + r.below(2), vaOf(r.below(NVA))); return "invpcid"; }
  if (k < 90) { e.setCpl(r.chance(0.5) ? 3 : 0); return "cpl"; }
  if (k < 92) { e.setEflags(r.chance(0.5) ? 1n << 18n : 0n); return "ac"; }
  if (k < 94) { e.setPkru(r.chance(0.7) ? 0 : r.u32()); return "pkru"; }
  if (k < 96) { const c = e.x86().cr4; e.writeCr4(c ^ CR4_PGE); e.writeCr4(c); return "pge"; }
  e.flushTlb(r.chance(0.5));
  return "flush";
}

describe("TLB differential", () => {
  it("wasm ≡ ts: results, page tables, TLB contents and statistics agree byte for byte", async () => {
    let ops = 0, pscHits = 0;
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(...CONFIGS.keys()), async (seed, ci) => {
      const a = await machine("wasm", CONFIGS[ci]!, seed), b = await machine("ts", CONFIGS[ci]!, seed);
      const ra = new Rng(seed ^ 0x5a5a), rb = new Rng(seed ^ 0x5a5a);
      for (let i = 0; i < 400; i++) {
        const x = step(a, ra, false), y = step(b, rb, false);
        expect(y, `op ${i}`).toBe(x);
        ops++;
      }
      // Everything from the control block up (the shared layout: registers,
      // statistics, TLB, batch, RAM). Below it is each core's private static
      // data and stack (the wasm hit loops' mask table), not part of the ABI.
      const shared = (e: Engine): Uint8Array => new Uint8Array(e.buffer, Mem.CTL_BASE);
      expect(Buffer.compare(shared(a.e), shared(b.e))).toBe(0);
      expect(b.e.stats()).toEqual(a.e.stats());
      const p = a.e.stats().psc;
      pscHits += p.pml4.hits + p.pdpt.hits + p.pd.hits;
    }), { numRuns: 40 });
    expect(ops).toBe(40 * 400);
    expect(pscHits).toBeGreaterThan(0);     // the caches were exercised, not just laid out
  });

  it("TLB on ≡ TLB off when software invalidates after every change (results and memory)", async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(...CONFIGS.keys()), fc.constantFrom("wasm", "ts" as const),
      async (seed, ci, name) => {
        allowGlobal = false;
        const on = await machine(name, CONFIGS[ci]!, seed), off = await machine(name, { mode: "off" }, seed);
        const r1 = new Rng(seed ^ 0x77), r2 = new Rng(seed ^ 0x77);
        for (let i = 0; i < 300; i++) expect(step(on, r1, true), `op ${i}`).toBe(step(off, r2, true));
        const ram = (m: Machine): Uint8Array => new Uint8Array(m.e.buffer, m.e.layout.ramBase, 16 * MiB);
        expect(Buffer.compare(ram(on), ram(off))).toBe(0);
        expect(on.e.stats().walks).toBeLessThanOrEqual(off.e.stats().walks);
        allowGlobal = true;
      }), { numRuns: 40 });
  });
});
