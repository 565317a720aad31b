// Synthetic workloads: deterministic per seed, inside their ranges, and with
// the shape their names promise.
import { describe, expect, it } from "vitest";
import { Access } from "../src/abi.js";
import { newAccessBuffer, vaNumberAt } from "../src/trace/access-buffer.js";
import { Sfc32, type SyntheticSpec, SyntheticReader, zipfAliasTable } from "../src/trace/synthetic.js";

async function collect(spec: SyntheticSpec, cap = 4096): Promise<{ va: number[]; kind: number[] }> {
  const r = new SyntheticReader(spec);
  const buf = newAccessBuffer(cap);
  const va: number[] = [], kind: number[] = [];
  for (let n; (n = await r.read(buf)) > 0;)
    for (let i = 0; i < n; i++) { va.push(vaNumberAt(buf, i)); kind.push(buf.kind[i]!); }
  return { va, kind };
}
const BASE = 0x7f0000000000;

describe("synthetic workloads", () => {
  it("sfc32 is deterministic and seeds differ", () => {
    const a = new Sfc32(1), b = new Sfc32(1), c = new Sfc32(2);
    const xs = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });

  for (const kind of ["uniform", "zipf", "strided", "sweep"] as const) {
    it(`${kind}: same seed → same trace, whatever the buffer size; addresses in range`, async () => {
      const spec: SyntheticSpec = { kind, count: 20_000, pages: 512, seed: 7, minPages: 4, maxPages: 256 };
      const a = await collect(spec, 4096), b = await collect(spec, 777);
      expect(b).toEqual(a);
      expect(a.va.length).toBe(20_000);
      const span = (kind === "sweep" ? 256 : 512) * 4096;
      expect(a.va.every((v) => v >= BASE && v < BASE + span)).toBe(true);
      expect(a.kind.every((k) => k === Access.Read || k === Access.Write)).toBe(true);
      const other = await collect({ ...spec, seed: 8 });
      if (kind !== "strided") expect(other.va).not.toEqual(a.va);
    });
  }

  it("write ratio is honoured", async () => {
    const { kind } = await collect({ kind: "uniform", count: 40_000, writeRatio: 0.3, seed: 3 });
    const w = kind.filter((k) => k === Access.Write).length / kind.length;
    expect(w).toBeGreaterThan(0.28);
    expect(w).toBeLessThan(0.32);
  });

  it("zipf: page frequencies follow 1/k^alpha", async () => {
    const pages = 1000, count = 200_000, alpha = 1;
    const { va } = await collect({ kind: "zipf", count, pages, alpha, seed: 5 });
    const hist = new Array<number>(pages).fill(0);
    for (const v of va) hist[Math.floor((v - BASE) / 4096)]!++;
    let h = 0;
    for (let k = 1; k <= pages; k++) h += 1 / k ** alpha;
    for (const rank of [1, 2, 10]) {
      const expected = count / (rank ** alpha * h);
      expect(Math.abs(hist[rank - 1]! - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
    expect(hist[0]!).toBeGreaterThan(hist[99]! * 20);
  });

  it("the alias table is a proper distribution", () => {
    const { prob, alias } = zipfAliasTable(100, 1.2);
    // Reconstruct each rank's probability from the table.
    const p = new Array<number>(100).fill(0);
    for (let c = 0; c < 100; c++) { p[c]! += prob[c]! / 2 ** 32 / 100; p[alias[c]!]! += (1 - prob[c]! / 2 ** 32) / 100; }
    let h = 0;
    for (let k = 1; k <= 100; k++) h += k ** -1.2;
    for (let k = 1; k <= 100; k++) expect(p[k - 1]!).toBeCloseTo(k ** -1.2 / h, 6);
  });

  it("strided: base + i·stride modulo the span", async () => {
    const { va } = await collect({ kind: "strided", count: 100, pages: 4, stride: 5000 });
    va.forEach((v, i) => expect(v).toBe(BASE + ((i * 5000) % (4 * 4096))));
  });

  it("sweep: each phase cycles through a working set twice as large as the last", async () => {
    const { va } = await collect({ kind: "sweep", count: 4 * 1000, minPages: 8, maxPages: 64 });
    for (let phase = 0; phase < 4; phase++) {
      const pagesSeen = new Set(va.slice(phase * 1000, (phase + 1) * 1000).map((v) => Math.floor((v - BASE) / 4096)));
      expect(pagesSeen.size).toBe(8 << phase);
    }
  });

  it("rejects bad parameters with a clear message", () => {
    expect(() => new SyntheticReader({ kind: "zipf", count: 1, pages: 2 ** 23 })).toThrow(/pages \(zipf\)/);
    expect(() => new SyntheticReader({ kind: "uniform", count: 1, writeRatio: 2 })).toThrow(/write ratio/);
    expect(() => new SyntheticReader({ kind: "nope" as "zipf", count: 1 })).toThrow(/unknown synthetic workload/);
  });
});
