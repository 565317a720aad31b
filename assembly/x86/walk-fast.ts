// The steady-state walk: every paging mode (32-bit, PAE, IA-32e with 4 or 5
// levels) over dense guest RAM,
// when every entry on the way is present, already accessed, free of reserved
// bits, and the access is allowed without setting D. That is nearly every walk
// of a running system (A and D settle after the first touch), and for it the
// general walker (walk.ts) spends most of its time re-deriving the context and
// branching over modes, quirks and A/D updates that cannot happen.
//
// The contract is strict: the fast walk writes nothing. Either it produces
// exactly the walk outputs walk.ts would (walkPa, walkLeaf, walkShift,
// walkPtePa, walkRefs, FaultKind.None), or it returns SLOW having changed
// nothing, and the caller runs the general walk from the start. Faults, A/D
// updates, bus errors, protection keys and every non-IA-32e mode therefore
// stay in one place (walk.ts). Both engines are held to the same results by
// the differential tests; the TS engine has the same fast walk
// (src/engine/ts/x86/walk-fast.ts).
//
// 32-bit and PAE paging have a loop of their own (x86WalkFast32): their
// entries and the PAE PDPTE registers differ, and keeping them out of the
// IA-32e loop keeps that loop as short as it was. Their large pages (4 MiB
// with PSE-36, 2 MiB under PAE) are left to the general walk, as are a
// PDPTE register with any bit the SDM reserves (the #GP/quirk choices of
// walk.ts paePdpte) and QEMU's PaePdpteA quirk (it re-reads the PDPTE).
import { Access, Backing, Cr, Ctl, FaultKind, Leaf, Pte, Quirk, TlbHdr, X86Mode } from "../../src/abi";
import { BACKING, CTL, MAXPHYADDR, PHYS_SIZE, RAM_BASE, TLB_BASE } from "../layout";
import { accessMask, denyBits } from "../tlb";
import { walkSetFast } from "./walk";

/** Returned by x86WalkFast when the general walk must decide. */
// @ts-ignore: decorator
@inline export const SLOW: u32 = 0xffff_ffff;

/**
 * The Leaf bits of a walk that ended at leaf entry `e`, with R/W and U/S
 * ANDed over the levels into `acc` and XD ORed into `anyXd`; or SLOW when the
 * access must set D or is not allowed by the TLB's own permission test
 * (fwAllow): the general walk then decides. Leaf bits are never SLOW.
 */
// @ts-ignore: decorator
@inline function leafOf(e: u64, acc: u64, anyXd: u64, access: u32): u32 {
  const d = (e & Pte.D) != 0;
  if (access == Access.Write && !d) return SLOW;                           // D to set
  const leaf: u32 = ((acc & Pte.RW) ? Leaf.W : 0) | ((acc & Pte.US) ? Leaf.U : 0)
    | ((anyXd >> Pte.XD_BIT) ? 0 : Leaf.X) | (d ? Leaf.D : 0) | ((e & Pte.G) ? Leaf.G : 0)
    | ((<u32>(e >> Pte.PKEY_BIT) & 15) << Leaf.PKEY_SHIFT);
  if (!((fwAllow >> (access * 8 + (leaf & (Leaf.W | Leaf.U | Leaf.X)))) & 1)) return SLOW;
  return leaf;
}

// @ts-ignore: decorator
@inline const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/** Bits 31:12: the address field of a 4-byte entry. */
// @ts-ignore: decorator
@inline const ADDR_MASK_32: u64 = 0xffff_f000;

// The context, derived by fastWalkPrepare() from the control block.
let fwOn = false;          // IA-32e paging over dense RAM
let fw4 = false;           // … 4-level (x86WalkFast4)
let fw32 = false;          // 32-bit or PAE paging over dense RAM (x86WalkFast32)
let fwPae = false;         // … PAE
let fwTop: u64 = 39;       // shift of the top level's index (39, or 48 with LA57)
let fwCanon: u64 = 16;     // bits above the linear address width
let fwRoot: u64 = 0;       // CR3's table address
let fwRsvd: u64 = 0;       // reserved in every entry: 51:MAXPHYADDR, XD without NXE
let fwLimit: u64 = 0;      // PHYS_SIZE: an entry at or above is a bus fault
let fwRam: usize = 0;
/** Bit (access × 8 + (Leaf bits & (W|U|X))) set: an access of that kind to a
 *  dirty leaf with those bits is allowed. The TLB's own permission test
 *  (denyBits & accessMask: exact for a dirty entry; it denies every user data
 *  access under CR4.PKE, which the general walk then decides), tabulated so
 *  the walk tests one bit. Recomputed only when its inputs change. */
