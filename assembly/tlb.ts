// The TLB: translations cached with their permissions folded in, so that a
// hit is one masked compare (v86 cpu.rs `tlb_data`), tagged by PCID, with
// global entries kept across CR3 loads, D set lazily, large pages invalidated
// whole, flushes in proportion to the filled entries, and no capacity cliff.
//
// The organisation is data, not code: the host (src/tlb/config.ts) writes a
// header of structure descriptors at TLB_BASE (sets × ways × page sizes ×
// access kinds × level), and this file serves any of them — the fast default
// (three direct-mapped L1 arrays, one per page size, structure 0 probed
// inline by translate.ts) as well as research hierarchies (L1 i/d + L2,
// LRU or tree-PLRU). docs/TLB-ABI.md is the stable description.
//
//   entry (32 bytes)
//   ┌──────────────────────────────────────────────┬────────────┐
//   │ KEY   linear page base (63:12)               │ PCID 11:0  │
//   │ DATA  physical page base XOR linear page base│ deny 11:0  │
//   │ PTE_PA physical address of the leaf entry                 │
//   │ LEAF  LISTED 31 │ shift 23:16 │ Leaf bits 11:0│ STAMP (LRU)│
//   └──────────────────────────────────────────────┴────────────┘
//
// Invalidation follows Intel SDM Vol. 3A §4.10.4.1: MOV CR3 drops the
// non-global entries of the new PCID (none with bit 63 set under PCIDE);
// INVLPG the entries of any page size that map the address for the current
// PCID, and global ones for any PCID; INVPCID types 0-3; a #PF drops what
// would translate the faulting address (§4.10.4.1 "page-fault exception").
// The paging-structure caches (psc.ts) are structures of the same kind,
// invalidated here alongside the TLB (pscFlush, pscDropVa below).
import { Access, Cr, Ctl, Leaf, Stat, TlbDeny, TlbEnt, TlbFlag, TlbHdr, TlbSize, TlbStruct, X86Mode } from "../src/abi";
import { CTL, STATS, TLB_BASE } from "./layout";
import { denyBitsOf, permControls } from "./x86/access";
import { walkLeaf, walkPa, walkPtePa, walkSetHit, walkShift } from "./x86/walk";

// ── statistics (u64 counters of the STATS region) ──

// @ts-ignore: decorator
@inline export function statAdd(off: u32, n: u64): void {
  store<u64>(STATS + <usize>off, load<u64>(STATS + <usize>off) + n);
}
/** Offset of the ACCESS counter for (level 1|2, access kind, miss). */
// @ts-ignore: decorator
@inline export function statAccess(level: u32, access: u32, miss: u32): u32 {
  return Stat.ACCESS + (level - 1) * Stat.LEVEL_STRIDE + access * Stat.KIND_STRIDE + miss * Stat.COUNTER;
}

// ── context ──

/** The current PCID: CR3 bits 11:0 with CR4.PCIDE, else 0 (SDM §4.10.1). */
// @ts-ignore: decorator
@inline export function currentPcid(): u64 {
  return (load<u64>(CTL, Ctl.CR4) >> Cr.CR4_PCIDE) & 1 ? load<u64>(CTL, Ctl.CR3) & TlbEnt.PCID_MASK : 0;
}

/** The deny bits that stop an access of this kind at the current CPL and
 *  EFLAGS.AC (what the hit test ANDs with DATA). */
export function accessMask(access: u32): u64 {
  const user = load<u32>(CTL, Ctl.CPL) == 3;
  if (access == Access.Fetch) return TlbDeny.INVALID | (user ? TlbDeny.X_USER : TlbDeny.X_SUP);
  const write = access == Access.Write;
  let m: u64 = TlbDeny.INVALID | TlbDeny.PKEY;
  if (user) m |= write ? TlbDeny.W_USER : TlbDeny.R_USER;
  else {
    if (write) m |= TlbDeny.W_SUP;
    if (!((load<u64>(CTL, Ctl.EFLAGS) >> Cr.EFLAGS_AC) & 1)) m |= TlbDeny.SMAP;
  }
  return m;
}

/** The deny bits of a leaf in the current context: the access rules of
 *  x86/access.ts, evaluated per deny bit (denyBitsOf). */
export function denyBits(leaf: u32): u64 { return denyBitsOf(leaf, permControls()); }

