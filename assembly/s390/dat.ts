// s390 dynamic address translation (z/Architecture Principles of Operation,
// ch. 3 "Dynamic Address Translation"; QEMU target/s390x/mmu_helper.c
// mmu_translate / mmu_translate_asce was read for the order of checks the
// conformance vectors expect). Tables are big-endian in guest memory.
//
//   64-bit virtual address (z/Architecture):
//   ┌── RFX 11 ──┬── RSX 11 ──┬── RTX 11 ──┬── SX 11 ──┬─ PX 8 ─┬─ BX 12 ─┐
//   63         53 52        42 41        31 30       20 19    12 11       0
//
//   31-bit virtual address (ESA/390 format):  ┌ SX 11 ┬ PX 8 ┬ BX 12 ┐
//
// One loop walks the region and segment tables: level 3 = region first,
// 2 = region second, 1 = region third, 0 = segment; the table at level l is
// indexed by va >> (20 + 11·l) and its entries carry table type TT = l.
// DAT protection and instruction-execution protection are accumulated across
// the levels and checked once, after the walk (as QEMU's mmu_translate does,
// and as the x86 walker ANDs R/W and U/S: assembly/x86/walk.ts).
//
// Result: an absolute address, or a fault word (BatchOut layout: bit 63,
// FaultKind, program-interruption code, TEID low bits). Faults are data.
import { Access, BatchOut, Ctl, Dat, FaultKind, Pgm, S390Cr0, S390Opt, S390Tlb, Skey, Stat, Teid } from "../../src/abi";
import { BATCH_CAP, BATCH_KIND, BATCH_OUT, BATCH_REFUSED, BATCH_VA, CTL, PHYS_SIZE } from "../layout";
import { BAD_PA, ZERO_PA, physAddr } from "../phys";
import { NO_KEY, skeyAddr } from "./skey";
import { s390TlbEnabled, s390TlbFill, s390TlbLoad, s390TlbLookup } from "./tlb";
import { statAccess, statAdd } from "../tlb";

// ── context, loaded once per call or batch from the control block ──
let cr0: u32 = 0;
let asce: u64 = 0;
let opts: u32 = 0;
let datOn: bool = false;
let accessKey: u32 = 0;
let ascTeid: u32 = 0;
let amodeMask: u64 = ~<u64>0;
let prefix: u64 = 0;

export function datLoadContext(): void {
  cr0 = <u32>load<u64>(CTL, Ctl.S390_CR0);
  const asc = load<u32>(CTL, Ctl.S390_ASC);
  asce = asc == 2 ? load<u64>(CTL, Ctl.S390_SASCE) : asc == 3 ? load<u64>(CTL, Ctl.S390_HASCE) : load<u64>(CTL, Ctl.S390_ASCE);
  ascTeid = asc;
  opts = load<u32>(CTL, Ctl.S390_OPTIONS);
  datOn = load<u32>(CTL, Ctl.S390_DAT) != 0;
  accessKey = load<u32>(CTL, Ctl.S390_PSW_KEY);
  const amode = load<u32>(CTL, Ctl.S390_AMODE);
  // ESA/390 has 24- and 31-bit addressing only.
  amodeMask = amode == 64 && (opts & S390Opt.Esa390) == 0 ? ~<u64>0 : amode == 24 ? 0xffffff : 0x7fffffff;
  prefix = load<u64>(CTL, Ctl.S390_PREFIX);
  s390TlbLoad();
}

// ── results of the walk besides its return value ──
/** DAT protection seen at some level (P bit, or region P with EDAT-1). */
let walkProt: bool = false;
/** IEP seen at the leaf (with CR0.IEP). */
let walkNoExec: bool = false;
/** The absolute address an addressing exception (or bus fault) was about. */
export let datFailPa: u64 = 0;

