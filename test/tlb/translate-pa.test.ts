/**
 * translatePa: the single-translation call for emulators (a Number in, the PA
 * or -1 out) must be translate() in every respect but the result record:
 * same PA, same fault, same A/D bits, TLB fills and statistics, and on a
 * fault the record that lastTranslation() reads. Both engines.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import { A, D, enterLongMode, MiB, P, RW, Tables4, US } from "./tables.js";

/** A machine with user pages at 0x40_0000.., a read-only page, a kernel page at the top of the address space. */
async function machine(name: (typeof ENGINE_NAMES)[number]): Promise<{ e: Engine; t: Tables4 }> {
  const e = await createEngine(name, { physSize: 32 * MiB });
  const t = new Tables4(e);
  for (let i = 0; i < 16; i++) t.map4k(0x40_0000n + BigInt(i) * 0x1000n, 0x100_0000 + i * 0x1000);
  t.map4k(0x80_0000n, 0x120_0000, P | US);                                   // read-only, clean
  t.map4k(0xffff_ffff_ffe0_0000n, 0x130_0000, P | RW | A | D);               // kernel, top of the space
  t.map2m(0x7f00_0000_0000n, 0x140_0000 & ~0x1f_ffff, P | RW | US);         // a 2 MiB page
  enterLongMode(e, t);
  return { e, t };
}

/** The signed Number of a canonical 64-bit address. */
const signed = (va: bigint): number => Number(BigInt.asIntN(64, va));

describe.each(ENGINE_NAMES)("translatePa (%s)", (name) => {
  it("gives the PA of translate(), for user, kernel (negative Number) and 2 MiB addresses", async () => {
    const { e } = await machine(name);
    expect(e.translatePa(0x40_1234, Access.Read)).toBe(0x100_1234);
    expect(e.translatePa(0x40_1234, Access.Read)).toBe(0x100_1234);                  // a TLB hit now
    expect(e.translatePa(signed(0xffff_ffff_ffe0_0ff8n), Access.Write)).toBe(0x130_0ff8);
    expect(e.translatePa(0x7f00_0012_3456, Access.Read)).toBe((0x140_0000 & ~0x1f_ffff) + 0x12_3456);
  });

  it("returns -1 on a fault and leaves the fault in lastTranslation(), with CR2", async () => {
    const { e } = await machine(name);
    e.setCpl(3);
    expect(e.translatePa(0x80_0010, Access.Write)).toBe(-1);                         // read-only page
    const r = e.lastTranslation();
    expect(r.fault).toBe(FaultKind.X86);
    expect(r.vector).toBe(14);
    expect(r.errorCode).toBe(0b111);                                                // P | W | U
    expect(r.addr).toBe(0x80_0010n);
    expect(e.translatePa(signed(0xffff_ffff_ffe0_0000n), Access.Read)).toBe(-1);     // user → kernel page
    expect(e.translatePa(signed(0xffff_8000_0000_0000n) - 4096, Access.Read)).toBe(-1); // non-canonical: #GP
    expect(e.lastTranslation().vector).toBe(13);
  });

  it("rejects what is not an address, the same way in both engines", async () => {
    const { e } = await machine(name);
    for (const bad of [NaN, Infinity, -Infinity, 0.5, 2 ** 63, -(2 ** 64)])
      expect(() => e.translatePa(bad, Access.Read), String(bad)).toThrow(RangeError);
    expect(e.translatePa(-(2 ** 63), Access.Read)).toBe(-1);                        // non-canonical: #GP
    expect(e.lastTranslation().vector).toBe(13);
  });

  it("has exactly translate()'s side effects: A/D bits, TLB, statistics (property)", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ page: fc.integer({ min: 0, max: 18 }), off: fc.integer({ min: 0, max: 4095 }),
        kind: fc.constantFrom(Access.Read, Access.Write, Access.Fetch), cpl: fc.constantFrom(0, 3) }), { maxLength: 60 }),
      async (ops) => {
        const a = await machine(name), b = await machine(name);
        for (const op of ops) {
          const va = op.page < 16 ? 0x40_0000 + op.page * 0x1000 + op.off
            : op.page === 16 ? 0x80_0000 + op.off : op.page === 17 ? 0x7f00_0000_0000 + op.off : 0x1234_5000 + op.off;
          a.e.setCpl(op.cpl); b.e.setCpl(op.cpl);
          const r = a.e.translate(BigInt(va), op.kind);
          const pa = b.e.translatePa(va, op.kind);
          expect(pa).toBe(r.fault === FaultKind.None ? r.pa : -1);
          if (pa === -1) expect(b.e.lastTranslation()).toEqual(r);
        }
        expect(b.e.stats()).toEqual(a.e.stats());
        expect(Buffer.compare(b.e.phys.readBytes(0, 32 * MiB), a.e.phys.readBytes(0, 32 * MiB))).toBe(0);
      }), { numRuns: 30 });
  });
});
