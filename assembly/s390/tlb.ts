// The s390 TLB: DAT translations cached per 4 KiB page, tagged by the ASCE
// they were made with, so switching address spaces needs no purge (PoP ch. 3
// "Translation-Lookaside Buffer"). Direct-mapped by page number; its own
// region of linear memory (Ctl.S390_TLB_BASE), beside the x86 TLB.
//
//   entry (32 B): ┌ tag u64 = vpn + 1 ┬ asce u64 ┬ page u64 | READ_OK WRITE_OK EXEC_OK ┬ - ┐
//
// Permissions are folded into the entry so a hit is a tag compare and one AND
// (as in the x86 TLB, assembly/tlb.ts). They include everything about the
// frame that the slow path would check after the walk — DAT and instruction-
// execution protection, key-controlled protection against the PSW key,
// prefixing, the addressing check — and the reference/change state: R is set
// when an entry is filled, and WRITE_OK only once C is set (C recorded lazily,
// like x86 D: a read fill withholds write permission, so the first store walks
// again and sets C).
// That is exact only while nothing those permissions depend on changes, so:
//   - SSKE / RRBE (and the PGSTE operations using them) purge everything;
//   - a change of CR0, the PSW key or mode, the prefix or the options purges
//     everything (the host does it in setS390);
//   - IPTE purges the page, IDTE and PTLB/CSP purge everything.
// Changing a table entry in memory without one of these leaves the old
// translation in use, as on the real machine.
import { Ctl, S390Tlb } from "../../src/abi";
import { CTL } from "../layout";

let base: usize = 0;
let mask: u64 = 0;
let enabled: bool = false;

/** Read the region from the control block (once per call or batch). */
export function s390TlbLoad(): void {
  base = <usize>load<u32>(CTL, Ctl.S390_TLB_BASE);
  const n = load<u32>(CTL, Ctl.S390_TLB_ENTRIES);
  enabled = n != 0;
  mask = <u64>n - 1;
}

// @ts-ignore: decorator
@inline export function s390TlbEnabled(): bool { return enabled; }

// @ts-ignore: decorator
@inline function slot(vpn: u64): usize { return base + (<usize>(vpn & mask) << S390Tlb.ENTRY_SHIFT); }

/** Absolute address of `va` on a hit that permits access `acc`, else u64 max. */
// @ts-ignore: decorator
@inline export function s390TlbLookup(va: u64, asce: u64, acc: u32): u64 {
  const vpn = va >> 12;
  const e = slot(vpn);
  const page = load<u64>(e, S390Tlb.PAGE);
  if (load<u64>(e, S390Tlb.TAG) == vpn + 1 && load<u64>(e, S390Tlb.ASCE) == asce && (page & (<u64>1 << acc)) != 0)
    return (page & ~<u64>0xfff) | (va & 0xfff);
  return ~<u64>0;
}

/** Remember a translation (`perms`: S390Tlb permission bits). */
export function s390TlbFill(va: u64, asce: u64, absPage: u64, perms: u32): void {
  const vpn = va >> 12;
  const e = slot(vpn);
  store<u64>(e, vpn + 1, S390Tlb.TAG);
  store<u64>(e, asce, S390Tlb.ASCE);
  store<u64>(e, absPage | <u64>perms, S390Tlb.PAGE);
}

/** Purge every entry (PTLB, CSP, IDTE, key changes, context changes). */
export function s390TlbPurgeAll(): void {
  s390TlbLoad();
  if (enabled) memory.fill(base, 0, <usize>(mask + 1) << S390Tlb.ENTRY_SHIFT);
}

/** Purge the entry of the page of `va`, whatever its ASCE (IPTE). */
export function s390TlbPurgePage(va: u64): void {
  s390TlbLoad();
  if (!enabled) return;
  const vpn = va >> 12;
  const e = slot(vpn);
  if (load<u64>(e, S390Tlb.TAG) == vpn + 1) memory.fill(e, 0, 1 << S390Tlb.ENTRY_SHIFT);
}
