/**
 * The x86 page walker of the pure-TypeScript engine: the twin of
 * assembly/x86/walk.ts, written independently for JavaScript. One loop for
 * every paging mode (Intel SDM Vol. 3A ch. 4), driven by a shift per level.
 *
 * Hot-path rules: no BigInt, no allocation. A 64-bit value is two u32 halves
 * (lo, hi) read through a Uint32Array over the engine's buffer (little-endian
 * hosts: every JS engine in use); physical addresses are numbers < 2^52,
 * which are exact. Control registers are read from the same control block
 * the wasm core uses, so both engines see one context.
 *
 * Semantics (identical to the core, see there for the sources): permissions
 * ANDed over the levels with XD ORed, one final check; A set by cmpxchg as
 * the walk passes each entry, leaf A/D only on success, never D on a
 * non-leaf; a failed non-leaf cmpxchg re-reads that level, a failed leaf
 * cmpxchg restarts the walk.
 */
import { lowMask } from "../bits.js";
import { Access, Backing, Cr, Ctl, FaultKind, Leaf, Mem, Opt, PfErr, Pte, Quirk, Stat, Vector, X86Mode } from "../../../abi.js";
import type { Layout } from "../../../layout.js";
import { frameHashHome } from "../../../phys/frame-hash.js";
import type { TsPsc } from "../psc.js";
import { accessDenied, permControls, pkeysApply, pkruDenies } from "./access.js";
import { TWO32 } from "../../../u64.js";

/** Outcome of entryOffset(): the PA is beyond guest memory / an unbacked sparse frame. */
const OFF_BUS = -1, OFF_ZERO = -2;
const RESTART = -1, GO_ON = -2;
/** largeLeafReserved: not a large leaf / a PS bit where PS is reserved. */
const NOT_LEAF = 0, NOT_LEAF_RSVD = -1;
/** XD (bit 63) in the high word. */
const XD_HI = 0x80000000;
/** u32 index of a control-block field. */
const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;

const C_MODE = c32(Ctl.MODE), C_CR0 = c32(Ctl.CR0), C_CR3 = c32(Ctl.CR3), C_CR4 = c32(Ctl.CR4);
const C_EFER = c32(Ctl.EFER), C_EFLAGS = c32(Ctl.EFLAGS), C_CPL = c32(Ctl.CPL), C_PKRU = c32(Ctl.PKRU);
const C_QUIRKS = c32(Ctl.QUIRKS), C_OPTIONS = c32(Ctl.OPTIONS), C_PDPTE0 = c32(Ctl.PDPTE0), C_POOL_USED = c32(Ctl.POOL_USED);
const C_RACE_ON = c32(Ctl.DBG_RACE_ON), C_RACE_PA = c32(Ctl.DBG_RACE_PA), C_RACE_VAL = c32(Ctl.DBG_RACE_VAL);

export class X86Walker {
  // ── outputs of the last walk (the core's walk globals) ──
  fault: FaultKind = FaultKind.None;
  vector = 0;
  error = 0;
  /** Success: PA of the byte at va. Bus fault: the unreachable PA. */
  pa = 0;
  leaf = 0;
  shift = 0;
  ptePa = 0;
  /** Paging-structure entries read from memory by the last walk (statistics). */
  refs = 0;
  /** The paging-structure caches (set by TsTlb). */
  psc: TsPsc | null = null;

  private readonly m32: Uint32Array;
  private readonly u8: Uint8Array;
  private readonly physSize: number;
  private readonly ramBase: number;
  private readonly dense: boolean;
  private readonly maxPhyAddr: number;
  /** Reserved bits of a present PAE PDPTE: 2:1, 8:5 (0x1e6, low word) and 63:MAXPHYADDR (high word). */
  private readonly pdpteRsvdHi: number;

  constructor(buffer: ArrayBuffer, private readonly layout: Layout) {
    this.m32 = new Uint32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.physSize = layout.physSize;
    this.ramBase = layout.ramBase;
    this.dense = layout.backing === Backing.Dense;
    this.maxPhyAddr = layout.maxPhyAddr;
    this.pdpteRsvdHi = (~lowMask(layout.maxPhyAddr - 32)) >>> 0;
  }