/** denyBits by the leaf's W, U, X and D bits (all it depends on besides the
 *  controls), tabulated for the controls it was built for: a fill then costs
 *  one load instead of a dozen branches. Static data (not in the shared layout). */
const DENY_TAB: usize = memory.data(16 * 8, 8);
let denyKey0: u64 = <u64>-1, denyKey1: u32 = 0xffff_ffff;
export function denyBitsCached(leaf: u32): u64 {
  const k0 = load<u64>(CTL, Ctl.CR0) ^ (load<u64>(CTL, Ctl.CR4) << 32), k1 = load<u32>(CTL, Ctl.MODE);
  if (k0 != denyKey0 || k1 != denyKey1) {
    for (let c: u32 = 0; c < 16; c++) store<u64>(DENY_TAB + (<usize>c << 3), denyBits(c));
    denyKey0 = k0; denyKey1 = k1;
  }
  return denyBitsTabled(leaf);
}

// ── structures ──

// @ts-ignore: decorator
@inline export function structAt(i: u32): usize { return TLB_BASE + TlbHdr.STRUCTS + <usize>i * TlbHdr.STRUCT_SIZE; }
// @ts-ignore: decorator
@inline export function structCount(): u32 { return load<u32>(TLB_BASE, TlbHdr.COUNT); }

/** log2 of the page size of a size class in the current mode (4 MiB pages only in 32-bit paging). */
// @ts-ignore: decorator
@inline function classShift(c: u32): u32 {
  return c == TlbSize.S4K ? 12 : c == TlbSize.S1G ? 30 : load<u32>(CTL, Ctl.MODE) == X86Mode.Legacy32 ? 22 : 21;
}

/** The set hash of `pcid` in structure `sd`: direct-mapped structures spread
 *  PCIDs over the sets (else every process's same VA would fight for one
 *  slot); set-associative ones index by VA alone, as hardware does. */
// @ts-ignore: decorator
@inline export function pcidHash(sd: usize, pcid: u64): u32 {
  return load<u32>(sd, TlbStruct.WAYS) == 1 ? <u32>pcid * <u32>TlbEnt.PCID_HASH : 0;
}

/** First entry of the set of `va` (page shift `sh`, set hash `h`) in structure `sd`. */
// @ts-ignore: decorator
@inline export function setBase(sd: usize, va: u64, sh: u32, h: u32): usize {
  const set = (<usize>(va >> <u64>sh) ^ <usize>h) & ((<usize>1 << load<u32>(sd, TlbStruct.SETS_LOG2)) - 1);
  return TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES) + ((set * load<u32>(sd, TlbStruct.WAYS)) << TlbEnt.SIZE_LOG2);
}

/** Does valid entry `e` map `va` at shift `sh` for `pcid` (own tag or global)? */
// @ts-ignore: decorator
@inline function entryMaps(e: usize, va: u64, sh: u32, pcid: u64): bool {
  return wordsMap(load<u64>(e), load<u64>(e, TlbEnt.DATA), load<u32>(e, TlbEnt.LEAF), va, sh, pcid);
}

/** entryMaps for an entry whose KEY, DATA and LEAF words are already loaded. */
// @ts-ignore: decorator
@inline export function wordsMap(key: u64, data: u64, leafWord: u32, va: u64, sh: u32, pcid: u64): bool {
  return !(data & TlbDeny.INVALID) && ((leafWord >> TlbEnt.SHIFT_SHIFT) & 0xff) == sh
    && (key & ~<u64>TlbDeny.MASK) == (va & ~((<u64>1 << <u64>sh) - 1))
    && ((key & TlbEnt.PCID_MASK) == pcid || (leafWord & TlbEnt.GLOBAL) != 0);
}

/** Empty a slot; it stays on the valid-entry list (LISTED) until a list flush. */
// @ts-ignore: decorator
@inline export function entryClear(e: usize): void {
  store<u64>(e, 0);
  store<u64>(e, TlbDeny.INVALID, TlbEnt.DATA);
  store<u64>(e, 0, TlbEnt.PTE_PA);
  store<u32>(e, load<u32>(e, TlbEnt.LEAF) & TlbEnt.LISTED, TlbEnt.LEAF);
}