// @ts-ignore: decorator
@inline function fault(kind: u32, code: u32, teid: u32): u64 {
  return (<u64>1 << BatchOut.FAULT_BIT) | (<u64>kind << BatchOut.KIND_SHIFT) |
    (<u64>code << BatchOut.VECTOR_SHIFT) | <u64>teid;
}
/** The walkers' fault, kept out of band: a real address from a garbage entry
 *  may have bit 63 set, so the walk's return value cannot carry the fault. */
let walkFault: u64 = 0;

/** Record a program interruption; returns 0 (a walker returns it as its address). */
// @ts-ignore: decorator
@inline function pgm(code: u32, teid: u32): u64 { walkFault = fault(FaultKind.S390, code, teid); return 0; }
// @ts-ignore: decorator
@inline function isFault(w: u64): bool { return (w >> BatchOut.FAULT_BIT) != 0; }

/** Addressing exception for a table entry or frame at `pa` (no TEID is stored). */
function addressing(pa: u64): u64 {
  datFailPa = pa;
  return pgm(Pgm.Addressing, 0);
}

/** The translation exception of a table level (l = 0 segment … 3 region first). */
// @ts-ignore: decorator
@inline function levelException(l: u32): u32 {
  return l == 0 ? Pgm.SegmentTranslation : Pgm.Region1Translation + 3 - l;
}

/** Entry read failures: an entry beyond RAM sets this and the walk reports
 *  an addressing exception (never a trap, never metadata). */
let entryBad: bool = false;
/** Table entries read by the current walk (Stat.WALK_REFS histogram). */
let walkRefs: u32 = 0;

// @ts-ignore: decorator
@inline function readEntry64(pa: u64): u64 {
  walkRefs++;
  const a = physAddr(pa);
  if (a == BAD_PA) { entryBad = true; return 0; }
  return a == ZERO_PA ? 0 : bswap<u64>(load<u64>(a));
}
// @ts-ignore: decorator
@inline function readEntry32(pa: u64): u32 {
  walkRefs++;
  const a = physAddr(pa);
  if (a == BAD_PA) { entryBad = true; return 0; }
  return a == ZERO_PA ? 0 : bswap<u32>(load<u32>(a));
}

