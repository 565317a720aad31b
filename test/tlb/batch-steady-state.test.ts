// The batch loop's steady state — runs of structure-0 misses answered by the
// fast walk and filled in one loop (assembly/translate.ts missRun; walkRun
// with no TLB) — against
// the TS engine, whose batch loop takes every miss through the general
// lookup, walk and fill. Machines in 32-bit, PAE and 4-level paging with a
// TLB much smaller than the working set; random entries changed behind the
// TLB (A or D clear, not present, read-only, supervisor, XD) so that walks
// leave the steady state at random points; random kinds (unknown kind bytes
// included), CPL and CR0.WP. Outputs, statistics, the TLB region and the
// page tables must be identical byte for byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, Mem } from "../../src/abi.js";
import { benchEngine, PAGING_MODES, VA_BASE } from "../../src/bench/machine.js";
import type { Engine } from "../../src/engine/index.js";
import { fuzzParams } from "../fuzz.js";

const PAGES = 2048;
/** A TLB much smaller than the working set (missRun), and none at all (walkRun). */
const TLBS = [{ entries4k: 64, entriesLarge: 4, entries1g: 2 }, { mode: "off" as const }];

/** Entry flags a perturbation writes: [bits to clear, bits to set]. */
const CHANGES: [number, number][] = [
  [0x20, 0],        // A clear: the walk sets it (general walk)
  [0x40, 0],        // D clear: a write sets it
  [0x01, 0],        // not present: #PF
  [0x02, 0],        // read-only
  [0x04, 0],        // supervisor
  [0, 0x100],       // global (kept across flushes of non-global entries with CR4.PGE)
  [0, 0],           // unchanged (rewritten as it was)
];

const caseArb = fc.record({
  changes: fc.array(fc.record({ page: fc.integer({ min: 0, max: PAGES - 1 }), change: fc.integer({ min: 0, max: CHANGES.length - 1 }),
    xd: fc.boolean() }), { maxLength: 24 }),
  /** Page-table pages (the 2 or 4 MiB each PDE maps) turned into one large page. */
  large: fc.array(fc.integer({ min: 0, max: PAGES - 1 }), { maxLength: 2 }),
  cpl: fc.constantFrom(0, 3),
  wp: fc.boolean(),
  pge: fc.boolean(),
  /** Drop global entries too at the start of the case (else they stay, filled and listed, from the last one). */
  flushGlobal: fc.boolean(),
  batches: fc.array(fc.record({
    n: fc.integer({ min: 1, max: 512 }),
    seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
    hot: fc.integer({ min: 1, max: PAGES + 64 }),        // pages the batch draws from (some beyond the mapping)
    kinds: fc.constantFrom("read", "mixed", "odd"),
    range: fc.boolean(),                                 // translateRange (stop at the first fault) instead
  }), { minLength: 1, maxLength: 4 }),
});

function fill(e: Engine, n: number, seed: number, hot: number, kinds: string): void {
  let x = seed >>> 0 || 1;
  const next = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>>= 0); };
  for (let i = 0; i < n; i++) {
    const va = VA_BASE + (next() % hot) * 4096 + (next() & 0xff8);
    e.batch.va32[2 * i] = va >>> 0; e.batch.va32[2 * i + 1] = 0;
    const r = next() % 16;
    e.batch.kind[i] = kinds === "read" ? Access.Read : kinds === "mixed" ? r % 3 : r < 12 ? r % 3 : 3 + (r * 37) % 250;
  }
}