/** Replacement bookkeeping for a hit on / fill of way `w` of the set at `s0`. */
function touch(s0: usize, ways: u32, w: u32): void {
  if (ways == 1) return;
  if (load<u32>(TLB_BASE, TlbHdr.FLAGS) & TlbFlag.PLRU) {
    // Tree-PLRU: bits 1..ways-1 of way 0's STAMP, a heap; each node points
    // away from the half that was used last.
    let bits = load<u32>(s0, TlbEnt.STAMP);
    const depth = ctz<u32>(ways);
    let node: u32 = 1;
    for (let l: u32 = 0; l < depth; l++) {
      const b = (w >> (depth - 1 - l)) & 1;
      bits = b ? bits & ~(<u32>1 << node) : bits | (<u32>1 << node);
      node = node * 2 + b;
    }
    store<u32>(s0, bits, TlbEnt.STAMP);
  } else {
    const clock = load<u32>(TLB_BASE, TlbHdr.CLOCK) + 1;
    store<u32>(TLB_BASE, clock, TlbHdr.CLOCK);
    store<u32>(s0 + (<usize>w << TlbEnt.SIZE_LOG2), clock, TlbEnt.STAMP);
  }
}

/** The way to replace in a full set. */
function victim(s0: usize, ways: u32): u32 {
  if (load<u32>(TLB_BASE, TlbHdr.FLAGS) & TlbFlag.PLRU) {
    const bits = load<u32>(s0, TlbEnt.STAMP);
    let node: u32 = 1;
    while (node < ways) node = node * 2 + ((bits >> node) & 1);
    return node - ways;
  }
  let best: u32 = 0, oldest = load<u32>(s0, TlbEnt.STAMP);
  for (let w: u32 = 1; w < ways; w++) {
    const s = load<u32>(s0 + (<usize>w << TlbEnt.SIZE_LOG2), TlbEnt.STAMP);
    if (s < oldest) { oldest = s; best = w; }
  }
  return best;
}

/** Put a translation into structure `sd`: over the same translation, else an
 *  empty way, else the replacement victim (counted as an eviction of a TLB
 *  entry when `countEviction`; paging-structure caches do not count). */
export function insert(sd: usize, sh: u32, va: u64, key: u64, data: u64, ptePa: u64, leafWord: u32, countEviction: bool): void {
  const ways = load<u32>(sd, TlbStruct.WAYS);
  const s0 = setBase(sd, va, sh, leafWord & TlbEnt.GLOBAL ? 0 : pcidHash(sd, key & TlbEnt.PCID_MASK));
  if (ways == 1) {
    // Direct-mapped (the fast organisation): the one slot, as the search
    // below would pick it — an eviction if it held another valid translation.
    if (countEviction && !(load<u64>(s0, TlbEnt.DATA) & TlbDeny.INVALID) && !entryMaps(s0, va, sh, key & TlbEnt.PCID_MASK))
      statAdd(Stat.EVICTIONS, 1);
    entryStore(sd, s0, key, data, ptePa, leafWord);
    return;
  }
  let way: i32 = -1;
  for (let w: u32 = 0; w < ways; w++) {
    const e = s0 + (<usize>w << TlbEnt.SIZE_LOG2);
    if (entryMaps(e, va, sh, key & TlbEnt.PCID_MASK)) { way = <i32>w; break; }
  }
  if (way < 0) {
    for (let w: u32 = 0; w < ways; w++) {
      if (load<u64>(s0 + (<usize>w << TlbEnt.SIZE_LOG2), TlbEnt.DATA) & TlbDeny.INVALID) { way = <i32>w; break; }
    }
  }
  if (way < 0) { way = <i32>victim(s0, ways); if (countEviction) statAdd(Stat.EVICTIONS, 1); }
  entryStore(sd, s0 + (<usize>way << TlbEnt.SIZE_LOG2), key, data, ptePa, leafWord);
  touch(s0, ways, <u32>way);
}

/** Put entry `e` of structure `sd`, not listed yet, on the valid-entry list;
 *  returns TlbEnt.LISTED (the caller stores it with the entry's LEAF). */
function entryList(sd: usize, e: usize): u32 {
  // Valid-entry list: flushes visit only what was filled (v86 valid_tlb_entries).
  const n = load<u32>(sd, TlbStruct.LIST_COUNT);
  const idx = <u32>((e - TLB_BASE - <usize>load<u32>(sd, TlbStruct.ENTRIES)) >> TlbEnt.SIZE_LOG2);
  store<u32>(TLB_BASE + <usize>load<u32>(sd, TlbStruct.LIST) + (<usize>n << 2), idx);
  store<u32>(sd, n + 1, TlbStruct.LIST_COUNT);
  return TlbEnt.LISTED;
}

