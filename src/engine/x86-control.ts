/**
 * The x86 control registers and their architectural effects (MOV to CR0,
 * CR3, CR4, WRMSR IA32_EFER), shared by both engines. It is the rare path:
 * it validates a write (#GP as the SDM's MOV CR / WRMSR pages list), derives
 * the paging mode, asks the engine's hardware to load the PAE PDPTE
 * registers — a memory read, so each engine does it itself (the core's
 * x86LoadPdptes and its TS twin) — and flushes the TLB where the
 * architecture requires it (SDM Vol. 3A §4.10.4.1). The registers live in
 * the control block (Ctl in abi.ts), where both walkers read them.
 */
import { Cr, Ctl, FaultKind, Mem, Opt, Quirk, Vector, X86Mode } from "../abi.js";
import type { Semantics, Translation, X86State } from "./engine.js";
import { checkInt, checkKeys, checkObject, checkU64 } from "../check.js";

/** What the control logic needs from an engine's hardware side. */
export interface X86Hardware {
  /** Load the four PDPTE registers from the PDPT at `cr3`; None, #GP or Bus into `out`. */
  loadPdptes(cr3: bigint, out: Translation): Translation;
  flushTlb(includeGlobal: boolean): void;
  /** The TLB side of MOV to CR3: drop the non-global entries of `pcid`. */
  loadCr3(pcid: number): void;
}

/** CR4 bits this model accepts: every bit the SDM defines (0–14, 16–25,
 *  LASS 27, LAM_SUP 28, FRED 32). Setting any other bit is #GP; see
 *  docs/SEMANTICS.md for why the set is fixed rather than taken from a CPUID. */
export const CR4_DEFINED = 0x1_1bff_7fffn;
/** CR0 bits 63:32 are reserved: setting one is #GP (SDM Vol. 2B MOV CR). */
const CR0_HIGH = 0xffff_ffff_0000_0000n;
/** IA32_EFER bits of an Intel processor: SCE 0, LME 8, LMA 10, NXE 11. */
export const EFER_DEFINED = 0xd01n;
const CR0_PE = 0, CR0_NW = 29, CR0_CD = 30;
const STATE_KEYS = ["cr0", "cr3", "cr4", "efer", "eflags", "cpl", "pkru", "cr2"] as const;

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const mask = (n: number): bigint => 1n << BigInt(n);
const U64 = (1n << 64n) - 1n;

/** Paging mode from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57 (SDM §4.1.1). */
export function x86Mode(cr0: bigint, cr4: bigint, efer: bigint): X86Mode {
  if (!bit(cr0, Cr.CR0_PG)) return X86Mode.Off;
  if (!bit(cr4, Cr.CR4_PAE)) return X86Mode.Legacy32;
  if (!bit(efer, Cr.EFER_LMA)) return X86Mode.Pae;
  return bit(cr4, Cr.CR4_LA57) ? X86Mode.Ia32e5 : X86Mode.Ia32e4;
}

/** EFER with LMA as the processor derives it: LME and CR0.PG (SDM §9.8.5). */
function withLma(efer: bigint, cr0: bigint): bigint {
  const lma = bit(efer, Cr.EFER_LME) && bit(cr0, Cr.CR0_PG);
  return lma ? efer | mask(Cr.EFER_LMA) : efer & ~mask(Cr.EFER_LMA);
}

export function setOk(out: Translation): Translation {
  out.fault = FaultKind.None; out.pa = 0; out.vector = 0; out.errorCode = 0; out.addr = 0n;
  out.leaf = 0; out.shift = 0; out.ptePa = 0;
  return out;
}

function setGp(out: Translation): Translation {
  setOk(out);
  out.fault = FaultKind.X86; out.vector = Vector.GP;
  return out;
}

export class X86Control {
  private readonly dv: DataView;
  /** Why the last register write faulted (for error messages), or "". */
  lastError = "";

  constructor(buffer: ArrayBufferLike, private readonly hw: X86Hardware, private readonly maxPhyAddr: number) {
    this.dv = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  }

  private get64(off: number): bigint { return this.dv.getBigUint64(off, true); }
  private set64(off: number, v: bigint): void { this.dv.setBigUint64(off, v & U64, true); }

  state(): X86State {
    return {
      cr0: this.get64(Ctl.CR0), cr3: this.get64(Ctl.CR3), cr4: this.get64(Ctl.CR4),
      efer: this.get64(Ctl.EFER), eflags: this.get64(Ctl.EFLAGS),
      cpl: this.dv.getUint32(Ctl.CPL, true), pkru: this.dv.getUint32(Ctl.PKRU, true),
      cr2: this.get64(Ctl.CR2),
    };
  }

  get mode(): X86Mode { return this.dv.getUint32(Ctl.MODE, true) as X86Mode; }