  /**
   * Linear byte offset of guest-physical `pa` (an aligned entry), OFF_BUS
   * beyond guest memory, OFF_ZERO for a never-written sparse frame. The
   * sparse lookup is the frame hash of src/phys/frame-hash.ts.
   */
  private entryOffset(pa: number): number {
    if (pa >= this.physSize) return OFF_BUS;
    if (this.dense) return this.ramBase + pa;
    const l = this.layout, m32 = this.m32;
    const pfn = Math.floor(pa / Mem.PAGE_SIZE);
    const mask = (1 << l.hashLog2) - 1;
    const keyHi = Math.floor((pfn + 1) / 256) >>> 0, keyLo8 = (pfn + 1) & 0xff;
    for (let i = frameHashHome(pfn, l.hashLog2); ; i = (i + 1) & mask) {
      const e = (l.hashBase >>> 2) + i * 2;
      const lo = m32[e]!, hi = m32[e + 1]!;
      if (lo === 0 && hi === 0) return OFF_ZERO;
      if (hi === keyHi && lo >>> 24 === keyLo8) return this.ramBase + (lo & 0xffffff) * Mem.PAGE_SIZE + (pa % Mem.PAGE_SIZE);
    }
  }

  /** A TLB hit: the cached translation becomes the walk outputs. */
  setHit(pa: number, leaf: number, shift: number, ptePa: number): void {
    this.fault = FaultKind.None; this.pa = pa; this.leaf = leaf; this.shift = shift; this.ptePa = ptePa;
  }

  /** The fast walk's result (walk-fast.ts): a successful walk of `refs` levels. */
  setFast(pa: number, leaf: number, shift: number, ptePa: number, refs: number): void {
    this.fault = FaultKind.None; this.pa = pa; this.leaf = leaf; this.shift = shift; this.ptePa = ptePa; this.refs = refs;
  }

  /** One more in the u64 counter at STATS + off (the core's statInc). */
  private statInc(off: number): void {
    const i = (Mem.STATS_BASE + off) >>> 2, m32 = this.m32;
    m32[i] = (m32[i]! + 1) >>> 0;
    if (m32[i] === 0) m32[i + 1] = (m32[i + 1]! + 1) >>> 0;
  }

  private pageFault(err: number): FaultKind {
    this.fault = FaultKind.X86; this.vector = Vector.PF; this.error = err;
    return FaultKind.X86;
  }

  private busFault(pa: number): FaultKind {
    this.fault = FaultKind.Bus; this.vector = 0; this.error = 0; this.pa = pa;
    return FaultKind.Bus;
  }

  /** Debug race injection (src/engine/debug.ts), as raceHook in the core. */
  private raceHook(i: number, pa: number, wide: boolean): void {
    const m32 = this.m32;
    if (m32[C_RACE_ON] === 0) return;
    if (m32[C_RACE_PA] !== pa >>> 0 || m32[C_RACE_PA + 1] !== Math.floor(pa / TWO32)) return;
    m32[C_RACE_ON] = 0;
    m32[i] = m32[C_RACE_VAL]!;
    if (wide) m32[i + 1] = m32[C_RACE_VAL + 1]!;
  }

  /**
   * Locked OR of `bits` (low word) into the entry at u32 index `i` read as
   * (lo, hi). This memory is never shared between threads, so the cmpxchg of
   * the low word plus the re-check of the high word is exact; it matters for
   * the race hook.
   */
  private entrySetBits(i: number, pa: number, lo: number, hi: number, bits: number, wide: boolean): boolean {
    this.raceHook(i, pa, wide);
    if (wide && this.m32[i + 1] !== hi) return false;
    if (Atomics.compareExchange(this.m32, i, lo, (lo | bits) >>> 0) !== lo) return false;
    const set = bits & ~lo;
    if (set & Pte.A) this.statInc(Stat.A_WRITES);
    if (set & Pte.D) this.statInc(Stat.D_WRITES);
    return true;
  }

  /** Translate (vaHi:vaLo) for `access`; see the core's x86Walk (`psc`: use
   *  the paging-structure caches, filling them only with side effects). */
  walk(vaLo: number, vaHi: number, access: Access, sideEffects: boolean, psc: boolean): FaultKind {
    let r: number;
    this.refs = 0;
    this.psc?.reset();
    do r = this.walkOnce(vaLo >>> 0, vaHi >>> 0, access, sideEffects, psc); while (r === RESTART);
    return r as FaultKind;
  }

