// The x86 page walker: one loop for all four paging modes (Intel SDM Vol. 3A
// ch. 4), driven by a few numbers per mode rather than one copy per mode
// (TinyEMU get_phys_addr; QEMU target/i386 mmu_translate).
//
//   legacy32  10 bits PD | 10 bits PT | 12 bits offset        4-byte entries
//             (PDE.PS with CR4.PSE: 4 MiB page, PSE-36 bits 20:13 → PA 39:32)
//   pae       2 bits PDPTE register | 9 PD | 9 PT | 12         8-byte entries
//   ia32e4    9 PML4 | 9 PDPT | 9 PD | 9 PT | 12 (1 GiB, 2 MiB pages)
//   ia32e5    9 PML5 | then as ia32e4 (CR4.LA57)
//
// Permissions are ANDed over the levels (R/W, U/S) with XD ORed (QEMU's
// `ptep &= pte ^ PG_NX_MASK`), and checked once at the leaf (SDM §4.6).
// A is set with a cmpxchg on each entry as the walk passes it; the leaf's A
// (and D on a write) only when the access succeeds; never D on a non-leaf
// (SDM §4.8; the ordering is a choice: docs/SEMANTICS.md). A failed cmpxchg on a non-leaf re-reads that level,
// on the leaf restarts the walk.
//
// With paging-structure caches (psc.ts; IA-32e only) a walk with side effects
// starts at the longest cached match instead of CR3, and caches each
// non-leaf entry it passes (SDM §4.10.3.2).
//
// The walk allocates nothing: its outputs are the wasm globals below, which
// translate.ts copies into the result record or a batch slot and which the
// TLB stores as they are.
import { Access, Cr, Ctl, FaultKind, Leaf, Opt, PfErr, Pte, Quirk, Stat, Vector, X86Mode } from "../../src/abi";
import { CTL, MAXPHYADDR, STATS } from "../layout";
import { BAD_PA, ZERO_PA, physAddr } from "../phys";
import { pscAcc, pscFill, pscLookup, pscReset, pscTable, pscXd } from "../psc";
import { currentPcid, pscCount } from "../tlb";
import { accessDenied, permControls, pkeysApply, pkruDenies } from "./access";

/** FaultKind of the last walk. */
export let walkFault: u32 = 0;
/** x86 vector (14 #PF, 13 #GP) and error code of a fault. */
export let walkVector: u32 = 0;
export let walkError: u32 = 0;
/** Success: physical address of the byte at va. Bus fault: the unreachable PA. */
export let walkPa: u64 = 0;
/** Success: Leaf bits (folded permissions, D, G, protection key). */
export let walkLeaf: u32 = 0;
/** Success: log2 of the page size. */
export let walkShift: u32 = 0;
/** Success: physical address of the leaf entry. */
export let walkPtePa: u64 = 0;

/** Paging-structure entries read from memory by the last walk (statistics). */
export let walkRefs: u32 = 0;

/** A TLB hit: the cached translation becomes the walk outputs. */
// @ts-ignore: decorator
@inline export function walkSetHit(pa: u64, leaf: u32, shift: u32, ptePa: u64): void {
  walkFault = FaultKind.None; walkPa = pa; walkLeaf = leaf; walkShift = shift; walkPtePa = ptePa;
}

/** The fast walk's result (walk-fast.ts): a successful walk of `refs` levels. */
// @ts-ignore: decorator
@inline export function walkSetFast(pa: u64, leaf: u32, shift: u32, ptePa: u64, refs: u32): void {
  walkFault = FaultKind.None; walkPa = pa; walkLeaf = leaf; walkShift = shift; walkPtePa = ptePa; walkRefs = refs;
}

// @ts-ignore: decorator
@inline function statInc(off: u32): void { store<u64>(STATS + <usize>off, load<u64>(STATS + <usize>off) + 1); }

/** Returned by walkOnce when the leaf's A/D cmpxchg lost a race. */
// @ts-ignore: decorator
@inline const RESTART: u32 = 0xffff;
/** Returned by paePdpte when the PDPTE register lets the walk go on. */
// @ts-ignore: decorator
@inline const GO_ON: u32 = 0xfffe;

