// PGSTE operations (page status table entries; docs/SEMANTICS.md "s390 PGSTEs";
// arch/s390/mm/pgtable.c and arch/s390/include/asm/pgtable.h). A PGSTE table
// is a full 4 KiB page: 256 PTEs, then 256 PGSTEs, so the PGSTE of the PTE at
// `ptep` lives at ptep + 2048. PGSTEs are big-endian like the PTEs.
//
//   PGSTE (LSB 0):  63..60 ACC  59 FP  55 PCL  54 HR  53 HC  50 GR  49 GC
//                   47 UC  46 IN  45 VSIE  31 GPS_ZERO  30 GPS_NODAT
//
// These run in the core, beside the walker, because Linux performs them under
// the page-control lock and they must be atomic with respect to translation:
// the lock is an atomic OR on linear memory. The kernel-side policy
// (mm_uses_skeys, the pmd lookup, ptep_notify, the IPTE flush) is the host's.
import { LinuxPte, Pgste, S390Status, Skey } from "../../src/abi";
import { PHYS_SIZE } from "../layout";
import { BAD_PA, physAddrForWrite } from "../phys";
import { iske, rrbe, skeyStatus, sske } from "./skey";

// @ts-ignore: decorator
@inline const PCL: u64 = <u64>1 << Pgste.PCL;
// @ts-ignore: decorator
@inline const ACC_FP: u64 = (<u64>0xf << Pgste.ACC) | (<u64>1 << Pgste.FP);
// @ts-ignore: decorator
@inline const GR: u64 = <u64>1 << Pgste.GR;
// @ts-ignore: decorator
@inline const GC: u64 = <u64>1 << Pgste.GC;
// @ts-ignore: decorator
@inline const HR: u64 = <u64>1 << Pgste.HR;
// @ts-ignore: decorator
@inline const UC: u64 = <u64>1 << Pgste.UC;
// @ts-ignore: decorator
@inline const NOTIFY: u64 = (<u64>1 << Pgste.IN) | (<u64>1 << Pgste.VSIE);
// @ts-ignore: decorator
@inline const PAGE_MASK: u64 = ~<u64>0xfff;

/** Spins before pgste_get_lock gives up. The engines' memories are not shared
 *  between threads, so a held PCL can only be the caller's own: report it
 *  instead of hanging. */
// @ts-ignore: decorator
@inline const SPIN_LIMIT: i32 = 1 << 10;

/** Status of the last operation of this file. */
export let pgsteStatus: u32 = S390Status.Ok;

/** Notify bits (IN | VSIE) that ptep_test_and_clear_uc cleared, for the
 *  host's ptep_notify (the core cannot call out). */
export let pgsteNotifyBits: u64 = 0;

/** Linear address of the PTE at guest-physical `ptep`, or 0 with the status
 *  set: ptep must be an 8-aligned slot in the first half of a 4 KiB page
 *  inside guest memory (then its PGSTE is at +2048 in the same frame). */
function pteSlot(ptep: u64): usize {
  if (ptep >= PHYS_SIZE || ptep + Pgste.OFFSET + 8 > PHYS_SIZE) { pgsteStatus = S390Status.Addressing; return 0; }
  if ((ptep & 7) != 0 || (ptep & 0xfff) >= <u64>Pgste.OFFSET) { pgsteStatus = S390Status.BadPtep; return 0; }
  const a = physAddrForWrite(ptep);
  if (a == BAD_PA) { pgsteStatus = S390Status.PoolExhausted; return 0; }
  pgsteStatus = S390Status.Ok;
  return a;
}

// @ts-ignore: decorator
@inline function loadBE(a: usize): u64 { return bswap<u64>(atomic.load<u64>(a)); }
// @ts-ignore: decorator
@inline function storeBE(a: usize, v: u64): void { atomic.store<u64>(a, bswap<u64>(v)); }

