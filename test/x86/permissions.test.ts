// Permission rules of Intel SDM Vol. 3A §4.6 (and the #PF error code of §4.7),
// one rule per test, on both engines and — where the rule does not depend on
// the mode — in all four paging modes.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Leaf, PfErr, Vector } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine, type Translation } from "../../src/engine/index.js";
import type { X86State } from "../../src/engine/engine.js";
import {
  AC, CR0_PE, CR0_PG, CR0_WP, CR4_PKE, CR4_SMAP, CR4_SMEP, EFER_LME, EFER_NXE, MODE_NAMES, MODES, type ModeName, P, RW,
  sampleVa, Tables, US, XD,
} from "./tables.js";

const R = Access.Read, W = Access.Write, X = Access.Fetch;
/** #PF error code expected, or null for success. */
type Want = number | null;

async function setup(name: "wasm" | "ts", modeName: ModeName, leaf: bigint, upper = P | RW | US,
  regs: Partial<X86State> = {}): Promise<{ e: Engine; va: bigint; t: Tables }> {
  const e = await createEngine(name, { physSize: 4 << 20, maxPhyAddr: 40 });
  const mode = MODES[modeName];
  const t = new Tables(e, mode);
  const va = sampleVa(mode);
  t.map(va, 0x20_0000n, leaf, 12, upper);
  const r = mode.regs;
  t.load({ ...r, ...regs, cr4: (r.cr4 ?? 0n) | (regs.cr4 ?? 0n), efer: regs.efer ?? r.efer });
  return { e, va, t };
}

function outcome(r: Translation): Want {
  if (r.fault === FaultKind.None) return null;
  expect(r.fault).toBe(FaultKind.X86);
  expect(r.vector).toBe(Vector.PF);
  return r.errorCode;
}

const EP = PfErr.P, EW = PfErr.W, EU = PfErr.U, ID = PfErr.ID, PK = PfErr.PK;