let fwAllow: u32 = 0;
let fwKey0: u64 = 0, fwKey1: u64 = <u64>-1;

/** Is the fast walk on for the context fastWalkPrepare() last derived? */
// @ts-ignore: decorator
@inline export function fastWalkOn(): bool { return fwOn || fw32; }

/** Derive the fast walk's context; call when the control block may have
 *  changed (each batch, each single translation). */
export function fastWalkPrepare(): void {
  const mode = load<u32>(CTL, Ctl.MODE);
  // With paging-structure caches the general walk does the PSC work.
  const dense = BACKING == Backing.Dense;
  fwOn = (mode == X86Mode.Ia32e4 || mode == X86Mode.Ia32e5) && dense
    && load<u32>(TLB_BASE, TlbHdr.PSC_COUNT) == 0;
  fw4 = mode == X86Mode.Ia32e4;
  fwPae = mode == X86Mode.Pae;
  fw32 = dense && (mode == X86Mode.Legacy32 || (fwPae && !(load<u32>(CTL, Ctl.QUIRKS) & Quirk.PaePdpteA)));
  if (!fwOn && !fw32) return;
  const la57 = mode == X86Mode.Ia32e5;
  fwTop = la57 ? 48 : 39;
  fwCanon = la57 ? 7 : 16;
  fwRoot = load<u64>(CTL, Ctl.CR3) & (mode == X86Mode.Legacy32 ? ADDR_MASK_32 : ADDR_MASK);
  const nxe = mode != X86Mode.Legacy32 && ((load<u64>(CTL, Ctl.EFER) >> Cr.EFER_NXE) & 1) != 0;
  // 32-bit entries have no reserved bits the fast walk must check (PS is
  // handled apart); PAE entries also reserve 62:52 (walk.ts walkContext).
  fwRsvd = mode == X86Mode.Legacy32 ? 0 : (ADDR_MASK & ~((<u64>1 << <u64>MAXPHYADDR) - 1)) | (nxe ? 0 : <u64>1 << Pte.XD_BIT)
    | (fwPae ? HI_RESERVED_PAE : 0);
  fwPdpteOk = ADDR_MASK & ((<u64>1 << <u64>MAXPHYADDR) - 1) | PDPTE_FLAGS;
  fwLimit = PHYS_SIZE;
  fwRam = RAM_BASE;
  // Inputs of denyBits and accessMask: CR0.WP, CR4, the mode, CPL, EFLAGS.AC.
  const k0 = load<u64>(CTL, Ctl.CR0) ^ (load<u64>(CTL, Ctl.CR4) << 32);
  const k1 = <u64>mode | (<u64>load<u32>(CTL, Ctl.CPL) << 8) | (load<u64>(CTL, Ctl.EFLAGS) << 16);
  if (k0 == fwKey0 && k1 == fwKey1) return;
  fwKey0 = k0; fwKey1 = k1;
  let allow: u32 = 0;
  for (let a: u32 = Access.Read; a <= <u32>Access.Fetch; a++) {
    const m = accessMask(a);
    for (let c: u32 = 0; c < 8; c++) if (!(denyBits(c | Leaf.D) & m)) allow |= <u32>1 << (a * 8 + c);
  }
  fwAllow = allow;
}

/**
 * Walk `va` for `access` (Read, Write or Fetch). FaultKind.None with the walk
 * outputs set, or SLOW with nothing changed.
 */
// @ts-ignore: decorator
@inline export function x86WalkFast(va: u64, access: u32): u32 {
  return fwOn ? (fw4 ? x86WalkFast4(va, access) : x86WalkFast64(va, access)) : fw32 ? x86WalkFast32(va, access) : SLOW;
}

/**
 * x86WalkFast for 4-level paging down to a 4 KiB leaf, written out level by
 * level: the walk of nearly every miss, with no loop, no level counter and
 * no large-page test in the chain of dependent loads. An entry with PS (or
 * anything else this path does not take) hands the walk to x86WalkFast64,
 * which starts again and decides (it has written nothing either).
 */