/** Write entry `e` of structure `sd`, putting it on the valid-entry list if it is not. */
// @ts-ignore: decorator
@inline function entryStore(sd: usize, e: usize, key: u64, data: u64, ptePa: u64, leafWord: u32): void {
  entryStoreOver(sd, e, load<u32>(e, TlbEnt.LEAF), key, data, ptePa, leafWord);
}

/** entryStore for an entry whose LEAF word, `oldLeaf`, is already loaded. */
// @ts-ignore: decorator
@inline export function entryStoreOver(sd: usize, e: usize, oldLeaf: u32, key: u64, data: u64, ptePa: u64, leafWord: u32): void {
  let listed = oldLeaf & TlbEnt.LISTED;
  if (!listed) listed = entryList(sd, e);
  store<u64>(e, key);
  store<u64>(e, data, TlbEnt.DATA);
  store<u64>(e, ptePa, TlbEnt.PTE_PA);
  store<u32>(e, leafWord | listed, TlbEnt.LEAF);
}

// ── probe and fill ──

/**
 * Look linear `va` up for `access` (mask = accessMask(access)) through the
 * levels. A hit leaves the translation in the walk globals; an L2 hit is
 * copied into the L1 structures for this access kind. An entry that maps
 * `va` but denies the access is a miss (the walk decides: D, or a fault).
 */
export function tlbLookup(va: u64, access: u32, pcid: u64, mask: u64): bool {
  if (load<u32>(TLB_BASE, TlbHdr.FLAGS) & TlbFlag.FAST) return directLookup(va, access, pcid, mask);
  const n = structCount();
  const kind: u32 = 1 << access;
  for (let level: u32 = 1; level <= 2; level++) {
    let served = false;
    for (let i: u32 = 0; i < n; i++) {
      const sd = structAt(i);
      if (load<u32>(sd, TlbStruct.LEVEL) != level || !(load<u32>(sd, TlbStruct.KINDS) & kind)) continue;
      served = true;
      const sizes = load<u32>(sd, TlbStruct.SIZES), h = pcidHash(sd, pcid);
      for (let c: u32 = TlbSize.S4K; c <= <u32>TlbSize.S1G; c <<= 1) {
        if (!(sizes & c)) continue;
        const sh = classShift(c);
        // The PCID's own set, then (if different) the set of the global entries.
        let e = findIn(sd, setBase(sd, va, sh, h), va, sh, pcid);
        if (e == 0 && h != 0) e = findIn(sd, setBase(sd, va, sh, 0), va, sh, pcid);
        if (e == 0) continue;
        const data = load<u64>(e, TlbEnt.DATA);
        if (data & mask) { statAdd(statAccess(level, access, 1), 1); return false; }
        const key = load<u64>(e);
        // A global entry serves every PCID; retag it so the inline probe hits.
        if ((key & TlbEnt.PCID_MASK) != pcid && h == 0) store<u64>(e, (key & ~<u64>TlbEnt.PCID_MASK) | pcid);
        hitTouch(sd, e);
        const leafWord = load<u32>(e, TlbEnt.LEAF) & ~TlbEnt.LISTED;
        walkSetHit(va ^ (data & ~<u64>TlbDeny.MASK), leafWord & TlbEnt.LEAF_BITS, sh, load<u64>(e, TlbEnt.PTE_PA));
        if (level == 2) fillLevel1(va, access, pcid, sh, c, data, load<u64>(e, TlbEnt.PTE_PA), leafWord);
        statAdd(statAccess(level, access, 0), 1);
        return true;
      }
    }
    if (served) statAdd(statAccess(level, access, 1), 1);
  }
  return false;
}

/**
 * tlbLookup for the fast organisation: every structure a direct-mapped L1 for
 * every access kind, one page-size class each, no L2 (config.ts). The same
 * probes in the same order with the same statistics as the general lookup,
 * without its loops over levels, size classes and ways, and skipping a
 * structure whose valid-entry list is empty (every valid entry is listed):
 * the 2 MiB and 1 GiB arrays of a process that uses only 4 KiB pages.
 */