  // The context of one walk (the core's w* globals), derived by walkContext.
  private wErr = 0;         // #PF error code of a not-present or protection fault (without P)
  private wRsvdErr = 0;     // #PF error code of a reserved-bit fault
  private wRsvdHi = 0;      // reserved bits of every 8-byte entry, high word
  // The state below the top: next table, its index shift, permissions so far.
  private wTable = 0;
  private wShift = 0;
  private wAcc = 0;
  private wXd = false;

  private walkOnce(vaLo: number, vaHi: number, access: Access, sideEffects: boolean, psc: boolean): number {
    const m32 = this.m32;
    const mode = m32[C_MODE]! as X86Mode;
    if (mode === X86Mode.Off) return this.noPaging(vaLo);
    const quirks = m32[C_QUIRKS]!;
    const user = m32[C_CPL] === 3;
    const write = access === Access.Write;
    const wide = mode !== X86Mode.Legacy32;
    const ia32e = mode >= X86Mode.Ia32e4;
    this.walkContext(mode, access, user, quirks);
    this.wAcc = Pte.RW | Pte.US; this.wXd = false;

    // Where the walk starts: CR3's table, the PAE PDPTE register, or the
    // longest paging-structure-cache match.
    if (!ia32e) {
      vaHi = 0;
      if (wide) {
        const r = this.paePdpte(vaLo, quirks, sideEffects);
        if (r !== GO_ON) return r;
      } else { this.wTable = (m32[C_CR3]! & 0xfffff000) >>> 0; this.wShift = 22; }
    } else {
      // Canonical: bits 63:47 (63:56 with LA57) equal; #GP(0), CR2 untouched.
      const top = mode === X86Mode.Ia32e5 ? 24 : 15;        // bit 56 / 47 in the high word
      if ((vaHi | 0) >> top !== ((vaHi << (31 - top)) | 0) >> 31) return this.generalProtection();
      this.wTable = ((m32[C_CR3]! & 0xfffff000) >>> 0) + (m32[C_CR3 + 1]! & 0xfffff) * TWO32;
      this.wShift = mode === X86Mode.Ia32e5 ? 48 : 39;
    }
    const cache = ia32e && psc && this.psc !== null && this.psc.count !== 0 ? this.psc : null;
    const pcid = cache !== null && (m32[C_CR4]! >>> Cr.CR4_PCIDE) & 1 ? m32[C_CR3]! & 0xfff : 0;
    if (cache !== null) {
      const s = cache.lookup(vaLo, vaHi, pcid, this.wShift, sideEffects);
      if (s !== 0) { this.wTable = cache.table; this.wShift = s; this.wAcc = cache.acc; this.wXd = cache.xd; }
    }

    for (;;) {
      const shift = this.wShift;
      const idx = shift >= 32 ? (vaHi >>> (shift - 32)) & 0x1ff
        : ((vaLo >>> shift) | (vaHi << (32 - shift))) & (wide ? 0x1ff : 0x3ff);
      const epa = this.wTable + idx * (wide ? 8 : 4);
      const off = this.entryOffset(epa);
      if (off === OFF_BUS) return this.busFault(epa);
      const ei = off >>> 2;
      let lo = 0, hi = 0;
      if (off !== OFF_ZERO) { lo = m32[ei]!; if (wide) hi = m32[ei + 1]!; }
      this.refs++;
      if (!(lo & Pte.P)) return this.pageFault(this.wErr);
      const large = this.largeLeafReserved(lo, shift, wide);
      if (large === NOT_LEAF_RSVD) return this.pageFault(this.wRsvdErr);
      if ((hi & this.wRsvdHi) !== 0) return this.pageFault(this.wRsvdErr);

      if (shift !== 12 && large === NOT_LEAF) {
        if (sideEffects && !(lo & Pte.A) && !this.entrySetBits(ei, epa, lo, hi, Pte.A, wide)) continue;
        this.wAcc &= lo;
        if (hi & XD_HI) this.wXd = true;
        this.wTable = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32;
        // Present, no reserved bits, A set, PS = 0: cacheable (SDM §4.10.3.1).
        if (cache !== null && sideEffects) cache.fill(vaLo, vaHi, pcid, shift, this.wTable, this.wAcc, this.wXd, epa);
        this.wShift = shift - (wide ? 9 : 10);
        continue;
      }

      if (large !== NOT_LEAF) {
        if (shift === 30 && quirks & Quirk.OneGAEarly && sideEffects && !(lo & Pte.A)) {
          if (!this.entrySetBits(ei, epa, lo, hi, Pte.A, true)) continue;
          lo = (lo | Pte.A) >>> 0;
        }
        if (lo & large) return this.pageFault(this.wRsvdErr);
      }
      this.wAcc &= lo;
      if (hi & XD_HI) this.wXd = true;

      // The access rules (access.ts), protection keys included.
      const isU = (this.wAcc & Pte.US) !== 0, isW = (this.wAcc & Pte.RW) !== 0;
      const ctl = permControls(m32);
      const pkey = ia32e ? (hi >>> (Pte.PKEY_BIT - 32)) & 15 : 0;
      const pk = pkeysApply(isU, access, ctl) && pkruDenies(m32[C_PKRU]!, pkey, write, user, ctl);
      if (pk || accessDenied(isW, isU, !this.wXd, access, user, ((m32[C_EFLAGS]! >>> Cr.EFLAGS_AC) & 1) === 1, ctl))
        return this.pageFault(this.wErr | PfErr.P | (pk ? PfErr.PK : 0));

      // Success: A on the leaf, D on a write (SDM §4.8).
      const need = write ? Pte.A | Pte.D : Pte.A;
      if (sideEffects && (lo & need) !== need && !this.entrySetBits(ei, epa, lo, hi, need, wide)) return RESTART;

      // The offset (< 2^30) is in vaLo.
      const offMask = shift === 30 ? 0x3fffffff : (1 << shift) - 1;
      this.fault = FaultKind.None;
      this.pa = this.pageBase(lo, hi, offMask, shift, wide) + (vaLo & offMask);
      this.shift = shift;
      this.ptePa = epa;
      this.leaf = (isW ? Leaf.W : 0) | (isU ? Leaf.U : 0) | (this.wXd ? 0 : Leaf.X)
        | (write || lo & Pte.D ? Leaf.D : 0) | (lo & Pte.G ? Leaf.G : 0) | (pkey << Leaf.PKEY_SHIFT);
      return FaultKind.None;
    }
  }

