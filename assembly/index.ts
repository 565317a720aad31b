// The exported ABI of the wasm core, nothing else. Every export
// takes and returns numbers; bulk data travels through linear memory.
import { loadLayout } from "./layout";
import { BAD_PA, ZERO_PA, physAddr, physAddrForWrite } from "./phys";

/** Read the region table the host published in the control block; Abi.OK,
 *  or why the control block is refused (Abi.BAD_MAGIC, Abi.BAD_VERSION). */
export function init(): u32 { return loadLayout(); }

/** Debug/probe: load `size` (1, 4, 8) bytes at guest-physical `pa`, big-endian
 *  if `be`. Returns the value; sets nothing. Out-of-range reads, sizes other
 *  than 1, 4 and 8, and unaligned addresses (which could cross a frame) return
 *  0xffff_ffff_ffff_ffff and `physStatus()` 1; unbacked sparse frames read 0. */
let lastStatus: i32 = 0;
// @ts-ignore: decorator
@inline function badSize(pa: u64, size: i32): bool {
  return (size != 1 && size != 4 && size != 8) || (pa & <u64>(size - 1)) != 0;
}
export function physLoad(pa: u64, size: i32, be: bool): u64 {
  lastStatus = 0;
  if (badSize(pa, size)) { lastStatus = 1; return <u64>-1; }
  const a = physAddr(pa);
  if (a == BAD_PA) { lastStatus = 1; return <u64>-1; }
  if (a == ZERO_PA) return 0;
  if (size == 1) return <u64>load<u8>(a);
  if (size == 4) { const v = load<u32>(a); return <u64>(be ? bswap<u32>(v) : v); }
  const v = load<u64>(a); return be ? bswap<u64>(v) : v;
}
/** Debug/probe: store; returns 0, or 1 for a bus error, an exhausted pool or
 *  a size or alignment physLoad refuses. */
export function physStore(pa: u64, size: i32, be: bool, value: u64): i32 {
  if (badSize(pa, size)) return 1;
  const a = physAddrForWrite(pa);
  if (a == BAD_PA) return 1;
  if (size == 1) store<u8>(a, <u8>value);
  else if (size == 4) store<u32>(a, be ? bswap<u32>(<u32>value) : <u32>value);
  else store<u64>(a, be ? bswap<u64>(value) : value);
  return 0;
}
export function physStatus(): i32 { return lastStatus; }

// ── s390: DAT, storage keys, PGSTE operations (assembly/s390/) ──
export { datTranslateOne as s390Translate, datTranslateBatch as s390TranslateBatch } from "./s390/dat";
export { iske, sske, rrbe } from "./s390/skey";
export { s390TlbPurgeAll, s390TlbPurgePage } from "./s390/tlb";
export {
  pgsteGetLock, pgsteSetUnlock, pgsteUpdateAll, pgsteSetKey, ptepTestAndClearUc,
  getGuestStorageKey, setGuestStorageKey, resetGuestReferenceBit, ptepZapKey,
} from "./s390/pgste";
import { skeyStatus } from "./s390/skey";
import { pgsteNotifyBits, pgsteStatus } from "./s390/pgste";
/** S390Status of the last storage-key operation. */
export function s390SkeyStatus(): u32 { return skeyStatus; }
/** S390Status of the last PGSTE operation. */
export function s390PgsteStatus(): u32 { return pgsteStatus; }
/** IN/VSIE bits the last ptepTestAndClearUc cleared (for ptep_notify). */
export function s390NotifyBits(): u64 { return pgsteNotifyBits; }

// ── translation (translate.ts, x86/walk.ts) ──
import { Access, FaultKind, TlbDeny, TlbEnt } from "../src/abi";
import { TLB_FAST } from "./layout";
import { accessMask, currentPcid, statAccess, statAdd } from "./tlb";
import { hits0, linearOf, slot0, translateOne, writeResult } from "./translate";
import { walkPa, x86LoadPdptes as loadPdptes, x86Walk } from "./x86/walk";
export { translateBatch, translateRange } from "./translate";
export { tlbFlushAll, tlbFlushPage, tlbFlushPcid, tlbLoadCr3 } from "./tlb";

/** One access with side effects; result record in the control block. Returns FaultKind. */
export function translate(va: u64, access: u32): u32 {
  const f = translateOne(va, access);
  writeResult(f, linearOf(va));
  return f;
}

/**
 * The cheapest single translation from JS: the VA as an f64 holding the
 * address as a signed integer (exact for every canonical VA: no BigInt at the
 * boundary), the PA as an f64 (exact: PAs are below 2^52), or -1 on a fault,
 * whose record is then in the control block as after translate(). A success
 * writes no record: that is the saving.
 *
 * A hit in structure 0 is answered here, before translateOne: the inline
 * probe of docs/TLB-ABI.md and its one statistic, and nothing else (no walk
 * outputs, which only a record would read). That is an emulator's common
 * case, and each operation left out of it is a measurable part of the call.
 */
export function translatePa(va: f64, access: u32): f64 {
  const v = <u64><i64>va;
  if (access <= <u32>Access.Fetch && TLB_FAST) {
    const lva = linearOf(v);
    const pcid = currentPcid();
    const e = slot0(lva, pcid);
    if (hits0(e, lva, pcid, accessMask(access))) {
      const pa = lva ^ (load<u64>(e, TlbEnt.DATA) & ~<u64>TlbDeny.MASK);
      statAdd(statAccess(1, access, 0), 1);
      return <f64><i64>pa;
    }
  }
  const f = translateOne(v, access);
  if (f == FaultKind.None) return <f64><i64>walkPa;
  writeResult(f, linearOf(v));
  return -1;
}

/** The same walk without side effects (no A/D, CR2 or TLB change); result record as translate. */
export function probe(va: u64, access: u32): u32 {
  const f = x86Walk(va, access, false, false);   // probe: no PSC (psc.ts)
  writeResult(f, linearOf(va));
  return f;
}

/** Load the PAE PDPTE registers from `cr3`. On a fault (X86 = #GP, Bus) the
 *  result record holds it and the registers are unchanged. */
export function x86LoadPdptes(cr3: u64): u32 {
  const f = loadPdptes(cr3);
  if (f != FaultKind.None) writeResult(f, 0);
  return f;
}
