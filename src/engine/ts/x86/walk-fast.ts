/**
 * The steady-state walk of the TS core: the twin of assembly/x86/walk-fast.ts
 * (every paging mode over dense RAM, every entry present, accessed and free of
 * reserved bits, the access allowed without setting D; 32-bit and PAE
 * paging in a loop of their own, 4 KiB leaves only — see the core file). The same contract:
 * it writes nothing, and either produces exactly the outputs walk.ts would
 * or returns SLOW having changed nothing. The core's x86WalkTouch (a
 * prefetch for its batch loop) has no twin: the TS batch loop does not
 * prefetch.
 */
import { Access, Backing, Cr, Ctl, FaultKind, Leaf, Mem, Pte, Quirk, TlbHdr, X86Mode } from "../../../abi.js";
import type { Layout } from "../../../layout.js";
import { lowMask } from "../bits.js";
import type { TsTlb } from "../tlb.js";
import type { X86Walker } from "./walk.js";
import { TWO32 } from "../../../u64.js";

/** Returned by walkFast when the general walk must decide. */
export const SLOW = -1;

const XD_HI = 0x80000000;
const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const C_MODE = c32(Ctl.MODE), C_CR0 = c32(Ctl.CR0), C_CR3 = c32(Ctl.CR3), C_CR4 = c32(Ctl.CR4);
const C_EFER = c32(Ctl.EFER), C_CPL = c32(Ctl.CPL), C_EFLAGS = c32(Ctl.EFLAGS);
const C_QUIRKS = c32(Ctl.QUIRKS), C_PDPTE0 = c32(Ctl.PDPTE0);
/** Bits 62:52 (high word 30:20): reserved in PAE entries. */
const PAE_HI_RSVD = 0x7ff00000;
/** PDPTE register bits that are not reserved (SDM table 4-8): P, PWT, PCD, 11:9. */
const PDPTE_FLAGS = 0xe19;

export class TsWalkFast {
  private readonly m32: Uint32Array;
  // The context, derived by prepare() from the control block.
  private on = false;        // IA-32e paging over dense RAM, no paging-structure caches
  private on32 = false;      // 32-bit or PAE paging over dense RAM (walkFast32)
  private pae = false;       // … PAE
  private pdpteOkHi = 0;     // PDPTE register high-word bits below MAXPHYADDR
  private top = 39;          // shift of the top level's index (39, or 48 with LA57)
  private canonTop = 15;     // the canonical check's top bit in the high word (47 or 56)
  private root = 0;          // CR3's table address
  private rsvdHi = 0;        // reserved in every entry, high word: 51:MAXPHYADDR, XD without NXE
  /** Bit (access × 8 + (Leaf bits & (W|U|X))): that access to a dirty leaf is allowed
   *  (the TLB's deny bits and access masks, tabulated; see the core file). */
  private allow = 0;
  private key0 = -1; private key1 = -1; private key2 = -1;

  constructor(buffer: ArrayBuffer, private readonly layout: Layout, private readonly walker: X86Walker,
    private readonly tlb: TsTlb) {
    this.m32 = new Uint32Array(buffer);
  }