  /** Paging off: linear = physical (32 bits), everything allowed. */
  private noPaging(vaLo: number): number {
    this.fault = FaultKind.None; this.pa = vaLo; this.shift = 12; this.ptePa = 0;
    this.leaf = Leaf.W | Leaf.U | Leaf.X | Leaf.D;
    return FaultKind.None;
  }

  /** The error codes and reserved bits of this walk (SDM §4.7, tables 4-8 to 4-20). */
  private walkContext(mode: X86Mode, access: Access, user: boolean, quirks: number): void {
    const m32 = this.m32, cr4 = m32[C_CR4]!;
    const wide = mode !== X86Mode.Legacy32;
    const nxe = wide && ((m32[C_EFER]! >>> Cr.EFER_NXE) & 1) === 1;
    let err = (access === Access.Write ? PfErr.W : 0) | (user ? PfErr.U : 0);
    if (access === Access.Fetch && (nxe || ((cr4 >>> Cr.CR4_SMEP) & 1) === 1)) err |= PfErr.ID;
    this.wErr = err;
    this.wRsvdErr = err | PfErr.RSVD | (quirks & Quirk.RsvdEcNoP ? 0 : PfErr.P);
    let rsvdHi = 0;
    if (wide) {
      rsvdHi = (0xfffff & ~lowMask(this.maxPhyAddr - 32)) >>> 0;    // 51:MAXPHYADDR
      if (mode === X86Mode.Pae) rsvdHi |= 0x7ff00000;                // 62:52
      if (!nxe) rsvdHi |= XD_HI;
    }
    this.wRsvdHi = rsvdHi >>> 0;
  }