function directLookup(va: u64, access: u32, pcid: u64, mask: u64): bool {
  const n = structCount();
  const hp = <u32>pcid * <u32>TlbEnt.PCID_HASH;
  for (let i: u32 = 0; i < n; i++) {
    const sd = structAt(i);
    if (load<u32>(sd, TlbStruct.LIST_COUNT) == 0) continue;
    const sh = classShift(load<u32>(sd, TlbStruct.SIZES));
    // The PCID's own slot, then (if different) the slot of the global entries.
    let e = setBase(sd, va, sh, hp);
    if (!entryMaps(e, va, sh, pcid)) {
      if (hp == 0) continue;
      e = setBase(sd, va, sh, 0);
      if (!entryMaps(e, va, sh, pcid)) continue;
    }
    const data = load<u64>(e, TlbEnt.DATA);
    if (data & mask) break;
    const key = load<u64>(e);
    // A global entry serves every PCID; retag it so the inline probe hits.
    if ((key & TlbEnt.PCID_MASK) != pcid && hp == 0) store<u64>(e, (key & ~<u64>TlbEnt.PCID_MASK) | pcid);
    walkSetHit(va ^ (data & ~<u64>TlbDeny.MASK), load<u32>(e, TlbEnt.LEAF) & TlbEnt.LEAF_BITS, sh, load<u64>(e, TlbEnt.PTE_PA));
    statAdd(statAccess(1, access, 0), 1);
    return true;
  }
  statAdd(statAccess(1, access, 1), 1);
  return false;
}

/** The valid entry of the set at `s0` that maps `va` for `pcid`, or 0. */
export function findIn(sd: usize, s0: usize, va: u64, sh: u32, pcid: u64): usize {
  const ways = load<u32>(sd, TlbStruct.WAYS);
  for (let w: u32 = 0; w < ways; w++) {
    const e = s0 + (<usize>w << TlbEnt.SIZE_LOG2);
    if (entryMaps(e, va, sh, pcid)) return e;
  }
  return 0;
}

/** Replacement bookkeeping for a hit on entry `e` of structure `sd`. */
export function hitTouch(sd: usize, e: usize): void {
  const ways = load<u32>(sd, TlbStruct.WAYS);
  if (ways == 1) return;
  const ents = TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES);
  const idx = <u32>((e - ents) >> TlbEnt.SIZE_LOG2);
  const w = idx % ways;
  touch(e - (<usize>w << TlbEnt.SIZE_LOG2), ways, w);
}

function fillLevel1(va: u64, access: u32, pcid: u64, sh: u32, c: u32, data: u64, ptePa: u64, leafWord: u32): void {
  const n = structCount(), kind: u32 = 1 << access;
  const key = (va & ~((<u64>1 << <u64>sh) - 1)) | pcid;
  for (let i: u32 = 0; i < n; i++) {
    const sd = structAt(i);
    if (load<u32>(sd, TlbStruct.LEVEL) == 1 && (load<u32>(sd, TlbStruct.KINDS) & kind) && (load<u32>(sd, TlbStruct.SIZES) & c))
      insert(sd, sh, va, key, data, ptePa, leafWord, true);
  }
}

/** Remember the translation the walker just produced for linear `va`: in the
 *  L1 structures serving this access kind and in every L2 (inclusive). */
export function tlbFill(va: u64, access: u32, pcid: u64): void {
  const n = structCount();
  if (n == 0) return;
  const sh = walkShift;
  const c: u32 = sh == 12 ? TlbSize.S4K : sh == 30 ? TlbSize.S1G : TlbSize.LARGE;
  const pageMask = (<u64>1 << <u64>sh) - 1;
  const vbase = va & ~pageMask;
  const key = vbase | pcid;
  const data = ((walkPa & ~pageMask) ^ vbase) | denyBitsCached(walkLeaf);
  const pge = (load<u64>(CTL, Ctl.CR4) >> Cr.CR4_PGE) & 1;
  const leafWord = walkLeaf | (sh << TlbEnt.SHIFT_SHIFT) | ((walkLeaf & Leaf.G) && pge ? TlbEnt.GLOBAL : 0);
  const kind: u32 = 1 << access;
  for (let i: u32 = 0; i < n; i++) {
    const sd = structAt(i);
    if (!(load<u32>(sd, TlbStruct.SIZES) & c)) continue;
    if (load<u32>(sd, TlbStruct.LEVEL) == 1 && !(load<u32>(sd, TlbStruct.KINDS) & kind)) continue;
    insert(sd, sh, va, key, data, walkPtePa, leafWord, true);
  }
}