// ── entry masks (SDM Vol. 3A tables 4-4 to 4-20) ──
/** Bits 51:12: the address field of an 8-byte entry. */
// @ts-ignore: decorator
@inline const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/** Bits 31:12: the address field of a 4-byte entry. */
// @ts-ignore: decorator
@inline const ADDR_MASK_32: u64 = 0xffff_f000;
// @ts-ignore: decorator
@inline const XD: u64 = <u64>1 << Pte.XD_BIT;
/** Bits 62:52: ignored in IA-32e entries, reserved in PAE entries. */
// @ts-ignore: decorator
@inline const HI_IGNORED: u64 = 0x7ff0_0000_0000_0000;
/** Bits 12:0 of a large leaf: flags and PAT, not address. */
// @ts-ignore: decorator
@inline const LARGE_FLAGS: u64 = 0x1fff;
/** Bits 21:13 of a 4 MiB PDE: PSE-36 takes PA bits (M'-1):32 from 20:13, the rest is reserved. */
// @ts-ignore: decorator
@inline const PSE36_FIELD: u64 = 0x3f_e000;

// ── the shape of each paging mode (SDM Vol. 3A §4.3–4.5) ──
//            entry  index bits   top index   table address
//  32-bit    4 B    10 a level   22 (PD)     31:12
//  PAE       8 B     9           21 (PD; the PDPTE is a register)   51:12
//  4-level   8 B     9           39 (PML4)   51:12
//  5-level   8 B     9           48 (PML5)   51:12
// Every mode but 32-bit paging has 8-byte ("wide") entries; that one bit
// gives the entry size, the index width and the address field.
// @ts-ignore: decorator
@inline function levelBits(wide: bool): u64 { return wide ? 9 : 10; }
// @ts-ignore: decorator
@inline function entryAddr(e: u64, wide: bool): u64 { return e & (wide ? ADDR_MASK : ADDR_MASK_32); }

// @ts-ignore: decorator
@inline function bit(v: u64, n: i32): bool { return ((v >> <u64>n) & 1) != 0; }

function pageFault(err: u32): u32 {
  walkFault = FaultKind.X86; walkVector = Vector.PF; walkError = err;
  return FaultKind.X86;
}

function generalProtection(): u32 {
  walkFault = FaultKind.X86; walkVector = Vector.GP; walkError = 0;
  return FaultKind.X86;
}

function busFault(pa: u64): u32 {
  walkFault = FaultKind.Bus; walkVector = 0; walkError = 0; walkPa = pa;
  return FaultKind.Bus;
}

/**
 * Debug race injection (src/engine/debug.ts): when armed for this entry, act
 * as another CPU whose store lands between the walker's read and its
 * cmpxchg. Fires once. Costs one load on the (rare) A/D-update path only.
 */
function raceHook(la: usize, pa: u64, wide: bool): void {
  if (load<u32>(CTL, Ctl.DBG_RACE_ON) == 0 || load<u64>(CTL, Ctl.DBG_RACE_PA) != pa) return;
  store<u32>(CTL, 0, Ctl.DBG_RACE_ON);
  const v = load<u64>(CTL, Ctl.DBG_RACE_VAL);
  if (wide) store<u64>(la, v); else store<u32>(la, <u32>v);
}

/** Locked OR of `bits` into the entry at `la` that was read as `old` (SDM §8.1.2.1:
 *  A/D updates are locked RMW). False if the entry changed meanwhile. */
function entrySetBits(la: usize, pa: u64, old: u64, bits: u64, wide: bool): bool {
  raceHook(la, pa, wide);
  const ok = wide ? atomic.cmpxchg<u64>(la, old, old | bits) == old
    : atomic.cmpxchg<u32>(la, <u32>old, <u32>(old | bits)) == <u32>old;
  if (ok) {
    if ((bits & ~old) & Pte.A) statInc(Stat.A_WRITES);
    if ((bits & ~old) & Pte.D) statInc(Stat.D_WRITES);
  }
  return ok;
}

/**
 * Translate `va` for `access` in the current x86 context (control block).
 * With `sideEffects` false nothing is written (probe: debuggers, ptdump).
 * With `psc` the paging-structure caches are used: read always, filled and
 * their replacement state updated only with `sideEffects` (translate passes
 * true, probe false). Returns the FaultKind; details in the walk globals.
 */
export function x86Walk(va: u64, access: u32, sideEffects: bool, psc: bool): u32 {
  let r: u32;
  walkRefs = 0;
  pscReset();
  do r = walkOnce(va, access, sideEffects, psc); while (r == RESTART);
  return r;
}