const bytes = (e: Engine, off: number, len: number): Uint8Array => new Uint8Array(e.buffer, off, len);
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe("batch steady state (missRun) ≡ the general miss path (TS engine)", () => {
  for (const mode of PAGING_MODES) for (const tlb of TLBS) {
    const off = tlb.mode === "off";
    it(`${mode}: random batches ${off ? "with no TLB" : "over a working set 32× the TLB"}, entries changed behind it`, async () => {
      const w = await benchEngine("wasm", PAGES, tlb, 512, mode);
      const t = await benchEngine("ts", PAGES, tlb, 512, mode);
      const size = mode === "2level" ? 4 : 8;
      // The leaf entry of each page, found by a walk without side effects.
      const ptePa = Array.from({ length: PAGES }, (_, p) => w.probe(BigInt(VA_BASE + p * 4096), Access.Read).ptePa);
      const original = ptePa.map((pa) => w.phys.readEntry(pa, size));
      // The PDE of each page: the entry that points at its page table.
      const pdePa = (p: number): number => {
        const va = VA_BASE + p * 4096, cr3 = Number(w.x86().cr3);
        if (mode === "2level") return (cr3 & ~0xfff) + (va >>> 22) * 4;
        let table: number;
        if (mode === "pae") table = Number(w.phys.readEntry((cr3 & ~0x1f) + Math.floor(va / 2 ** 30) * 8, 8) & ~0xfffn);
        else {
          const pdpt = Number(w.phys.readEntry((cr3 & ~0xfff) + Math.floor(va / 2 ** 39) % 512 * 8, 8) & 0xf_ffff_ffff_f000n);
          table = Number(w.phys.readEntry(pdpt + Math.floor(va / 2 ** 30) % 512 * 8, 8) & 0xf_ffff_ffff_f000n);
        }
        return table + Math.floor(va / 2 ** 21) % 512 * 8;
      };
      const pdes = [...new Set(Array.from({ length: PAGES }, (_, p) => pdePa(p)))];
      const pdeOriginal = pdes.map((pa) => w.phys.readEntry(pa, size));
      let walks = 0, hits = 0;
      fc.assert(fc.property(caseArb, (c) => {
        for (const e of [w, t]) {
          e.resetStats();
          e.flushTlb(c.flushGlobal);
          for (let p = 0; p < PAGES; p++) e.phys.writeEntry(ptePa[p]!, original[p]!, size);
          pdes.forEach((pa, i) => e.phys.writeEntry(pa, pdeOriginal[i]!, size));
          // A large leaf (PS; CR4.PSE is set in 32-bit paging) over RAM at 16 MiB: P RW US A D.
          for (const p of c.large) e.phys.writeEntry(pdePa(p), BigInt(16 << 20) | 0xe7n, size);
          for (const ch of c.changes) {
            const [clear, set] = CHANGES[ch.change]!;
            let v = (original[ch.page]! & ~BigInt(clear)) | BigInt(set);
            if (ch.xd && size === 8) v |= 1n << 63n;
            e.phys.writeEntry(ptePa[ch.page]!, v, size);
          }
          const s = e.x86();
          const cr0 = c.wp ? s.cr0 | 0x1_0000n : s.cr0 & ~0x1_0000n;
          const cr4 = c.pge ? s.cr4 | 0x80n : s.cr4 & ~0x80n;
          const r = e.setX86({ ...s, cpl: c.cpl, cr0, cr4 });
          if (r.fault) throw new Error(`setX86: ${JSON.stringify(r)}`);
        }
        for (const b of c.batches) {
          fill(w, b.n, b.seed, b.hot, b.kinds);
          fill(t, b.n, b.seed, b.hot, b.kinds);
          w.batch.out.fill(0n); t.batch.out.fill(0n);
          const rw = b.range ? w.translateRange(0, b.n) : w.translateBatch(b.n);
          const rt = b.range ? t.translateRange(0, b.n) : t.translateBatch(b.n);
          expect(rw).toBe(rt);
          const o = firstDiff(bytes(w, w.batch.out.byteOffset, b.n * 8), bytes(t, t.batch.out.byteOffset, b.n * 8));
          if (o >= 0) throw new Error(`${mode}: batch output differs at element ${o >> 3}`);
          expect(w.stats()).toEqual(t.stats());
        }
        const tl = firstDiff(bytes(w, w.layout.tlbBase, w.layout.tlb.bytes), bytes(t, t.layout.tlbBase, t.layout.tlb.bytes));
        if (tl >= 0) throw new Error(`${mode}: TLB region differs at +0x${tl.toString(16)}`);
        for (let p = 0; p < PAGES; p++) {
          const a = w.phys.readEntry(ptePa[p]!, size), b = t.phys.readEntry(ptePa[p]!, size);
          if (a !== b) throw new Error(`${mode}: entry of page ${p} differs: wasm 0x${a.toString(16)}, ts 0x${b.toString(16)}`);
        }
        const s = w.stats();
        walks += s.walks; hits += s.l1.hits;
      }), fuzzParams({ numRuns: 150, seed: 0x57ead }));
      // Not vacuous: both the walks and the hits of the steady state happened.
      expect(walks).toBeGreaterThan(10_000);
      if (off) expect(hits).toBe(0); else expect(hits).toBeGreaterThan(1_000);
    }, 120_000);
  }
});
