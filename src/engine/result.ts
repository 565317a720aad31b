/**
 * The result record of the control block (Ctl.RES_*), read into a
 * Translation. The wasm core writes it after every single translate/probe;
 * the TS engine writes the very same bytes so both memories stay identical.
 */
import { type Access, Ctl, FaultKind, Mem } from "../abi.js";
import type { Translation } from "./engine.js";
import { show } from "../check.js";
import { TWO32 } from "../u64.js";

const r32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const R_FAULT = r32(Ctl.RES_FAULT), R_VECTOR = r32(Ctl.RES_VECTOR), R_ERROR = r32(Ctl.RES_ERROR);
const R_PA = r32(Ctl.RES_PA), R_ADDR = r32(Ctl.RES_ADDR), R_LEAF = r32(Ctl.RES_LEAF);
const R_SHIFT = r32(Ctl.RES_SHIFT), R_PTE = r32(Ctl.RES_PTE_PA);

export function readResult(m32: Uint32Array, out: Translation): Translation {
  out.fault = m32[R_FAULT]! as FaultKind;
  out.vector = m32[R_VECTOR]!;
  out.errorCode = m32[R_ERROR]!;
  out.pa = m32[R_PA]! + m32[R_PA + 1]! * TWO32;
  const lo = m32[R_ADDR]!, hi = m32[R_ADDR + 1]!;
  out.addr = lo === 0 && hi === 0 ? 0n : (BigInt(hi) << 32n) | BigInt(lo);
  out.leaf = m32[R_LEAF]!;
  out.shift = m32[R_SHIFT]!;
  out.ptePa = m32[R_PTE]! + m32[R_PTE + 1]! * TWO32;
  return out;
}

/** Write a result record (TS engine); numbers < 2^52, addr as (lo, hi). */
export function writeResult(m32: Uint32Array, fault: FaultKind, vector: number, error: number, pa: number,
  addrLo: number, addrHi: number, leaf: number, shift: number, ptePa: number): void {
  m32[R_FAULT] = fault; m32[R_VECTOR] = vector; m32[R_ERROR] = error;
  m32[R_PA] = pa >>> 0; m32[R_PA + 1] = Math.floor(pa / TWO32);
  m32[R_ADDR] = addrLo; m32[R_ADDR + 1] = addrHi;
  m32[R_LEAF] = leaf; m32[R_SHIFT] = shift;
  m32[R_PTE] = ptePa >>> 0; m32[R_PTE + 1] = Math.floor(ptePa / TWO32);
}

/** translatePa through translate(): the path for the s390 walker, whose
 *  single-translation API takes BigInt addresses. */
export function translatePaVia(e: { translate(va: bigint, access: Access): Translation }, va: number, access: Access): number {
  const r = e.translate(BigInt.asUintN(64, BigInt(va)), access);
  return r.fault === FaultKind.None ? r.pa : -1;
}

/** translatePa's address check, the same in both engines: `va` must be an
 *  integer in [-2^63, 2^63). Given hi = floor(va / 2^32), it is exactly when
 *  (hi | 0) · 2^32 + (va >>> 0) gives `va` back — a multiply and an add on
 *  values the TS engine computes anyway; NaN, ±Infinity, fractions and
 *  out-of-range values all fail it. */
export function badPaVa(va: unknown): Error {
  const msg = `translatePa: va must be an integer Number (a signed 64-bit address), got ${show(va)}`;
  return typeof va === "number" ? new RangeError(msg) : new TypeError(msg);
}