// The context of one walk, derived from the control block by walkOnce.
let wErr: u32 = 0;       // #PF error code of a not-present or protection fault (without P)
let wRsvdErr: u32 = 0;   // #PF error code of a reserved-bit fault
let wRsvd: u64 = 0;      // reserved in every entry: 51:MAXPHYADDR; PAE also 62:52; XD without NXE
// The state of the walk below the top: next table, its index shift, permissions so far.
let wTable: u64 = 0;
let wShift: u32 = 0;
let wAcc: u64 = 0;       // R/W and U/S, ANDed over the levels
let wXd = false;         // XD, ORed over the levels

function walkOnce(va: u64, access: u32, sideEffects: bool, psc: bool): u32 {
  const mode = load<u32>(CTL, Ctl.MODE);
  if (mode == X86Mode.Off) return noPaging(va);
  const quirks = load<u32>(CTL, Ctl.QUIRKS);
  const user = load<u32>(CTL, Ctl.CPL) == 3;
  const write = access == Access.Write;
  const wide = mode != X86Mode.Legacy32;
  const ia32e = mode >= <u32>X86Mode.Ia32e4;
  walkContext(mode, access, user, quirks);
  wAcc = Pte.RW | Pte.US; wXd = false;

  // Where the walk starts: CR3's table, or under PAE the PDPTE register, or
  // under IA-32e the longest paging-structure-cache match.
  if (!ia32e) {
    va &= 0xffff_ffff;
    if (wide) {
      const r = paePdpte(va, quirks, sideEffects);
      if (r != GO_ON) return r;
    } else { wTable = load<u64>(CTL, Ctl.CR3) & ADDR_MASK_32; wShift = 22; }
  } else {
    // Canonical: bits 63:47 (63:56 with LA57) all equal; #GP(0), CR2 untouched (SDM §3.3.7.1).
    const sh: u64 = mode == X86Mode.Ia32e5 ? 7 : 16;
    if (<u64>((<i64>(va << sh)) >> <i64>sh) != va) return generalProtection();
    wTable = load<u64>(CTL, Ctl.CR3) & ADDR_MASK; wShift = mode == X86Mode.Ia32e5 ? 48 : 39;
  }
  const usePsc = ia32e && psc && pscCount() != 0;
  const pcid = usePsc ? currentPcid() : 0;
  if (usePsc) {
    const s = pscLookup(va, pcid, wShift, sideEffects);
    if (s != 0) { wTable = pscTable; wShift = s; wAcc = pscAcc; wXd = pscXd; }
  }

  for (;;) {
    const shift = wShift;
    const epa = wTable + (((va >> <u64>shift) & ((<u64>1 << levelBits(wide)) - 1)) << (wide ? 3 : 2));
    const la = physAddr(epa);
    if (la == BAD_PA) return busFault(epa);
    let e: u64 = la == ZERO_PA ? 0 : wide ? load<u64>(la) : <u64>load<u32>(la);
    walkRefs++;
    if (!(e & Pte.P)) return pageFault(wErr);
    const large = largeLeafReserved(e, shift, wide);
    if (large == NOT_LEAF_RSVD) return pageFault(wRsvdErr);
    if (e & wRsvd) return pageFault(wRsvdErr);

    if (shift != 12 && large == NOT_LEAF) {
      if (sideEffects && !(e & Pte.A) && !entrySetBits(la, epa, e, Pte.A, wide)) continue; // re-read this level
      wAcc &= e;
      if (e & XD) wXd = true;
      wTable = entryAddr(e, wide);
      // Present, no reserved bits, A set, PS = 0: cacheable (SDM §4.10.3.1).
      if (usePsc && sideEffects) pscFill(va, pcid, shift, wTable, wAcc, wXd, epa);
      wShift = shift - <u32>levelBits(wide);
      continue;
    }

    if (large != 0) {
      // QEMU 7.2 marks a 1 GiB PDPTE accessed before its large-page checks.
      if (shift == 30 && (quirks & Quirk.OneGAEarly) && sideEffects && !(e & Pte.A)) {
        if (!entrySetBits(la, epa, e, Pte.A, true)) continue;
        e |= Pte.A;
      }
      if (e & large) return pageFault(wRsvdErr);
    }
    wAcc &= e;
    if (e & XD) wXd = true;

    // The access rules (access.ts), protection keys included.
    const isU = (wAcc & Pte.US) != 0, isW = (wAcc & Pte.RW) != 0;
    const ctl = permControls();
    const pkey = ia32e ? <u32>(e >> Pte.PKEY_BIT) & 15 : 0;
    const pk = pkeysApply(isU, access, ctl) && pkruDenies(load<u32>(CTL, Ctl.PKRU), pkey, write, user, ctl);
    if (pk || accessDenied(isW, isU, !wXd, access, user, bit(load<u64>(CTL, Ctl.EFLAGS), Cr.EFLAGS_AC), ctl))
      return pageFault(wErr | PfErr.P | (pk ? PfErr.PK : 0));

    // Success: A on the leaf, D on a write (SDM §4.8).
    const need: u64 = write ? Pte.A | Pte.D : Pte.A;
    if (sideEffects && (e & need) != need && !entrySetBits(la, epa, e, need, wide)) return RESTART;

    const pageMask: u64 = (<u64>1 << <u64>shift) - 1;
    walkFault = FaultKind.None;
    walkPa = pageBase(e, shift, wide) | (va & pageMask);
    walkShift = shift;
    walkPtePa = epa;
    walkLeaf = (isW ? Leaf.W : 0) | (isU ? Leaf.U : 0) | (wXd ? 0 : Leaf.X)
      | (write || (e & Pte.D) ? Leaf.D : 0) | ((e & Pte.G) ? Leaf.G : 0) | (pkey << Leaf.PKEY_SHIFT);
    return FaultKind.None;
  }
}

