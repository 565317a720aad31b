// Control-register writes (SDM Vol. 2B MOV CR / WRMSR, Vol. 3A §4.1, §4.4.1),
// bad input (addresses beyond RAM, inconsistent registers, misuse of the API),
// and the batch ABI, on both engines.
import { describe, expect, it } from "vitest";
import { Access, BatchOut, Ctl, FaultKind, Mem, Vector, X86Mode } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import {
  CR0_PE, CR0_PG, CR0_WP, CR4_LA57, CR4_PAE, CR4_PSE, EFER_LME, EFER_NXE, MODES, RW, sampleVa, Tables, US,
} from "./tables.js";
import { expectSameBytes } from "../bytes.js";

const MiB = 1 << 20;
const modeOf = (e: Engine): X86Mode => new DataView(e.buffer, Mem.CTL_BASE).getUint32(Ctl.MODE, true);

describe.each(ENGINE_NAMES)("x86 context, bad input and batches (%s engine)", (name) => {
  describe("control registers", () => {
    it("the mode follows CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57; LMA is derived", async () => {
      const e = await createEngine(name, { physSize: MiB });
      e.setX86({ cr0: CR0_PE, cr4: 0n, efer: 0n });
      expect(modeOf(e)).toBe(X86Mode.Off);
      e.writeCr0(CR0_PE | CR0_PG);
      expect(modeOf(e)).toBe(X86Mode.Legacy32);
      e.writeCr0(CR0_PE);
      e.writeCr4(CR4_PAE);
      e.writeEfer(EFER_LME | (1n << 10n));               // LMA written as 1 is ignored until PG=1
      expect(e.x86().efer).toBe(EFER_LME);
      e.writeCr0(CR0_PE | CR0_PG);
      expect(modeOf(e)).toBe(X86Mode.Ia32e4);
      expect(e.x86().efer).toBe(EFER_LME | (1n << 10n));
      e.setX86({ cr4: CR4_PAE | CR4_LA57 });
      expect(modeOf(e)).toBe(X86Mode.Ia32e5);
    });

    it("CR4.PAE=0 with EFER.LME=1 and CR0.PG=1 is a #GP with a reason, and changes nothing", async () => {
      const e = await createEngine(name, { physSize: MiB });
      e.setX86({ cr0: CR0_PE | CR0_PG, cr4: CR4_PSE, efer: 0n, cr3: 0x1000n });
      const before = e.x86();
      const r = e.setX86({ efer: EFER_LME });
      expect([r.fault, r.vector, r.errorCode]).toEqual([FaultKind.X86, Vector.GP, 0]);
      expect(e.x86Error).toMatch(/CR4\.PAE/);
      expect(e.x86()).toEqual(before);
      expect(modeOf(e)).toBe(X86Mode.Legacy32);
      // and the same through the individual MOVs
      const s = await createEngine(name, { physSize: MiB });
      s.setX86({ cr0: CR0_PE, cr4: 0n, efer: EFER_LME });
      expect(s.writeCr0(CR0_PE | CR0_PG).vector).toBe(Vector.GP);
      expect(s.x86().cr0).toBe(CR0_PE);
    });

    it("in IA-32e mode: clearing CR4.PAE, toggling LA57 or EFER.LME, or CR3 above MAXPHYADDR is #GP", async () => {
      const e = await createEngine(name, { physSize: MiB, maxPhyAddr: 40 });
      e.setX86({ cr0: CR0_PE | CR0_PG, cr4: CR4_PAE, efer: EFER_LME | EFER_NXE, cr3: 0x1000n });
      expect(e.writeCr4(0n).vector).toBe(Vector.GP);
      expect(e.writeCr4(CR4_PAE | CR4_LA57).vector).toBe(Vector.GP);
      expect(e.writeEfer(EFER_NXE).vector).toBe(Vector.GP);
      expect(e.writeCr3(1n << 40n).vector).toBe(Vector.GP);
      expect(e.x86().cr3).toBe(0x1000n);
      expect(e.x86().cr4).toBe(CR4_PAE);
      expect(e.writeCr3(0x2000n).fault).toBe(FaultKind.None);
      expect(e.x86().cr3).toBe(0x2000n);
    });

    // SDM Vol. 2B MOV CR and WRMSR: each of these is #GP(0), and the register keeps its value.
    it.each([
      ["MOV CR0 with PG=1 and PE=0", (e: Engine) => e.writeCr0(CR0_PG), /CR0\.PG=1 requires CR0\.PE=1/],
      ["MOV CR0 with NW=1 and CD=0", (e: Engine) => e.writeCr0(CR0_PE | (1n << 29n)), /CR0\.NW=1 requires CR0\.CD=1/],
      ["MOV CR0 setting bit 32", (e: Engine) => e.writeCr0(CR0_PE | (1n << 32n)), /reserved bits 63:32/],
      ["setX86 with CR0 bit 40", (e: Engine) => e.setX86({ cr0: CR0_PE | (1n << 40n) }), /reserved bits 63:32/],
      ["setX86 with PG=1 and PE=0", (e: Engine) => e.setX86({ cr0: CR0_PG }), /CR0\.PG=1 requires CR0\.PE=1/],
      ["MOV CR4 setting reserved bit 15", (e: Engine) => e.writeCr4(1n << 15n), /CR4 0x8000 sets reserved bits 0x8000/],
      ["MOV CR4 setting reserved bit 40", (e: Engine) => e.writeCr4(1n << 40n), /reserved bits 0x10000000000/],
      ["setX86 with CR4 bit 26", (e: Engine) => e.setX86({ cr4: 1n << 26n }), /reserved bits 0x4000000/],
      ["WRMSR EFER setting reserved bit 1", (e: Engine) => e.writeEfer(2n), /EFER 0x2 sets reserved bits 0x2/],
    ])("%s is #GP with a reason, and changes nothing", async (_what, write, why) => {
      const e = await createEngine(name, { physSize: MiB });
      e.setX86({ cr0: CR0_PE, cr4: CR4_PSE, efer: 0n, cr3: 0x1000n });
      const before = e.x86();
      const r = write(e);
      expect([r.fault, r.vector, r.errorCode]).toEqual([FaultKind.X86, Vector.GP, 0]);
      expect(e.x86Error).toMatch(why);
      expect(e.x86()).toEqual(before);
    });

    it("every CR4 bit the SDM defines can be set (those the model does not use are kept)", async () => {
      const e = await createEngine(name, { physSize: MiB });
      e.setX86({ cr0: CR0_PE, cr4: 0n, efer: 0n });
      // VME..SMXE (0-14), FSGSBASE..UINTR (16-25), LASS 27, LAM_SUP 28, FRED 32 — but not PCIDE, which needs IA-32e mode
      const defined = [...Array(15).keys(), ...Array.from({ length: 10 }, (_, i) => 16 + i), 27, 28, 32].filter((b) => b !== 17);
      for (const b of defined) {
        expect(e.writeCr4(1n << BigInt(b)).fault, `CR4 bit ${b}`).toBe(FaultKind.None);
        expect(e.x86().cr4).toBe(1n << BigInt(b));
      }
    });

    it("entering PAE paging by MOV CR0 loads the PDPTEs from CR3", async () => {
      const e = await createEngine(name, { physSize: 4 * MiB });
      const t = new Tables(e, MODES.pae);
      t.map(0x4000_0000n, 0x20_0000n, RW);
      e.setX86({ cr0: CR0_PE, cr4: CR4_PAE, efer: 0n, cr3: BigInt(t.root) });
      expect(e.writeCr0(CR0_PE | CR0_PG | CR0_WP).fault).toBe(FaultKind.None);
      expect(e.translate(0x4000_0000n, Access.Read).pa).toBe(0x20_0000);
    });

    it("setCpl, setSemantics and invpcid reject nonsense with clear errors", async () => {
      const e = await createEngine(name, { physSize: MiB });
      expect(() => e.setCpl(4)).toThrow(/setCpl: cpl must be an integer in \[0, 3\], got 4/);
      expect(() => e.setSemantics({ profile: "bochs" as "qemu" })).toThrow(/profile/);
      expect(() => e.setSemantics({ quirks: 99 })).toThrow(/quirks/);
      expect(() => e.setSemantics({ adOnFault: "some" as "none" })).toThrow(/adOnFault/);
      expect(() => e.invpcid(7 as 0, 0, 0n)).toThrow(/type/);
      expect(() => e.translateBatch(e.batch.capacity + 1)).toThrow(RangeError);
    });
  });

  describe("physical addresses beyond RAM", () => {
    it("CR3 beyond RAM: the first entry read is a bus fault naming the PA", async () => {
      const e = await createEngine(name, { physSize: MiB, maxPhyAddr: 40 });
      e.setX86({ ...MODES.ia32e4.regs, cr3: 0x4000_0000n });
      const r = e.translate(0x1000n, Access.Read);
      expect([r.fault, r.pa]).toEqual([FaultKind.Bus, 0x4000_0000]);
      expect(e.x86().cr2).toBe(0n);
    });

    it("an entry pointing beyond RAM: bus fault, no metadata touched, entries before it get A", async () => {
      const e = await createEngine(name, { physSize: MiB, maxPhyAddr: 40 });
      const t = new Tables(e, MODES.ia32e4, 0x8000);
      const va = sampleVa(MODES.ia32e4);
      const path = t.map(va, 0x2000n, RW | US);
      e.phys.write64(path[2]!, 0x7f_0000_0000n | 0x27n);            // PDE → a PT far beyond RAM
      t.load();
      const ctl = new Uint8Array(e.buffer, 0, e.layout.ramBase).slice();
      const r = e.translate(va, Access.Read);
      expect([r.fault, r.pa]).toEqual([FaultKind.Bus, 0x7f_0000_0000 + 8 * Number((va >> 12n) & 0x1ffn)]);
      const now = new Uint8Array(e.buffer, 0, e.layout.ramBase);
      // Only the result record, the statistics and the TLB region may change.
      const allowed = (i: number): boolean => (i >= Mem.CTL_BASE + Ctl.RES_FAULT && i < Mem.CTL_BASE + Ctl.RES_PTE_PA + 8)
        || (i >= Mem.STATS_BASE && i < Mem.STATS_BASE + Mem.STATS_SIZE)
        || (i >= e.layout.tlbBase && i < e.layout.tlbBase + e.layout.tlbBytes);
      const diff = ctl.findIndex((b, i) => b !== now[i] && !allowed(i));
      expect(diff).toBe(-1);
      expect(e.phys.read64(path[1]!) & 0x20n).toBe(0x20n);
    });

    it("a PAE PDPT beyond RAM makes the CR3 load fail as a bus fault; the old context stays", async () => {
      const e = await createEngine(name, { physSize: MiB });
      const t = new Tables(e, MODES.pae, 0x8000);
      t.map(0x4000_0000n, 0x2000n, RW);
      t.load();
      const r = e.writeCr3(0x8000_0000n);
      expect([r.fault, r.pa]).toEqual([FaultKind.Bus, 0x8000_0000]);
      expect(e.x86Error).toMatch(/outside guest memory/);
      expect(e.x86().cr3).toBe(BigInt(t.root));
      expect(e.translate(0x4000_0000n, Access.Read).pa).toBe(0x2000);
    });

    it("a translation to a PA beyond RAM succeeds (only the access itself would be a bus error)", async () => {
      const e = await createEngine(name, { physSize: MiB, maxPhyAddr: 40 });
      const t = new Tables(e, MODES.ia32e4, 0x8000);
      t.map(0x1000n, 0x55_0000_0000n, RW);
      t.load();
      expect(e.translate(0x1234n, Access.Read).pa).toBe(0x55_0000_0234);
      expect(() => e.phys.read8(0x55_0000_0234)).toThrow(/outside guest memory/);
    });

    it("sparse memory: never-written table frames read as not present; a 1 TiB machine walks", async () => {
      const e = await createEngine(name, { backing: "sparse", physSize: 2 ** 40, poolBytes: 64 * 4096, maxPhyAddr: 40 });
      const t = new Tables(e, MODES.ia32e4, 0xff_0000_0000);
      const va = sampleVa(MODES.ia32e4);
      t.map(va, 0xfe_dcba_9000n, RW | US);
      t.load();
      expect(e.translate(va, Access.Write).pa).toBe(0xfe_dcba_9123);
      expect(e.translate(va ^ (1n << 39n), Access.Read).errorCode).toBe(0);
      expect(e.phys.framesBacked).toBeLessThan(8);
    });
  });

  describe("batches", () => {
    it("translateBatch gives what translate gives, with the BatchOut fault word", async () => {
      const single = await createEngine(name, { physSize: 4 * MiB, maxPhyAddr: 40 });
      const batch = await createEngine(name, { physSize: 4 * MiB, maxPhyAddr: 40 });
      const vas: bigint[] = [], kinds: Access[] = [];
      for (const e of [single, batch]) {
        const t = new Tables(e, MODES.ia32e4);
        for (let i = 0n; i < 8n; i++) t.map(0x4000_0000n + (i << 12n), 0x10_0000n + (i << 12n), i & 1n ? RW | US : US);
        t.load({ cpl: 3 });
      }
      for (let i = 0; i < 40; i++) {
        vas.push(0x4000_0000n + BigInt((i * 0x1357) % (12 * 4096)) + (i % 7 === 0 ? 1n << 47n : 0n));
        kinds.push((i % 3) as Access);
      }
      vas.forEach((v, i) => { batch.batch.va[i] = v; batch.batch.kind[i] = kinds[i]!; });
      const faults = batch.translateBatch(vas.length);
      let want = 0;
      vas.forEach((v, i) => {
        const r = single.translate(v, kinds[i]!);
        const out = batch.batch.out[i]!;
        if (r.fault === FaultKind.None) expect(out).toBe(BigInt(r.pa));
        else {
          want++;
          expect(out >> BigInt(BatchOut.FAULT_BIT)).toBe(1n);
          expect(Number((out >> BigInt(BatchOut.KIND_SHIFT)) & 0xffn)).toBe(r.fault);
          expect(Number((out >> BigInt(BatchOut.VECTOR_SHIFT)) & 0xffffn)).toBe(r.vector);
          expect(Number(out & 0xffff_ffffn)).toBe(r.errorCode);
        }
      });
      expect(faults).toBe(want);
      expect(want).toBeGreaterThan(5);
      expectSameBytes(new Uint8Array(batch.buffer, batch.layout.ramBase, 4 * MiB),
        new Uint8Array(single.buffer, single.layout.ramBase, 4 * MiB), "guest RAM after batch vs single");
      expect(batch.x86().cr2).toBe(single.x86().cr2);
    });
  });
});
