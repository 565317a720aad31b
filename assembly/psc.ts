// Paging-structure caches (Intel SDM Vol. 3A §4.10.3; ChampSim's PSCL5..PSCL2):
// one cache per non-leaf level of IA-32e paging — PML5E (LA57 only), PML4E,
// PDPTE, PDE — so that a TLB miss can start its walk below the top level.
//
//   cache   tag (linear address bits)   a hit leaves to read
//   PDE     56/47:21                    the PTE
//   PDPTE   56/47:30                    PDE, PTE
//   PML4E   56/47:39                    PDPTE, PDE, PTE
//   PML5E   56:48                       PML4E, PDPTE, PDE, PTE
//
// An entry (a TlbEnt slot, layout in abi.ts PscData and TLB-ABI.md) holds the
// physical address of the next paging structure and the permissions of the
// entries down to and including the cached one (R/W and U/S ANDed, XD ORed),
// tagged by the current PCID. The structures, their sets × ways and their
// LRU / tree-PLRU replacement are the TLB's (tlb.ts); invalidation is there too.
//
// Decisions (docs/TLB-ABI.md "Paging-structure caches"):
//  - Only walks with side effects (translate, batches) use the caches; probe
//    walks from CR3 and neither reads nor fills them. 32-bit and PAE paging
//    do not use them (a processor need not cache: SDM §4.10.3).
//  - Entries are filled as the walk passes each non-leaf entry that is
//    present, free of reserved bits, accessed (A is set first) and not a page
//    (PS = 0) — so on every walk, successful or not; a #PF then drops the
//    entries for the faulting address (SDM §4.10.4.1), which are exactly the
//    ones that walk filled, so a faulting walk leaves nothing for its address.
//  - The lookup takes the longest match: PDE cache first, then upward, and
//    each cache probed counts one PSC_HIT or PSC_MISS for its level
//    (pscCountWalk, once per translation).
import { PscData, Stat, TlbEnt, TlbHdr } from "../src/abi";
import { TLB_BASE } from "./layout";
import { findIn, hitTouch, insert, pcidHash, pscTagShift, setBase, statAdd } from "./tlb";

/** Bits 51:12: the address of the next paging structure in DATA. */
// @ts-ignore: decorator
@inline const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/** pscLast when the last walk did not probe the caches. */
// @ts-ignore: decorator
@inline const UNUSED: u32 = 0xffff_ffff;
/** The hit field of pscLast when every cache probed missed. */
// @ts-ignore: decorator
@inline const NO_HIT: u32 = 4;

/** A hit's next paging structure and folded permissions (for the walker). */
export let pscTable: u64 = 0;
export let pscAcc: u64 = 0;
export let pscXd: bool = false;
/** What the last walk's probe saw: (first cache probed) << 8 | (cache that
 *  hit, or NO_HIT); UNUSED if it did not probe. */
let pscLast: u32 = UNUSED;

// @ts-ignore: decorator
@inline function pscAt(i: u32): usize { return TLB_BASE + TlbHdr.PSC + <usize>i * TlbHdr.STRUCT_SIZE; }

/** Forget the last probe (each walk starts with this). */
// @ts-ignore: decorator
@inline export function pscReset(): void { pscLast = UNUSED; }

/**
 * Longest match for linear `va` under `pcid`, whose top-level index starts
 * at bit `top` (48 with LA57, else 39): returns the index shift of the first
 * entry still to read (12, 21, 30 or 39) with pscTable/pscAcc/pscXd set, or
 * 0 on a miss in every cache. `touch`: update the replacement state (a walk
 * with side effects; the side-effect-free pre-walk of AdOnFaultNone only reads).
 */
export function pscLookup(va: u64, pcid: u64, top: u32, touch: bool): u32 {
  const first = (48 - top) / 9;
  for (let i: i32 = 3; i >= <i32>first; i--) {
    const sd = pscAt(<u32>i), sh = pscTagShift(<u32>i);
    const e = findIn(sd, setBase(sd, va, sh, pcidHash(sd, pcid)), va, sh, pcid);
    if (e == 0) continue;
    if (touch) hitTouch(sd, e);
    const d = load<u64>(e, TlbEnt.DATA);
    pscTable = d & ADDR_MASK;
    pscAcc = d & (PscData.RW | PscData.US);
    pscXd = (d & PscData.XD) != 0;
    pscLast = (first << 8) | <u32>i;
    return sh - 9;
  }
  pscLast = (first << 8) | NO_HIT;
  return 0;
}

/**
 * Cache the non-leaf entry at `epa` that the walk of `va` just read at index
 * shift `sh` (48 … 21): `next` is the paging structure it references, `acc`
 * and `xd` the permissions folded down to and including it.
 */
export function pscFill(va: u64, pcid: u64, sh: u32, next: u64, acc: u64, xd: bool, epa: u64): void {
  const sd = pscAt((48 - sh) / 9);
  const key = (va & ~((<u64>1 << <u64>sh) - 1)) | pcid;
  const data = next | (acc & (PscData.RW | PscData.US)) | (xd ? <u64>PscData.XD : 0);
  insert(sd, sh, va, key, data, epa, sh << TlbEnt.SHIFT_SHIFT, false);
}

/** Count the last walk's probes: a hit for the cache that hit, a miss for
 *  each one probed before it (all of them when none hit). Inline test, so a
 *  walk without caches (every walk of the default TLB) pays one compare. */
// @ts-ignore: decorator
@inline export function pscCountWalk(): void {
  if (pscLast != UNUSED) pscCountProbes();
}

function pscCountProbes(): void {
  const last = pscLast;
  pscLast = UNUSED;
  const first = last >> 8, hit = last & 0xff;
  for (let i: i32 = 3; i >= <i32>first; i--) {
    if (<u32>i == hit) { statAdd(Stat.PSC_HIT + <u32>i * 8, 1); return; }
    statAdd(Stat.PSC_MISS + <u32>i * 8, 1);
  }
}
