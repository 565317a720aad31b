// The four paging modes (Intel SDM Vol. 3A §4.3, §4.4, §4.5), page sizes,
// the canonical check, reserved bits and not-present faults, written from
// the manual: every case runs on both engines.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Leaf, PfErr, Quirk, Vector } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import {
  A, CR4_PAE, CR4_PSE, D, EFER_LME, EFER_NXE, G, MODE_NAMES, MODES, P, PS, RW, sampleVa, Tables, US, XD,
} from "./tables.js";

const MiB = 1 << 20;
const fresh = (name: "wasm" | "ts", maxPhyAddr = 40): Promise<Engine> =>
  createEngine(name, { physSize: 8 * MiB, maxPhyAddr });

describe.each(ENGINE_NAMES)("x86 paging modes (%s engine)", (name) => {
  describe.each(MODE_NAMES)("%s", (modeName) => {
    const mode = MODES[modeName];

    it("translates a 4 KiB page and keeps the page offset", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const va = sampleVa(mode);
      t.map(va, 0x0020_5000n, RW | US);
      t.load();
      const r = e.translate(va, Access.Read);
      expect(r.fault).toBe(FaultKind.None);
      expect(r.pa).toBe(0x0020_5123);
      expect(r.shift).toBe(12);
      expect(r.ptePa).toBe(t.paths.get(va)!.at(-1));
      expect(r.leaf & (Leaf.W | Leaf.U)).toBe(Leaf.W | Leaf.U);
    });

    it.each(mode.pageShifts.filter((s) => s > 12))("translates a large page (2^%i bytes)", async (shift) => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const size = 1n << BigInt(shift);
      const va = (sampleVa(mode) & ~(size - 1n)) | (size - 8n);          // the last bytes of the page
      const base = shift === 30 ? 0x1_4000_0000n : 0x40_0000n * 3n;     // above RAM is fine: only translated
      t.map(va, base, RW, shift);
      t.load();
      const r = e.translate(va, Access.Write);
      expect(r.fault).toBe(FaultKind.None);
      expect(r.pa).toBe(Number(base + size - 8n));
      expect(r.shift).toBe(shift);
      const leaf = t.entry(t.paths.get(va)!.at(-1)!);
      expect(leaf & (A | D)).toBe(A | D);                               // D on the large leaf
    });

    it("a not-present entry at every level gives #PF with P=0 and CR2 = va", async () => {
      for (let level = 0; level < mode.shifts.length; level++) {
        const e = await fresh(name);
        const t = new Tables(e, mode);
        const va = sampleVa(mode);
        const path = t.map(va, 0x20_5000n, RW | US);
        t.clear(path[level]!, P);
        t.load();
        e.setCpl(3);
        const r = e.translate(va, Access.Write);
        expect(r.fault, `level ${level}`).toBe(FaultKind.X86);
        expect(r.vector).toBe(Vector.PF);
        expect(r.errorCode).toBe(PfErr.W | PfErr.U);
        const cr2 = modeName.startsWith("ia32e") ? va : va & 0xffff_ffffn;
        expect(r.addr).toBe(cr2);
        expect(e.x86().cr2).toBe(cr2);
      }
    });

    it("a zero CR3 table (nothing mapped) faults, never reads metadata", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      t.load();
      const r = e.translate(sampleVa(mode), Access.Read);
      expect([r.fault, r.vector, r.errorCode]).toEqual([FaultKind.X86, Vector.PF, 0]);
    });
  });

  describe("legacy 32-bit paging", () => {
    const mode = MODES.legacy32;
    it("PDE.PS is ignored without CR4.PSE: the PDE points to a page table", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const va = 0x0040_3abcn;
      const path = t.map(va, 0x30_0000n, RW);       // 4K mapping: PDE → PT
      t.set(path[0]!, PS);
      t.load({ cr4: 0n });
      expect(e.translate(va, Access.Read).pa).toBe(0x30_0abc);
      t.load({ cr4: CR4_PSE });                      // now the PDE maps a 4 MiB page at its own frame
      const pde = t.entry(path[0]!);                 // (its table-address bits 20:13 become PA 39:32)
      const base = (pde & 0xffc0_0000n) | (((pde >> 13n) & 0xffn) << 32n);
      expect(e.translate(va, Access.Read).pa).toBe(Number(base) + 0x3abc);
    });

    it("PSE-36: PDE bits 20:13 give physical-address bits 39:32 of a 4 MiB page", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      t.map(0x8000_0000n, 0xab_c040_0000n, RW, 22);
      t.load();
      expect(e.translate(0x8012_3456n, Access.Read).pa).toBe(0xab_c052_3456);
    });

    it("PSE-36: PDE bit 21 is reserved (MAXPHYADDR 40): #PF with RSVD and P", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const [pde] = t.map(0x8000_0000n, 0x40_0000n, RW, 22);
      t.set(pde!, 1n << 21n);
      t.load();
      const r = e.translate(0x8000_0000n, Access.Read);
      expect([r.vector, r.errorCode]).toEqual([Vector.PF, PfErr.RSVD | PfErr.P]);
    });

    it("bits 63:32 of a linear address are ignored outside IA-32e mode", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      t.map(0x4000_0000n, 0x20_0000n, RW);
      t.load();
      expect(e.translate(0xdead_0000_4000_0010n, Access.Read).pa).toBe(0x20_0010);
    });

    it("instruction fetches never set I/D without SMEP (no NX in 32-bit paging)", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      t.load();
      expect(e.translate(0x1234_5000n, Access.Fetch).errorCode).toBe(0);
    });
  });

  describe("PAE paging", () => {
    const mode = MODES.pae;
    it("the PDPTEs are registers: memory changes need a CR3 load", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const va = 0xc000_1000n;
      const [pdpte] = t.map(va, 0x20_0000n, RW);
      t.load();
      const before = e.phys.read64(pdpte!);
      t.clear(pdpte!, P);                                     // software clears the PDPTE in memory
      e.flushTlb();                                           // a TLB flush does not reload PDPTEs
      const r = e.translate(va, Access.Read);
      expect(r.fault).toBe(FaultKind.None);                   // the register still holds the old value
      expect(e.phys.read64(pdpte!)).toBe(before & ~P);        // and the walk wrote nothing there (no A)
      expect(e.writeCr3(BigInt(t.root)).fault).toBe(FaultKind.None);
      expect(e.translate(va, Access.Read).errorCode).toBe(0); // reloaded: not present
    });

    it("a present PDPTE with a reserved bit makes the CR3 load #GP and keeps the old CR3", async () => {
      for (const bad of [2n, 4n, 0x20n, 0x100n, 1n << 40n, XD]) {
        const e = await fresh(name);
        const t = new Tables(e, mode);
        const [pdpte] = t.map(0x4000_0000n, 0x20_0000n, RW);
        t.load();
        const other = new Tables(e, mode, 0x40_0000);
        other.map(0x4000_0000n, 0x30_0000n, RW);
        other.set(other.paths.get(0x4000_0000n)![0]! + 8, P | bad);   // an unused PDPTE, present and bad
        const r = e.writeCr3(BigInt(other.root));
        expect([r.fault, r.vector, r.errorCode], `bit 0x${bad.toString(16)}`).toEqual([FaultKind.X86, Vector.GP, 0]);
        expect(e.x86().cr3).toBe(BigInt(t.root));
        expect(e.translate(0x4000_0000n, Access.Read).pa).toBe(0x20_0000);
        expect(pdpte).toBeDefined();
      }
    });

    it("PDE/PTE bits 62:MAXPHYADDR are reserved; the PDPTE is never marked accessed", async () => {
      const e = await fresh(name);
      const t = new Tables(e, mode);
      const [pdpte, pde] = t.map(0x4000_0000n, 0x20_0000n, RW);
      t.set(pde!, 1n << 55n);
      t.load();
      const r = e.translate(0x4000_0000n, Access.Read);
      expect(r.errorCode).toBe(PfErr.RSVD | PfErr.P);
      expect(e.phys.read64(pdpte!) & A).toBe(0n);
    });

    it("qemu profile: PDPTEs are re-read and marked accessed at walk time", async () => {
      const e = await fresh(name);
      e.setSemantics({ profile: "qemu" });
      const t = new Tables(e, mode);
      const [pdpte] = t.map(0x4000_0000n, 0x20_0000n, RW);
      t.load();
      expect(e.translate(0x4000_0000n, Access.Read).fault).toBe(FaultKind.None);
      expect(e.phys.read64(pdpte!) & A).toBe(A);
      t.clear(pdpte!, P);                                     // QEMU sees this on the next walk
      e.flushTlb();
      expect(e.translate(0x4000_0000n, Access.Read).fault).toBe(FaultKind.X86);
    });
  });

  describe("IA-32e paging", () => {
    it.each([["ia32e4", 0x0000_8000_0000_0000n], ["ia32e4", 0xffff_7fff_ffff_f000n], ["ia32e5", 0x0100_0000_0000_0000n],
      ["ia32e5", 0xfeff_ffff_ffff_f000n]] as const)("%s: non-canonical 0x%s gives #GP(0), CR2 untouched", async (m, va) => {
      const e = await fresh(name);
      const t = new Tables(e, MODES[m]);
      t.load({ cr2: 0x1234n });
      const r = e.translate(va, Access.Read);
      expect([r.fault, r.vector, r.errorCode]).toEqual([FaultKind.X86, Vector.GP, 0]);
      expect(e.x86().cr2).toBe(0x1234n);
    });

    it("LA57: an address canonical in 5-level paging walks five levels", async () => {
      const e = await fresh(name);
      const t = new Tables(e, MODES.ia32e5);
      const va = 0xff80_0000_0000_0000n | 0x1000n;            // top PML5 slot, canonical (bit 56 set)
      const path = t.map(va, 0x20_0000n, RW);
      t.load();
      expect(path).toHaveLength(5);
      expect(e.translate(va, Access.Read).pa).toBe(0x20_0000);
      for (const pa of path) expect(e.phys.read64(pa) & A).toBe(A);
    });

    it("PS is reserved in PML4Es and PML5Es", async () => {
      for (const m of ["ia32e4", "ia32e5"] as const) {
        const e = await fresh(name);
        const t = new Tables(e, MODES[m]);
        const va = sampleVa(MODES[m]);
        const path = t.map(va, 0x20_0000n, RW);
        t.set(path[0]!, PS);
        t.load();
        expect(e.translate(va, Access.Read).errorCode, m).toBe(PfErr.RSVD | PfErr.P);
      }
    });

    it("reserved bits: above MAXPHYADDR, XD without NXE, 29:13 of a 1 GiB and 20:13 of a 2 MiB leaf", async () => {
      const mode = MODES.ia32e4;
      const cases: [number, number, bigint, bigint][] = [
        // [page shift, level index, bit to set, efer]
        [12, 3, 1n << 40n, EFER_LME | EFER_NXE], [12, 1, 1n << 51n, EFER_LME | EFER_NXE], [12, 3, XD, EFER_LME],
        [30, 1, 1n << 13n, EFER_LME | EFER_NXE], [30, 1, 1n << 29n, EFER_LME | EFER_NXE], [21, 2, 1n << 20n, EFER_LME | EFER_NXE],
      ];
      for (const [shift, level, bit, efer] of cases) {
        const e = await fresh(name);
        const t = new Tables(e, mode);
        const va = sampleVa(mode);
        const path = t.map(va, 0x4000_0000n, RW, shift);
        t.set(path[level]!, bit);
        t.load({ efer });
        const r = e.translate(va, Access.Read);
        expect([r.vector, r.errorCode], `shift ${shift} bit 0x${bit.toString(16)}`).toEqual([Vector.PF, PfErr.RSVD | PfErr.P]);
        e.setSemantics({ quirks: Quirk.RsvdEcNoP });           // QEMU 7.2 pushes RSVD without P
        expect(e.translate(va, Access.Read).errorCode).toBe(PfErr.RSVD);
      }
    });

    it("MAXPHYADDR is configurable: bit 45 is an address bit at 52 and reserved at 40", async () => {
      for (const [maxPhyAddr, ok] of [[52, true], [40, false]] as const) {
        const e = await fresh(name, maxPhyAddr);
        const t = new Tables(e, MODES.ia32e4);
        const va = sampleVa(MODES.ia32e4);
        t.map(va, 1n << 45n, RW);
        t.load();
        const r = e.translate(va, Access.Read);
        expect(r.fault === FaultKind.None, `MAXPHYADDR ${maxPhyAddr}`).toBe(ok);
        if (ok) expect(r.pa).toBe(2 ** 45 + 0x123);
      }
    });

    it("bits 62:52 of an entry are ignored (software-available, protection key without PKE)", async () => {
      const e = await fresh(name);
      const t = new Tables(e, MODES.ia32e4);
      const va = sampleVa(MODES.ia32e4);
      const path = t.map(va, 0x20_0000n, RW | G);
      for (const pa of path) t.set(pa, 0x7ff0_0000_0000_0000n);
      t.load();
      const r = e.translate(va, Access.Read);
      expect(r.pa).toBe(0x20_0123);
      expect(r.leaf & Leaf.G).toBe(Leaf.G);
      expect(r.leaf >> Leaf.PKEY_SHIFT).toBe(15);              // reported, not enforced without CR4.PKE
    });
  });

  it("paging off: linear = physical (32 bits)", async () => {
    const e = await fresh(name);
    e.setX86({ cr0: 1n, cr4: 0n, efer: 0n, cr3: 0n });
    const r = e.translate(0x1_0012_3456n, Access.Write);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, 0x12_3456]);
  });

  it("PAE mode with CR4.PAE set and EFER.LME clear is 3-level even with LA57 set", async () => {
    const e = await fresh(name);
    const t = new Tables(e, MODES.pae);
    t.map(0x4000_0000n, 0x20_0000n, RW);
    t.load({ cr4: CR4_PAE | (1n << 12n), efer: EFER_NXE });
    expect(e.translate(0x4000_0000n, Access.Read).pa).toBe(0x20_0000);
    expect(e.x86().efer & (1n << 10n)).toBe(0n);               // LMA clear
    void EFER_LME;
  });
});