  /** The PAE PDPTE step (the core's paePdpte): GO_ON with wTable/wShift set, or a fault. */
  private paePdpte(vaLo: number, quirks: number, sideEffects: boolean): number {
    const m32 = this.m32, i = vaLo >>> 30;
    let lo: number, hi: number;
    if (quirks & Quirk.PaePdpteA) {
      const epa = ((m32[C_CR3]! & 0xffffffe0) >>> 0) + i * 8;
      const off = this.entryOffset(epa);
      if (off === OFF_BUS) return this.busFault(epa);
      lo = off === OFF_ZERO ? 0 : m32[off >>> 2]!;
      hi = off === OFF_ZERO ? 0 : m32[(off >>> 2) + 1]!;
      this.refs++;
      if (!(lo & Pte.P)) return this.pageFault(this.wErr);
      if (quirks & Quirk.PaePdpteWalkCheck && (hi & (this.wRsvdHi | XD_HI)) !== 0) return this.pageFault(this.wRsvdErr);
      if (sideEffects && !(lo & Pte.A) && !this.entrySetBits(off >>> 2, epa, lo, hi, Pte.A, true)) return RESTART;
    } else {
      lo = m32[C_PDPTE0 + i * 2]!; hi = m32[C_PDPTE0 + i * 2 + 1]!;
      if (!(lo & Pte.P)) return this.pageFault(this.wErr);
      if (quirks & Quirk.PaePdpteWalkCheck) {
        if ((hi & (this.wRsvdHi | XD_HI)) !== 0) return this.pageFault(this.wRsvdErr);
      } else if (m32[C_OPTIONS]! & Opt.PdpteGpOnUse && ((lo & 0x1e6) !== 0 || (hi & this.pdpteRsvdHi) !== 0)) {
        return this.generalProtection();   // the deferred CR3-load #GP
      }
    }
    this.wTable = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32; this.wShift = 21;
    return GO_ON;
  }

  /** The core's largeLeafReserved, on the low word (every bit it concerns is there). */
  private largeLeafReserved(lo: number, shift: number, wide: boolean): number {
    if (shift === 12 || !(lo & Pte.PS)) return NOT_LEAF;
    if (wide) {
      if (shift >= 39) return NOT_LEAF_RSVD;                  // PS reserved in PML4E/PML5E
      return (lowMask(shift) & ~0x1fff) >>> 0;               // (shift-1):13; bit 12 is PAT
    }
    if (!((this.m32[C_CR4]! >>> Cr.CR4_PSE) & 1)) return NOT_LEAF;
    const m = this.maxPhyAddr < 40 ? this.maxPhyAddr : 40;    // PSE-36: 21:(M'-19) reserved
    return (0x3fe000 & ~((1 << (m - 19)) - 1)) >>> 0;
  }

  /** The physical base of the page a leaf maps (PSE-36 for 4 MiB pages). */
  private pageBase(lo: number, hi: number, offMask: number, shift: number, wide: boolean): number {
    if (wide) return ((lo & ~offMask & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32;
    if (shift !== 22) return (lo & 0xfffff000) >>> 0;
    const m = this.maxPhyAddr < 40 ? this.maxPhyAddr : 40;
    return ((lo & 0xffc00000) >>> 0) + ((lo >>> 13) & ((1 << (m - 32)) - 1)) * TWO32;
  }

  private generalProtection(): FaultKind {
    this.fault = FaultKind.X86; this.vector = Vector.GP; this.error = 0;
    return FaultKind.X86;
  }

  /** Load the PAE PDPTE registers from `cr3` (see the core's x86LoadPdptes). */
  loadPdptes(cr3Lo: number): FaultKind {
    const m32 = this.m32;
    const base = (cr3Lo & 0xffffffe0) >>> 0;
    const check = (m32[C_QUIRKS]! & Quirk.PaePdpteWalkCheck) === 0 && (m32[C_OPTIONS]! & Opt.PdpteGpOnUse) === 0;
    const rsvdHi = this.pdpteRsvdHi;
    const vals = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      const epa = base + i * 8;
      const off = this.entryOffset(epa);
      if (off === OFF_BUS) return this.busFault(epa);
      const lo = off === OFF_ZERO ? 0 : m32[off >>> 2]!, hi = off === OFF_ZERO ? 0 : m32[(off >>> 2) + 1]!;
      if (check && lo & Pte.P && ((lo & 0x1e6) !== 0 || (hi & rsvdHi) !== 0)) {
        this.fault = FaultKind.X86; this.vector = Vector.GP; this.error = 0;
        return FaultKind.X86;
      }
      vals[i * 2] = lo; vals[i * 2 + 1] = hi;
    }
    for (let i = 0; i < 8; i++) m32[C_PDPTE0 + i] = vals[i]!;
    this.fault = FaultKind.None;
    return FaultKind.None;
  }

  /** Pool slots in use (sparse); exposed for diagnostics. */
  get poolUsed(): number { return this.m32[C_POOL_USED]!; }
  /** Byte view (for the runner's data store). */
  get bytes(): Uint8Array { return this.u8; }
}