/** z/Architecture walk: the real address of `va` (walkFault = 0), or walkFault set. */
function walk64(va: u64, teid: u32): u64 {
  if (asce & Dat.ASCE_REAL) return va; // real-space designation: identity
  const dt = <u32>(asce >> Dat.ASCE_DT_SHIFT) & 3;
  // Bits left of the top table's index must be zero (ASCE-type exception).
  if (dt < 3 && (va >> (31 + 11 * dt)) != 0) return pgm(Pgm.AsceType, teid);
  const edat1 = (opts & S390Opt.Edat1) != 0 && (cr0 & S390Cr0.Edat) != 0;
  const edat2 = edat1 && (opts & S390Opt.Edat2) != 0;
  const iep = (cr0 & S390Cr0.Iep) != 0;
  const priv = (asce & Dat.ASCE_PRIVATE) != 0;
  let origin = asce & ~<u64>0xfff;
  let tf: u32 = 0, tl = <u32>asce & Dat.ASCE_TL;   // the ASCE has TL only
  let lvl = dt;
  entryBad = false;
  while (true) {
    const idx = <u32>(va >> (20 + 11 * lvl)) & 0x7ff;
    const hi = idx >> 9;                            // compared with TF/TL (units of 512 entries)
    if (hi < tf || hi > tl) return pgm(levelException(lvl), teid);
    // A table running past 2^64 does not wrap (PoP: unpredictable; QEMU
    // does not wrap): addressing exception.
    const ea = origin + (<u64>idx << 3);
    if (ea < origin) return addressing(ea);
    const e = readEntry64(ea);
    if (entryBad) return addressing(ea);
    if (e & Dat.CRST_I) return pgm(levelException(lvl), teid);
    if ((<u32>(e >> Dat.CRST_TT_SHIFT) & 3) != lvl) return pgm(Pgm.TranslationSpec, teid);
    if (lvl == 0) {
      // Segment-table entry. A common segment in a private space is invalid.
      if ((e & Dat.CRST_CS) && priv) return pgm(Pgm.TranslationSpec, teid);
      if (e & Dat.CRST_P) walkProt = true;
      if (edat1 && (e & Dat.CRST_FC)) {                 // EDAT-1: 1 MiB frame
        if (iep && (e & Dat.CRST_IEP)) walkNoExec = true;
        return (e & ~<u64>0xfffff) | (va & 0xfffff);
      }
      origin = e & ~<u64>0x7ff;                         // 2 KiB-aligned page table
      break;
    }
    // Region entry: P counts only with EDAT-1 (PoP; QEMU ignores it without).
    if (edat1 && (e & Dat.CRST_P)) walkProt = true;
    if (lvl == 1 && edat2 && (e & Dat.CRST_FC)) {       // EDAT-2: 2 GiB frame
      if ((e & Dat.CRST_CS) && priv) return pgm(Pgm.TranslationSpec, teid); // common region
      if (iep && (e & Dat.CRST_IEP)) walkNoExec = true;
      return (e & ~<u64>0x7fffffff) | (va & 0x7fffffff);
    }
    tf = <u32>(e >> Dat.CRST_TF_SHIFT) & 3;
    tl = <u32>e & Dat.CRST_TL;
    origin = e & ~<u64>0xfff;
    lvl--;
  }
  // Page table: 256 entries, no length check.
  const ea = origin + ((va >> 9) & 0x7f8);
  const pte = readEntry64(ea);
  if (entryBad) return addressing(ea);
  if (pte & Dat.PTE_I) return pgm(Pgm.PageTranslation, teid);
  // Bit 52 must be zero; bit 55 is IEP (the IEP facility is always installed).
  if (pte & Dat.PTE_BIT52) return pgm(Pgm.TranslationSpec, teid);
  if (pte & Dat.PTE_P) walkProt = true;
  if (iep && (pte & Dat.PTE_IEP)) walkNoExec = true;
  return (pte & ~<u64>0xfff) | (va & 0xfff);
}

/** ESA/390 walk (31-bit): STD → 8 KiB segment table of 4-byte entries →
 *  1 KiB page table of 4-byte entries. Lengths are checked at both levels. */
function walk31(va: u64, teid: u32): u64 {
  const std = <u32>asce;
  const v = <u32>va;
  entryBad = false;
  const sx = (v >> 20) & 0x7ff;
  if ((sx >> 4) > (std & Dat.STD_STL)) return pgm(Pgm.SegmentTranslation, teid); // STL: units of 16 entries
  const sea = <u64>((std & 0x7ffff000) + (sx << 2));
  const ste = readEntry32(sea);
  if (entryBad) return addressing(sea);
  if (ste & Dat.CRST_I) return pgm(Pgm.SegmentTranslation, teid);
  if (ste & 0x80000000) return pgm(Pgm.TranslationSpec, teid);
  if ((ste & Dat.CRST_CS) && (std & Dat.STD_PRIVATE)) return pgm(Pgm.TranslationSpec, teid);
  const px = (v >> 12) & 0xff;
  if ((px >> 4) > (ste & Dat.STE31_PTL)) return pgm(Pgm.PageTranslation, teid);   // PTL: units of 16 entries
  const pea = <u64>((ste & 0x7fffffc0) + (px << 2));
  const pte = readEntry32(pea);
  if (entryBad) return addressing(pea);
  if (pte & Dat.PTE_I) return pgm(Pgm.PageTranslation, teid);
  if (pte & (0x80000000 | Dat.PTE_BIT52 | Dat.PTE_IEP)) return pgm(Pgm.TranslationSpec, teid);
  if (pte & Dat.PTE_P) walkProt = true;
  return <u64>(pte & 0x7ffff000) | (va & 0xfff);
}