/** pgste_get_lock: set PCL atomically; returns the PGSTE with PCL set. */
export function pgsteGetLock(ptep: u64): u64 {
  const a = pteSlot(ptep);
  if (a == 0) return 0;
  const g = a + Pgste.OFFSET;
  for (let i = 0; i < SPIN_LIMIT; i++) {
    const old = bswap<u64>(atomic.or<u64>(g, bswap<u64>(PCL)));
    if ((old & PCL) == 0) return old | PCL;
  }
  pgsteStatus = S390Status.LockHeld;
  return 0;
}

/** pgste_set_unlock: one store of exactly the caller's bits with PCL clear. */
export function pgsteSetUnlock(ptep: u64, pgste: u64): u32 {
  const a = pteSlot(ptep);
  if (a == 0) return pgsteStatus;
  const g = a + Pgste.OFFSET;
  if ((loadBE(g) & PCL) == 0) return pgsteStatus = S390Status.NotLocked;
  storeBE(g, pgste & ~PCL);
  return pgsteStatus;
}

/** pgste_update_all: a valid PTE becomes invalid — save the real key's R/C
 *  into GR/GC and its ACC/F into the PGSTE (the real key is not modified). */
export function pgsteUpdateAll(pte: u64, pgste: u64): u64 {
  pgsteStatus = S390Status.Ok;
  if (pte & LinuxPte.INVALID) return pgste;
  const skey = <u64>iske(pte & PAGE_MASK);
  if (skeyStatus != S390Status.Ok) { pgsteStatus = skeyStatus; return pgste; }
  pgste |= (skey & (Skey.R | Skey.C)) << 48;
  return (pgste & ~ACC_FP) | ((skey & (Skey.ACC | Skey.F)) << 56);
}

/** pgste_set_key: an invalid PTE becomes valid (`entry`) — the real key gets
 *  ACC/F from the PGSTE and R/C from GR/GC. The kernel comment says the real
 *  R/C are set to 0, its code copies GR/GC; we follow the code (docs/SEMANTICS.md). */
export function pgsteSetKey(ptep: u64, pgste: u64, entry: u64): u32 {
  const a = pteSlot(ptep);
  if (a == 0) return pgsteStatus;
  if (entry & LinuxPte.INVALID) return pgsteStatus;
  if ((loadBE(a) & LinuxPte.INVALID) == 0) return pgsteStatus = S390Status.PteValid; // VM_BUG_ON
  const nkey = <u32>(((pgste & ACC_FP) >> 56) | ((pgste & (GR | GC)) >> 48));
  return pgsteStatus = sske(entry & PAGE_MASK, nkey, 0);
}

/** ptep_test_and_clear_uc: test and clear the user-dirty bit; a dirty present
 *  PTE is write-protected again (PROTECT with ESOP or when not writable, else
 *  INVALID). Returns 1 if it was dirty. The IN/VSIE bits it clears are left
 *  in pgsteNotifyBits for the host's ptep_notify. */
export function ptepTestAndClearUc(ptep: u64, esop: bool): u32 {
  pgsteNotifyBits = 0;
  let pgste = pgsteGetLock(ptep);
  if (pgsteStatus != S390Status.Ok) return 0;
  const a = pteSlot(ptep);
  const dirty = (pgste & UC) != 0;
  pgste &= ~UC;
  let pte = loadBE(a);
  if (dirty && (pte & LinuxPte.PRESENT)) {
    pgsteNotifyBits = pgste & NOTIFY;     // pgste_pte_notify
    pgste &= ~NOTIFY;
    // ptep_ipte_global: the TLB flush belongs here (no s390 TLB yet).
    pte |= esop || (pte & LinuxPte.WRITE) == 0 ? LinuxPte.PROTECT : LinuxPte.INVALID;
    storeBE(a, pte);
  }
  pgsteSetUnlock(ptep, pgste);
  return dirty ? 1 : 0;
}

/** get_guest_storage_key (PTE-table part): ACC/F from the PGSTE, or from the
 *  real key if the PTE is valid; plus the guest's GR/GC. */
