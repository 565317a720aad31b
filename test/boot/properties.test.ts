// Property tests over random memory maps: both strategies map exactly the
// usable RAM (plus the ISA range), never take a table from unmapped memory,
// hpa never uses more brk than it has, and both give identical translations.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BootPanic } from "../../src/boot/alloc-low.js";
import { plan } from "../../src/boot/build.js";
import { E820Type, type E820Entry } from "../../src/boot/e820.js";
import { inputFromE820, BootInputError, type InputOptions } from "../../src/boot/input.js";
import type { BootPlan } from "../../src/boot/plan.js";
import { mappedIntervals, tablesFromUnmapped } from "../../src/boot/verify.js";

const MiB = 2 ** 20, GiB = 2 ** 30;

/** Random maps: low RAM, the kernel's region, holes, reserved ranges, a few huge regions high up. */
const mapArb = fc.record({
  lowTop: fc.constantFrom(0x9f000, 0x9fc00, 0x80000),
  kernelRegionEnd: fc.integer({ min: 80, max: 1024 }).map((m) => m * MiB),
  holes: fc.array(fc.record({ at: fc.integer({ min: 80, max: 8192 }), len: fc.integer({ min: 1, max: 600 }) }), { maxLength: 4 }),
  reserved: fc.array(fc.record({ at: fc.integer({ min: 80, max: 8192 }), len: fc.integer({ min: 1, max: 64 }), type: fc.constantFrom(E820Type.Reserved, E820Type.Acpi, E820Type.Nvs) }), { maxLength: 3 }),
  high: fc.array(fc.record({ at: fc.integer({ min: 4, max: 6000 }), len: fc.integer({ min: 1, max: 2048 }) }), { maxLength: 3 }),
  oddTail: fc.integer({ min: 0, max: 511 }),
});

type MapSpec = typeof mapArb extends fc.Arbitrary<infer T> ? T : never;

/** `unit`: bytes per length step of the high regions (small when only 4k pages are allowed). */
function buildMap(m: MapSpec, unit: number): E820Entry[] {
  const e: E820Entry[] = [{ start: 0, end: m.lowTop, type: E820Type.Ram },
    { start: 0x100000, end: m.kernelRegionEnd - m.oddTail * 4096, type: E820Type.Ram }];
  for (const h of m.high) e.push({ start: h.at * GiB, end: h.at * GiB + h.len * unit + m.oddTail * 4096, type: E820Type.Ram });
  for (const h of m.holes) e.push({ start: h.at * MiB, end: (h.at + h.len) * MiB, type: E820Type.Reserved });
  for (const r of m.reserved) e.push({ start: r.at * MiB, end: (r.at + r.len) * MiB, type: r.type });
  return e;
}

const optsArb = fc.record({
  mode: fc.constantFrom("4level", "5level", "4level"),
  pse: fc.boolean(), gbpages: fc.boolean(), bottomUp: fc.boolean(),
  stepRule: fc.constantFrom("modern", "v39"),
}) as fc.Arbitrary<InputOptions>;

/** RAM the plan must map: memblock memory clipped to [1M, end), plus [0, 1M). */
function expectedRam(p: BootPlan, input: ReturnType<typeof inputFromE820>): [number, number][] {
  const end = input.maxPfn * 4096;
  const out: [number, number][] = [[0, 0x100000]];
  for (const r of input.memblock.memory) {
    const s = Math.max(r.base, 0x100000), e = Math.min(r.end, end);
    if (s < e) out.push([s, e]);
  }
  void p;
  return merge(out);
}

function merge(iv: [number, number][]): [number, number][] {
  const s = [...iv].sort((a, b) => a[0] - b[0]);
  const o: [number, number][] = [];
  for (const [a, b] of s) { const l = o[o.length - 1]; if (l && a <= l[1]) l[1] = Math.max(l[1], b); else o.push([a, b]); }
  return o;
}

describe("properties over random memory maps (both strategies)", () => {
  it("map exactly the usable RAM plus the ISA range; tables only from mapped memory; brk within its size", () => {
    let planned = 0, panics = 0;
    fc.assert(fc.property(mapArb, optsArb, fc.integer({ min: 6, max: 40 }), (m, o, brk) => {
      let input;
      try { input = inputFromE820(buildMap(m, o.pse ? 16 * MiB : 256 * 1024), { ...o, pgtBufPages: brk }); }
      catch (e) { if (e instanceof BootInputError) return; throw e; }
      for (const strategy of ["linux", "hpa"] as const) {
        let p: BootPlan;
        try { p = plan(strategy, input); }
        catch (e) {
          // legitimate refusals: hpa's reserve too small for the kernel (4k pages), the kernel's own panics
          if (e instanceof BootPanic || (e instanceof BootInputError && strategy === "hpa")) { panics++; continue; }
          throw e;
        }
        planned++;
        expect(mappedIntervals(p)).toEqual(expectedRam(p, input));
        expect(tablesFromUnmapped(p)).toEqual([]);
        for (const a of p.allocations) if (a.source === "memblock") expect(a.mapped).toBe(true);
        if (strategy === "hpa") expect(p.summary.brkPages).toBeLessThanOrEqual(brk);
        const used = p.allocations.map((a) => a.pa);
        expect(new Set(used).size).toBe(used.length);                    // no page handed out twice
        for (const pa of used) expect(input.memblock.isRegionMemory(pa, pa + 4096)).toBe(true);
      }
    }), { numRuns: 120 });
    expect(planned).toBeGreaterThan(150);
    expect(panics).toBeLessThan(planned);
  });
});