describe.each(ENGINE_NAMES)("x86 permissions (%s engine)", (name) => {
  describe.each(MODE_NAMES)("%s", (m) => {
    const hasNx = m !== "legacy32";

    it("U/S: CPL3 may not touch a supervisor page; CPL0 may touch a user page", async () => {
      const { e, va } = await setup(name, m, RW);
      e.setCpl(3);
      expect(outcome(e.translate(va, R))).toBe(EP | EU);
      expect(outcome(e.translate(va, W))).toBe(EP | EW | EU);
      e.setCpl(0);
      expect(outcome(e.translate(va, R))).toBeNull();
      const u = await setup(name, m, RW | US);
      expect(outcome(u.e.translate(u.va, W))).toBeNull();
    });

    // The upper entry the AND is checked at: the top level, except under PAE,
    // whose PDPTEs carry no R/W, U/S or XD (reserved), so the PDE.
    const upperLevel = m === "pae" ? 1 : 0;

    it("U/S and R/W are ANDed over every level (a supervisor or read-only upper entry wins)", async () => {
      const sup = await setup(name, m, RW | US);
      sup.t.clear(sup.t.paths.get(sup.va)![upperLevel]!, US);
      sup.e.setCpl(3);
      expect(outcome(sup.e.translate(sup.va, R))).toBe(EP | EU);
      const ro = await setup(name, m, RW | US);
      ro.t.clear(ro.t.paths.get(ro.va)![upperLevel]!, RW);
      ro.e.setCpl(3);
      expect(outcome(ro.e.translate(ro.va, R))).toBeNull();
      expect(outcome(ro.e.translate(ro.va, W))).toBe(EP | EW | EU);
    });

    it("R/W with CR0.WP: supervisor writes to read-only pages fault only when WP=1", async () => {
      const { e, va } = await setup(name, m, US);
      expect(outcome(e.translate(va, W))).toBe(EP | EW);
      e.writeCr0(CR0_PG | CR0_PE);                                // WP=0
      expect(outcome(e.translate(va, W))).toBeNull();
      e.setCpl(3);
      expect(outcome(e.translate(va, W))).toBe(EP | EW | EU);     // WP never helps CPL3
    });

    if (hasNx) {
      it("XD with EFER.NXE: fetches fault with I/D; data accesses are fine", async () => {
        const { e, va } = await setup(name, m, RW | US | XD);
        expect(outcome(e.translate(va, X))).toBe(EP | ID);
        expect(outcome(e.translate(va, R))).toBeNull();
        expect(outcome(e.translate(va, W))).toBeNull();
      });

      it("XD in an upper entry makes the whole range non-executable", async () => {
        const { e, va, t } = await setup(name, m, RW | US);
        t.set(t.paths.get(va)![upperLevel]!, XD);
        expect(outcome(e.translate(va, X))).toBe(EP | ID);
      });
    } else {
      it("32-bit paging has no XD: every present page is executable, whatever EFER.NXE says", async () => {
        const { e, va } = await setup(name, m, US, P | RW | US, { efer: EFER_NXE });
        e.setCpl(3);
        expect(outcome(e.translate(va, X))).toBeNull();
        expect(outcome(e.translate(va, W))).toBe(EP | EW | EU);
      });
    }

    it("I/D is reported for a not-present fetch only with NXE or SMEP", async () => {
      const { e, va } = await setup(name, m, RW | US);
      const miss = va ^ 0x40_0000n;           // a page nobody mapped
      expect(outcome(e.translate(miss, X))).toBe(hasNx ? ID : 0);
      if (hasNx) { e.writeEfer((e.x86().efer) & ~EFER_NXE); expect(outcome(e.translate(miss, X))).toBe(0); }
      e.writeCr4(e.x86().cr4 | CR4_SMEP);
      expect(outcome(e.translate(miss, X))).toBe(ID);
    });

    it("SMEP: CPL0 may not fetch from a user page; CPL3 may", async () => {
      const { e, va } = await setup(name, m, RW | US, undefined, { cr4: CR4_SMEP });
      expect(outcome(e.translate(va, X))).toBe(EP | ID);
      expect(outcome(e.translate(va, R))).toBeNull();
      e.setCpl(3);
      expect(outcome(e.translate(va, X))).toBeNull();
    });

    it("SMAP: CPL0 data accesses to user pages fault unless EFLAGS.AC=1; fetches are not affected", async () => {
      const { e, va } = await setup(name, m, RW | US, undefined, { cr4: CR4_SMAP });
      expect(outcome(e.translate(va, R))).toBe(EP);
      expect(outcome(e.translate(va, W))).toBe(EP | EW);
      expect(outcome(e.translate(va, X))).toBeNull();
      e.setEflags(AC);
      expect(outcome(e.translate(va, R))).toBeNull();
      expect(outcome(e.translate(va, W))).toBeNull();
      e.setCpl(3);
      e.setEflags(0n);
      expect(outcome(e.translate(va, R))).toBeNull();                // SMAP is for supervisor accesses
    });

    it("SMAP with AC=1: a read-only user page still needs WP=0 for supervisor writes", async () => {
      const { e, va } = await setup(name, m, US, undefined, { cr4: CR4_SMAP, eflags: AC });
      expect(outcome(e.translate(va, W))).toBe(EP | EW);
      e.writeCr0(CR0_PG | CR0_PE);
      expect(outcome(e.translate(va, W))).toBeNull();
    });
  });

  describe("protection keys (CR4.PKE, IA-32e only)", () => {
    const key = 5n;
    const withKey = (leaf: bigint): bigint => leaf | (key << 59n);

    it("access-disable denies data accesses to user pages with PK set; fetches are allowed", async () => {
      const { e, va } = await setup(name, "ia32e4", withKey(RW | US), undefined, { cr4: CR4_PKE });
      e.setPkru(1 << (2 * Number(key)));                        // AD5
      e.setCpl(3);
      expect(outcome(e.translate(va, R))).toBe(EP | EU | PK);
      expect(outcome(e.translate(va, W))).toBe(EP | EW | EU | PK);
      expect(outcome(e.translate(va, X))).toBeNull();
      e.setCpl(0);
      expect(outcome(e.translate(va, R))).toBe(EP | PK);      // supervisor accesses to user pages too
      e.setPkru(1 << 2);                                        // AD1: another key
      expect(outcome(e.translate(va, R))).toBeNull();
    });

    it("write-disable denies writes: always at CPL3, at CPL0 only with CR0.WP", async () => {
      const { e, va } = await setup(name, "ia32e4", withKey(RW | US), undefined, { cr4: CR4_PKE });
      e.setPkru(2 << (2 * Number(key)));                        // WD5
      expect(outcome(e.translate(va, R))).toBeNull();
      expect(outcome(e.translate(va, W))).toBe(EP | EW | PK);
      e.writeCr0(CR0_PG | CR0_PE);                               // WP=0
      expect(outcome(e.translate(va, W))).toBeNull();
      e.setCpl(3);
      expect(outcome(e.translate(va, W))).toBe(EP | EW | EU | PK);
    });

    it("keys do not apply to supervisor pages, without CR4.PKE, or outside IA-32e mode", async () => {
      const sup = await setup(name, "ia32e4", withKey(RW), undefined, { cr4: CR4_PKE });
      sup.e.setPkru(0xffff_ffff);
      expect(outcome(sup.e.translate(sup.va, W))).toBeNull();
      const off = await setup(name, "ia32e4", withKey(RW | US));
      off.e.setPkru(0xffff_ffff);
      expect(outcome(off.e.translate(off.va, W))).toBeNull();
      const pae = await setup(name, "pae", RW | US, undefined, { cr4: CR4_PKE });
      pae.e.setPkru(0xffff_ffff);
      expect(outcome(pae.e.translate(pae.va, W))).toBeNull();
    });

    it("a PK fault also sets PK when the ordinary rules deny too (SDM §4.7)", async () => {
      const { e, va } = await setup(name, "ia32e4", withKey(US), undefined, { cr4: CR4_PKE });   // read-only
      e.setPkru(1 << (2 * Number(key)));
      e.setCpl(3);
      expect(outcome(e.translate(va, W))).toBe(EP | EW | EU | PK);
    });

    it("the leaf reports its key and the folded permissions", async () => {
      const { e, va } = await setup(name, "ia32e4", withKey(US | XD));
      const r = e.translate(va, R);
      expect(r.leaf >> Leaf.PKEY_SHIFT).toBe(Number(key));
      expect(r.leaf & (Leaf.W | Leaf.U | Leaf.X)).toBe(Leaf.U);
      void EFER_LME; void CR0_WP;
    });
  });
});
