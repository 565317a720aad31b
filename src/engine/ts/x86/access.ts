/**
 * The x86 access rules (Intel SDM Vol. 3A §4.6), in one place for the TS
 * core: the twin of assembly/x86/access.ts, the same functions in the same
 * order. The walker applies them; the TLB's deny bits are derived from them
 * (denyBitsOf); the fast walk's table from those deny bits.
 */
import { Access, Cr, Ctl, Leaf, Mem, PermCtl, TlbDeny, X86Mode } from "../../../abi.js";

const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const C_MODE = c32(Ctl.MODE), C_CR0 = c32(Ctl.CR0), C_CR4 = c32(Ctl.CR4);

/** The protection controls of the current context (PermCtl bits), from the control block. */
export function permControls(m32: Uint32Array): number {
  const cr0 = m32[C_CR0]!, cr4 = m32[C_CR4]!;
  const ia32e = m32[C_MODE]! >= X86Mode.Ia32e4;
  return ((cr0 >>> Cr.CR0_WP) & 1) * PermCtl.WP | ((cr4 >>> Cr.CR4_SMEP) & 1) * PermCtl.SMEP
    | ((cr4 >>> Cr.CR4_SMAP) & 1) * PermCtl.SMAP | (ia32e ? ((cr4 >>> Cr.CR4_PKE) & 1) * PermCtl.PKE : 0);
}

/** Is the access denied by the paging permissions `w`, `u`, `x` folded over
 *  the levels? (Protection keys apart: pkeysApply, pkruDenies.) */
export function accessDenied(w: boolean, u: boolean, x: boolean, access: Access, user: boolean, ac: boolean, ctl: number): boolean {
  if (user && !u) return true;                                       // supervisor page
  if (access === Access.Fetch) return !x || (!user && u && (ctl & PermCtl.SMEP) !== 0);
  if (!user && u && (ctl & PermCtl.SMAP) !== 0 && !ac) return true;  // SMAP
  return access === Access.Write && !w && (user || (ctl & PermCtl.WP) !== 0);
}

/** Protection keys govern data accesses to user-mode addresses, with CR4.PKE in IA-32e paging. */
export function pkeysApply(u: boolean, access: Access, ctl: number): boolean {
  return u && access !== Access.Fetch && (ctl & PermCtl.PKE) !== 0;
}

/** PKRU's verdict on key `pkey`: AD denies every data access, WD a write (supervisor: with CR0.WP). */
export function pkruDenies(pkru: number, pkey: number, write: boolean, user: boolean, ctl: number): boolean {
  const bits = pkru >>> (pkey * 2);
  return (bits & 1) !== 0 || (write && (bits & 2) !== 0 && (user || (ctl & PermCtl.WP) !== 0));
}

/** The TLB deny bits of a leaf: accessDenied at the one access each bit stands for. */
export function denyBitsOf(leaf: number, ctl: number): number {
  const w = (leaf & Leaf.W) !== 0, u = (leaf & Leaf.U) !== 0, x = (leaf & Leaf.X) !== 0, d = (leaf & Leaf.D) !== 0;
  let deny = 0;
  if (!d || accessDenied(w, u, x, Access.Write, false, true, ctl)) deny |= TlbDeny.W_SUP;
  if (!d || accessDenied(w, u, x, Access.Write, true, true, ctl)) deny |= TlbDeny.W_USER;
  if (accessDenied(w, u, x, Access.Read, true, true, ctl)) deny |= TlbDeny.R_USER;
  if (accessDenied(w, u, x, Access.Fetch, false, true, ctl)) deny |= TlbDeny.X_SUP;
  if (accessDenied(w, u, x, Access.Fetch, true, true, ctl)) deny |= TlbDeny.X_USER;
  if (accessDenied(w, u, x, Access.Read, false, false, ctl)) deny |= TlbDeny.SMAP;
  if (pkeysApply(u, Access.Read, ctl)) deny |= TlbDeny.PKEY;
  return deny;
}