/** denyBitsCached without the check of its controls: for a loop that has
 *  called denyBitsCached once under the same controls (translate.ts missRun). */
// @ts-ignore: decorator
@inline export function denyBitsTabled(leaf: u32): u64 {
  return load<u64>(DENY_TAB + (<usize>(leaf & (Leaf.W | Leaf.U | Leaf.X | Leaf.D)) << 3));
}

// ── invalidation ──

// List-flush selectors.
// @ts-ignore: decorator
@inline const ALL: u32 = 0;        // every entry
// @ts-ignore: decorator
@inline const NON_GLOBAL: u32 = 1; // every non-global entry, any PCID
// @ts-ignore: decorator
@inline const PCID_NON_GLOBAL: u32 = 2; // non-global entries of one PCID

/** Walk each TLB structure's valid-entry list, drop what `sel` selects,
 *  compact the list to what stays; count the valid entries dropped. */
function flushLists(sel: u32, pcid: u64): void {
  statAdd(Stat.INVALIDATED, flushListsOf(TLB_BASE + TlbHdr.STRUCTS, structCount(), sel, pcid));
}

/** flushLists over the `n` descriptors at `descs`; returns the valid entries dropped. */
function flushListsOf(descs: usize, n: u32, sel: u32, pcid: u64): u64 {
  let dropped: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const sd = descs + <usize>i * TlbHdr.STRUCT_SIZE;
    const list = TLB_BASE + <usize>load<u32>(sd, TlbStruct.LIST);
    const ents = TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES);
    const cnt = load<u32>(sd, TlbStruct.LIST_COUNT);
    let j: u32 = 0;
    for (let k: u32 = 0; k < cnt; k++) {
      const idx = load<u32>(list + (<usize>k << 2));
      const e = ents + (<usize>idx << TlbEnt.SIZE_LOG2);
      const valid = !(load<u64>(e, TlbEnt.DATA) & TlbDeny.INVALID);
      const g = (load<u32>(e, TlbEnt.LEAF) & TlbEnt.GLOBAL) != 0;
      const keep = valid && sel != ALL && (g || (sel == PCID_NON_GLOBAL && (load<u64>(e) & TlbEnt.PCID_MASK) != pcid));
      if (keep) { store<u32>(list + (<usize>j << 2), idx); j++; continue; }
      if (valid) dropped++;
      entryClear(e);
      store<u32>(e, load<u32>(e, TlbEnt.LEAF) & ~TlbEnt.LISTED, TlbEnt.LEAF);
    }
    store<u32>(sd, j, TlbStruct.LIST_COUNT);
  }
  return dropped;
}

// ── paging-structure caches (SDM §4.10.4.1) ──
// PSC entries are never global and are not counted in INVALIDATED (a TLB
// statistic). INVLPG, a CR3 load without bit 63 and INVPCID types 0/1 drop
// every entry of one PCID whatever its linear address; INVPCID 2/3 and full
// flushes drop them all.

// @ts-ignore: decorator
@inline export function pscCount(): u32 { return load<u32>(TLB_BASE, TlbHdr.PSC_COUNT); }

/** Drop the PSC entries of `pcid`, or of every PCID when `all`. */
function pscFlush(all: bool, pcid: u64): void {
  const n = pscCount();
  if (n != 0) flushListsOf(TLB_BASE + TlbHdr.PSC, n, all ? ALL : PCID_NON_GLOBAL, pcid);
}

/** A #PF drops the PSC entries that would be used to translate `va` for
 *  `pcid`: at most one per cache, the one whose tag matches. */
function pscDropVa(va: u64, pcid: u64): void {
  const n = pscCount();
  for (let i: u32 = 0; i < n; i++) {
    const sd = TLB_BASE + TlbHdr.PSC + <usize>i * TlbHdr.STRUCT_SIZE;
    const sh = pscTagShift(i);
    const e = findIn(sd, setBase(sd, va, sh, pcidHash(sd, pcid)), va, sh, pcid);
    if (e != 0) entryClear(e);
  }
}

/** The tag shift of PSC `i` (descriptor order PML5E, PML4E, PDPTE, PDE):
 *  48, 39, 30, 21 — the index shift of the entries it caches. */
// @ts-ignore: decorator
@inline export function pscTagShift(i: u32): u32 { return 48 - 9 * i; }

