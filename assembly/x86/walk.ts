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
// (SDM §4.8, SPEC G.1). A failed cmpxchg on a non-leaf re-reads that level,
// on the leaf restarts the walk.
//
// With paging-structure caches (psc.ts; IA-32e only) a walk with side effects
// starts at the longest cached match instead of CR3, and caches each
// non-leaf entry it passes (SDM §4.10.3.2).
//
// The walk allocates nothing: its outputs are the wasm globals below, which
// translate.ts copies into the result record or a batch slot and which the
// TLB (issue 3) stores as they are.
import { Access, Cr, Ctl, FaultKind, Leaf, Opt, PfErr, Pte, Quirk, Stat, Vector, X86Mode } from "../../src/abi";
import { CTL, MAXPHYADDR, STATS } from "../layout";
import { BAD_PA, ZERO_PA, physAddr } from "../phys";
import { pscAcc, pscFill, pscLookup, pscReset, pscTable, pscXd } from "../psc";
import { currentPcid, pscCount } from "../tlb";

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

/** Bits 51:12: the address field of an 8-byte entry. */
// @ts-ignore: decorator
@inline const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
// @ts-ignore: decorator
@inline const XD: u64 = <u64>1 << Pte.XD_BIT;
/** Bits 62:52: ignored in IA-32e entries, reserved in PAE entries (SDM tables 4-8 … 4-11). */
// @ts-ignore: decorator
@inline const HI_IGNORED: u64 = 0x7ff0_0000_0000_0000;

// @ts-ignore: decorator
@inline function bit(v: u64, n: i32): bool { return ((v >> <u64>n) & 1) != 0; }

function pageFault(err: u32): u32 {
  walkFault = FaultKind.X86; walkVector = Vector.PF; walkError = err;
  return FaultKind.X86;
}

function busFault(pa: u64): u32 {
  walkFault = FaultKind.Bus; walkVector = 0; walkError = 0; walkPa = pa;
  return FaultKind.Bus;
}

