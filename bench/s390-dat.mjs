// s390 DAT throughput of the two engines, on the built bundle:
//   npm run build && node --expose-gc bench/s390-dat.mjs [rounds]
// A region-third ASCE maps 64 MiB with 4 KiB pages (16384 PTEs in 64 page
// tables); batches of 65536 random reads. "hit": the s390 TLB (16384 entries)
// holds every page; "walk": the TLB is off, every access walks R3 → segment → page.
import { Access, createEngine } from "../dist/index.js";

const rounds = Number(process.argv[2] ?? 7);
const N = 65536, PAGES = 16384, DATA = 64 << 20;

async function machine(name, tlbEntries) {
  const e = await createEngine(name, { physSize: 160 << 20, s390TlbEntries: tlbEntries });
  const r3 = 0x10_0000, st = 0x20_0000, pt = 0x40_0000;
  e.phys.fill(r3, 16384, 0xff); e.phys.fill(st, 16384, 0xff);
  e.phys.write64(r3, BigInt(st) | 4n | 3n, true);                // R3[0] → segment table: TT 01, TL 3
  for (let s = 0; s < PAGES / 256; s++) e.phys.write64(st + 8 * s, BigInt(pt + 2048 * s), true);
  for (let p = 0; p < PAGES; p++) e.phys.write64(pt + 8 * p, BigInt(DATA + 4096 * p), true);
  e.setArch("s390");
  e.setS390({ asce: BigInt(r3) | 4n | 3n });
  let x = 12345;
  for (let i = 0; i < N; i++) { x = (x * 1103515245 + 12345) >>> 0; e.batch.va[i] = BigInt((x % PAGES) * 4096 + (i & 0xfff)); e.batch.kind[i] = Access.Read; }
  e.translateBatch(N);                                            // warm (fills the TLB)
  return e;
}

const variants = [];
for (const name of ["wasm", "ts"]) for (const [mode, entries] of [["hit", 16384], ["walk", 0]])
  variants.push({ label: `${name} ${mode}`, e: await machine(name, entries), rates: [] });
// Every access must succeed, and each variant's output must match the first, before timing.
for (let i = 0; i < N; i++) if (variants[0].e.batch.out[i] >> 63n) throw new Error(`access ${i} faulted: the tables are wrong`);
for (const v of variants) for (let i = 0; i < N; i++) if (v.e.batch.out[i] !== variants[0].e.batch.out[i]) throw new Error(`${v.label} differs at ${i}`);
for (let r = 0; r < rounds; r++) for (const v of variants) {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < 20; k++) v.e.translateBatch(N);
  v.rates.push((20 * N) / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const v of variants) console.log(`${v.label.padEnd(10)} min ${Math.min(...v.rates).toFixed(1)}  median ${med(v.rates).toFixed(1)}  max ${Math.max(...v.rates).toFixed(1)}  M translations/s`);
// Ratios paired per round (same round, so the VM's speed phases cancel).
const by = Object.fromEntries(variants.map((v) => [v.label, v.rates]));
const paired = (a, b) => med(by[a].map((x, i) => x / by[b][i])).toFixed(2);
console.log(`paired medians: wasm/ts hit ${paired("wasm hit", "ts hit")}x, wasm/ts walk ${paired("wasm walk", "ts walk")}x, ` +
  `wasm hit/walk ${paired("wasm hit", "wasm walk")}x`);
