// Differential property test: random page tables (garbage entries,
// self-references, entries pointing beyond RAM), random control registers and
// semantics, random accesses — the wasm core and the TS engine must give the
// same results and leave the same memory. 100,000 cases on a dense machine
// plus 10,000 on a sparse one, plus 15,000 with paging-structure caches (and
// no TLB, so that every access walks from the longest cached match).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, Mem, Quirk } from "../../src/abi.js";
import { createEngine, type Engine, newTranslation, type Translation } from "../../src/engine/index.js";
import type { MachineConfig } from "../../src/layout.js";
import { fuzzParams } from "../fuzz.js";

const FRAMES = 16;                      // RAM frames (tables and data)
const HOT = [0, 1, 2, 3, 511];          // indices the generated VAs prefer, so walks go deep

interface Case {
  mode: 0 | 1 | 2 | 3;                  // legacy32, pae, ia32e4, ia32e5
  bits: { wp: boolean; smep: boolean; smap: boolean; pke: boolean; nxe: boolean; pse: boolean; ac: boolean; pge: boolean };
  cpl: 0 | 3;
  pkru: number;
  quirks: number;
  adNone: boolean;
  gpOnUse: boolean;
  cr3: bigint;
  entries: { pa: number; lo: number; hi: number }[];
  accesses: { va: bigint; kind: Access }[];
}

/** Level shifts (top first) and index widths per mode. */
const SHIFTS = [[22, 12], [30, 21, 12], [39, 30, 21, 12], [48, 39, 30, 21, 12]] as const;
const widthOf = (mode: number, level: number): number => (mode === 0 ? 10 : mode === 1 && level === 0 ? 2 : 9);

/** A table frame: mostly in RAM (so walks go on, often back into themselves), sometimes just beyond it, rarely anywhere. */
const frame = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: FRAMES - 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: FRAMES, max: FRAMES + 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xfffff }) });
/** Low 12 bits of an entry: usually present, often writable/user, sometimes PS, the rest random. */
const flags = fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 99 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 9 }))
  .map(([r, p, rw, us, ps]) => {
    let f = r & ~0x87;                                   // P, RW, US, PS chosen below
    if (p < 92) f |= 1;
    if (rw || r & 2) f |= 2;
    if (us || r & 4) f |= 4;
    if (ps < 3) f |= 0x80;
    return f;
  });
const highWord = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(0x8000_0000) },                                // XD
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 15 }).map((k) => (k << 27) >>> 0) }, // protection key
  { weight: 1, arbitrary: fc.constantFrom(0x100, 0x8_0000, 0x10_0000, 0x7ff0_0000) }, // above MAXPHYADDR, 62:52
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
);
const index = (bits: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HOT.map((i) => i & ((1 << bits) - 1))) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: (1 << bits) - 1 }) });

/** Compose a linear address from level indices; sometimes non-canonical or with ignored high bits. */
function composeVa(mode: number, idx: number[], off: number, canon: number, junk: bigint): bigint {
  let va = BigInt(off);
  idx.forEach((v, i) => { va |= BigInt(v) << BigInt(SHIFTS[mode]![i]!); });
  if (mode >= 2) {
    const top = mode === 3 ? 56 : 47;
    if (canon > 0) va = BigInt.asUintN(64, BigInt.asIntN(top + 1, va));
    else va |= junk & ~((1n << BigInt(top)) - 1n);
  } else if (canon === 0) va |= junk & ~0xffff_ffffn;
  return va;
}

