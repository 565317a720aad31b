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

const TWO32 = 4294967296;
/** Outcome of entryOffset(): the PA is beyond guest memory / an unbacked sparse frame. */
const OFF_BUS = -1, OFF_ZERO = -2;
const RESTART = -1;
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

  /** Debug race injection (SPEC G.3 test 7), as raceHook in the core. */
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

  private walkOnce(vaLo: number, vaHi: number, access: Access, sideEffects: boolean, psc: boolean): number {
    const m32 = this.m32;
    const mode = m32[C_MODE]! as X86Mode;
    if (mode === X86Mode.Off) {
      this.fault = FaultKind.None; this.pa = vaLo; this.shift = 12; this.ptePa = 0;
      this.leaf = Leaf.W | Leaf.U | Leaf.X | Leaf.D;
      return FaultKind.None;
    }
    const cr0 = m32[C_CR0]!, cr3Lo = m32[C_CR3]!, cr3Hi = m32[C_CR3 + 1]!, cr4 = m32[C_CR4]!;
    const efer = m32[C_EFER]!, quirks = m32[C_QUIRKS]!;
    const user = m32[C_CPL] === 3;
    const write = access === Access.Write, fetch = access === Access.Fetch;
    const wide = mode !== X86Mode.Legacy32;
    const ia32e = mode >= X86Mode.Ia32e4;
    const nxe = wide && ((efer >>> Cr.EFER_NXE) & 1) === 1;
    const M = this.maxPhyAddr;

    let err = (write ? PfErr.W : 0) | (user ? PfErr.U : 0);
    if (fetch && (nxe || ((cr4 >>> Cr.CR4_SMEP) & 1) === 1)) err |= PfErr.ID;
    const rsvdErr = err | PfErr.RSVD | (quirks & Quirk.RsvdEcNoP ? 0 : PfErr.P);

    // Reserved bits of every 8-byte entry, high word: 51:M (M ≥ 32), PAE 62:52, XD without NXE.
    let rsvdHi = 0;
    if (wide) {
      rsvdHi = (0xfffff & ~lowMask(M - 32)) >>> 0;
      if (!ia32e) rsvdHi |= 0x7ff00000;
      if (!nxe) rsvdHi |= 0x80000000;
      rsvdHi >>>= 0;
    }

    let table: number, shift: number;
    let acc = Pte.RW | Pte.US, xd = false;
    let cache: TsPsc | null = null, pcid = 0;
    if (mode === X86Mode.Legacy32) {
      vaHi = 0;
      table = (cr3Lo & 0xfffff000) >>> 0; shift = 22;
    } else if (mode === X86Mode.Pae) {
      vaHi = 0;
      const i = vaLo >>> 30;
      let lo: number, hi: number;
      if (quirks & Quirk.PaePdpteA) {
        const epa = ((cr3Lo & 0xffffffe0) >>> 0) + i * 8;
        const off = this.entryOffset(epa);
        if (off === OFF_BUS) return this.busFault(epa);
        lo = off === OFF_ZERO ? 0 : m32[off >>> 2]!;
        hi = off === OFF_ZERO ? 0 : m32[(off >>> 2) + 1]!;
        this.refs++;
        if (!(lo & Pte.P)) return this.pageFault(err);
        if (quirks & Quirk.PaePdpteWalkCheck && (hi & (rsvdHi | 0x80000000)) !== 0) return this.pageFault(rsvdErr);
        if (sideEffects && !(lo & Pte.A) && !this.entrySetBits(off >>> 2, epa, lo, hi, Pte.A, true)) return RESTART;
      } else {
        lo = m32[C_PDPTE0 + i * 2]!; hi = m32[C_PDPTE0 + i * 2 + 1]!;
        if (!(lo & Pte.P)) return this.pageFault(err);
        if (quirks & Quirk.PaePdpteWalkCheck) {
          if ((hi & (rsvdHi | 0x80000000)) !== 0) return this.pageFault(rsvdErr);
        } else if (m32[C_OPTIONS]! & Opt.PdpteGpOnUse && ((lo & 0x1e6) !== 0 || (hi & this.pdpteRsvdHi) !== 0)) {
          this.fault = FaultKind.X86; this.vector = Vector.GP; this.error = 0;   // the deferred CR3-load #GP
          return FaultKind.X86;
        }
      }
      table = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32; shift = 21;
    } else {
      // Canonical check: bits 63:47 (63:56 with LA57) equal. #GP(0), CR2 untouched.
      const top = mode === X86Mode.Ia32e5 ? 24 : 15;        // bit 56 / 47 in the high word
      if ((vaHi | 0) >> top !== ((vaHi << (31 - top)) | 0) >> 31) {
        this.fault = FaultKind.X86; this.vector = Vector.GP; this.error = 0;
        return FaultKind.X86;
      }
      table = ((cr3Lo & 0xfffff000) >>> 0) + (cr3Hi & 0xfffff) * TWO32;
      shift = mode === X86Mode.Ia32e5 ? 48 : 39;
      if (psc && this.psc !== null && this.psc.count !== 0) {
        // The longest cached match: start below it with its folded permissions.
        cache = this.psc;
        pcid = (cr4 >>> Cr.CR4_PCIDE) & 1 ? cr3Lo & 0xfff : 0;
        const s = cache.lookup(vaLo, vaHi, pcid, shift, sideEffects);
        if (s !== 0) { table = cache.table; shift = s; acc = cache.acc; xd = cache.xd; }
      }
    }

    for (;;) {
      const idx = shift >= 32 ? (vaHi >>> (shift - 32)) & 0x1ff
        : ((vaLo >>> shift) | (vaHi << (32 - shift))) & (wide ? 0x1ff : 0x3ff);
      const epa = table + idx * (wide ? 8 : 4);
      const off = this.entryOffset(epa);
      if (off === OFF_BUS) return this.busFault(epa);
      const ei = off >>> 2;
      let lo = 0, hi = 0;
      if (off !== OFF_ZERO) { lo = m32[ei]!; if (wide) hi = m32[ei + 1]!; }
      this.refs++;
      if (!(lo & Pte.P)) return this.pageFault(err);

      let leaf = shift === 12;
      let large = 0;        // reserved bits of a large-page leaf (all in the low word)
      if (!leaf && lo & Pte.PS) {
        if (wide) {
          if (shift >= 39) return this.pageFault(rsvdErr);    // PS reserved in PML4E/PML5E
          leaf = true;
          large = (lowMask(shift) & ~0x1fff) >>> 0;          // (shift-1):13; bit 12 is PAT
        } else if ((cr4 >>> Cr.CR4_PSE) & 1) {
          leaf = true;
          const m = M < 40 ? M : 40;                           // PSE-36: 21:(M'-19) reserved
          large = (0x3fe000 & ~((1 << (m - 19)) - 1)) >>> 0;
        }
      }
      if ((hi & rsvdHi) !== 0) return this.pageFault(rsvdErr);

      if (!leaf) {
        if (sideEffects && !(lo & Pte.A) && !this.entrySetBits(ei, epa, lo, hi, Pte.A, wide)) continue;
        acc &= lo;
        if (hi & 0x80000000) xd = true;
        table = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32;
        // Present, no reserved bits, A set, PS = 0: cacheable (SDM §4.10.3.1).
        if (cache !== null && sideEffects) cache.fill(vaLo, vaHi, pcid, shift, table, acc, xd, epa);
        shift -= wide ? 9 : 10;
        continue;
      }

      if (large) {
        if (shift === 30 && quirks & Quirk.OneGAEarly && sideEffects && !(lo & Pte.A)) {
          if (!this.entrySetBits(ei, epa, lo, hi, Pte.A, true)) continue;
          lo = (lo | Pte.A) >>> 0;
        }
        if (lo & large) return this.pageFault(rsvdErr);
      }
      acc &= lo;
      if (hi & 0x80000000) xd = true;

      // ── the one permission check (SDM §4.6) ──
      const isU = (acc & Pte.US) !== 0, isW = (acc & Pte.RW) !== 0;
      const wp = ((cr0 >>> Cr.CR0_WP) & 1) === 1;
      const pkey = ia32e ? (hi >>> (Pte.PKEY_BIT - 32)) & 15 : 0;
      let deny = false, pk = false;
      if (user && !isU) deny = true;
      else if (fetch) {
        if (xd || (!user && isU && ((cr4 >>> Cr.CR4_SMEP) & 1) === 1)) deny = true;
      } else {
        const ac = ((m32[C_EFLAGS]! >>> Cr.EFLAGS_AC) & 1) === 1;
        if (!user && isU && ((cr4 >>> Cr.CR4_SMAP) & 1) === 1 && !ac) deny = true;
        if (write && !isW && (user || wp)) deny = true;
        if (ia32e && isU && ((cr4 >>> Cr.CR4_PKE) & 1) === 1) {
          const pkr = m32[C_PKRU]! >>> (pkey * 2);
          if (pkr & 1 || (write && pkr & 2 && (user || wp))) { deny = true; pk = true; }
        }
      }
      if (deny) return this.pageFault(err | PfErr.P | (pk ? PfErr.PK : 0));

      const need = write ? Pte.A | Pte.D : Pte.A;
      if (sideEffects && (lo & need) !== need && !this.entrySetBits(ei, epa, lo, hi, need, wide)) return RESTART;

      // Page base and offset: the offset (< 2^30) is in vaLo.
      const offMask = shift === 30 ? 0x3fffffff : (1 << shift) - 1;
      let base: number;
      if (wide) base = ((lo & ~offMask & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32;
      else if (shift === 22) {
        const m = M < 40 ? M : 40;
        base = ((lo & 0xffc00000) >>> 0) + ((lo >>> 13) & ((1 << (m - 32)) - 1)) * TWO32;
      } else base = (lo & 0xfffff000) >>> 0;
      this.fault = FaultKind.None;
      this.pa = base + (vaLo & offMask);
      this.shift = shift;
      this.ptePa = epa;
      this.leaf = (isW ? Leaf.W : 0) | (isU ? Leaf.U : 0) | (xd ? 0 : Leaf.X)
        | (write || lo & Pte.D ? Leaf.D : 0) | (lo & Pte.G ? Leaf.G : 0) | (pkey << Leaf.PKEY_SHIFT);
      return FaultKind.None;
    }
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