  /** #GP conditions of a register set as a whole, or "" if consistent. */
  private inconsistency(s: X86State): string {
    if (s.cr0 & CR0_HIGH) return `CR0 0x${s.cr0.toString(16)} sets reserved bits 63:32 (#GP)`;
    if (bit(s.cr0, Cr.CR0_PG) && !bit(s.cr0, CR0_PE)) return "CR0.PG=1 requires CR0.PE=1 (#GP)";
    if (bit(s.cr0, CR0_NW) && !bit(s.cr0, CR0_CD)) return "CR0.NW=1 requires CR0.CD=1 (#GP)";
    if (s.cr4 & ~CR4_DEFINED) return `CR4 0x${s.cr4.toString(16)} sets reserved bits 0x${(s.cr4 & ~CR4_DEFINED).toString(16)} (#GP)`;
    if (s.efer & ~EFER_DEFINED) return `EFER 0x${s.efer.toString(16)} sets reserved bits 0x${(s.efer & ~EFER_DEFINED).toString(16)} (#GP)`;
    if (bit(s.cr0, Cr.CR0_PG) && bit(s.efer, Cr.EFER_LME) && !bit(s.cr4, Cr.CR4_PAE))
      return "CR0.PG=1 with EFER.LME=1 requires CR4.PAE=1 (SDM Vol. 2B MOV CR: #GP)";
    if (bit(s.efer, Cr.EFER_LMA)) {
      const rsvd = ((1n << 64n) - 1n) & ~((1n << BigInt(this.maxPhyAddr)) - 1n);
      if (s.cr3 & rsvd) return `CR3 0x${s.cr3.toString(16)} sets bits above MAXPHYADDR (${this.maxPhyAddr})`;
    }
    if (bit(s.cr4, Cr.CR4_PCIDE) && !bit(s.efer, Cr.EFER_LMA))
      return "CR4.PCIDE=1 requires IA-32e mode";
    if (!Number.isInteger(s.cpl) || s.cpl < 0 || s.cpl > 3) return `CPL must be 0..3, got ${s.cpl}`;
    return "";
  }

  /** Commit a register set, loading the PDPTEs first if PAE paging is (still) on. */
  private commit(s: X86State, loadPdptes: boolean, out: Translation): Translation {
    const why = this.inconsistency(s);
    if (why) { this.lastError = why; return setGp(out); }
    const mode = x86Mode(s.cr0, s.cr4, s.efer);
    if (mode === X86Mode.Pae && loadPdptes) {
      this.hw.loadPdptes(s.cr3, out);
      if (out.fault !== FaultKind.None) {
        this.lastError = out.fault === FaultKind.Bus
          ? `PAE PDPT at 0x${out.pa.toString(16)} is outside guest memory`
          : "a present PAE PDPTE has reserved bits set (SDM §4.4.1: #GP at the CR3 load)";
        return out;
      }
    }
    this.set64(Ctl.CR0, s.cr0); this.set64(Ctl.CR3, s.cr3); this.set64(Ctl.CR4, s.cr4);
    this.set64(Ctl.EFER, s.efer); this.set64(Ctl.EFLAGS, s.eflags); this.set64(Ctl.CR2, s.cr2);
    this.dv.setUint32(Ctl.CPL, s.cpl, true);
    this.dv.setUint32(Ctl.PKRU, s.pkru >>> 0, true);
    this.dv.setUint32(Ctl.MODE, mode, true);
    this.lastError = "";
    return setOk(out);
  }

  setX86(p: Partial<X86State>, out: Translation): Translation {
    checkObject("setX86", "state", p);
    checkKeys("setX86", "register", p, STATE_KEYS);
    for (const k of ["cr0", "cr3", "cr4", "efer", "eflags", "cr2"] as const)
      if (p[k] !== undefined) checkU64("setX86", k, p[k]);
    if (p.cpl !== undefined) checkInt("setX86", "cpl", p.cpl, 0, 3);
    if (p.pkru !== undefined) checkInt("setX86", "pkru", p.pkru, 0, 0xffff_ffff);
    const s = { ...this.state(), ...p };
    s.efer = withLma(s.efer, s.cr0);
    if (x86Mode(s.cr0, s.cr4, s.efer) < X86Mode.Ia32e4) s.cr3 &= 0xffff_ffffn;
    this.commit(s, true, out);
    if (out.fault === FaultKind.None) this.hw.flushTlb(true);
    return out;
  }

  writeCr0(v: bigint, out: Translation): Translation {
    const old = this.state();
    const s = { ...old, cr0: checkU64("writeCr0", "value", v) };
    s.efer = withLma(s.efer, s.cr0);
    const changed = old.cr0 ^ s.cr0;
    // PDPTEs load when PAE paging follows and PG, CD (30) or NW (29) changes (SDM §4.4.1).
    this.commit(s, (changed & (mask(Cr.CR0_PG) | mask(30) | mask(29))) !== 0n, out);
    // PG or WP changes: every cached translation is stale (WP is folded into them).
    if (out.fault === FaultKind.None && changed & (mask(Cr.CR0_PG) | mask(Cr.CR0_WP))) this.hw.flushTlb(true);
    return out;
  }