/** Paging off: linear = physical (32 bits), everything allowed. */
function noPaging(va: u64): u32 {
  walkFault = FaultKind.None; walkPa = va & 0xffff_ffff; walkShift = 12; walkPtePa = 0;
  walkLeaf = Leaf.W | Leaf.U | Leaf.X | Leaf.D;
  return FaultKind.None;
}

/** The error codes and reserved bits of this walk (SDM §4.7 and tables 4-8 to 4-20). */
function walkContext(mode: u32, access: u32, user: bool, quirks: u32): void {
  const cr4 = load<u64>(CTL, Ctl.CR4);
  const wide = mode != X86Mode.Legacy32;
  const nxe = wide && bit(load<u64>(CTL, Ctl.EFER), Cr.EFER_NXE);
  // I/D only with SMEP, or with PAE/IA-32e paging and NXE.
  let err: u32 = (access == Access.Write ? PfErr.W : 0) | (user ? PfErr.U : 0);
  if (access == Access.Fetch && (nxe || bit(cr4, Cr.CR4_SMEP))) err |= PfErr.ID;
  wErr = err;
  wRsvdErr = err | PfErr.RSVD | ((quirks & Quirk.RsvdEcNoP) ? 0 : PfErr.P);
  let rsvd: u64 = 0;
  if (wide) {
    rsvd = ADDR_MASK & ~((<u64>1 << <u64>MAXPHYADDR) - 1);
    if (mode == X86Mode.Pae) rsvd |= HI_IGNORED;
    if (!nxe) rsvd |= XD;
  }
  wRsvd = rsvd;
}

/**
 * The PAE PDPTE step: the PDPTE register of `va` (loaded at MOV CR3, SDM
 * §4.4.1), or — QEMU 7.2's PaePdpteA — the entry re-read from memory, checked
 * and marked accessed now. GO_ON with wTable/wShift set, or a fault.
 */
function paePdpte(va: u64, quirks: u32, sideEffects: bool): u32 {
  const i = <u32>(va >> 30);
  let pdpte: u64;
  if (quirks & Quirk.PaePdpteA) {
    const epa = (load<u64>(CTL, Ctl.CR3) & 0xffff_ffe0) + (<u64>i << 3);
    const la = physAddr(epa);
    if (la == BAD_PA) return busFault(epa);
    pdpte = la == ZERO_PA ? 0 : load<u64>(la);
    walkRefs++;
    if (!(pdpte & Pte.P)) return pageFault(wErr);
    if ((quirks & Quirk.PaePdpteWalkCheck) && (pdpte & (wRsvd | XD))) return pageFault(wRsvdErr);
    if (sideEffects && !(pdpte & Pte.A) && !entrySetBits(la, epa, pdpte, Pte.A, true)) return RESTART;
  } else {
    pdpte = load<u64>(CTL + <usize>Ctl.PDPTE0 + (<usize>i << 3));
    if (!(pdpte & Pte.P)) return pageFault(wErr);
    if (quirks & Quirk.PaePdpteWalkCheck) {
      if (pdpte & (wRsvd | XD)) return pageFault(wRsvdErr);
    } else if ((load<u32>(CTL, Ctl.OPTIONS) & Opt.PdpteGpOnUse) && (pdpte & pdpteRsvd())) {
      return generalProtection();   // the deferred #GP of the CR3 load (option PdpteGpOnUse)
    }
  }
  wTable = pdpte & ADDR_MASK; wShift = 21;
  return GO_ON;
}

