/**
 * PTE operations of the s390 kernel, PGSTE-aware (arch/s390/mm/pgtable.c;
 * the PTE and PGSTE bits in arch/s390/include/asm/pgtable.h).
 *
 * Every change of a live PTE is an *exchange*: the old entry is invalidated
 * with IPTE (which also purges the TLBs) before the new one is stored, so no
 * CPU can keep using the old translation — s390 flushes at exchange time and
 * flush_tlb_range is a no-op. In an mm with PGSTEs (KVM) the exchange runs
 * under the page-control lock of the PTE's PGSTE and carries the guest's
 * view of the storage key across: the real key's R/C and ACC/F are saved to
 * the PGSTE when a valid PTE goes away (pgste_update_all) and written back to
 * the frame's key when an invalid PTE becomes valid (pgste_set_key).
 *
 * The PGSTE lock, pgste_update_all, pgste_set_key and the guest storage-key
 * operations run in the engine's core (assembly/s390/pgste.ts and its TS
 * twin), beside the DAT walker, so they are atomic with respect to
 * translation exactly as on the machine. The policy — when to call them, the
 * notifiers, the IPTE bookkeeping — is here.
 */
import { Pgste, S390Opt } from "../../abi.js";
import type { PhysAddr } from "../types.js";
import { EFAULT, EINVAL } from "./errors.js";
import { ptepNotify } from "./gmap.js";
import type { S390Mm } from "./mm.js";
import {
  _PAGE_INVALID, _PAGE_PRESENT, _PAGE_PROTECT, _PAGE_UNUSED, _PAGE_WRITE, _PAGE_DIRTY, PAGE_MASK, pteMkold, pteYoung,
} from "./pgtable-bits.js";

const bit = (n: number): bigint => 1n << BigInt(n);
export const PGSTE_ACC_BITS = 0xfn << BigInt(Pgste.ACC);
export const PGSTE_FP_BIT = bit(Pgste.FP);
export const PGSTE_PCL_BIT = bit(Pgste.PCL);
export const PGSTE_HR_BIT = bit(Pgste.HR);
export const PGSTE_HC_BIT = bit(Pgste.HC);
export const PGSTE_GR_BIT = bit(Pgste.GR);
export const PGSTE_GC_BIT = bit(Pgste.GC);
export const PGSTE_UC_BIT = bit(Pgste.UC);
export const PGSTE_IN_BIT = bit(Pgste.IN);
export const PGSTE_VSIE_BIT = bit(Pgste.VSIE);
export const _PGSTE_GPS_ZERO = bit(Pgste.GPS_ZERO);
export const _PGSTE_GPS_NODAT = bit(Pgste.GPS_NODAT);
export const _PGSTE_GPS_USAGE_MASK = 0x03000000n;
export const _PGSTE_GPS_USAGE_STABLE = 0x00000000n;
export const _PGSTE_GPS_USAGE_UNUSED = 0x01000000n;
export const _PGSTE_GPS_USAGE_POT_VOLATILE = 0x02000000n;
export const _PGSTE_GPS_USAGE_VOLATILE = 0x03000000n;

/** ESSA operation request codes (arch/s390/include/asm/page-states.h). */
export const enum Essa {
  GET_STATE = 0, SET_STABLE = 1, SET_UNUSED = 2, SET_VOLATILE = 3, SET_POT_VOLATILE = 4,
  SET_STABLE_RESIDENT = 5, SET_STABLE_IF_RESIDENT = 6, SET_STABLE_NODAT = 7, MAX = 7,
}

/** PAGE_DEFAULT_KEY: what ptep_zap_key gives a writable page's frame. */
const PAGE_DEFAULT_KEY = 0;

// ── raw access ───────────────────────────────────────────────────────────

