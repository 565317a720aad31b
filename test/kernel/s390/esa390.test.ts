// The 31-bit (ESA/390) address space end to end: an 8 KiB segment table of
// 4-byte entries as the ASCE (an STD), 1 KiB page tables four to a page
// (the S390_FLAGS allocator on 31-bit: docs/SEMANTICS.md), 4-byte PTEs with
// the software young/dirty bits — built by the kernel side and translated by
// the core in ESA/390 mode on both engines; every table page back after
// teardown.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm } from "../../../src/abi.js";
import { ENGINE_NAMES } from "../../../src/engine/index.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { leakCheck, machine } from "./machine.js";

const MiB = 1 << 20;

async function esa(name: (typeof ENGINE_NAMES)[number]) {
  const m = await machine(name, { profile: "flags", esa390: true });
  const mm = S390Mm.create(m.k);
  m.k.switchMm(mm);
  return { ...m, mm };
}

describe.each(ENGINE_NAMES)("ESA/390 address space (%s engine)", (name) => {
  it("the ASCE is an STD over an 8 KiB segment table; 1 KiB page tables are packed four to a page", async () => {
    const { k, mm, read } = await esa(name);
    expect(mm.asce).toBe(BigInt(mm.pgd) | 0x7fn);
    expect(mm.pgd % 8192).toBe(0);
    expect(k.ptdescs.get(mm.pgd / 4096)?.order).toBe(1);
    expect(Number(read(mm.pgd) >> 32n)).toBe(0x20);                     // 4-byte entries, all invalid
    mm.mmap(0x40_0000n, 4 * MiB, { prot: 3 });
    for (let s = 0; s < 4; s++) expect(mm.access(BigInt(0x40_0000 + s * MiB + 0x123), Access.Write).fault).toBe(FaultKind.None);
    const stes = [0, 1, 2, 3].map((s) => k.phys.read32(mm.pgd + 4 * (4 + s), true));
    expect(new Set(stes.map((e) => e & ~0xfff)).size).toBe(1);         // one page holds the four tables
    expect(stes.map((e) => e & 0xfff).sort((a, b) => a - b)).toEqual([0x00f, 0x40f, 0x80f, 0xc0f]);   // origin | PTL 15
    expect(mm.nrPtes).toBe(4);
    mm.munmap(0x40_0000n, 4 * MiB);
    mm.destroy();
    leakCheck(k);
  });

  it("faults map pages with 4-byte PTEs; young/dirty work through the invalid and protect bits; the core agrees", async () => {
    const { k, engine, mm } = await esa(name);
    mm.mmap(0x10_0000n, 2 * MiB, { prot: 3 });
    mm.mmap(0x30_0000n, MiB, { prot: 1 });
    const w = mm.access(0x12_3456n, Access.Write);
    expect(w.fault).toBe(FaultKind.None);
    const ptep = mm.lookupPtep(0x12_3000n)!;
    const pte = k.phys.read32(ptep, true);
    expect(pte & 0x7fff_f000).toBe(w.pa - 0x456);
    expect(pte & 0x600).toBe(0);                                         // valid and writable: young and dirty
    expect(pte & 0x8000_0900).toBe(0);                                  // ESA/390's must-be-zero bits
    expect(engine.translateS390(0x12_3456n, Access.Write).pa).toBe(w.pa);
    // A read-only mapping: reads fault in, writes are a protection exception the handler refuses.
    expect(mm.access(0x30_0010n, Access.Read).fault).toBe(FaultKind.None);
    const ro = mm.access(0x30_0010n, Access.Write);
    expect([ro.fault, ro.vector]).toEqual([FaultKind.S390, Pgm.Protection]);
    // Beyond 2 GiB there is no address space: mmap says so, and nothing changed.
    expect(() => mm.mmap(0x7ff0_0000n, 2 * MiB, { prot: 3 })).toThrow(/31-bit address space/);
    expect(mm.vmas.length).toBe(2);
    mm.munmap(0x10_0000n, 3 * MiB);
    expect(mm.lookupPtep(0x12_3000n)).toBeNull();
    mm.destroy();
    leakCheck(k);
  });

  it("remap_pfn_range and a PGSTE request (KVM needs 64-bit tables)", async () => {
    const { k, mm } = await esa(name);
    const pfn = k.alloc.allocPage({ zero: true })!;
    mm.mapRange(0x20_0000n, 4096, { pa: pfn * 4096, prot: 1 });
    expect(mm.access(0x20_0abcn, Access.Read).pa).toBe(pfn * 4096 + 0xabc);
    expect(() => S390Mm.create(k, { pgste: true })).toThrow(/64-bit page tables/);
    mm.munmap(0x20_0000n, 4096);
    k.alloc.freePage(pfn);
    mm.destroy();
    leakCheck(k);
  });

  it("model: random mmap/munmap/touch, checked by translating through the STD; nothing leaks", async () => {
    const SLOTS = 10;
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(
      fc.record({ op: fc.constant("mmap" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), prot: fc.constantFrom(1, 3) }),
      fc.record({ op: fc.constant("munmap" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }),
      fc.record({ op: fc.constant("touch" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), page: fc.integer({ min: 0, max: 255 }),
        write: fc.boolean() }),
    ), { maxLength: 40 }), async (ops) => {
      const { k, engine, mm } = await esa(name);
      const slotVa = (s: number): bigint => BigInt(0x100_0000 + s * 3 * MiB);    // 1 MiB areas, gaps between
      const model = new Map<number, { prot: number; pages: Map<number, number> }>();
      for (const o of ops) {
        if (o.op === "mmap") {
          if (model.has(o.slot)) continue;
          mm.mmap(slotVa(o.slot), MiB, { prot: o.prot });
          model.set(o.slot, { prot: o.prot, pages: new Map() });
        } else if (o.op === "munmap") {
          mm.munmap(slotVa(o.slot), MiB);
          model.delete(o.slot);
        } else {
          const va = slotVa(o.slot) + BigInt(o.page * 4096 + 8);
          const r = mm.access(va, o.write ? Access.Write : Access.Read);
          const s = model.get(o.slot);
          if (!s) { expect(r.fault).toBe(FaultKind.S390); continue; }
          if (o.write && !(s.prot & 2)) {
            // Refused: a protection exception on a present page, else the translation exception.
            if (s.pages.has(o.page)) expect(r.vector).toBe(Pgm.Protection);
            else expect([Pgm.SegmentTranslation, Pgm.PageTranslation]).toContain(r.vector);
            continue;
          }
          expect(r.fault).toBe(FaultKind.None);
          const known = s.pages.get(o.page);
          if (known !== undefined) expect(r.pa).toBe(known + 8);
          else s.pages.set(o.page, r.pa - 8);
        }
        k.rcuGracePeriod();
      }
      // Every mapped page still translates to the frame it got, straight through the core.
      for (const [slot, s] of model)
        for (const [page, pa] of s.pages) {
          const r = engine.translateS390(slotVa(slot) + BigInt(page * 4096), Access.Read);
          expect(r.fault === FaultKind.None ? r.pa : -1).toBe(pa);
        }
      for (const slot of [...model.keys()]) mm.munmap(slotVa(slot), MiB);
      mm.destroy();
      leakCheck(k);
    }), { numRuns: 25 });
  });
});