/** A path: one entry per level along the walk of one address, each pointing at the next table. */
const pathArb = (mode: number) => fc.record({
  idx: fc.tuple(...SHIFTS[mode]!.map((_, i) => index(widthOf(mode, i)))),
  next: fc.tuple(...SHIFTS[mode]!.map(() => frame)),
  flags: fc.tuple(...SHIFTS[mode]!.map(() => flags)),
  his: fc.tuple(...SHIFTS[mode]!.map(() => highWord)),
  pdpteClean: fc.integer({ min: 0, max: 9 }),
});

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 0, max: 3 }).chain((mode) => fc.record({
  bits: fc.record({ wp: fc.boolean(), smep: fc.boolean(), smap: fc.boolean(), pke: fc.boolean(), nxe: fc.boolean(),
    pse: fc.boolean(), ac: fc.boolean(), pge: fc.boolean() }),
  cpl: fc.constantFrom(0 as const, 3 as const),
  pkru: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff_ffff })),
  quirks: fc.oneof(fc.constantFrom(0, Quirk.All), fc.integer({ min: 0, max: Quirk.All })),
  adNone: fc.boolean(),
  gpOnUse: fc.boolean(),
  cr3Frame: fc.oneof({ weight: 19, arbitrary: fc.integer({ min: 0, max: FRAMES - 1 }) }, { weight: 1, arbitrary: frame }),
  cr3Low: fc.integer({ min: 0, max: 4095 }),
  paths: fc.array(pathArb(mode), { minLength: 1, maxLength: 3 }),
  garbage: fc.array(fc.record({ frame: fc.integer({ min: 0, max: FRAMES - 1 }), slot: index(mode === 0 ? 10 : 9),
    lo: fc.integer({ min: 0, max: 0xffff_ffff }), hi: highWord }), { maxLength: 8 }),
  accesses: fc.array(fc.record({ path: fc.integer({ min: 0, max: 5 }), off: fc.integer({ min: 0, max: 4095 }),
    canon: fc.integer({ min: 0, max: 19 }), junk: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    rnd: fc.tuple(...SHIFTS[mode]!.map((_, i) => index(widthOf(mode, i)))),
    kind: fc.constantFrom(Access.Read, Access.Write, Access.Fetch) }), { minLength: 1, maxLength: 4 }),
}).map((r): Case => {
  const size = mode === 0 ? 4 : 8;
  const cr3 = (BigInt(r.cr3Frame) << 12n) | BigInt(mode === 1 ? r.cr3Low & 0xfe0 : r.cr3Low);
  const entries: Case["entries"] = [];
  for (const p of r.paths) {
    // Table of level 0 is CR3's (PAE: the 32-byte PDPT at CR3[31:5]).
    let table = mode === 1 ? Number(cr3 & 0xffff_ffe0n) : r.cr3Frame * Mem.PAGE_SIZE;
    for (let i = 0; i < p.idx.length; i++) {
      const pa = table + p.idx[i]! * size;
      let lo = ((p.next[i]! << 12) | p.flags[i]!) >>> 0;
      let hi = size === 8 ? p.his[i]! : 0;
      if (mode === 1 && i === 0 && p.pdpteClean > 1) { lo = ((p.next[i]! << 12) | 1) >>> 0; hi = 0; }   // a valid PDPTE
      if (pa < FRAMES * Mem.PAGE_SIZE) entries.push({ pa, lo, hi });
      table = p.next[i]! * Mem.PAGE_SIZE;
    }
  }
  for (const g of r.garbage) entries.push({ pa: g.frame * Mem.PAGE_SIZE + g.slot * size, lo: g.lo, hi: size === 8 ? g.hi : 0 });
  const accesses = r.accesses.map((a) => {
    const p = a.path < 5 ? r.paths[a.path % r.paths.length] : undefined;   // mostly along a built path
    return { va: composeVa(mode, p ? [...p.idx] : [...a.rnd], a.off, a.canon, a.junk), kind: a.kind };
  });
  return { mode: mode as Case["mode"], bits: r.bits, cpl: r.cpl, pkru: r.pkru, quirks: r.quirks, adNone: r.adNone,
    gpOnUse: r.gpOnUse, cr3, entries, accesses };
}));

const CR0_PE = 1n, CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
function regs(c: Case) {
  const b = c.bits;
  let cr4 = (b.pse ? 1n << 4n : 0n) | (b.pge ? 1n << 7n : 0n) | (b.smep ? 1n << 20n : 0n) | (b.smap ? 1n << 21n : 0n) | (b.pke ? 1n << 22n : 0n);
  if (c.mode >= 1) cr4 |= 1n << 5n;
  if (c.mode === 3) cr4 |= 1n << 12n;
  const efer = (b.nxe ? 1n << 11n : 0n) | (c.mode >= 2 ? 1n << 8n : 0n);
  return { cr0: CR0_PG | CR0_PE | (b.wp ? CR0_WP : 0n), cr4, efer, cr3: c.cr3, cpl: c.cpl, pkru: c.pkru,
    eflags: b.ac ? 1n << 18n : 0n, cr2: 0n };
}

const fields = (r: Translation): string =>
  `fault ${r.fault} pa 0x${r.pa.toString(16)} vector ${r.vector} ec 0x${r.errorCode.toString(16)} addr 0x${r.addr.toString(16)} ` +
  `leaf 0x${r.leaf.toString(16)} shift ${r.shift} pte 0x${r.ptePa.toString(16)}`;

const sameResult = (a: Translation, b: Translation): boolean =>
  a.fault === b.fault && a.pa === b.pa && a.vector === b.vector && a.errorCode === b.errorCode && a.addr === b.addr
  && a.leaf === b.leaf && a.shift === b.shift && a.ptePa === b.ptePa;
const rw = newTranslation(), rt = newTranslation();