/** The PTE at `ptep`: 8 bytes, or 4 in an ESA/390 (31-bit) kernel. */
export const ptepGet = (mm: S390Mm, ptep: PhysAddr): bigint =>
  mm.k.esa390 ? BigInt(mm.k.phys.read32(ptep, true)) : mm.k.phys.read64(ptep, true);
/** set_pte: one store of the whole entry (no exchange, no flush). */
export const setPte = (mm: S390Mm, ptep: PhysAddr, pte: bigint): void => {
  if (mm.k.esa390) mm.k.phys.write32(ptep, Number(pte), true); else mm.k.phys.write64(ptep, pte, true);
};
const pgsteGet = (mm: S390Mm, ptep: PhysAddr): bigint => mm.k.phys.read64(ptep + Pgste.OFFSET, true);

const hasEsop = (mm: S390Mm): boolean => (mm.k.engine.s390().options & S390Opt.Esop) !== 0;

// ── the exchange (ptep_xchg_start / flush / commit) ──────────────────────

/** pgste_pte_notify: IN or VSIE set → clear them and tell the gmaps. */
function pgstePteNotify(mm: S390Mm, addr: bigint, ptep: PhysAddr, pgste: bigint): bigint {
  const bits = pgste & (PGSTE_IN_BIT | PGSTE_VSIE_BIT);
  if (bits) {
    pgste ^= bits;
    ptepNotify(mm, addr, ptep, bits);
  }
  return pgste;
}

function ptepXchgStart(mm: S390Mm, addr: bigint, ptep: PhysAddr): bigint {
  if (!mm.hasPgste) return 0n;
  const pgste = mm.k.engine.pgsteGetLock(ptep);
  return pgstePteNotify(mm, addr, ptep, pgste);
}

/** ptep_flush_direct: IPTE the old entry now (if it was valid). */
function ptepFlushDirect(mm: S390Mm, addr: bigint, ptep: PhysAddr): bigint {
  const old = ptepGet(mm, ptep);
  if (old & _PAGE_INVALID) return old;
  mm.k.ipte(ptep, addr, mm.asce);
  return old;
}

/** ptep_flush_lazy: if only this CPU runs the mm, just set I and flush the
 *  whole mm later (context.flush_mm); otherwise IPTE now. */
function ptepFlushLazy(mm: S390Mm, addr: bigint, ptep: PhysAddr): bigint {
  const old = ptepGet(mm, ptep);
  if (old & _PAGE_INVALID) return old;
  if (mm.cpuAttachMask.size === 1 && mm.cpuAttachMask.has(0)) {
    setPte(mm, ptep, old | _PAGE_INVALID);
    mm.flushMmPending = true;
  } else mm.k.ipte(ptep, addr, mm.asce);
  return old;
}

/** pgste_set_pte: store `entry`; a writable valid entry marks the page user-dirty (UC). */
function pgsteSetPte(mm: S390Mm, ptep: PhysAddr, pgste: bigint, entry: bigint): bigint {
  if ((entry & _PAGE_PRESENT) && (entry & _PAGE_WRITE) && !(entry & _PAGE_INVALID)) {
    if (!hasEsop(mm)) {
      // Without ESOP a protection exception cannot be restarted: no write
      // protection for dirty tracking, the page is dirty from the start.
      entry = (entry | _PAGE_DIRTY) & ~_PAGE_PROTECT;
    }
    if (!(entry & _PAGE_PROTECT)) pgste |= PGSTE_UC_BIT;
  }
  setPte(mm, ptep, entry);
  return pgste;
}

function ptepXchgCommit(mm: S390Mm, ptep: PhysAddr, pgste: bigint, old: bigint, nw: bigint): bigint {
  if (!mm.hasPgste) { setPte(mm, ptep, nw); return old; }
  const e = mm.k.engine;
  if ((old & _PAGE_INVALID) && mm.usesSkeys) e.pgsteSetKey(ptep, pgste, nw);
  if (nw & _PAGE_INVALID) {
    if (mm.usesSkeys) pgste = e.pgsteUpdateAll(old, pgste);
    if ((pgste & _PGSTE_GPS_USAGE_MASK) === _PGSTE_GPS_USAGE_UNUSED) old |= _PAGE_UNUSED;
  }
  pgste = pgsteSetPte(mm, ptep, pgste, nw);
  e.pgsteSetUnlock(ptep, pgste);
  return old;
}