/** Low-address protection covers effective addresses 0-511 and 4096-4607. */
// @ts-ignore: decorator
@inline function isLowAddress(va: u64): bool { return va <= 511 || (va >= 4096 && va <= 4607); }

/** Prefixing: real 0-8191 ↔ the 8 KiB prefix area (PoP ch. 3 "Prefixing"). */
// @ts-ignore: decorator
@inline function realToAbsolute(ra: u64): u64 {
  if (ra < 0x2000) return ra + prefix;
  if (ra >= prefix && ra < prefix + 0x2000) return ra - prefix;
  return ra;
}

/** Key-controlled protection (PoP ch. 3): does `key` let the access through? */
function keyAllows(key: u32, acc: u32, va: u64): bool {
  if (accessKey == 0) return true;
  const accBits = key >> Skey.ACC_SHIFT;
  if (accBits == accessKey) return true;
  if ((cr0 & S390Cr0.StorageProtOverride) && accBits == 9) return true;
  if (acc == Access.Write) return false;
  if ((key & Skey.F) == 0) return true;
  // Fetch-protection override: effective addresses 0-2047, DAT off or not private.
  return (cr0 & S390Cr0.FetchProtOverride) != 0 && va < 2048 &&
    (!datOn || (asce & Dat.ASCE_PRIVATE) == 0);
}

/** Key-controlled protection for every address of a frame (no fetch-protection
 *  override, which depends on the address): what a TLB entry may promise. */
function keyAllowsPage(key: u32, acc: u32): bool {
  if (accessKey == 0 || (opts & S390Opt.KeyProtection) == 0) return true;
  const accBits = key >> Skey.ACC_SHIFT;
  if (accBits == accessKey || ((cr0 & S390Cr0.StorageProtOverride) && accBits == 9)) return true;
  return acc != Access.Write && (key & Skey.F) == 0;
}

/** Permissions a TLB entry for this frame may carry, given its key after the access. */
function tlbPerms(key: u32): u32 {
  let p: u32 = 0;
  if (keyAllowsPage(key, Access.Read)) p |= S390Tlb.READ_OK;
  if (!walkNoExec && keyAllowsPage(key, Access.Fetch)) p |= S390Tlb.EXEC_OK;
  if (!walkProt && (key & Skey.C) != 0 && keyAllowsPage(key, Access.Write)) p |= S390Tlb.WRITE_OK;
  return p;
}

/**
 * Translate one access. With `sideEffects` the storage key of the frame gets
 * R (and C for a store), and a sparse frame is backed for a store; without,
 * nothing is written (probe). DAT never writes table entries and, like QEMU,
 * sets no reference bits for table frames.
 */
export function datTranslate(va: u64, acc: u32, sideEffects: bool): u64 {
  const w = translateCounted(va, acc, sideEffects);
  if (sideEffects && isFault(w))
    statAdd((<u32>(w >> BatchOut.KIND_SHIFT) & 0xff) == FaultKind.Bus ? Stat.FAULT_BUS : Stat.FAULT_S390, 1);
  return w;
}