  /** Derive the fast walk's context; call when the control block may have changed. */
  prepare(): void {
    const m32 = this.m32, mode = m32[C_MODE]!;
    const t32 = this.layout.tlbBase >>> 2;
    const dense = this.layout.backing === Backing.Dense;
    this.on = (mode === X86Mode.Ia32e4 || mode === X86Mode.Ia32e5) && dense
      && m32[t32 + (TlbHdr.PSC_COUNT >>> 2)] === 0;
    this.pae = mode === X86Mode.Pae;
    this.on32 = dense && (mode === X86Mode.Legacy32 || (this.pae && !(m32[C_QUIRKS]! & Quirk.PaePdpteA)));
    if (!this.on && !this.on32) return;
    const la57 = mode === X86Mode.Ia32e5;
    this.top = la57 ? 48 : 39;
    this.canonTop = la57 ? 24 : 15;
    const legacy = mode === X86Mode.Legacy32;
    this.root = ((m32[C_CR3]! & 0xfffff000) >>> 0) + (legacy ? 0 : (m32[C_CR3 + 1]! & 0xfffff) * TWO32);
    const nxe = !legacy && ((m32[C_EFER]! >>> Cr.EFER_NXE) & 1) !== 0;
    this.rsvdHi = legacy ? 0 : ((0xfffff & ~lowMask(this.layout.maxPhyAddr - 32)) | (nxe ? 0 : XD_HI) | (this.pae ? PAE_HI_RSVD : 0)) >>> 0;
    this.pdpteOkHi = lowMask(this.layout.maxPhyAddr - 32);
    // Inputs of the deny bits and access masks: CR0.WP, CR4, the mode, CPL, EFLAGS.AC.
    const k0 = m32[C_CR0]!, k1 = m32[C_CR4]!, k2 = mode | (m32[C_CPL]! << 8) | ((m32[C_EFLAGS]! >>> Cr.EFLAGS_AC) & 1) << 16;
    if (k0 === this.key0 && k1 === this.key1 && k2 === this.key2) return;
    this.key0 = k0; this.key1 = k1; this.key2 = k2;
    let allow = 0;
    for (let a = Access.Read; a <= Access.Fetch; a++) {
      const m = this.tlb.accessMask(a);
      for (let c = 0; c < 8; c++) if (!(this.tlb.denyBits(c | Leaf.D) & m)) allow |= 1 << (a * 8 + c);
    }
    this.allow = allow;
  }

  /** Walk (vaHi:vaLo) for `access`: FaultKind.None with the walk outputs set, or SLOW with nothing changed. */
  walkFast(vaLo: number, vaHi: number, access: Access): number {
    if (!this.on) return this.on32 ? this.walkFast32(vaLo, access) : SLOW;
    const top = this.canonTop;
    if ((vaHi | 0) >> top !== ((vaHi << (31 - top)) | 0) >> 31) return SLOW;      // #GP: walk.ts
    const m32 = this.m32, rsvdHi = this.rsvdHi, limit = this.layout.physSize, ram = this.layout.ramBase;
    let table = this.root, shift = this.top;
    let acc = Pte.RW | Pte.US, anyXd = 0, refs = 0;
    let lo = 0, hi = 0, epa = 0;
    for (;;) {
      const idx = shift >= 32 ? (vaHi >>> (shift - 32)) & 0x1ff : ((vaLo >>> shift) | (vaHi << (32 - shift))) & 0x1ff;
      epa = table + idx * 8;
      if (epa >= limit) return SLOW;                                                // bus fault
      const i = (ram + epa) / 4;
      lo = m32[i]!; hi = m32[i + 1]!;
      refs++;
      if ((lo & (Pte.P | Pte.A)) !== (Pte.P | Pte.A) || (hi & rsvdHi) !== 0) return SLOW;   // #PF or A to set
      acc &= lo;
      anyXd |= hi;
      if (shift === 12) break;
      if (lo & Pte.PS) {
        // PS is reserved in PML4E/PML5E; a large leaf's bits (shift-1):13 are reserved.
        if (shift >= 39 || (lo & lowMask(shift) & ~0x1fff) !== 0) return SLOW;
        break;
      }
      table = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32;
      shift -= 9;
    }
    const d = (lo & Pte.D) !== 0;
    if (access === Access.Write && !d) return SLOW;                                 // D to set
    const leaf = (acc & Pte.RW ? Leaf.W : 0) | (acc & Pte.US ? Leaf.U : 0) | (anyXd & XD_HI ? 0 : Leaf.X)
      | (d ? Leaf.D : 0) | (lo & Pte.G ? Leaf.G : 0) | (((hi >>> (Pte.PKEY_BIT - 32)) & 15) << Leaf.PKEY_SHIFT);
    if (!((this.allow >>> (access * 8 + (leaf & (Leaf.W | Leaf.U | Leaf.X)))) & 1)) return SLOW;
    const offMask = shift === 30 ? 0x3fffffff : (1 << shift) - 1;
    this.walker.setFast(((lo & ~offMask & 0xfffff000) >>> 0) + (hi & 0xfffff) * TWO32 + (vaLo & offMask),
      leaf, shift, epa, refs);
    return FaultKind.None;
  }

