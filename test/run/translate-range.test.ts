// translateRange: the batch loop that stops at the first fault, so a demand
// pager can handle it and resume with nothing after it translated twice.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, BatchOut } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";

const P = 1n, RW = 2n, US = 4n;
/** A tiny IA-32e 4-level machine: CR3 = 0x1000, one pml4/pdpt/pd/pt chain for
 *  VA 0..2 MiB; `present` says which of the 512 4 KiB pages are mapped. */
async function machine(name: "wasm" | "ts", present: boolean[]): Promise<Engine> {
  const e = await createEngine(name, { physSize: 4 << 20, batchCapacity: 1024 });
  const ph = e.phys;
  ph.write64(0x1000, 0x2000n | P | RW | US);
  ph.write64(0x2000, 0x3000n | P | RW | US);
  ph.write64(0x3000, 0x4000n | P | RW | US);
  present.forEach((p, i) => { if (p) ph.write64(0x4000 + 8 * i, BigInt(0x100000 + i * 4096) | P | RW | US); });
  const f = e.setX86({ cr0: 0x80000011n, cr4: 0x20n, efer: 0x500n, cr3: 0x1000n, cpl: 3 });
  expect(f.fault).toBe(0);
  return e;
}

describe.each(ENGINE_NAMES)("translateRange (%s engine)", (name) => {
  it("stops at the first fault, leaves later entries untouched, and resumes", async () => {
    const present = Array.from({ length: 512 }, (_, i) => i !== 3);
    const e = await machine(name, present);
    const vas = [0x10n, 0x1008n, 0x3010n, 0x2000n];
    vas.forEach((v, i) => { e.batch.va[i] = v; e.batch.kind[i] = Access.Write; });
    e.batch.out.fill(0xdeadn);
    expect(e.translateRange(0, 4)).toBe(2);
    expect(e.batch.out[0]).toBe(0x100010n);
    expect(e.batch.out[1]).toBe(0x101008n);
    expect(e.batch.out[2]! >> BigInt(BatchOut.FAULT_BIT)).toBe(1n);
    expect(Number(e.batch.out[2]! & 0xffffffffn)).toBe(2 | 4);      // #PF W|U, not present
    expect(e.batch.out[3]).toBe(0xdeadn);                             // untouched
    // D of the page after the fault was not set either.
    expect(e.phys.read64(0x4000 + 8 * 2) & 0x40n).toBe(0n);
    e.phys.write64(0x4000 + 8 * 3, 0x200000n | P | RW | US);        // "handle" the fault
    expect(e.translateRange(2, 4)).toBe(4);
    expect(e.batch.out[2]).toBe(0x200010n);
    expect(e.batch.out[3]).toBe(0x102000n);
  });

  it("gives the same words as translateBatch when nothing faults (property)", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 * 1024 * 1024 - 1 }),
      fc.constantFrom(Access.Read, Access.Write)), { minLength: 1, maxLength: 200 }), async (accs) => {
      const all = Array.from({ length: 512 }, () => true);
      const a = await machine(name, all), b = await machine(name, all);
      accs.forEach(([v, k], i) => { for (const e of [a, b]) { e.batch.va[i] = BigInt(v); e.batch.kind[i] = k; } });
      expect(a.translateBatch(accs.length)).toBe(0);
      expect(b.translateRange(0, accs.length)).toBe(accs.length);
      expect(b.batch.out.slice(0, accs.length)).toEqual(a.batch.out.slice(0, accs.length));
      // The page tables (all A/D side effects) are byte-identical.
      const tables = (e: Engine): Buffer => Buffer.from(e.buffer, e.layout.ramBase + 0x1000, 0x4000);
      expect(tables(b).equals(tables(a))).toBe(true);
    }), { numRuns: 40 });
  });

  it("rejects a bad range", async () => {
    const e = await machine(name, []);
    expect(() => e.translateRange(2, 1)).toThrow(/start ≤ end/);
    expect(() => e.translateRange(0, 5000)).toThrow(/translateRange: end must be an integer in \[0, 1024\], got 5000/);
  });
});