function x86WalkFast4(va: u64, access: u32): u32 {
  if (<u64>((<i64>(va << 16)) >> 16) != va) return SLOW;            // #GP: walk.ts
  const limit = fwLimit, ram = fwRam;
  const need: u64 = Pte.P | Pte.A;
  const stop = fwRsvd | Pte.PS;
  let epa = fwRoot + (((va >> 39) & 0x1ff) << 3);
  if (epa >= limit) return SLOW;
  let e = load<u64>(ram + <usize>epa);
  if ((e & need) != need || (e & stop) != 0) return x86WalkFast64(va, access);
  let acc = e, anyXd = e;
  epa = (e & ADDR_MASK) + (((va >> 30) & 0x1ff) << 3);
  if (epa >= limit) return SLOW;
  e = load<u64>(ram + <usize>epa);
  if ((e & need) != need || (e & stop) != 0) return x86WalkFast64(va, access);
  acc &= e; anyXd |= e;
  epa = (e & ADDR_MASK) + (((va >> 21) & 0x1ff) << 3);
  if (epa >= limit) return SLOW;
  e = load<u64>(ram + <usize>epa);
  if ((e & need) != need || (e & stop) != 0) return x86WalkFast64(va, access);
  acc &= e; anyXd |= e;
  epa = (e & ADDR_MASK) + (((va >> 12) & 0x1ff) << 3);
  if (epa >= limit) return SLOW;
  e = load<u64>(ram + <usize>epa);
  if ((e & need) != need || (e & fwRsvd) != 0) return SLOW;             // #PF or A to set
  acc &= e; anyXd |= e;
  const leaf = leafOf(e, acc, anyXd, access);
  if (leaf == SLOW) return SLOW;
  walkSetFast((e & ADDR_MASK) | (va & 0xfff), leaf, 12, epa, 4);
  return FaultKind.None;
}

/** x86WalkFast for IA-32e paging. */
function x86WalkFast64(va: u64, access: u32): u32 {
  const c = fwCanon;
  if (<u64>((<i64>(va << c)) >> <i64>c) != va) return SLOW;          // #GP: walk.ts
  const rsvd = fwRsvd, limit = fwLimit, ram = fwRam;
  const need: u64 = Pte.P | Pte.A;
  let table = fwRoot, shift = fwTop;
  let acc: u64 = Pte.RW | Pte.US, anyXd: u64 = 0;
  let refs: u32 = 0;
  let e: u64 = 0, epa: u64 = 0;
  for (;;) {
    epa = table + (((va >> shift) & 0x1ff) << 3);
    if (epa >= limit) return SLOW;                                        // bus fault
    e = load<u64>(ram + <usize>epa);
    refs++;
    if ((e & need) != need || (e & rsvd) != 0) return SLOW;               // #PF or A to set
    acc &= e;
    anyXd |= e;
    if (shift == 12) break;
    if (e & Pte.PS) {
      // PS is reserved in PML4E/PML5E; a large leaf's bits (shift-1):13 are reserved.
      if (shift >= 39 || (e & (((<u64>1 << shift) - 1) & ~<u64>0x1fff)) != 0) return SLOW;
      break;
    }
    table = e & ADDR_MASK;
    shift -= 9;
  }
  const leaf = leafOf(e, acc, anyXd, access);
  if (leaf == SLOW) return SLOW;
  const pageMask: u64 = (<u64>1 << shift) - 1;
  walkSetFast((e & ADDR_MASK & ~pageMask) | (va & pageMask), leaf, <u32>shift, epa, refs);
  return FaultKind.None;
}

/** Bits 62:52: reserved in PAE entries (ignored in IA-32e ones). */
// @ts-ignore: decorator
@inline const HI_RESERVED_PAE: u64 = 0x7ff0_0000_0000_0000;
/** The PDPTE register bits that are not reserved (SDM table 4-8): P, PWT,
 *  PCD, the ignored 11:9; with the address bits below MAXPHYADDR, fwPdpteOk. */
// @ts-ignore: decorator
@inline const PDPTE_FLAGS: u64 = 0xe19;
let fwPdpteOk: u64 = 0;

/**
 * x86WalkFast for 32-bit paging (two levels of 4-byte entries, 10-bit
 * indices) and PAE (the PDPTE register, then two levels of 8-byte entries,
 * 9-bit indices), 4 KiB leaves only. `va` is already 32 bits (linearOf).
 * Protection keys do not exist outside IA-32e mode, so the leaf has none.
 */