/** ptep_xchg_direct: exchange with an immediate IPTE; returns the old PTE. */
export function ptepXchgDirect(mm: S390Mm, addr: bigint, ptep: PhysAddr, nw: bigint): bigint {
  const pgste = ptepXchgStart(mm, addr, ptep);
  const old = ptepFlushDirect(mm, addr, ptep);
  return ptepXchgCommit(mm, ptep, pgste, old, nw);
}

/** ptep_xchg_lazy: exchange, deferring the flush when only this CPU uses the mm. */
export function ptepXchgLazy(mm: S390Mm, addr: bigint, ptep: PhysAddr, nw: bigint): bigint {
  const pgste = ptepXchgStart(mm, addr, ptep);
  const old = ptepFlushLazy(mm, addr, ptep);
  return ptepXchgCommit(mm, ptep, pgste, old, nw);
}

/** ptep_get_and_clear (zap): lazy exchange to the empty PTE. */
export const ptepGetAndClear = (mm: S390Mm, addr: bigint, ptep: PhysAddr): bigint =>
  ptepXchgLazy(mm, addr, ptep, _PAGE_INVALID);

/** ptep_clear_flush: direct exchange to the empty PTE. */
export const ptepClearFlush = (mm: S390Mm, addr: bigint, ptep: PhysAddr): bigint =>
  ptepXchgDirect(mm, addr, ptep, _PAGE_INVALID);

/** ptep_test_and_clear_young (= ptep_clear_flush_young): make the PTE old
 *  (invalid) with a direct exchange; returns whether it was young. */
export function ptepTestAndClearYoung(mm: S390Mm, addr: bigint, ptep: PhysAddr): boolean {
  const pte = ptepGet(mm, ptep);
  return pteYoung(ptepXchgDirect(mm, addr, ptep, pteMkold(pte)));
}

/** ptep_set_access_flags: the fault path's young/dirty update. Returns true if the PTE changed. */
export function ptepSetAccessFlags(mm: S390Mm, addr: bigint, ptep: PhysAddr, entry: bigint): boolean {
  if (ptepGet(mm, ptep) === entry) return false;
  ptepXchgDirect(mm, addr, ptep, entry);
  return true;
}

/** set_pte_at on a none PTE: PGSTE mms go through ptep_set_pte_at. */
export function setPteAt(mm: S390Mm, addr: bigint, ptep: PhysAddr, entry: bigint): void {
  if (entry & _PAGE_PRESENT) entry &= ~_PAGE_UNUSED;
  if (mm.hasPgste) ptepSetPtePgste(mm, addr, ptep, entry);
  else setPte(mm, ptep, entry);
}

/** ptep_set_pte_at: under the PGSTE lock, clear "logically zero", give the
 *  frame the guest's key, store the PTE. */
export function ptepSetPtePgste(mm: S390Mm, addr: bigint, ptep: PhysAddr, entry: bigint): void {
  void addr;
  const e = mm.k.engine;
  let pgste = e.pgsteGetLock(ptep);
  pgste &= ~_PGSTE_GPS_ZERO;
  if (mm.usesSkeys) e.pgsteSetKey(ptep, pgste, entry);
  pgste = pgsteSetPte(mm, ptep, pgste, entry);
  e.pgsteSetUnlock(ptep, pgste);
}

/** ptep_test_and_clear_uc: was the page user-dirty since the last call?
 *  A dirty present PTE is write-protected again (migration dirty log). */