/** First differing u32 of the two control blocks, or -1. */
function ctlDiff(a: Engine, b: Engine): number {
  const x = new Uint32Array(a.buffer, Mem.CTL_BASE, 1024), y = new Uint32Array(b.buffer, Mem.CTL_BASE, 1024);
  for (let i = 0; i < 1024; i++) if (x[i] !== y[i]) return i * 4;
  return -1;
}

/** First differing byte of the two TLB regions (the PSC entries included), or -1. */
function tlbDiff(a: Engine, b: Engine): number {
  const x = new Uint8Array(a.buffer, a.layout.tlbBase, a.layout.tlb.bytes), y = new Uint8Array(b.buffer, b.layout.tlbBase, b.layout.tlb.bytes);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Run one case on both engines; returns what differed (empty = same). Leaves the tables zero. */
function runCase(w: Engine, t: Engine, c: Case, compareTlb = false): string[] {
  const size = c.mode === 0 ? 4 : 8;
  const pas = c.entries.map((en) => en.pa);
  const diffs: string[] = [];
  try {
    for (const e of [w, t]) {
      c.entries.forEach((en, i) => e.phys.writeEntry(pas[i]!, size === 8 ? (BigInt(en.hi) << 32n) | BigInt(en.lo) : BigInt(en.lo), size));
      e.setSemantics({ quirks: c.quirks, adOnFault: c.adNone ? "none" : "walk", pdpteGp: c.gpOnUse ? "use" : "load" });
    }
    const lw = w.setX86(regs(c)), lt = t.setX86(regs(c));
    if (!sameResult(lw, lt)) diffs.push(`setX86: wasm ${fields(lw)} / ts ${fields(lt)}`);
    for (const a of c.accesses) {
      w.translate(a.va, a.kind, rw); t.translate(a.va, a.kind, rt);
      if (!sameResult(rw, rt)) diffs.push(`translate 0x${a.va.toString(16)} kind ${a.kind}: wasm ${fields(rw)} / ts ${fields(rt)}`);
    }
    for (const pa of pas) {
      const vw = w.phys.readEntry(pa, size), vt = t.phys.readEntry(pa, size);
      if (vw !== vt) diffs.push(`entry 0x${pa.toString(16)}: wasm 0x${vw.toString(16)} / ts 0x${vt.toString(16)}`);
    }
    const at = ctlDiff(w, t);
    if (at >= 0) diffs.push(`control block differs at +0x${at.toString(16)}`);
    const tl = compareTlb ? tlbDiff(w, t) : -1;
    if (tl >= 0) diffs.push(`TLB region differs at +0x${tl.toString(16)}`);
  } finally {
    for (const e of [w, t]) for (const pa of pas) e.phys.writeEntry(pa, 0n, size);
  }
  return diffs;
}

/** No stray writes: after the clean-up the whole RAM is zero again. */
function ramIsZero(e: Engine): boolean {
  const r = new Uint32Array(e.buffer, e.layout.ramBase, FRAMES * 1024);
  for (let i = 0; i < r.length; i++) if (r[i] !== 0) return false;
  return true;
}

async function pair(cfg: MachineConfig): Promise<[Engine, Engine]> {
  return [await createEngine("wasm", cfg), await createEngine("ts", cfg)];
}

describe("wasm and TS engines agree on random page tables (fast-check)", () => {
  it("dense RAM: 100,000 cases, identical results and memory", async () => {
    const [w, t] = await pair({ physSize: FRAMES * Mem.PAGE_SIZE, maxPhyAddr: 40, batchCapacity: 16, tlbBytes: 64 });
    let n = 0;
    fc.assert(fc.property(caseArb, (c) => {
      const d = runCase(w, t, c);
      if (d.length) throw new Error(d.join("\n"));
      if (++n % 1000 === 0 && !(ramIsZero(w) && ramIsZero(t))) throw new Error("a walk wrote outside the listed entries");
    }), fuzzParams({ numRuns: 100_000, seed: 0x5eed }));
    expect(ramIsZero(w) && ramIsZero(t)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(100_000);
  });

  it("sparse memory (MAXPHYADDR 40): 10,000 cases", async () => {
    const [w, t] = await pair({ backing: "sparse", physSize: FRAMES * Mem.PAGE_SIZE, poolBytes: FRAMES * Mem.PAGE_SIZE * 2,
      maxPhyAddr: 40, batchCapacity: 16, tlbBytes: 64 });
    fc.assert(fc.property(caseArb, (c) => {
      const d = runCase(w, t, c);
      if (d.length) throw new Error(d.join("\n"));
    }), fuzzParams({ numRuns: 10_000, seed: 0x5a55e }));
    expect(w.phys.framesBacked).toBe(t.phys.framesBacked);
  });

  it("paging-structure caches without a TLB: 15,000 cases, identical results, memory and cache contents", async () => {
    // Tiny caches (evictions, PCID-hashed direct-mapped sets) over garbage and
    // self-referencing tables; setX86 flushes them between cases.
    const psc = { pml5: { sets: 1, ways: 1 }, pml4: { sets: 2, ways: 1 }, pdpt: { sets: 1, ways: 2 }, pd: { sets: 2, ways: 2 } };
    const [w, t] = await pair({ physSize: FRAMES * Mem.PAGE_SIZE, maxPhyAddr: 40, batchCapacity: 16,
      tlb: { mode: "research", l1d: {}, l1i: {}, l2: null, psc } });
    expect(w.layout.tlb.structures.length).toBe(0);
    fc.assert(fc.property(caseArb, (c) => {
      const d = runCase(w, t, c, true);
      if (d.length) throw new Error(d.join("\n"));
    }), fuzzParams({ numRuns: 15_000, seed: 0x95c }));
    expect(ramIsZero(w) && ramIsZero(t)).toBe(true);
    const s = w.stats().psc;
    expect(s.pd.hits + s.pdpt.hits + s.pml4.hits).toBeGreaterThan(0);
    expect(s.pml5.hits + s.pml5.misses).toBeGreaterThan(0);
    expect(t.stats()).toEqual(w.stats());
  });
});

describe("the steady-state walk agrees with the general walk (fast-check)", () => {
  // The fast walk (assembly/x86/walk-fast.ts and its TS twin) runs over dense
  // RAM only; over sparse memory every walk is the general one (walk.ts). The
  // same tables and accesses on both must give the same results and memory,
  // engine by engine — in every paging mode, 32-bit and PAE included.
  for (const name of ["wasm", "ts"] as const) {
    it(`${name}: dense (fast walk) vs sparse (general walk), 20,000 cases`, async () => {
      const cfg = { physSize: FRAMES * Mem.PAGE_SIZE, maxPhyAddr: 40, batchCapacity: 16, tlbBytes: 64 } as const;
      const dense = await createEngine(name, cfg);
      const sparse = await createEngine(name, { ...cfg, backing: "sparse", poolBytes: FRAMES * Mem.PAGE_SIZE * 2 });
      let ok = 0;
      const ok32 = [0, 0, 0, 0];
      fc.assert(fc.property(caseArb, (c) => {
        const size = c.mode === 0 ? 4 : 8;
        const pas = c.entries.map((en) => en.pa);
        const diffs: string[] = [];
        try {
          for (const e of [dense, sparse]) {
            c.entries.forEach((en, i) => e.phys.writeEntry(pas[i]!, size === 8 ? (BigInt(en.hi) << 32n) | BigInt(en.lo) : BigInt(en.lo), size));
            e.setSemantics({ quirks: c.quirks, adOnFault: c.adNone ? "none" : "walk", pdpteGp: c.gpOnUse ? "use" : "load" });
          }
          const ld = dense.setX86(regs(c)), ls = sparse.setX86(regs(c));
          if (!sameResult(ld, ls)) diffs.push(`setX86: dense ${fields(ld)} / sparse ${fields(ls)}`);
          for (const a of c.accesses) {
            dense.translate(a.va, a.kind, rw); sparse.translate(a.va, a.kind, rt);
            if (!sameResult(rw, rt)) diffs.push(`translate 0x${a.va.toString(16)} kind ${a.kind}: dense ${fields(rw)} / sparse ${fields(rt)}`);
            if (rw.fault === 0) { ok++; ok32[c.mode]!++; }
          }
          for (const pa of pas) {
            const vd = dense.phys.readEntry(pa, size), vs = sparse.phys.readEntry(pa, size);
            if (vd !== vs) diffs.push(`entry 0x${pa.toString(16)}: dense 0x${vd.toString(16)} / sparse 0x${vs.toString(16)}`);
          }
        } finally {
          for (const e of [dense, sparse]) for (const pa of pas) e.phys.writeEntry(pa, 0n, size);
        }
        if (diffs.length) throw new Error(diffs.join("\n"));
      }), fuzzParams({ numRuns: 20_000, seed: 0xfa57 }));
      // Not vacuous: many accesses translated, some in every mode (5-level
      // paths are the longest and the rarest to succeed: about 100 of 20,000).
      expect(ok).toBeGreaterThan(2000);
      for (const n of ok32) expect(n).toBeGreaterThan(25);
      expect(dense.stats()).toEqual(sparse.stats());
    });
  }
});