export function getGuestStorageKey(ptep: u64): u32 {
  const pgste = pgsteGetLock(ptep);
  if (pgsteStatus != S390Status.Ok) return 0;
  const a = pteSlot(ptep);
  let key = <u32>((pgste & ACC_FP) >> 56);
  const pte = loadBE(a);
  if ((pte & LinuxPte.INVALID) == 0) key = iske(pte & PAGE_MASK);
  const st = skeyStatus;
  key |= <u32>((pgste & (GR | GC)) >> 48);
  pgsteSetUnlock(ptep, pgste);
  if ((pte & LinuxPte.INVALID) == 0) pgsteStatus = st;
  return key;
}

/** set_guest_storage_key (PTE-table part). `nq` (non-quiescing) only matters
 *  to a TLB; the key update is the same. */
export function setGuestStorageKey(ptep: u64, key: u32, nq: bool): u32 {
  const old = pgsteGetLock(ptep);
  if (pgsteStatus != S390Status.Ok) return pgsteStatus;
  const a = pteSlot(ptep);
  let nw = old & ~(GR | GC | ACC_FP);
  nw |= (<u64>key & (Skey.R | Skey.C)) << 48;
  nw |= (<u64>key & (Skey.ACC | Skey.F)) << 56;
  const pte = loadBE(a);
  let st: u32 = S390Status.Ok;
  if ((pte & LinuxPte.INVALID) == 0) {
    const paddr = pte & PAGE_MASK;
    const skey = iske(paddr);
    st = skeyStatus;
    if (st == S390Status.Ok) {
      st = sske(paddr, key & (Skey.ACC | Skey.F), 0);       // real R/C reset …
      nw |= <u64>(skey & (Skey.R | Skey.C)) << 52;          // … and kept in HR/HC
    }
  }
  // Changing the guest storage key is considered a change of the page.
  if ((nw ^ old) & (ACC_FP | GR | GC)) nw |= UC;
  pgsteSetUnlock(ptep, st == S390Status.Ok ? nw : old);   // bad frame: change nothing
  return pgsteStatus = st;
}

/** reset_guest_reference_bit: RRBE for a guest; returns cc = R·2 + C of the
 *  guest's logical view (real R/C of a valid PTE's frame OR GR/GC). */
export function resetGuestReferenceBit(ptep: u64): u32 {
  const old = pgsteGetLock(ptep);
  if (pgsteStatus != S390Status.Ok) return 0;
  const a = pteSlot(ptep);
  let nw = old & ~GR;
  let cc: u32 = 0;
  const pte = loadBE(a);
  let st: u32 = S390Status.Ok;
  if ((pte & LinuxPte.INVALID) == 0) {
    cc = rrbe(pte & PAGE_MASK);
    st = skeyStatus;
    nw |= (<u64>cc << 53) & HR;               // merge the real R into HR
  }
  cc |= <u32>((old & (GR | GC)) >> 49);
  if ((nw ^ old) & GR) nw |= UC;
  pgsteSetUnlock(ptep, st == S390Status.Ok ? nw : old);   // bad frame: change nothing
  pgsteStatus = st;
  return cc;
}

/** ptep_zap_key: clear the guest key's ACC/F, set GR/GC ("but set R/C"); a
 *  valid writable page's real key goes back to PAGE_DEFAULT_KEY (0). */
export function ptepZapKey(ptep: u64): u32 {
  const old = pgsteGetLock(ptep);
  if (pgsteStatus != S390Status.Ok) return pgsteStatus;
  const a = pteSlot(ptep);
  const pgste = (old & ~ACC_FP) | GR | GC;
  const pte = loadBE(a);
  let st: u32 = S390Status.Ok;
  if ((pte & LinuxPte.INVALID) == 0 && (pte & LinuxPte.WRITE) != 0) st = sske(pte & PAGE_MASK, 0, 0);
  pgsteSetUnlock(ptep, st == S390Status.Ok ? pgste : old);
  return pgsteStatus = st;
}