  writeCr3(v: bigint, out: Translation): Translation {
    const old = this.state();
    const pcide = bit(old.cr4, Cr.CR4_PCIDE);
    checkU64("writeCr3", "value", v);
    const noFlush = pcide && bit(v, Cr.CR3_NOFLUSH);
    let cr3 = v;
    if (pcide) cr3 &= ~mask(Cr.CR3_NOFLUSH);
    if (this.mode < X86Mode.Ia32e4) cr3 &= 0xffff_ffffn;
    this.commit({ ...old, cr3 }, true, out);
    // A CR3 load drops the non-global entries of the new PCID (000H without
    // PCIDE); entries of other PCIDs and global ones stay (SDM §4.10.4.1).
    if (out.fault === FaultKind.None && !noFlush) this.hw.loadCr3(pcide ? Number(cr3 & 0xfffn) : 0);
    return out;
  }

  writeCr4(v: bigint, out: Translation): Translation {
    const old = this.state();
    const s = { ...old, cr4: checkU64("writeCr4", "value", v) };
    const changed = old.cr4 ^ s.cr4;
    if (bit(old.efer, Cr.EFER_LMA)) {
      if (!bit(s.cr4, Cr.CR4_PAE)) { this.lastError = "clearing CR4.PAE in IA-32e mode (#GP)"; return setGp(out); }
      if (changed & mask(Cr.CR4_LA57)) { this.lastError = "changing CR4.LA57 in IA-32e mode (#GP)"; return setGp(out); }
    }
    if (changed & mask(Cr.CR4_PCIDE) && bit(s.cr4, Cr.CR4_PCIDE) && (old.cr3 & 0xfffn) !== 0n) {
      this.lastError = "setting CR4.PCIDE with CR3[11:0] != 0 (#GP)"; return setGp(out);
    }
    const pdpteBits = mask(Cr.CR4_PAE) | mask(Cr.CR4_PGE) | mask(Cr.CR4_PSE) | mask(Cr.CR4_SMEP);
    this.commit(s, (changed & pdpteBits) !== 0n, out);
    const flushBits = pdpteBits | mask(Cr.CR4_PCIDE) | mask(Cr.CR4_SMAP) | mask(Cr.CR4_PKE) | mask(Cr.CR4_LA57);
    if (out.fault === FaultKind.None && changed & flushBits) this.hw.flushTlb(true);
    return out;
  }

  writeEfer(v: bigint, out: Translation): Translation {
    checkU64("writeEfer", "value", v);
    const old = this.state();
    if (bit(old.cr0, Cr.CR0_PG) && bit(old.efer ^ v, Cr.EFER_LME)) {
      this.lastError = "changing EFER.LME while CR0.PG=1 (#GP)"; return setGp(out);
    }
    const s = { ...old, efer: withLma(v, old.cr0) };
    this.commit(s, false, out);
    if (out.fault === FaultKind.None && bit(old.efer ^ s.efer, Cr.EFER_NXE)) this.hw.flushTlb(true);
    return out;
  }

  setCpl(n: number): void { this.dv.setUint32(Ctl.CPL, checkInt("setCpl", "cpl", n, 0, 3), true); }
  setEflags(v: bigint): void { this.set64(Ctl.EFLAGS, checkU64("setEflags", "value", v)); }
  setPkru(v: number): void { this.dv.setUint32(Ctl.PKRU, checkInt("setPkru", "value", v, 0, 0xffff_ffff), true); }

  setSemantics(sem: Semantics): void {
    checkObject("setSemantics", "semantics", sem);
    checkKeys("setSemantics", "option", sem, ["profile", "quirks", "adOnFault", "pdpteGp"]);
    let quirks = this.dv.getUint32(Ctl.QUIRKS, true);
    if (sem.profile === "qemu") quirks = Quirk.All;
    else if (sem.profile === "hardware") quirks = 0;
    else if (sem.profile !== undefined) throw new TypeError(`unknown profile "${String(sem.profile)}" (expected "hardware" or "qemu")`);
    if (sem.quirks !== undefined) {
      if (!Number.isInteger(sem.quirks) || sem.quirks < 0 || sem.quirks > Quirk.All)
        throw new RangeError(`quirks must be a combination of Quirk bits (0..${Quirk.All}), got ${sem.quirks}`);
      quirks = sem.quirks;
    }
    let opts = this.dv.getUint32(Ctl.OPTIONS, true);
    if (sem.adOnFault === "none") opts |= Opt.AdOnFaultNone;
    else if (sem.adOnFault === "walk") opts &= ~Opt.AdOnFaultNone;
    else if (sem.adOnFault !== undefined) throw new TypeError(`adOnFault must be "walk" or "none", got "${String(sem.adOnFault)}"`);
    if (sem.pdpteGp === "use") opts |= Opt.PdpteGpOnUse;
    else if (sem.pdpteGp === "load") opts &= ~Opt.PdpteGpOnUse;
    else if (sem.pdpteGp !== undefined) throw new TypeError(`pdpteGp must be "load" or "use", got "${String(sem.pdpteGp)}"`);
    this.dv.setUint32(Ctl.QUIRKS, quirks, true);
    this.dv.setUint32(Ctl.OPTIONS, opts, true);
    this.hw.flushTlb(true);
  }
}
