// The x86 access rules (Intel SDM Vol. 3A §4.6), in one place. The walker
// (walk.ts) applies them to the permissions it folded over the levels; the
// TLB (tlb.ts) does not restate them: its deny bits are this rule evaluated
// once per kind of access a deny bit stands for (denyBitsOf below), and the
// fast walk's table (walk-fast.ts) is derived from those deny bits. A change
// of rule is made here and reaches all three. Twin: src/engine/ts/x86/access.ts.
import { Access, Cr, Ctl, Leaf, PermCtl, TlbDeny, X86Mode } from "../../src/abi";
import { CTL } from "../layout";

/** The protection controls of the current context (PermCtl bits). */
export function permControls(): u32 {
  const cr0 = load<u64>(CTL, Ctl.CR0), cr4 = load<u64>(CTL, Ctl.CR4);
  const ia32e = load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4;
  return (<u32>((cr0 >> Cr.CR0_WP) & 1) * PermCtl.WP) | (<u32>((cr4 >> Cr.CR4_SMEP) & 1) * PermCtl.SMEP)
    | (<u32>((cr4 >> Cr.CR4_SMAP) & 1) * PermCtl.SMAP) | (ia32e ? <u32>((cr4 >> Cr.CR4_PKE) & 1) * PermCtl.PKE : 0);
}

/**
 * Is an access of kind `access`, at user privilege (CPL 3) or not, with
 * EFLAGS.AC `ac`, denied by the paging permissions of a page whose folded
 * permissions are `w` (R/W at every level), `u` (U/S at every level) and
 * `x` (no XD)? Protection keys are apart (pkeysApply, pkruDenies).
 */
// @ts-ignore: decorator
@inline export function accessDenied(w: bool, u: bool, x: bool, access: u32, user: bool, ac: bool, ctl: u32): bool {
  if (user && !u) return true;                                       // supervisor page
  if (access == Access.Fetch) return !x || (!user && u && (ctl & PermCtl.SMEP) != 0);
  if (!user && u && (ctl & PermCtl.SMAP) != 0 && !ac) return true;   // SMAP
  return access == Access.Write && !w && (user || (ctl & PermCtl.WP) != 0);
}

/** Protection keys govern data accesses to user-mode addresses, with CR4.PKE
 *  in IA-32e paging (SDM §4.6.2). */
// @ts-ignore: decorator
@inline export function pkeysApply(u: bool, access: u32, ctl: u32): bool {
  return u && access != Access.Fetch && (ctl & PermCtl.PKE) != 0;
}

/** PKRU's verdict on key `pkey`: AD denies every data access, WD a write
 *  (a supervisor write only with CR0.WP). */
// @ts-ignore: decorator
@inline export function pkruDenies(pkru: u32, pkey: u32, write: bool, user: bool, ctl: u32): bool {
  const bits = pkru >> (pkey << 1);
  return (bits & 1) != 0 || (write && (bits & 2) != 0 && (user || (ctl & PermCtl.WP) != 0));
}

/**
 * The TLB deny bits of a leaf (TlbDeny): each bit is accessDenied at the one
 * access it stands for. A clean page (D clear) denies every write, so the
 * first store walks again and sets D; a page under protection keys denies
 * every data access, so PKRU is consulted on each (PKRU changes flush nothing).
 */
export function denyBitsOf(leaf: u32, ctl: u32): u64 {
  const w = (leaf & Leaf.W) != 0, u = (leaf & Leaf.U) != 0, x = (leaf & Leaf.X) != 0, d = (leaf & Leaf.D) != 0;
  let deny: u64 = 0;
  if (!d || accessDenied(w, u, x, Access.Write, false, true, ctl)) deny |= TlbDeny.W_SUP;
  if (!d || accessDenied(w, u, x, Access.Write, true, true, ctl)) deny |= TlbDeny.W_USER;
  if (accessDenied(w, u, x, Access.Read, true, true, ctl)) deny |= TlbDeny.R_USER;
  if (accessDenied(w, u, x, Access.Fetch, false, true, ctl)) deny |= TlbDeny.X_SUP;
  if (accessDenied(w, u, x, Access.Fetch, true, true, ctl)) deny |= TlbDeny.X_USER;
  if (accessDenied(w, u, x, Access.Read, false, false, ctl)) deny |= TlbDeny.SMAP;
  if (pkeysApply(u, Access.Read, ctl)) deny |= TlbDeny.PKEY;
  return deny;
}
