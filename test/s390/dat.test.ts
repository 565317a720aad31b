// s390 DAT, unit tests written from the z/Architecture Principles of
// Operation (ch. 3 "Dynamic Address Translation", "Protection"; ch. 6
// program-interruption codes), the Linux PTE layout and the storage-key rules of docs/SEMANTICS.md. Every test runs against
// both engines.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm, S390Cr0, S390Opt, Skey, Teid } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, S390_QEMU_OPTIONS } from "../../src/engine/index.js";
import { S390Tables, type S390Engine } from "./tables.js";

const MiB = 1 << 20;
const DATA = 0x80_0000;            // data frames live from 8 MiB up
const LEVEL_EXC = [Pgm.SegmentTranslation, Pgm.Region3Translation, Pgm.Region2Translation, Pgm.Region1Translation];
const DT_NAMES = ["segment", "region-third", "region-second", "region-first"];
/** A VA whose indices are all non-zero and fit every ASCE type. */
const vaFor = (dt: number): bigint => [0x1234_5678n, 0x2_b234_5678n, 0x345_6b23_4567_8n, 0x0a34_5678_9abc_d678n][dt]!;

async function machine(name: "wasm" | "ts", physSize = 32 * MiB): Promise<S390Engine> {
  return createEngine(name, { physSize });
}