// Page-flush selectors.
// @ts-ignore: decorator
@inline const PAGE_INVLPG: u32 = 0;   // entries of `pcid` and global entries of any PCID
// @ts-ignore: decorator
@inline const PAGE_PCID: u32 = 1;     // non-global entries of `pcid` only (INVPCID type 0)

/** Drop the entries of every page size that map linear `va` (SDM: INVLPG
 *  invalidates the translation whatever the page size). */
function flushVa(va: u64, pcid: u64, sel: u32): void {
  const n = structCount();
  let dropped: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const sd = structAt(i);
    const sizes = load<u32>(sd, TlbStruct.SIZES), h = pcidHash(sd, pcid);
    for (let c: u32 = TlbSize.S4K; c <= <u32>TlbSize.S1G; c <<= 1) {
      if (!(sizes & c)) continue;
      const sh = classShift(c);
      dropped += flushSet(sd, setBase(sd, va, sh, h), va, sh, pcid, sel);
      // Global entries live in the set of hash 0.
      if (h != 0 && sel == PAGE_INVLPG) dropped += flushSet(sd, setBase(sd, va, sh, 0), va, sh, pcid, sel);
    }
  }
  statAdd(Stat.INVALIDATED, dropped);
}

function flushSet(sd: usize, s0: usize, va: u64, sh: u32, pcid: u64, sel: u32): u64 {
  const ways = load<u32>(sd, TlbStruct.WAYS);
  let dropped: u64 = 0;
  for (let w: u32 = 0; w < ways; w++) {
    const e = s0 + (<usize>w << TlbEnt.SIZE_LOG2);
    if (!entryMaps(e, va, sh, pcid)) continue;
    const own = (load<u64>(e) & TlbEnt.PCID_MASK) == pcid, g = (load<u32>(e, TlbEnt.LEAF) & TlbEnt.GLOBAL) != 0;
    if (sel == PAGE_PCID ? own && !g : own || g) { entryClear(e); dropped++; }
  }
  return dropped;
}

// @ts-ignore: decorator
@inline function linear(va: u64): u64 {
  return load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4 ? va : va & 0xffff_ffff;
}

/** Full flush (CR0/CR4 changes, context reload, the host's flushTlb): every
 *  entry, global ones too if asked. */
export function tlbFlushAll(includeGlobal: bool): void {
  statAdd(Stat.FLUSH_FULL, 1);
  flushLists(includeGlobal ? ALL : NON_GLOBAL, 0);
  pscFlush(true, 0);
}

/** MOV to CR3 without the no-flush bit: the non-global entries of the new PCID. */
export function tlbLoadCr3(pcid: u32): void {
  statAdd(Stat.FLUSH_CR3, 1);
  flushLists(PCID_NON_GLOBAL, <u64>pcid & TlbEnt.PCID_MASK);
  pscFlush(false, <u64>pcid & TlbEnt.PCID_MASK);
}

/** INVLPG: the current PCID's and every global entry mapping `va`, any page
 *  size, and every PSC entry of the current PCID. */
export function tlbFlushPage(va: u64): void {
  statAdd(Stat.FLUSH_INVLPG, 1);
  const pcid = currentPcid();
  flushVa(linear(va), pcid, PAGE_INVLPG);
  pscFlush(false, pcid);
}

/** A #PF drops whatever would translate the faulting address (SDM §4.10.4.1). */
export function tlbDropFaulting(va: u64, pcid: u64): void {
  if (structCount() != 0) flushVa(va, pcid, PAGE_INVLPG);
  pscDropVa(va, pcid);
}

/** INVPCID types 0..3 (SDM Vol. 2A INVPCID): individual address (non-global),
 *  single context (non-global), all contexts including globals, all
 *  contexts except globals. */
export function tlbFlushPcid(type: u32, pcid: u32, va: u64): void {
  statAdd(Stat.FLUSH_INVPCID, 1);
  const p = <u64>pcid & TlbEnt.PCID_MASK;
  if (type == 0) flushVa(linear(va), p, PAGE_PCID);
  else if (type == 1) flushLists(PCID_NON_GLOBAL, p);
  else if (type == 2) flushLists(ALL, 0);
  else flushLists(NON_GLOBAL, 0);
  // Types 0 and 1 drop the PCID's PSC entries whatever their address; 2 and 3 all.
  pscFlush(type >= 2, p);
}