  /** walkFast for 32-bit and PAE paging, 4 KiB leaves; `vaLo` is the 32-bit linear address. */
  private walkFast32(vaLo: number, access: Access): number {
    const m32 = this.m32, limit = this.layout.physSize, ram = this.layout.ramBase;
    const need = Pte.P | Pte.A;
    let pdeLo: number, pdeHi = 0, pteLo: number, pteHi = 0, epa: number;
    if (this.pae) {
      const r = C_PDPTE0 + (vaLo >>> 30) * 2;
      const pLo = m32[r]!, pHi = m32[r + 1]!;
      // Not present, or a reserved bit (a #PF, a #GP or a quirk: walk.ts decides).
      if (!(pLo & Pte.P) || (pLo & 0xfff & ~PDPTE_FLAGS) !== 0 || (pHi & ~this.pdpteOkHi) !== 0) return SLOW;
      const rsvdHi = this.rsvdHi;
      const pdePa = ((pLo & 0xfffff000) >>> 0) + pHi * TWO32 + ((vaLo >>> 21) & 0x1ff) * 8;
      if (pdePa >= limit) return SLOW;
      const i = (ram + pdePa) / 4;
      pdeLo = m32[i]!; pdeHi = m32[i + 1]!;
      if ((pdeLo & need) !== need || (pdeLo & Pte.PS) || (pdeHi & rsvdHi) !== 0) return SLOW;
      epa = ((pdeLo & 0xfffff000) >>> 0) + (pdeHi & 0xfffff) * TWO32 + ((vaLo >>> 12) & 0x1ff) * 8;
      if (epa >= limit) return SLOW;
      const j = (ram + epa) / 4;
      pteLo = m32[j]!; pteHi = m32[j + 1]!;
      if ((pteLo & need) !== need || (pteHi & rsvdHi) !== 0) return SLOW;
    } else {
      const pdePa = this.root + (vaLo >>> 22) * 4;
      if (pdePa >= limit) return SLOW;
      pdeLo = m32[(ram + pdePa) / 4]!;
      // PS: a 4 MiB page with CR4.PSE, else ignored — either way walk.ts's call.
      if ((pdeLo & need) !== need || (pdeLo & Pte.PS)) return SLOW;
      epa = ((pdeLo & 0xfffff000) >>> 0) + ((vaLo >>> 12) & 0x3ff) * 4;
      if (epa >= limit) return SLOW;
      pteLo = m32[(ram + epa) / 4]!;
      if ((pteLo & need) !== need) return SLOW;
    }
    const acc = pdeLo & pteLo;
    const d = (pteLo & Pte.D) !== 0;
    if (access === Access.Write && !d) return SLOW;                                 // D to set
    const leaf = (acc & Pte.RW ? Leaf.W : 0) | (acc & Pte.US ? Leaf.U : 0) | ((pdeHi | pteHi) & XD_HI ? 0 : Leaf.X)
      | (d ? Leaf.D : 0) | (pteLo & Pte.G ? Leaf.G : 0);
    if (!((this.allow >>> (access * 8 + (leaf & (Leaf.W | Leaf.U | Leaf.X)))) & 1)) return SLOW;
    this.walker.setFast(((pteLo & 0xfffff000) >>> 0) + (pteHi & 0xfffff) * TWO32 + (vaLo & 0xfff), leaf, 12, epa, 2);
    return FaultKind.None;
  }
}