export function ptepTestAndClearUc(mm: S390Mm, addr: bigint, ptep: PhysAddr): boolean {
  const before = ptepGet(mm, ptep);
  const dirty = mm.k.engine.ptepTestAndClearUc(ptep, addr, (bits, a) => ptepNotify(mm, a, ptep, bits));
  if (dirty && (before & _PAGE_PRESENT)) mm.k.tlbEvents.push({ op: "ipte", addr, ptep, asce: mm.asce });
  return dirty;
}

/** ptep_set_notify: ask to be told (gmap notifier) when this PTE is invalidated. */
export function ptepSetNotify(mm: S390Mm, ptep: PhysAddr): void {
  const e = mm.k.engine;
  e.pgsteSetUnlock(ptep, e.pgsteGetLock(ptep) | PGSTE_IN_BIT);
}

/** ptep_zap_key: forget the guest key of an unused page (ACC/F 0, GR|GC set);
 *  a writable valid page's frame gets the default key. */
export function ptepZapKey(mm: S390Mm, ptep: PhysAddr): void {
  const e = mm.k.engine;
  let pgste = e.pgsteGetLock(ptep);
  pgste &= ~(PGSTE_ACC_BITS | PGSTE_FP_BIT | PGSTE_GR_BIT | PGSTE_GC_BIT);
  pgste |= PGSTE_GR_BIT | PGSTE_GC_BIT;
  const pte = ptepGet(mm, ptep);
  if (!(pte & _PAGE_INVALID) && (pte & _PAGE_WRITE)) e.sske(Number(pte & PAGE_MASK), PAGE_DEFAULT_KEY);
  e.pgsteSetUnlock(ptep, pgste);
}

// ── guest storage keys (set/get_guest_storage_key, reset_guest_reference_bit) ──

/**
 * The PTE slot behind a guest storage-key call: -EFAULT without a VMA (or a
 * huge mapping); null when no PTE table exists ("no key yet": key 0 is fine,
 * any other key cannot be stored).
 */
function keyPtep(mm: S390Mm, addr: bigint): number | null | typeof EFAULT {
  if (!mm.findVma(addr)) return EFAULT;
  return mm.lookupPtep(addr);
}

/** set_guest_storage_key: 0, or -EFAULT. */
export function setGuestStorageKey(mm: S390Mm, addr: bigint, key: number, nq = false): number {
  const ptep = keyPtep(mm, addr);
  if (ptep === EFAULT) return EFAULT;
  if (ptep === null) return key ? EFAULT : 0;
  return mm.withPteLock(ptep, () => { mm.k.engine.setGuestStorageKey(ptep, key, nq); return 0; });
}

/** get_guest_storage_key: { rc, key }; no PTE table → key 0. */
export function getGuestStorageKey(mm: S390Mm, addr: bigint): { rc: number; key: number } {
  const ptep = keyPtep(mm, addr);
  if (ptep === EFAULT) return { rc: EFAULT, key: 0 };
  if (ptep === null) return { rc: 0, key: 0 };
  return mm.withPteLock(ptep, () => ({ rc: 0, key: mm.k.engine.getGuestStorageKey(ptep) }));
}

/** reset_guest_reference_bit (RRBE): cc ≥ 0, or -EFAULT. */
export function resetGuestReferenceBit(mm: S390Mm, addr: bigint): number {
  const ptep = keyPtep(mm, addr);
  if (ptep === EFAULT) return EFAULT;
  if (ptep === null) return 0;
  return mm.withPteLock(ptep, () => mm.k.engine.resetGuestReferenceBit(ptep));
}

/**
 * cond_set_guest_storage_key (SSKE with MR/MC): with mr or mc, compare first
 * and skip the store when the bits that matter are equal. Returns 1 if the
 * key was set, 0 if not, or -EFAULT; `oldkey` receives the key read.
 */