/** largeLeafReserved: the entry is not a leaf above level 1 / has PS where PS is reserved. */
// @ts-ignore: decorator
@inline const NOT_LEAF: u64 = 0;
// @ts-ignore: decorator
@inline const NOT_LEAF_RSVD: u64 = <u64>-1;

/**
 * Does entry `e` at index shift `shift` map a large page, and which of its
 * bits are then reserved? A PDE with PS maps a page (in 32-bit paging only
 * with CR4.PSE, else PS is ignored), so does an IA-32e PDPTE with PS (1 GiB);
 * PS is reserved in a PML4E/PML5E (SDM tables 4-14, 4-15). Returns NOT_LEAF,
 * NOT_LEAF_RSVD (a reserved PS), or the large leaf's reserved bits (never 0:
 * they include bit 13 at least, or PSE-36's high bits).
 */
// @ts-ignore: decorator
@inline function largeLeafReserved(e: u64, shift: u32, wide: bool): u64 {
  if (shift == 12 || !(e & Pte.PS)) return NOT_LEAF;
  if (wide) {
    if (shift >= 39) return NOT_LEAF_RSVD;
    return ((<u64>1 << <u64>shift) - 1) & ~LARGE_FLAGS;       // (shift-1):13; bit 12 is PAT
  }
  if (!bit(load<u64>(CTL, Ctl.CR4), Cr.CR4_PSE)) return NOT_LEAF;
  // 4 MiB: bits 20:13 give PA bits (M'-1):32, M' = min(MAXPHYADDR, 40); 21:(M'-19) reserved.
  const m: u32 = MAXPHYADDR < 40 ? MAXPHYADDR : 40;
  return PSE36_FIELD & ~((<u64>1 << <u64>(m - 19)) - 1);
}

/** The physical base of the page a leaf maps (PSE-36 for 4 MiB pages). */
// @ts-ignore: decorator
@inline function pageBase(e: u64, shift: u32, wide: bool): u64 {
  const pageMask: u64 = (<u64>1 << <u64>shift) - 1;
  if (wide) return e & ADDR_MASK & ~pageMask;
  if (shift != 22) return e & ADDR_MASK_32;
  const m: u32 = MAXPHYADDR < 40 ? MAXPHYADDR : 40;
  return (e & 0xffc0_0000) | (((e >> 13) & ((<u64>1 << <u64>(m - 32)) - 1)) << 32);
}

/** Reserved bits of a present PAE PDPTE: 2:1, 8:5, 63:MAXPHYADDR (SDM table 4-8). */
// @ts-ignore: decorator
@inline function pdpteRsvd(): u64 { return 0x1e6 | ~((<u64>1 << <u64>MAXPHYADDR) - 1); }

/**
 * Load the four PAE PDPTE registers from the table at `cr3` (MOV CR3, or a
 * MOV CR0/CR4 that enters or changes PAE paging: SDM §4.4.1). A present PDPTE
 * with a reserved bit set (2:1, 8:5, 63:MAXPHYADDR) makes the load fail with
 * #GP(0); the registers then keep their old values. With the QEMU quirk
 * PaePdpteWalkCheck the bits are checked at walk time instead.
 */
export function x86LoadPdptes(cr3: u64): u32 {
  const check = !(load<u32>(CTL, Ctl.QUIRKS) & Quirk.PaePdpteWalkCheck)
    && !(load<u32>(CTL, Ctl.OPTIONS) & Opt.PdpteGpOnUse);
  const base = cr3 & 0xffff_ffe0;
  const rsvd = pdpteRsvd();
  for (let i: u64 = 0; i < 4; i++) {
    const epa = base + (i << 3);
    const la = physAddr(epa);
    if (la == BAD_PA) return busFault(epa);
    const e: u64 = la == ZERO_PA ? 0 : load<u64>(la);
    if (check && (e & Pte.P) && (e & rsvd)) {
      walkFault = FaultKind.X86; walkVector = Vector.GP; walkError = 0;
      return FaultKind.X86;
    }
  }
  for (let i: u64 = 0; i < 4; i++) {
    const la = physAddr(base + (i << 3));
    store<u64>(CTL + <usize>Ctl.PDPTE0 + (<usize>i << 3), la == ZERO_PA ? 0 : load<u64>(la));
  }
  walkFault = FaultKind.None;
  return FaultKind.None;
}