/**
 * Debug race injection (SPEC G.3 test 7): when armed for this entry, act as
 * another CPU whose store lands between the walker's read and its cmpxchg.
 * Fires once. Costs one load on the (rare) A/D-update path only.
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

function walkOnce(va: u64, access: u32, sideEffects: bool, psc: bool): u32 {
  const mode = load<u32>(CTL, Ctl.MODE);
  if (mode == X86Mode.Off) {
    // No paging: linear = physical (32-bit), everything allowed.
    walkFault = FaultKind.None; walkPa = va & 0xffff_ffff; walkShift = 12; walkPtePa = 0;
    walkLeaf = Leaf.W | Leaf.U | Leaf.X | Leaf.D;
    return FaultKind.None;
  }
  const cr0 = load<u64>(CTL, Ctl.CR0), cr3 = load<u64>(CTL, Ctl.CR3);
  const cr4 = load<u64>(CTL, Ctl.CR4), efer = load<u64>(CTL, Ctl.EFER);
  const quirks = load<u32>(CTL, Ctl.QUIRKS);
  const user = load<u32>(CTL, Ctl.CPL) == 3;
  const write = access == Access.Write, fetch = access == Access.Fetch;
  const wide = mode != X86Mode.Legacy32;           // 8-byte entries
  const ia32e = mode >= <u32>X86Mode.Ia32e4;
  const nxe = wide && bit(efer, Cr.EFER_NXE);
  const M = MAXPHYADDR;

  // #PF error-code bits fixed by the access (SDM §4.7): I/D only with SMEP,
  // or with PAE/IA-32e paging and NXE.
  let err: u32 = (write ? PfErr.W : 0) | (user ? PfErr.U : 0);
  if (fetch && (nxe || bit(cr4, Cr.CR4_SMEP))) err |= PfErr.ID;
  const rsvdErr: u32 = err | PfErr.RSVD | ((quirks & Quirk.RsvdEcNoP) ? 0 : PfErr.P);

  // Reserved bits common to every entry: 51:MAXPHYADDR; PAE also 62:52; XD without NXE.
  let rsvd: u64 = 0;
  if (wide) {
    rsvd = ADDR_MASK & ~((<u64>1 << <u64>M) - 1);
    if (!ia32e) rsvd |= HI_IGNORED;
    if (!nxe) rsvd |= XD;
  }

  let table: u64, shift: i32;
  let acc: u64 = Pte.RW | Pte.US;   // AND over the levels
  let xd = false;                   // OR over the levels
  let usePsc = false, pcid: u64 = 0;
  if (mode == X86Mode.Legacy32) {
    va &= 0xffff_ffff;
    table = cr3 & 0xffff_f000; shift = 22;
  } else if (mode == X86Mode.Pae) {
    va &= 0xffff_ffff;
    // PDPTE: a register loaded at MOV CR3 (SDM §4.4.1), or — QEMU 7.2 —
    // re-read from memory now, checked now, and marked accessed.
    const i = <u32>(va >> 30);
    let pdpte: u64;
    if (quirks & Quirk.PaePdpteA) {
      const epa = (cr3 & 0xffff_ffe0) + (<u64>i << 3);
      const la = physAddr(epa);
      if (la == BAD_PA) return busFault(epa);
      pdpte = la == ZERO_PA ? 0 : load<u64>(la);
      walkRefs++;
      if (!(pdpte & Pte.P)) return pageFault(err);
      if ((quirks & Quirk.PaePdpteWalkCheck) && (pdpte & (rsvd | XD))) return pageFault(rsvdErr);
      if (sideEffects && !(pdpte & Pte.A) && !entrySetBits(la, epa, pdpte, Pte.A, true)) return RESTART;
    } else {
      pdpte = load<u64>(CTL + <usize>Ctl.PDPTE0 + (<usize>i << 3));
      if (!(pdpte & Pte.P)) return pageFault(err);
      if (quirks & Quirk.PaePdpteWalkCheck) {
        if (pdpte & (rsvd | XD)) return pageFault(rsvdErr);
      } else if ((load<u32>(CTL, Ctl.OPTIONS) & Opt.PdpteGpOnUse) && (pdpte & pdpteRsvd())) {
        // The deferred #GP of the CR3 load (option PdpteGpOnUse).
        walkFault = FaultKind.X86; walkVector = Vector.GP; walkError = 0;
        return FaultKind.X86;
      }
    }
    table = pdpte & ADDR_MASK; shift = 21;
  } else {
    // Canonical: bits 63:47 (63:56 with LA57) all equal. #GP(0), CR2 untouched (SDM §3.3.7.1).
    const sh: u64 = mode == X86Mode.Ia32e5 ? 7 : 16;
    if (<u64>((<i64>(va << sh)) >> <i64>sh) != va) {
      walkFault = FaultKind.X86; walkVector = Vector.GP; walkError = 0;
      return FaultKind.X86;
    }
    table = cr3 & ADDR_MASK; shift = mode == X86Mode.Ia32e5 ? 48 : 39;
    usePsc = psc && pscCount() != 0;
    if (usePsc) {
      // The longest cached match: start below it with its folded permissions.
      pcid = currentPcid();
      const s = pscLookup(va, pcid, <u32>shift, sideEffects);
      if (s != 0) { table = pscTable; shift = <i32>s; acc = pscAcc; xd = pscXd; }
    }
  }

  for (;;) {
    const idx: u64 = (va >> <u64>shift) & (wide ? 0x1ff : 0x3ff);
    const epa = table + (idx << (wide ? 3 : 2));
    const la = physAddr(epa);
    if (la == BAD_PA) return busFault(epa);
    let e: u64 = la == ZERO_PA ? 0 : wide ? load<u64>(la) : <u64>load<u32>(la);
    walkRefs++;
    if (!(e & Pte.P)) return pageFault(err);

    // Which entries map a page: PTE; PDE with PS (32-bit paging: only with
    // CR4.PSE, else PS is ignored); PDPTE with PS in IA-32e (1 GiB). PS is
    // reserved in PML4E/PML5E (SDM tables 4-14, 4-15).
    let leaf = shift == 12;
    let large: u64 = 0;   // reserved bits of a large-page leaf
    if (!leaf && (e & Pte.PS)) {
      if (wide) {
        if (shift >= 39) return pageFault(rsvdErr);
        leaf = true;
        large = ((<u64>1 << <u64>shift) - 1) & ~(<u64>0x1fff);      // (shift-1):13, bit 12 is PAT
      } else if (bit(cr4, Cr.CR4_PSE)) {
        leaf = true;
        // 4 MiB: bits 20:13 give PA bits (M'-1):32, M' = min(MAXPHYADDR, 40); 21:(M'-19) reserved.
        const m: u32 = M < 40 ? M : 40;
        large = <u64>0x3f_e000 & ~((<u64>1 << <u64>(m - 19)) - 1);
      }
    }
    if (e & rsvd) return pageFault(rsvdErr);

    if (!leaf) {
      if (sideEffects && !(e & Pte.A) && !entrySetBits(la, epa, e, Pte.A, wide)) continue; // re-read this level
      acc &= e;
      if (e & XD) xd = true;
      table = wide ? e & ADDR_MASK : e & 0xffff_f000;
      // Present, no reserved bits, A set, PS = 0: cacheable (SDM §4.10.3.1).
      if (usePsc && sideEffects) pscFill(va, pcid, <u32>shift, table, acc, xd, epa);
      shift -= wide ? 9 : 10;
      continue;
    }

    if (large) {
      // QEMU 7.2 marks a 1 GiB PDPTE accessed before its large-page checks.
      if (shift == 30 && (quirks & Quirk.OneGAEarly) && sideEffects && !(e & Pte.A)) {
        if (!entrySetBits(la, epa, e, Pte.A, true)) continue;
        e |= Pte.A;
      }
      if (e & large) return pageFault(rsvdErr);
    }
    acc &= e;
    if (e & XD) xd = true;

    // ── the one permission check (SDM §4.6) ──
    const isU = (acc & Pte.US) != 0, isW = (acc & Pte.RW) != 0;
    const wp = bit(cr0, Cr.CR0_WP);
    const pkey = ia32e ? <u32>(e >> Pte.PKEY_BIT) & 15 : 0;
    let deny = false, pk = false;
    if (user && !isU) deny = true;
    else if (fetch) {
      if (xd || (!user && isU && bit(cr4, Cr.CR4_SMEP))) deny = true;
    } else {
      const eflags = load<u64>(CTL, Ctl.EFLAGS);
      if (!user && isU && bit(cr4, Cr.CR4_SMAP) && !bit(eflags, Cr.EFLAGS_AC)) deny = true;
      if (write && !isW && (user || wp)) deny = true;
      // Protection keys: data accesses to user-mode addresses, IA-32e only (SDM §4.6.2).
      if (ia32e && isU && bit(cr4, Cr.CR4_PKE)) {
        const pkr = load<u32>(CTL, Ctl.PKRU) >> (pkey << 1);
        if ((pkr & 1) || (write && (pkr & 2) && (user || wp))) { deny = true; pk = true; }
      }
    }
    if (deny) return pageFault(err | PfErr.P | (pk ? PfErr.PK : 0));

    // Success: A on the leaf, D on a write (SDM §4.8).
    const need: u64 = write ? Pte.A | Pte.D : Pte.A;
    if (sideEffects && (e & need) != need && !entrySetBits(la, epa, e, need, wide)) return RESTART;

    const pageMask: u64 = (<u64>1 << <u64>shift) - 1;
    let base: u64;
    if (wide) base = e & ADDR_MASK & ~pageMask;
    else if (shift == 22) {
      const m: u32 = M < 40 ? M : 40;
      base = (e & 0xffc0_0000) | (((e >> 13) & ((<u64>1 << <u64>(m - 32)) - 1)) << 32);
    } else base = e & 0xffff_f000;
    walkFault = FaultKind.None;
    walkPa = base | (va & pageMask);
    walkShift = <u32>shift;
    walkPtePa = epa;
    walkLeaf = (isW ? Leaf.W : 0) | (isU ? Leaf.U : 0) | (xd ? 0 : Leaf.X)
      | (write || (e & Pte.D) ? Leaf.D : 0) | ((e & Pte.G) ? Leaf.G : 0) | (pkey << Leaf.PKEY_SHIFT);
    return FaultKind.None;
  }
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