export function condSetGuestStorageKey(mm: S390Mm, addr: bigint, key: number,
  opts: { nq?: boolean; mr?: boolean; mc?: boolean; oldkey?: { key: number } } = {}): number {
  if (opts.mr || opts.mc) {
    const g = getGuestStorageKey(mm, addr);
    if (g.rc) return g.rc;
    if (opts.oldkey) opts.oldkey.key = g.key;
    let mask = 0xf0 | 0x08;
    if (!opts.mr) mask |= 0x04;
    if (!opts.mc) mask |= 0x02;
    if (!((g.key ^ key) & mask)) return 0;
  }
  const rc = setGuestStorageKey(mm, addr, key, opts.nq ?? false);
  return rc < 0 ? rc : 1;
}

/**
 * pgste_perform_essa (CMMA, the guest's EXTRACT AND SET STORAGE ATTRIBUTES):
 * rewrite the page's usage state in its PGSTE. Returns { rc, oldPte,
 * oldPgste }: rc 1 means the page may be discarded (now logically zero),
 * -EINVAL a bad request code, -EFAULT no VMA or no memory for a PTE table.
 */
export function pgstePerformEssa(mm: S390Mm, hva: bigint, orc: number): { rc: number; oldPte: bigint; oldPgste: bigint } {
  if (!(Number.isInteger(orc) && orc >= 0 && orc <= Essa.MAX)) return { rc: EINVAL, oldPte: 0n, oldPgste: 0n };
  if (!mm.findVma(hva)) return { rc: EFAULT, oldPte: 0n, oldPgste: 0n };
  const ptep = mm.getLockedPtep(hva);                      // get_locked_pte allocates the table
  if (ptep === null) return { rc: EFAULT, oldPte: 0n, oldPgste: 0n };
  return mm.withPteLock(ptep, () => {
    const e = mm.k.engine;
    const pgste = e.pgsteGetLock(ptep);
    const pte = ptepGet(mm, ptep);
    const invalid = (pte & _PAGE_INVALID) !== 0n;
    let v = pgste, res = 0;
    const usage = (u: bigint): void => { v = (v & ~_PGSTE_GPS_USAGE_MASK) | u; };
    switch (orc) {
      case Essa.GET_STATE: break;
      case Essa.SET_STABLE: v &= ~_PGSTE_GPS_NODAT; usage(_PGSTE_GPS_USAGE_STABLE); break;
      case Essa.SET_UNUSED: usage(_PGSTE_GPS_USAGE_UNUSED); if (invalid) res = 1; break;
      case Essa.SET_VOLATILE: usage(_PGSTE_GPS_USAGE_VOLATILE); if (invalid) res = 1; break;
      case Essa.SET_POT_VOLATILE:
        v &= ~_PGSTE_GPS_USAGE_MASK;
        if (!invalid) v |= _PGSTE_GPS_USAGE_POT_VOLATILE;
        else if (v & _PGSTE_GPS_ZERO) v |= _PGSTE_GPS_USAGE_VOLATILE;
        else if (!(v & PGSTE_GC_BIT)) { v |= _PGSTE_GPS_USAGE_VOLATILE; res = 1; }
        break;
      case Essa.SET_STABLE_RESIDENT: usage(_PGSTE_GPS_USAGE_STABLE); break;
      case Essa.SET_STABLE_IF_RESIDENT: if (!invalid) usage(_PGSTE_GPS_USAGE_STABLE); break;
      case Essa.SET_STABLE_NODAT: usage(_PGSTE_GPS_USAGE_STABLE); v |= _PGSTE_GPS_NODAT; break;
    }
    if (res) v |= _PGSTE_GPS_ZERO;                          // a discarded page reads as zero
    e.pgsteSetUnlock(ptep, v);
    return { rc: res, oldPte: pte, oldPgste: pgste & ~PGSTE_PCL_BIT };
  });
}

/** The PGSTE of a PTE (no lock: for inspection and tests). */
export const pgsteOf = pgsteGet;