function translateCounted(va: u64, acc: u32, sideEffects: bool): u64 {
  va &= amodeMask;
  if (acc > <u32>Access.Fetch) acc = Access.Read;       // unknown kinds are treated as reads
  const teid = ascTeid | (acc == Access.Write ? Teid.Store : Teid.Fetch);
  const lapApplies = (cr0 & S390Cr0.LowAddressProtection) != 0 &&
    (!datOn || (asce & Dat.ASCE_PRIVATE) == 0);
  // Low-address protection is recognised before translation (QEMU order).
  if (acc == Access.Write && lapApplies && isLowAddress(va)) return fault(FaultKind.S390, Pgm.Protection, teid | Teid.Lap);
  const cached = datOn && sideEffects && s390TlbEnabled();
  if (cached) {
    const hit = s390TlbLookup(va, asce, acc);
    if (hit != ~<u64>0) { statAdd(statAccess(1, acc, 0), 1); return hit; }
    statAdd(statAccess(1, acc, 1), 1);
  }
  walkProt = false;
  walkNoExec = false;
  walkFault = 0;
  let ra = va;
  if (datOn) {
    walkRefs = 0;
    ra = opts & S390Opt.Esa390 ? walk31(va, teid) : walk64(va, teid);
    if (sideEffects) {
      statAdd(Stat.WALKS, 1);
      statAdd(Stat.WALK_REFS + (walkRefs < 7 ? walkRefs : 7) * 8, 1);
    }
    if (walkFault != 0) return walkFault;
    if (acc == Access.Write && walkProt) return fault(FaultKind.S390, Pgm.Protection, teid | Teid.Dat);
    if (acc == Access.Fetch && walkNoExec) return fault(FaultKind.S390, Pgm.Protection, teid | Teid.Iep);
  }
  // From here on results are final: an absolute address < PHYS_SIZE (< 2^52)
  // or a fault word with bit 63 set.
  const aa = realToAbsolute(ra);
  if (aa >= PHYS_SIZE) { datFailPa = aa; return fault(FaultKind.S390, Pgm.Addressing, 0); }
  const k = skeyAddr(aa, sideEffects && acc == Access.Write);
  if (k == NO_KEY && sideEffects && acc == Access.Write) {   // sparse pool exhausted
    datFailPa = aa;
    return fault(FaultKind.Bus, 0, 0);
  }
  const key: u32 = k == NO_KEY ? 0 : <u32>load<u8>(k);
  if ((opts & S390Opt.KeyProtection) && !keyAllows(key, acc, va)) return fault(FaultKind.S390, Pgm.Protection, teid);
  if (sideEffects && k != NO_KEY) {
    const nk = key | Skey.R | (acc == Access.Write ? Skey.C : 0);
    if (nk != key) store<u8>(k, <u8>nk);
    if (cached) s390TlbFill(va, asce, aa & ~<u64>0xfff, tlbPerms(nk));
  }
  return aa;
}

/** One translation with the result in the control block (RES_*); returns the FaultKind. */
export function datTranslateOne(va: u64, acc: u32, sideEffects: bool): u32 {
  datLoadContext();
  const w = datTranslate(va, acc, sideEffects);
  if (!isFault(w)) {
    store<u32>(CTL, FaultKind.None, Ctl.RES_FAULT);
    store<u32>(CTL, 0, Ctl.RES_VECTOR);
    store<u32>(CTL, 0, Ctl.RES_ERROR);
    store<u64>(CTL, w, Ctl.RES_PA);
    store<u64>(CTL, 0, Ctl.RES_ADDR);
    return FaultKind.None;
  }
  const kind = <u32>(w >> BatchOut.KIND_SHIFT) & 0xff;
  const code = <u32>(w >> BatchOut.VECTOR_SHIFT) & 0xffff;
  const noTeid = kind != FaultKind.S390 || code == Pgm.Addressing;
  store<u32>(CTL, kind, Ctl.RES_FAULT);
  store<u32>(CTL, code, Ctl.RES_VECTOR);
  store<u32>(CTL, <u32>w, Ctl.RES_ERROR);
  store<u64>(CTL, noTeid ? datFailPa : 0, Ctl.RES_PA);
  store<u64>(CTL, noTeid ? 0 : (va & amodeMask) & ~<u64>0xfff, Ctl.RES_ADDR);
  return kind;
}

/** Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the fault count. */
export function datTranslateBatch(n: u32): u32 {
  if (n > BATCH_CAP) return BATCH_REFUSED;
  datLoadContext();
  let faults: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const w = datTranslate(load<u64>(BATCH_VA + (<usize>i << 3)), <u32>load<u8>(BATCH_KIND + <usize>i), true);
    store<u64>(BATCH_OUT + (<usize>i << 3), w);
    if (isFault(w)) faults++;
  }
  return faults;
}
