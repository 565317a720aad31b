// Differential test: random s390 DAT tables (garbage entries, wrong table
// types, lengths and offsets out of range, pointers beyond RAM, large-frame
// and protection bits, ESA/390 tables), random contexts and random accesses
// give identical results, identical memory and identical storage keys in the
// wasm and the TS engine. ≥ 100,000 accesses per run of the suite.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, Ctl, Mem, S390Cr0, S390Opt } from "../../src/abi.js";
import { createEngine, newTranslation, type EngineOptions } from "../../src/engine/index.js";
import type { S390Engine } from "./tables.js";

const KiB = 1024;
const RAM = 512 * KiB;
/** RAM areas: one 64 KiB area of tables per level (3..0), page tables, data. */
const AREA = [0x3_0000, 0x2_0000, 0x1_0000, 0x0_0000];      // by level
const PT_AREA = 0x4_0000, DATA_AREA = 0x5_0000;
const ACCESSES_PER_RUN = 420;
const RUNS = 250;

/** xorshift128+ over two u32 halves (deterministic from the fast-check seed). */
class Rng {
  private a: number; private b: number;
  constructor(seed: number) { this.a = (seed ^ 0x9e3779b9) >>> 0 || 1; this.b = (seed * 2654435761) >>> 0 || 2; }
  u32(): number {
    let x = this.a; const y = this.b;
    this.a = y; x ^= x << 11; x ^= x >>> 8; this.b = (x ^ y ^ (y >>> 19)) >>> 0;
    return this.b;
  }
  below(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
}

// Entries are generated as u32 halves (BigInt per entry would dominate the test's time).
let oHi = 0, oLo = 0;
/** An origin into (oHi, oLo): mostly inside `area` (+64 KiB), sometimes anywhere (incl. far beyond RAM). */
function origin(r: Rng, area: number, align: number): void {
  if (r.chance(0.85)) { oHi = 0; oLo = Math.floor((area + r.below(0x1_0000)) / align) * align; }
  else if (r.chance(0.5)) { oHi = 0; oLo = r.below(RAM * 2) & ~(align - 1); }
  else { oHi = r.u32(); oLo = (r.u32() & ~(align - 1)) >>> 0; }
}

function writeCrst(dv: DataView, o: number, r: Rng, lvl: number): void {
  if (r.chance(0.04)) { dv.setUint32(o, r.u32(), false); dv.setUint32(o + 4, r.u32(), false); return; }  // garbage
  origin(r, lvl > 0 ? AREA[lvl - 1]! : PT_AREA, lvl > 0 ? 4096 : 2048);
  if (lvl <= 1 && r.chance(0.15)) origin(r, r.chance(0.8) ? DATA_AREA : 0, 1 << 20);   // FC frame (0 or beyond)
  let low = (r.chance(0.9) ? lvl : r.below(4)) << 2;                       // TT
  if (r.chance(0.08)) low |= 0x20;                                         // I
  if (r.chance(0.2)) low |= 0x200;                                         // P
  if (r.chance(0.15)) low |= 0x400;                                        // FC
  if (r.chance(0.2)) low |= 0x100;                                         // IEP
  if (r.chance(0.08)) low |= 0x10;                                         // CS / CR
  low |= (r.chance(0.8) ? 0 : r.below(4)) << 6;                            // TF
  low |= r.chance(0.8) ? 3 : r.below(4);                                   // TL
  dv.setUint32(o, oHi, false);
  dv.setUint32(o + 4, (oLo | low | (r.u32() & 0xf000)) >>> 0, false);      // + software bits
}

function writePte(dv: DataView, o: number, r: Rng): void {
  if (r.chance(0.04)) { dv.setUint32(o, r.u32(), false); dv.setUint32(o + 4, r.u32(), false); return; }
  origin(r, r.chance(0.9) ? DATA_AREA : 0, 4096);
  if (r.chance(0.05)) { oHi = 0; oLo = r.below(2) * 0x1000; }               // low frames (prefix, LAP)
  let low = r.u32() & 0xff;                                                // software bits
  if (r.chance(0.1)) low |= 0x400;
  if (r.chance(0.04)) low |= 0x800;
  if (r.chance(0.25)) low |= 0x200;
  if (r.chance(0.25)) low |= 0x100;
  dv.setUint32(o, oHi, false);
  dv.setUint32(o + 4, (oLo | low) >>> 0, false);
}

/** ESA/390 entries (4 bytes). */
const ste31 = (r: Rng): number => r.chance(0.04) ? r.u32() :
  ((PT_AREA + r.below(0x1_0000)) & 0x7fff_ffc0) | (r.chance(0.1) ? 0x20 : 0) | (r.chance(0.1) ? 0x10 : 0) |
  (r.chance(0.7) ? 0xf : r.below(16)) | (r.chance(0.03) ? 0x8000_0000 : 0);
const pte31 = (r: Rng): number => r.chance(0.04) ? r.u32() :
  ((DATA_AREA + r.below(RAM - DATA_AREA + 0x4000)) & 0x7fff_f000) | (r.chance(0.1) ? 0x400 : 0) |
  (r.chance(0.25) ? 0x200 : 0) | (r.chance(0.04) ? 0x900 : 0) | (r.u32() & 0xff & ~0x100);

interface Run { seed: number; esa: boolean; sparse: boolean }

function buildImage(r: Rng, esa: boolean): Uint8Array {
  const img = new Uint8Array(RAM);
  const dv = new DataView(img.buffer);
  if (esa) {
    for (let o = 0; o < PT_AREA; o += 4) dv.setUint32(o, ste31(r), false);
    for (let o = PT_AREA; o < DATA_AREA; o += 4) dv.setUint32(o, pte31(r), false);
  } else {
    for (let lvl = 3; lvl >= 0; lvl--) for (let o = AREA[lvl]!; o < AREA[lvl]! + 0x1_0000; o += 8) writeCrst(dv, o, r, lvl);
    for (let o = PT_AREA; o < DATA_AREA; o += 8) writePte(dv, o, r);
  }
  return img;                         // the data area stays zero: translation never reads it
}

function randomAsce(r: Rng, esa: boolean): bigint {
  if (esa) return BigInt((r.below(0x1_0000) & 0x7fff_f000) | (r.chance(0.3) ? 0x100 : 0) | (r.chance(0.7) ? 0x7f : r.below(128)));
  if (r.chance(0.05)) return r.chance(0.5) ? 0x20n : r.u64();                      // real space / garbage
  const dt = r.below(4);
  origin(r, AREA[dt]!, 4096);
  return (BigInt(oHi) << 32n) | BigInt((oLo | (dt << 2) | (r.chance(0.8) ? 3 : r.below(4)) | (r.chance(0.3) ? 0x100 : 0)) >>> 0);
}

function randomContext(e: S390Engine, r: Rng, esa: boolean): void {
  const crBits = [S390Cr0.LowAddressProtection, S390Cr0.FetchProtOverride, S390Cr0.StorageProtOverride, S390Cr0.Edat, S390Cr0.Iep];
  let cr0 = 0; for (const b of crBits) if (r.chance(0.5)) cr0 |= b;
  const amode = r.chance(0.8) ? 0x1_8000_0000n : r.chance(0.5) ? 0x8000_0000n : 0n;
  const asc = [0n, 0n, 2n, 3n][r.below(4)]!;
  const dat = r.chance(0.9) ? 1n << 58n : 0n;
  e.setS390({
    cr0: BigInt(cr0), asce: randomAsce(r, esa), secondaryAsce: randomAsce(r, esa), homeAsce: randomAsce(r, esa),
    pswMask: dat | (asc << 46n) | amode, pswKey: r.chance(0.5) ? 0 : r.below(16),
    prefix: r.chance(0.3) ? BigInt(r.below(RAM / 8192) * 8192) : 0n,
    options: (r.below(32) & ~S390Opt.Esa390) | (esa ? S390Opt.Esa390 : 0),
  });
}

function randomVa(r: Rng): bigint {
  switch (r.below(6)) {
    case 0: return BigInt(r.below(0x3000));                                   // low addresses
    case 1: return BigInt(r.u32() >>> 1);                                     // 31-bit
    case 2: return (BigInt(r.below(1 << 11)) << 31n) | BigInt(r.u32() >>> 1); // < 2^42
    case 3: return r.u64() >> 11n;                                            // < 2^53
    default: return r.u64();
  }
}

/** Bytes the two engines must agree on: control block, keys, frame table, RAM. */
function state(e: S390Engine): Uint8Array[] {
  const b = new Uint8Array(e.buffer);
  const l = e.layout;
  return [b.subarray(Mem.CTL_BASE, Mem.CTL_BASE + Ctl.CTL_SIZE), b.subarray(Mem.STATS_BASE, Mem.STATS_BASE + Mem.STATS_SIZE),
    b.subarray(l.batchOut, l.batchOut + 8 * ACCESSES_PER_RUN),
    b.subarray(l.skeyBase, l.skeyBase + l.skeyCount), b.subarray(l.ramBase, l.ramBase + l.ramBytes),
    b.subarray(l.hashBase, l.hashBase + (l.hashLog2 ? 8 << l.hashLog2 : 0))];
}

describe("s390 differential: wasm engine ≡ TS engine on random tables", () => {
  it(`agrees on ${RUNS} random machines × ${ACCESSES_PER_RUN} accesses (results, memory, keys)`, async () => {
    const dense: EngineOptions = { physSize: RAM, batchCapacity: 1024, tlbBytes: 64 };
    const sparse: EngineOptions = { backing: "sparse", physSize: 2 * RAM, poolBytes: RAM - 64 * KiB, batchCapacity: 1024, tlbBytes: 64 };
    const densePair = [await createEngine("wasm", dense), await createEngine("ts", dense)];
    let accesses = 0;
    const outcomes = new Map<string, number>();
    const t1 = newTranslation(), t2 = newTranslation();
    await fc.assert(fc.asyncProperty(
      fc.record({ seed: fc.integer(), esa: fc.boolean(), sparse: fc.boolean() }),
      async (run: Run) => {
        // Fresh machines for sparse runs (frame backing is part of the state).
        const [w, t] = run.sparse ? [await createEngine("wasm", sparse), await createEngine("ts", sparse)] : densePair;
        const img = buildImage(new Rng(run.seed), run.esa);
        const keys = new Uint8Array(w!.layout.skeyCount);
        const kr = new Rng(run.seed ^ 0x5a5a5a5a);
        for (let i = 0; i < keys.length; i++) keys[i] = kr.u32() & 0xfe;
        for (const e of [w!, t!]) {
          if (run.sparse) e.phys.writeBytes(0, img.subarray(0, DATA_AREA));     // data frames stay unbacked
          else e.phys.writeBytes(0, img);
          new Uint8Array(e.buffer).set(keys, e.layout.skeyBase);
        }
        const r = new Rng(run.seed + 1);
        const ctxSeed = r.u32();
        for (const e of [w!, t!]) { randomContext(e, new Rng(ctxSeed), run.esa); e.purgeTlb(); }
        for (const e of [w!, t!]) for (let i = 0; i < ACCESSES_PER_RUN; i++) { e.batch.va[i] = 0n; e.batch.kind[i] = 0; }
        const vr = new Rng(r.u32());
        for (let i = 0; i < ACCESSES_PER_RUN - 20; i++) {
          const va = randomVa(vr), kind = vr.below(3);
          w!.batch.va[i] = va; t!.batch.va[i] = va;
          w!.batch.kind[i] = kind; t!.batch.kind[i] = kind;
        }
        expect(t!.translateBatchS390(ACCESSES_PER_RUN - 20)).toBe(w!.translateBatchS390(ACCESSES_PER_RUN - 20));
        // Single translations and probes (the RES_* block) on the last 20.
        for (let i = 0; i < 20; i++) {
          const va = randomVa(vr), kind = vr.below(3) as Access, probe = vr.chance(0.3);
          const a = probe ? w!.probeS390(va, kind, t1) : w!.translateS390(va, kind, t1);
          const b = probe ? t!.probeS390(va, kind, t2) : t!.translateS390(va, kind, t2);
          expect(b).toEqual(a);
        }
        accesses += ACCESSES_PER_RUN;
        if (process.env.S390_DIFF_DEBUG) for (let i = 0; i < ACCESSES_PER_RUN - 20; i++) {
          const o = w!.batch.out[i]!;
          const k = o >> 63n ? `f${(o >> 48n) & 0xffn}:${((o >> 32n) & 0xffffn).toString(16)}` : "ok";
          outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
        }
        const sw = state(w!), st = state(t!);
        for (let i = 0; i < sw.length; i++) {
          if (Buffer.compare(sw[i]!, st[i]!) !== 0 && process.env.S390_DIFF_DEBUG) {
            const j = sw[i]!.findIndex((v, k) => v !== st[i]![k]);
            console.log("region", i, "offset", j.toString(16), sw[i]![j], st[i]![j]);
            if (i === 1) { const k = j >> 3; console.log("va", w!.batch.va[k]!.toString(16), "kind", w!.batch.kind[k], "w", w!.batch.out[k]!.toString(16), "t", t!.batch.out[k]!.toString(16), w!.s390()); }
          }
          expect(Buffer.compare(sw[i]!, st[i]!)).toBe(0);
        }
      }), { numRuns: RUNS });
    if (process.env.S390_DIFF_DEBUG) console.log(outcomes);
    expect(accesses).toBeGreaterThanOrEqual(100_000);
  });
});

describe("s390 TLB: with and without the TLB, results are identical when programs invalidate", () => {
  it("random tables, repeated accesses, table changes + purge, SSKE/RRBE, context switches", async () => {
    const on: EngineOptions = { physSize: RAM, batchCapacity: 1024, tlbBytes: 64, s390TlbEntries: 64 };
    const off: EngineOptions = { ...on, s390TlbEntries: 0 };
    const es = [await createEngine("wasm", on), await createEngine("wasm", off), await createEngine("ts", on), await createEngine("ts", off)];
    const N = 60;
    let filled = 0;
    await fc.assert(fc.asyncProperty(fc.record({ seed: fc.integer(), esa: fc.boolean() }), async ({ seed, esa }) => {
      const img = buildImage(new Rng(seed), esa);
      const kr = new Rng(seed ^ 0x1234);
      const keys = new Uint8Array(es[0]!.layout.skeyCount).map(() => kr.u32() & 0xfe);
      const ctx = new Rng(seed + 7).u32();
      for (const e of es) {
        e.phys.writeBytes(0, img);
        new Uint8Array(e.buffer).set(keys, e.layout.skeyBase);
        randomContext(e, new Rng(ctx), esa);
        e.purgeTlb();
      }
      const r = new Rng(seed + 3);
      let used = false;
      const pool = Array.from({ length: 24 }, () => randomVa(r));   // repeated VAs → TLB hits
      for (let round = 0; round < 8; round++) {
        const vas = Array.from({ length: N }, () => pool[r.below(pool.length)]!);
        const kinds = Array.from({ length: N }, () => r.below(3));
        for (const e of es) { vas.forEach((v, i) => { e.batch.va[i] = v; e.batch.kind[i] = kinds[i]!; }); e.translateBatchS390(N); }
        for (let i = 0; i < N; i++) for (const e of es.slice(1)) expect(e.batch.out[i]).toBe(es[0]!.batch.out[i]);
        if (new Uint8Array(es[0]!.buffer, es[0]!.layout.s390TlbBase, 64 * 32).some((x) => x !== 0)) used = true;
        // One event, applied identically to every engine.
        const ev = r.below(5), a = r.u32(), b = r.u32();
        for (const e of es) {
          if (ev === 0) { e.phys.write32((a % (RAM / 4)) * 4, b, true); e.purgeTlb(); }     // table change + PTLB
          else if (ev === 1) e.sske((a % (RAM / 4096)) * 4096, b & 0xff);
          else if (ev === 2) e.rrbe((a % (RAM / 4096)) * 4096);
          else if (ev === 3) randomContext(e, new Rng(a), esa);                              // purges if needed
          else e.setS390({ asce: randomAsce(new Rng(a), esa) });                             // switch, no purge
        }
      }
      if (used) filled++;
      const views = es.map((e) => [new Uint8Array(e.buffer, e.layout.skeyBase, e.layout.skeyCount),
        new Uint8Array(e.buffer, e.layout.ramBase, e.layout.ramBytes)]);
      for (const v of views.slice(1)) for (let i = 0; i < v.length; i++) expect(Buffer.compare(v[i]!, views[0]![i]!)).toBe(0);
    }), { numRuns: 80 });
    expect(filled).toBeGreaterThan(40);               // the TLB was really in use
  });
});
