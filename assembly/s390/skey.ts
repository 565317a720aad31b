// s390 storage keys: one byte per 4 KiB frame, kept by the core because the
// hardware sets R on every access and C on every store to the frame, whichever
// mapping was used (keys belong to frames, not mappings; PoP ch. 3 "Storage
// Keys"; docs/SEMANTICS.md "s390 storage keys").
//
//   key byte:  ┌───┬───┬───┬───┬───┬───┬───┬───┐
//              │    ACC (4)    │ F │ R │ C │ - │   ACC 0xf0, F 0x08, R 0x04, C 0x02
//              └───┴───┴───┴───┴───┴───┴───┴───┘
//
// Where the byte lives: the SKEY region of linear memory (Ctl.SKEY_BASE),
// indexed by pfn for dense RAM and by pool slot for sparse RAM. A sparse frame
// that was never backed has no slot: its key reads as 0 and a fetch from it
// records nothing (it holds zeros, exactly like freshly reset storage; PoP
// allows reference recording to be inexact). A store backs the frame, like
// the data store that follows it would, so C is never lost; SSKE backs it too.
import { Backing, S390Status, Skey } from "../../src/abi";
import { BACKING, PHYS_SIZE, RAM_BASE, SKEY_BASE } from "../layout";
import { sparseFrame } from "../phys";
import { s390TlbPurgeAll } from "./tlb";

/** No key byte: the frame is sparse and unbacked (and `alloc` was false or
 *  the pool is exhausted). */
// @ts-ignore: decorator
@inline export const NO_KEY: usize = 0;

/** Linear address of the key byte of the frame holding absolute address `pa`
 *  (< PHYS_SIZE), or NO_KEY. With `alloc` an unbacked sparse frame is backed. */
export function skeyAddr(pa: u64, alloc: bool): usize {
  if (BACKING == Backing.Dense) return SKEY_BASE + <usize>(pa >> 12);
  const f = sparseFrame(pa >> 12, alloc);
  return f == 0 ? NO_KEY : SKEY_BASE + ((f - RAM_BASE) >> 12);
}

/** Status of the last operation of this file or pgste.ts (S390Status). */
export let skeyStatus: u32 = S390Status.Ok;

/** ISKE: the key of the frame holding `pa` (7 bits), 0 for an unbacked frame. */
export function iske(pa: u64): u32 {
  skeyStatus = S390Status.Ok;
  if (pa >= PHYS_SIZE) { skeyStatus = S390Status.Addressing; return 0; }
  const k = skeyAddr(pa, false);
  return k == NO_KEY ? 0 : <u32>load<u8>(k) & Skey.MASK;
}

/**
 * SSKE: set the key of the frame holding `pa`. `keepMask` names the bits that
 * stay as they are (Skey.R / Skey.C for the conditional-SSKE MR / MC
 * controls, as Linux's page_set_storage_key passes them; 0 = set all).
 * Returns the status.
 */
export function sske(pa: u64, key: u32, keepMask: u32): u32 {
  skeyStatus = S390Status.Ok;
  if (pa >= PHYS_SIZE) return skeyStatus = S390Status.Addressing;
  const k = skeyAddr(pa, true);
  if (k == NO_KEY) return skeyStatus = S390Status.PoolExhausted;
  const old = <u32>load<u8>(k);
  store<u8>(k, <u8>(((old & keepMask) | (key & ~keepMask)) & Skey.MASK));
  s390TlbPurgeAll();        // TLB entries carry key-derived permissions and R/C state
  return skeyStatus;
}

/** RRBE: reset the reference bit; returns the condition code R·2 + C. */
export function rrbe(pa: u64): u32 {
  skeyStatus = S390Status.Ok;
  if (pa >= PHYS_SIZE) { skeyStatus = S390Status.Addressing; return 0; }
  const k = skeyAddr(pa, false);
  if (k == NO_KEY) return 0;
  const old = <u32>load<u8>(k);
  store<u8>(k, <u8>(old & ~Skey.R));
  s390TlbPurgeAll();        // so the next access through a cached translation sets R again
  return ((old & Skey.R) != 0 ? 2 : 0) | ((old & Skey.C) != 0 ? 1 : 0);
}