describe.each(ENGINE_NAMES)("s390 DAT (%s engine)", (name) => {
  describe.each([0, 1, 2, 3])("ASCE type %i", (dt) => {
    it(`translates a 4 KiB page through ${DT_NAMES[dt]} tables`, async () => {
      const e = await machine(name);
      const t = new S390Tables(e, dt);
      const va = vaFor(dt);
      t.map(va, DATA);
      e.setS390({ asce: t.asce() });
      const r = e.translateS390(va, Access.Read);
      expect(r.fault).toBe(FaultKind.None);
      expect(r.pa).toBe(DATA + Number(va & 0xfffn));
    });

    it("raises the level's translation exception for an invalid entry at each level", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, dt);
      const va = vaFor(dt);
      e.setS390({ asce: t.asce() });
      for (let lvl = dt; lvl >= 0; lvl--) {
        t.map(va, DATA);
        t.set(t.path.get(lvl)!, 0x20n);
        const r = e.translateS390(va, Access.Write);
        expect(r.fault).toBe(FaultKind.S390);
        expect(r.vector).toBe(LEVEL_EXC[lvl]);
        expect(r.errorCode).toBe(Teid.Store);                 // TEID: store, primary space
        expect(r.addr).toBe(va & ~0xfffn);                      // TEID bits 0-51
        t.clear(t.path.get(lvl)!, 0x20n);
      }
      t.set(t.path.get("pt")!, 0x400n);
      const r = e.translateS390(va, Access.Read);
      expect([r.fault, r.vector, r.errorCode]).toEqual([FaultKind.S390, Pgm.PageTranslation, Teid.Fetch]);
    });

    it("raises translation-specification for a wrong table type at each level", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, dt);
      const va = vaFor(dt);
      e.setS390({ asce: t.asce() });
      for (let lvl = dt; lvl >= 0; lvl--) {
        t.map(va, DATA);
        const ea = t.path.get(lvl)!;
        const good = t.read(ea);
        t.write(ea, (good & ~0xcn) | BigInt(((lvl + 1) & 3) << 2));
        expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
        t.write(ea, good);
      }
    });

    it("checks the ASCE table length against the top index", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, dt);
      const va = vaFor(dt) | (3n << BigInt(20 + 11 * dt + 9));   // top index ≥ 1536
      t.map(va, DATA);
      e.setS390({ asce: t.asce() & ~3n | 2n });                   // TL = 2: indices < 1536
      expect(e.translateS390(va, Access.Read).vector).toBe(LEVEL_EXC[dt]);
      e.setS390({ asce: t.asce() });
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
    });

    if (dt < 3) {
      it("raises ASCE-type when the VA has bits left of the top table", async () => {
        const e = await machine(name);
        const t = new S390Tables(e, dt);
        e.setS390({ asce: t.asce() });
        const r = e.translateS390(1n << BigInt(31 + 11 * dt), Access.Read);
        expect([r.vector, r.errorCode]).toEqual([Pgm.AsceType, Teid.Fetch]);
      });
    }
  });

  it("checks region-entry table offset and length for the next index", async () => {
    const e = await machine(name);
    const t = new S390Tables(e, 2);                          // R2 → R3 → segment
    const va = 0x2_b234_5678n;                               // R3 index 0x56 (< 512)
    t.map(va, DATA);
    e.setS390({ asce: t.asce() });
    const r2e = t.path.get(2)!;
    t.write(r2e, (t.read(r2e) & ~0xc3n) | (1n << 6n) | 3n);  // TF = 1: index < 512 is below the table
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.Region3Translation);
    const r3e = t.path.get(1)!;
    t.write(r2e, (t.read(r2e) & ~0xc3n) | 3n);
    t.write(r3e, (t.read(r3e) & ~0xc3n) | 1n);               // TL = 1: segment index 0x2b2 < 1024 ok
    expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
    const va2 = va | (0x600n << 20n);                        // segment index ≥ 1536
    t.map(va2, DATA);
    t.write(r3e, (t.read(r3e) & ~0xc3n) | 2n);
    expect(e.translateS390(va2, Access.Read).vector).toBe(Pgm.SegmentTranslation);
  });

  it("keeps DAT tables big-endian in memory, byte for byte", async () => {
    const e = await machine(name);
    const t = new S390Tables(e, 0);
    const va = 0x0123_4000n;
    const pte = t.map(va, 0x0abc_d000, "pt", 0x200n);
    expect([...e.phys.readBytes(pte, 8)]).toEqual([0, 0, 0, 0, 0x0a, 0xbc, 0xd2, 0x00]);
    e.setS390({ asce: t.asce() });
    expect(e.translateS390(va | 0x10n, Access.Read).pa).toBe(0x0abc_d010);
    // Same bits little-endian would be a different, invalid entry: prove the walker reads BE.
    e.phys.writeBytes(pte, Uint8Array.from([0x00, 0xd2, 0xbc, 0x0a, 0, 0, 0, 0]));
    expect(e.translateS390(va, Access.Read).fault).not.toBe(FaultKind.None);
  });

  it("rejects PTE bit 52 and a common segment in a private space (translation specification)", async () => {
    const e = await machine(name);
    const t = new S390Tables(e, 0);
    const va = 0x0123_4000n;
    const pte = t.map(va, DATA);
    e.setS390({ asce: t.asce() });
    t.set(pte, 0x800n);
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
    t.clear(pte, 0x800n);
    t.set(t.path.get(0)!, 0x10n);                                // common segment
    expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
    e.setS390({ asce: t.asce(0x100n) });                         // private space
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
  });

  it("treats a real-space ASCE as identity and DAT off as real addressing with prefixing", async () => {
    const e = await machine(name);
    e.setS390({ asce: 0x20n });                                  // R bit, no tables at all
    expect(e.translateS390(0x12_3456n, Access.Write).pa).toBe(0x12_3456);
    e.setS390({ pswMask: 0x0000_0001_8000_0000n, prefix: 0x4_0000n });  // DAT off, prefix 256 KiB
    expect(e.translateS390(0x100n, Access.Read).pa).toBe(0x4_0100);    // real 0-8191 → prefix area
    expect(e.translateS390(0x4_0010n, Access.Read).pa).toBe(0x10);     // prefix area → absolute 0
    expect(e.translateS390(0x9_0000n, Access.Read).pa).toBe(0x9_0000);
  });

  it("wraps effective addresses to the PSW addressing mode (24/31/64)", async () => {
    const e = await machine(name);
    e.setS390({ pswMask: 0x0000_0000_8000_0000n });              // DAT off, 31-bit
    expect(e.translateS390(0xffff_ffff_8012_3456n, Access.Read).pa).toBe(0x12_3456);
    e.setS390({ pswMask: 0n });                                  // 24-bit
    expect(e.translateS390(0x7f12_3456n, Access.Read).pa).toBe(0x12_3456);
  });

  it("uses the secondary / home ASCE by PSW bits 16-17 and reports the space in the TEID", async () => {
    const e = await machine(name);
    const p = new S390Tables(e, 0, 0x10_0000), s = new S390Tables(e, 0, 0x20_0000);
    const va = 0x0040_0000n;
    p.map(va, DATA);
    s.map(va, DATA + 0x1000);
    e.setS390({ asce: p.asce(), secondaryAsce: s.asce(), homeAsce: 0x20n });
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA);
    e.setS390({ pswMask: 0x0400_8001_8000_0000n });              // secondary
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA + 0x1000);
    expect(e.translateS390(0x0050_0000n, Access.Read).errorCode).toBe(Teid.Fetch | 2);
    e.setS390({ pswMask: 0x0400_c001_8000_0000n });              // home = real space
    expect(e.translateS390(va, Access.Read).pa).toBe(Number(va));
    expect(() => e.setS390({ pswMask: 0x0400_4001_8000_0000n })).toThrow(/access-register mode/);
  });

  describe("DAT protection", () => {
    it("page P forbids stores only; the PTE and the key stay unchanged (suppression)", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 1);
      const va = 0x1_2345_6789n;
      const pte = t.map(va, DATA, "pt", 0x200n);
      e.setS390({ asce: t.asce() });
      const before = t.read(pte);
      const r = e.translateS390(va, Access.Write);
      expect([r.vector, r.errorCode, r.addr]).toEqual([Pgm.Protection, Teid.Store | Teid.Dat, va & ~0xfffn]);
      expect(t.read(pte)).toBe(before);
      expect(e.iske(DATA)).toBe(0);
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
      expect(e.iske(DATA)).toBe(Skey.R);
    });

    it("segment P protects the whole segment", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      t.map(0x0030_0000n, DATA);
      t.set(t.path.get(0)!, 0x200n);
      e.setS390({ asce: t.asce() });
      expect(e.translateS390(0x0030_0000n, Access.Write).vector).toBe(Pgm.Protection);
    });

    it("region P counts only with EDAT-1 (installed and enabled in CR0)", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 2);
      const va = 0x2_b234_5678n;
      t.map(va, DATA);
      t.set(t.path.get(2)!, 0x200n);
      e.setS390({ asce: t.asce(), cr0: 0n });
      expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
      e.setS390({ cr0: BigInt(S390Cr0.Edat) });
      expect(e.translateS390(va, Access.Write).vector).toBe(Pgm.Protection);
      e.setS390({ options: S390_QEMU_OPTIONS });                 // QEMU 7.2: no EDAT facility
      expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
    });
  });

  describe("EDAT large frames", () => {
    it("EDAT-1: a segment entry with FC maps a 1 MiB frame; without EDAT, FC is ignored", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 1);
      const va = 0x1_2345_6789n;
      const ste = t.map(va, 0x100_0000, 0);
      e.setS390({ asce: t.asce(), cr0: BigInt(S390Cr0.Edat) });
      expect(e.translateS390(va, Access.Write).pa).toBe(0x100_0000 + Number(va & 0xf_ffffn));
      expect(e.iske(0x100_0000 + Number(va & 0xf_f000n))).toBe(Skey.R | Skey.C);   // key of that 4 KiB frame
      t.set(ste, 0x200n);
      expect(e.translateS390(va, Access.Write).pa).toBe(0x100_0000 + Number(va & 0xf_ffffn)); // stale, not purged
      e.purgeTlb();
      expect(e.translateS390(va, Access.Write).vector).toBe(Pgm.Protection);
      e.setS390({ cr0: 0n });                                    // FC ignored: origin 0x1000000 is a page table
      e.phys.write64(0x100_0000 + 8 * Number((va >> 12n) & 0xffn), BigInt(DATA), true);
      expect(e.translateS390(va, Access.Read).pa).toBe(DATA + Number(va & 0xfffn));
    });

    it("EDAT-2: a region-third entry with FC maps a 2 GiB frame (needs the EDAT-2 facility)", async () => {
      const e = await machine(name, 64 * MiB);
      const t = new S390Tables(e, 2);
      const va = 0x2_8000_0000n + 0x12_3456n;                  // offset 0x123456 in the 2 GiB frame
      t.map(va, 0, 1);                                          // frame at absolute 0
      e.phys.fill(0, 16384, 0xff);                              // …whose first 16 KiB are invalid entries
      e.setS390({ asce: t.asce(), cr0: BigInt(S390Cr0.Edat) });
      expect(e.translateS390(va, Access.Read).pa).toBe(0x12_3456);
      e.setS390({ options: S390Opt.Hardware & ~S390Opt.Edat2 });
      // Without EDAT-2 the entry is an ordinary region-third entry: origin 0 is a segment table.
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.SegmentTranslation);
      e.setS390({ options: S390Opt.Hardware, asce: t.asce(0x100n) });
      t.set(t.path.get(1)!, 0x10n);                             // common region in a private space
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
    });
  });

  describe("instruction-execution protection", () => {
    it("forbids instruction fetches only, with CR0.IEP, at the page and 1 MiB levels", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      const va = 0x0050_1000n;
      t.map(va, DATA, "pt", 0x100n);
      e.setS390({ asce: t.asce(), cr0: BigInt(S390Cr0.Iep) });
      const r = e.translateS390(va, Access.Fetch);
      expect([r.vector, r.errorCode]).toEqual([Pgm.Protection, Teid.Fetch | Teid.Iep]);
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
      expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
      e.setS390({ cr0: 0n });
      expect(e.translateS390(va, Access.Fetch).fault).toBe(FaultKind.None);
      t.map(0x0060_0000n, 0x100_0000, 0, 0x100n);
      e.setS390({ cr0: BigInt(S390Cr0.Iep | S390Cr0.Edat) });
      expect(e.translateS390(0x0060_0000n, Access.Fetch).errorCode).toBe(Teid.Fetch | Teid.Iep);
    });
  });

  describe("low-address protection", () => {
    it("protects stores to 0-511 and 4096-4607 unless the space is private", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      for (const va of [0n, 0x1000n]) t.map(va, DATA + Number(va));
      e.setS390({ asce: t.asce(), cr0: BigInt(S390Cr0.LowAddressProtection) });
      for (const va of [0n, 0x1ffn, 0x1000n, 0x11ffn]) {
        const r = e.translateS390(va, Access.Write);
        expect([r.vector, r.errorCode, r.addr]).toEqual([Pgm.Protection, Teid.Store | Teid.Lap, va & ~0xfffn]);
      }
      for (const va of [0x200n, 0x1200n]) expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
      expect(e.translateS390(0x10n, Access.Read).fault).toBe(FaultKind.None);
      e.setS390({ asce: t.asce(0x100n) });
      expect(e.translateS390(0x10n, Access.Write).fault).toBe(FaultKind.None);
      e.setS390({ pswMask: 0x0000_0001_8000_0000n });            // DAT off: always applies
      expect(e.translateS390(0x10n, Access.Write).errorCode).toBe(Teid.Store | Teid.Lap);
    });

    it("is recognised before translation exceptions", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      e.setS390({ asce: t.asce(), cr0: BigInt(S390Cr0.LowAddressProtection) });
      expect(e.translateS390(0x100n, Access.Write).vector).toBe(Pgm.Protection);
      expect(e.translateS390(0x100n, Access.Read).vector).toBe(Pgm.SegmentTranslation);
    });
  });

  describe("key-controlled protection", () => {
    async function keyed(): Promise<S390Engine> {
      const e = await machine(name);
      e.setS390({ pswMask: 0x0000_0001_8000_0000n });            // DAT off: keys still apply
      return e;
    }
    it("stores need ACC = PSW key; fetches too when F is set; key 0 is the master key", async () => {
      const e = await keyed();
      e.sske(DATA, 0x50);                                        // ACC 5, F 0
      e.setS390({ pswKey: 3 });
      const w = e.translateS390(BigInt(DATA), Access.Write);
      expect([w.vector, w.errorCode]).toEqual([Pgm.Protection, Teid.Store]);
      expect(e.iske(DATA)).toBe(0x50);                           // suppressed: no R/C
      expect(e.translateS390(BigInt(DATA), Access.Read).fault).toBe(FaultKind.None);
      e.sske(DATA, 0x58);                                        // F: fetch-protected
      expect(e.translateS390(BigInt(DATA), Access.Read).vector).toBe(Pgm.Protection);
      expect(e.translateS390(BigInt(DATA), Access.Fetch).vector).toBe(Pgm.Protection);
      e.setS390({ pswKey: 5 });
      expect(e.translateS390(BigInt(DATA), Access.Write).fault).toBe(FaultKind.None);
      e.setS390({ pswKey: 0 });
      e.sske(DATA, 0x78);
      expect(e.translateS390(BigInt(DATA), Access.Write).fault).toBe(FaultKind.None);
      expect(e.iske(DATA)).toBe(0x78 | Skey.R | Skey.C);
    });

    it("honours storage-protection override (ACC 9) and fetch-protection override (0-2047)", async () => {
      const e = await keyed();
      e.sske(DATA, 0x98);
      e.sske(0, 0x58);
      e.setS390({ pswKey: 3 });
      expect(e.translateS390(BigInt(DATA), Access.Write).vector).toBe(Pgm.Protection);
      expect(e.translateS390(0x100n, Access.Read).vector).toBe(Pgm.Protection);
      e.setS390({ cr0: BigInt(S390Cr0.StorageProtOverride | S390Cr0.FetchProtOverride) });
      expect(e.translateS390(BigInt(DATA), Access.Write).fault).toBe(FaultKind.None);
      expect(e.translateS390(0x100n, Access.Read).fault).toBe(FaultKind.None);
      expect(e.translateS390(0x900n, Access.Read).vector).toBe(Pgm.Protection);
      expect(e.translateS390(0x100n, Access.Write).vector).toBe(Pgm.Protection);
    });

    it("is off in the QEMU profile (QEMU 7.2: 'TODO: key-controlled protection')", async () => {
      const e = await keyed();
      e.sske(DATA, 0x58);
      e.setS390({ pswKey: 3, options: S390_QEMU_OPTIONS });
      expect(e.translateS390(BigInt(DATA), Access.Write).fault).toBe(FaultKind.None);
    });
  });

  describe("reference and change recording", () => {
    it("sets R on a fetch, R and C on a store, nothing on a probe, a fault or a table frame", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      const va = 0x0070_0000n;
      const pte = t.map(va, DATA);
      e.setS390({ asce: t.asce() });
      e.probeS390(va, Access.Write);
      expect(e.iske(DATA)).toBe(0);
      e.translateS390(va, Access.Fetch);
      expect(e.iske(DATA)).toBe(Skey.R);
      e.translateS390(va, Access.Write);
      expect(e.iske(DATA)).toBe(Skey.R | Skey.C);
      expect(e.iske(pte)).toBe(0);
      expect(e.iske(t.top)).toBe(0);
      expect(e.rrbe(DATA)).toBe(3);
      t.set(pte, 0x200n);
      e.translateS390(va, Access.Write);
      expect(e.iske(DATA)).toBe(Skey.C);
    });

    it("keys belong to frames: a store via one mapping, RRBE, then a fetch via an alias", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 1);
      const m1 = 0x1_0000_0000n, m2 = 0x0000_5000n;
      t.map(m1, DATA);
      t.map(m2, DATA);
      e.setS390({ asce: t.asce() });
      e.translateS390(m1 + 8n, Access.Write);
      expect(e.rrbe(DATA)).toBe(3);
      expect(e.iske(DATA)).toBe(Skey.C);
      e.translateS390(m2, Access.Read);
      expect(e.iske(DATA)).toBe(Skey.R | Skey.C);
    });
  });

  describe("ESA/390 format (31-bit, 4-byte entries, 1 KiB page tables)", () => {
    // STD: origin | STL (units of 16 entries); STE: PTO (64-byte aligned) | PTL.
    const STO = 0x10_0000, PTO = 0x10_2400;
    async function esa(): Promise<S390Engine> {
      const e = await machine(name);
      e.phys.fill(STO, 8192, 0xff);                              // invalid everywhere
      e.setS390({ asce: BigInt(STO | 0x7f), options: S390Opt.Hardware | S390Opt.Esa390 });
      return e;
    }
    const va = 0x0123_4567n;                                     // SX 0x012, PX 0x34
    it("walks a 4-byte segment entry and a 1 KiB page table, big-endian", async () => {
      const e = await esa();
      e.phys.write32(STO + 4 * 0x12, PTO | 0x3, true);           // PTL 3: 64 entries
      e.phys.write32(PTO + 4 * 0x34, 0x0055_6000, true);
      expect([...e.phys.readBytes(PTO + 4 * 0x34, 4)]).toEqual([0x00, 0x55, 0x60, 0x00]);
      const r = e.translateS390(va | 0x8000_0000n, Access.Read);  // bit 0 of a 32-bit address is ignored
      expect(r.pa).toBe(0x55_6567);
      e.setS390({ pswMask: 0x0400_0000_0000_0000n });            // 24-bit mode wraps to 16 MiB:
      e.phys.write32(STO + 4 * 0x02, PTO | 0x3, true);           // 0x7f23_4567 → segment 2, page 0x34
      expect(e.translateS390(0x7f23_4567n, Access.Read).pa).toBe(0x55_6567);
    });
    it("checks STL, PTL, invalid bits, must-be-zero bits and page protection", async () => {
      const e = await esa();
      // Every table change below is followed by a purge, as a program must do.
      const phys = { write32: (pa: number, v: number, be: boolean) => { e.phys.write32(pa, v, be); e.purgeTlb(); } };
      phys.write32(STO + 4 * 0x12, PTO | 0x3, true);
      phys.write32(PTO + 4 * 0x34, 0x0055_6000, true);
      e.setS390({ asce: BigInt(STO) });                           // STL 0: SX < 16 only
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.SegmentTranslation);
      e.setS390({ asce: BigInt(STO | 1) });                       // STL 1: SX < 32
      expect(e.translateS390(0x0200_0000n, Access.Read).vector).toBe(Pgm.SegmentTranslation);
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
      phys.write32(STO + 4 * 0x12, PTO | 0x2, true);            // PTL 2: PX < 48
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
      phys.write32(STO + 4 * 0x12, PTO | 0x23, true);           // I
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.SegmentTranslation);
      phys.write32(STO + 4 * 0x12, PTO | 0x13, true);           // common segment …
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
      e.setS390({ asce: BigInt(STO | 0x101) });                   // … in a private space
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
      e.setS390({ asce: BigInt(STO | 1) });
      phys.write32(STO + 4 * 0x12, PTO | 0x3, true);
      for (const bad of [0x800, 0x100, 0x8000_0000]) {
        phys.write32(PTO + 4 * 0x34, 0x0055_6000 | bad, true);
        expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.TranslationSpec);
      }
      phys.write32(PTO + 4 * 0x34, 0x0055_6400, true);
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
      phys.write32(PTO + 4 * 0x34, 0x0055_6200, true);
      expect(e.translateS390(va, Access.Write).errorCode).toBe(Teid.Store | Teid.Dat);
      expect(e.translateS390(va, Access.Read).pa).toBe(0x55_6567);
    });
  });

  describe("bad input: documented exceptions, no trap", () => {
    it("an ASCE origin beyond RAM gives an addressing exception naming the address", async () => {
      const e = await machine(name, 4 * MiB);
      e.setS390({ asce: BigInt(64 * MiB) | 3n });                // segment table at 64 MiB
      const r = e.translateS390(0x10_0000n, Access.Read);
      expect([r.fault, r.vector, r.pa, r.errorCode, r.addr]).toEqual([FaultKind.S390, Pgm.Addressing, 64 * MiB + 8, 0, 0n]);
      e.setS390({ asce: 0xffff_ffff_ffff_f00fn });               // top of the 64-bit space
      expect(e.translateS390(0xffff_ffff_ffff_ffffn, Access.Read).vector).toBe(Pgm.Addressing);
    });

    it("a table straddling the end of RAM: entries inside work, entries outside are addressing", async () => {
      const e = await machine(name, 4 * MiB);
      const seg = 4 * MiB - 8192;                               // 16 KiB table, upper half beyond RAM
      e.phys.fill(seg, 8192, 0xff);
      e.setS390({ asce: BigInt(seg) | 3n });
      const pt = 0x20_0000;
      for (let i = 0; i < 256; i++) e.phys.write64(pt + 8 * i, 0x400n, true);
      e.phys.write64(pt + 8, 0x30_0000n, true);
      e.phys.write64(seg + 8 * 5, BigInt(pt), true);
      expect(e.translateS390(0x50_1234n, Access.Read).pa).toBe(0x30_0234);
      const r = e.translateS390(0x4000_0000n, Access.Read);        // index 1024 → seg + 8 KiB
      expect([r.vector, r.pa]).toEqual([Pgm.Addressing, 4 * MiB]);
      // (Page tables are 2 KiB aligned, so only 16 KiB region/segment tables can straddle.)
    });

    it("a frame beyond RAM is an addressing exception with the failing absolute address", async () => {
      const e = await machine(name, 4 * MiB);
      const t = new S390Tables(e, 0, 0x10_0000);
      t.map(0x0040_0000n, 5 * MiB);
      e.setS390({ asce: t.asce() });
      const r = e.translateS390(0x0040_0123n, Access.Write);
      expect([r.vector, r.pa]).toEqual([Pgm.Addressing, 5 * MiB + 0x123]);
    });

    it("setS390 refuses states the walker cannot run, and changes nothing", async () => {
      const e = await machine(name);
      const before = e.s390();
      expect(() => e.setS390({ pswMask: 0x0400_0001_0000_0000n })).toThrow(/EA=1, BA=0/);
      expect(() => e.setS390({ prefix: 0x1000n })).toThrow(/8 KiB aligned/);
      expect(() => e.setS390({ pswKey: 16 })).toThrow(/pswKey must be an integer in \[0, 15\], got 16/);
      expect(e.s390()).toEqual(before);
    });
  });

  describe("batch", () => {
    it("gives the same answers as single translations, faults as BatchOut words", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 1);
      const vas = [0x1_0000_0000n, 0x1_0000_1000n, 0x1_0000_2000n, 0x5_0000_0000n];
      t.map(vas[0]!, DATA);
      t.map(vas[1]!, DATA + 0x1000, "pt", 0x200n);
      e.setS390({ asce: t.asce() });
      const kinds = [Access.Write, Access.Write, Access.Read, Access.Read];
      vas.forEach((v, i) => { e.batch.va[i] = v + 0x10n; e.batch.kind[i] = kinds[i]!; });
      expect(e.translateBatchS390(4)).toBe(3);
      expect(e.batch.out[0]).toBe(BigInt(DATA + 0x10));
      const word = (kind: number, code: number, teid: number): bigint =>
        (1n << 63n) | (BigInt(kind) << 48n) | (BigInt(code) << 32n) | BigInt(teid);
      expect(e.batch.out[1]).toBe(word(FaultKind.S390, Pgm.Protection, Teid.Store | Teid.Dat));
      expect(e.batch.out[2]).toBe(word(FaultKind.S390, Pgm.PageTranslation, Teid.Fetch));
      expect(e.batch.out[3]).toBe(word(FaultKind.S390, Pgm.Region3Translation, Teid.Fetch));
      expect(() => e.translateBatchS390(e.batch.capacity + 1)).toThrow(RangeError);
    });
  });

  describe("the one engine API", () => {
    it("translate / probe / translateBatch run the s390 walker after setArch(\"s390\")", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 0);
      const va = 0x0070_0123n;
      t.map(va, DATA);
      e.setS390({ asce: t.asce() });
      e.setArch("s390");
      expect(e.arch()).toBe("s390");
      expect(e.probe(va, Access.Write).pa).toBe(DATA + 0x123);
      expect(e.iske(DATA)).toBe(0);
      expect(e.translate(va, Access.Write).pa).toBe(DATA + 0x123);
      expect(e.iske(DATA)).toBe(Skey.R | Skey.C);
      e.batch.va[0] = va; e.batch.kind[0] = Access.Read;
      e.batch.va[1] = 0x0080_0000n; e.batch.kind[1] = Access.Read;
      expect(e.translateBatch(2)).toBe(1);
      expect(e.batch.out[0]).toBe(BigInt(DATA + 0x123));
      expect(() => e.setArch("arm" as "x86")).toThrow(/unknown architecture/);
    });

    it("setSemantics({profile}) switches the s390 facilities too, keeping the table format", async () => {
      const e = await machine(name);
      e.setSemantics({ profile: "qemu" });
      expect(e.s390().options).toBe(S390_QEMU_OPTIONS);
      e.setS390({ options: S390Opt.Hardware | S390Opt.Esa390 });
      e.setSemantics({ profile: "qemu" });
      expect(e.s390().options).toBe(S390_QEMU_OPTIONS | S390Opt.Esa390);
      e.setSemantics({ profile: "hardware" });
      expect(e.s390().options).toBe(S390Opt.Hardware | S390Opt.Esa390);
    });

    it("IPTE and IDTE set the entry's invalid bit; the next access faults", async () => {
      const e = await machine(name);
      const t = new S390Tables(e, 1);
      const va = 0x1_0000_5000n;
      const pte = t.map(va, DATA);
      e.setS390({ asce: t.asce() });
      expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
      e.ipte(pte, va);
      expect(t.read(pte)).toBe(BigInt(DATA) | 0x400n);
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
      t.write(pte, BigInt(DATA));
      e.idte(t.path.get(1)!);
      expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.Region3Translation);
      e.purgeTlb();
    });
  });

  describe("sparse RAM", () => {
    it("a store backs the frame so C is kept; a fetch or probe of an unbacked frame backs nothing", async () => {
      const e = await createEngine(name, { backing: "sparse", physSize: 2 ** 40, poolBytes: 8 * 4096 });
      e.setS390({ asce: 0x20n });                                // real space
      const far = 2 ** 39 + 0x5000;
      expect(e.translateS390(BigInt(far), Access.Read).pa).toBe(far);
      expect(e.phys.framesBacked).toBe(0);
      expect(e.iske(far)).toBe(0);
      e.probeS390(BigInt(far), Access.Write);
      expect(e.phys.framesBacked).toBe(0);
      e.translateS390(BigInt(far), Access.Write);
      expect(e.phys.framesBacked).toBe(1);
      expect(e.iske(far)).toBe(Skey.R | Skey.C);
      for (let i = 1; i < 8; i++) e.translateS390(BigInt(i * 0x10_0000), Access.Write);
      const r = e.translateS390(0x90_0000n, Access.Write);         // pool exhausted
      expect([r.fault, r.pa]).toEqual([FaultKind.Bus, 0x90_0000]);
      expect(e.phys.framesBacked).toBe(8);
    });
  });
});

describe("the hardware and QEMU profiles differ only where QEMU lacks a facility", () => {
  it("QEMU options drop EDAT and key protection, keep IEP and ESOP", () => {
    expect(S390_QEMU_OPTIONS & (S390Opt.Edat1 | S390Opt.Edat2 | S390Opt.KeyProtection)).toBe(0);
    expect(S390Opt.Hardware & (S390Opt.Edat1 | S390Opt.Edat2 | S390Opt.KeyProtection | S390Opt.Esop)).toBe(15);
  });
});