function x86WalkFast32(va: u64, access: u32): u32 {
  const limit = fwLimit, ram = fwRam;
  const need: u64 = Pte.P | Pte.A;
  let pde: u64, pte: u64, epa: u64;
  if (fwPae) {
    const pdpte = load<u64>(CTL + <usize>Ctl.PDPTE0 + (<usize>(va >> 30) << 3));
    // Not present, or a reserved bit (a #PF, a #GP or a quirk: walk.ts decides).
    if (!(pdpte & Pte.P) || (pdpte & ~fwPdpteOk) != 0) return SLOW;
    const rsvd = fwRsvd;
    const pdePa = (pdpte & ADDR_MASK) + (((va >> 21) & 0x1ff) << 3);
    if (pdePa >= limit) return SLOW;
    pde = load<u64>(ram + <usize>pdePa);
    if ((pde & need) != need || (pde & (rsvd | Pte.PS)) != 0) return SLOW;
    epa = (pde & ADDR_MASK) + (((va >> 12) & 0x1ff) << 3);
    if (epa >= limit) return SLOW;
    pte = load<u64>(ram + <usize>epa);
    if ((pte & need) != need || (pte & rsvd) != 0) return SLOW;
  } else {
    const pdePa = fwRoot + ((va >> 22) << 2);
    if (pdePa >= limit) return SLOW;
    pde = <u64>load<u32>(ram + <usize>pdePa);
    // PS: a 4 MiB page with CR4.PSE, else ignored — either way walk.ts's call.
    if ((pde & need) != need || (pde & Pte.PS) != 0) return SLOW;
    epa = (pde & ADDR_MASK_32) + (((va >> 12) & 0x3ff) << 2);
    if (epa >= limit) return SLOW;
    pte = <u64>load<u32>(ram + <usize>epa);
    if ((pte & need) != need) return SLOW;
  }
  // XD and the protection key are 0 in 32-bit entries, reserved (checked) in PAE ones.
  const leaf = leafOf(pte, pde & pte, pde | pte, access);
  if (leaf == SLOW) return SLOW;
  walkSetFast((pte & (fwPae ? ADDR_MASK : ADDR_MASK_32)) | (va & 0xfff), leaf, 12, epa, 2);
  return FaultKind.None;
}

/**
 * Read the entries a walk of `va` would read, down to the leaf, and return
 * the last one (0 where the fast walk could not go on): a prefetch for the
 * batch loop (translate.ts prefetchAhead). Writes nothing, decides nothing.
 */
export function x86WalkTouch(va: u64): u64 {
  if (!fwOn) return fw32 ? walkTouch32(va) : 0;
  let table = fwRoot, shift = fwTop, e: u64 = 0;
  for (;;) {
    const epa = table + (((va >> shift) & 0x1ff) << 3);
    if (epa >= fwLimit) return 0;
    e = load<u64>(fwRam + <usize>epa);
    if (!(e & Pte.P) || shift == 12 || (e & Pte.PS)) return e;
    table = e & ADDR_MASK;
    shift -= 9;
  }
  return e;
}

/** x86WalkTouch for 32-bit and PAE paging. */
function walkTouch32(va: u64): u64 {
  let pdePa: u64;
  if (fwPae) {
    const pdpte = load<u64>(CTL + <usize>Ctl.PDPTE0 + (<usize>(va >> 30) << 3));
    if (!(pdpte & Pte.P)) return 0;
    pdePa = (pdpte & ADDR_MASK) + (((va >> 21) & 0x1ff) << 3);
  } else pdePa = fwRoot + ((va >> 22) << 2);
  if (pdePa >= fwLimit) return 0;
  const pde = fwPae ? load<u64>(fwRam + <usize>pdePa) : <u64>load<u32>(fwRam + <usize>pdePa);
  if (!(pde & Pte.P) || (pde & Pte.PS)) return pde;
  const epa = fwPae ? (pde & ADDR_MASK) + (((va >> 12) & 0x1ff) << 3) : (pde & ADDR_MASK_32) + (((va >> 12) & 0x3ff) << 2);
  if (epa >= fwLimit) return 0;
  return fwPae ? load<u64>(fwRam + <usize>epa) : <u64>load<u32>(fwRam + <usize>epa);
}
