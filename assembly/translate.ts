// Single and batch translation: TLB probe → walk → fill. The TLB (tlb.ts)
// plugs into tlbLookup/tlbFill; the walker leaves its
// result in the walk globals either way, so the callers below do not change.
import { Access, BatchOut, Cr, Ctl, FaultKind, Leaf, Opt, Stat, TlbDeny, TlbEnt, TlbHdr, TlbStruct, Vector, X86Mode } from "../src/abi";
import { BATCH_CAP, BATCH_KIND, BATCH_OUT, BATCH_REFUSED, BATCH_VA, CTL, TLB_BASE, TLB_ENTS0, TLB_FAST, TLB_SETMASK0 } from "./layout";
import { accessMask, currentPcid, denyBitsCached, denyBitsTabled, entryStoreOver, statAccess, statAdd, structAt, structCount, tlbDropFaulting, tlbFill, tlbLookup, wordsMap } from "./tlb";
import { pscCountWalk } from "./psc";
import { fastWalkOn, fastWalkPrepare, SLOW, x86WalkFast, x86WalkTouch } from "./x86/walk-fast";
import { walkError, walkFault, walkLeaf, walkPa, walkPtePa, walkRefs, walkSetHit, walkShift, walkVector, x86Walk } from "./x86/walk";

/** The linear address as CR2 holds it: 32 bits outside IA-32e mode. */
// @ts-ignore: decorator
@inline export function linearOf(va: u64): u64 {
  return load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4 ? va : va & 0xffff_ffff;
}

/** The slot of linear `lva` for `pcid` in structure 0 (with TLB_FAST: the
 *  direct-mapped 4 KiB array of the fast organisation, TLB-ABI.md). */
// @ts-ignore: decorator
@inline export function slot0(lva: u64, pcid: u64): usize {
  return TLB_ENTS0 + ((((<usize>(lva >> 12)) ^ <usize>(<u32>pcid * <u32>TlbEnt.PCID_HASH)) & TLB_SETMASK0) << TlbEnt.SIZE_LOG2);
}

/** TLB-ABI.md's inline hit test of slot `e` for `lva`, `pcid` and access mask `mask`. */
// @ts-ignore: decorator
@inline export function hits0(e: usize, lva: u64, pcid: u64, mask: u64): bool {
  return ((load<u64>(e) ^ ((lva & ~<u64>0xfff) | pcid)) | (load<u64>(e, TlbEnt.DATA) & mask)) == 0;
}

/**
 * One access with side effects: TLB probe → walk → fill (A/D bits, CR2 on
 * #PF). With the option AdOnFaultNone a walk first runs without side effects
 * and only a successful one is repeated for real, so a faulting walk writes
 * nothing. Unknown access kinds are reads (as the walker treats them).
 */
export function translateOne(va: u64, access: u32): u32 {
  if (access > <u32>Access.Fetch) access = Access.Read;
  walkPrepared = false;         // the fast walk's context, derived on a miss only
  return translateElem(linearOf(va), access, currentPcid(), accessMask(access), false);
}

/** fastWalkPrepare() has run for the current batch or single translation. */
let walkPrepared = false;

/**
 * translateOne for linear `lva` in a prepared context: `mask` is
 * accessMask(access); `probed` says the inline probe of structure 0 has
 * already missed (the batch's hit loop).
 */
function translateElem(lva: u64, access: u32, pcid: u64, mask: u64, probed: bool): u32 {
  if (!probed && TLB_FAST) {
    // The inline probe of structure 0, as in the batch loop.
    const e = slot0(lva, pcid);
    if (hits0(e, lva, pcid, mask)) {
      walkSetHit(lva ^ (load<u64>(e, TlbEnt.DATA) & ~<u64>TlbDeny.MASK), load<u32>(e, TlbEnt.LEAF) & TlbEnt.LEAF_BITS, 12, load<u64>(e, TlbEnt.PTE_PA));
      statAdd(statAccess(1, access, 0), 1);
      return FaultKind.None;
    }
  }
  if (structCount() != 0 && tlbLookup(lva, access, pcid, mask)) return FaultKind.None;
  return translateMiss(lva, access, pcid);
}

/** Do the structures after structure 0 hold nothing (their valid-entry lists
 *  are empty)? In the fast organisation structure 0 is the 4 KiB array. */
// @ts-ignore: decorator
@inline function onlyStruct0(): bool {
  const n = structCount();
  for (let i: u32 = 1; i < n; i++) if (load<u32>(structAt(i), TlbStruct.LIST_COUNT) != 0) return false;
  return true;
}

/** A structure-0 miss counted, then the walk (translateMiss). */
function missWalk(lva: u64, access: u32): u32 {
  statAdd(statAccess(1, access, 1), 1);
  return translateMiss(lva, access, 0);
}

/** The walk after a TLB miss, with its statistics, fill and fault handling. */
function translateMiss(lva: u64, access: u32, pcid: u64): u32 {
  if (!walkPrepared) { fastWalkPrepare(); walkPrepared = true; }
  let f = x86WalkFast(lva, access);
  if (f != SLOW) {}
  else if (load<u32>(CTL, Ctl.OPTIONS) & Opt.AdOnFaultNone) {
    f = x86Walk(lva, access, false, true);
    if (f == FaultKind.None) f = x86Walk(lva, access, true, true);
  } else f = x86Walk(lva, access, true, true);
  statAdd(Stat.WALKS, 1);
  statAdd(Stat.WALK_REFS + (walkRefs < 7 ? walkRefs : 7) * 8, 1);
  pscCountWalk();
  if (f == FaultKind.None) tlbFill(lva, access, pcid);
  else if (f == FaultKind.X86) {
    if (walkVector == Vector.PF) {
      store<u64>(CTL, lva, Ctl.CR2);
      tlbDropFaulting(lva, pcid);
      statAdd(Stat.FAULT_PF, 1);
    } else statAdd(Stat.FAULT_GP, 1);
  } else if (f == FaultKind.Bus) statAdd(Stat.FAULT_BUS, 1);
  return f;
}

/** Copy the walk outputs into the result record of the control block
 *  (layout mirrored by src/engine/result.ts). `addr`: CR2 value of a #PF. */
export function writeResult(f: u32, addr: u64): void {
  const ok = f == FaultKind.None;
  store<u32>(CTL, f, Ctl.RES_FAULT);
  store<u32>(CTL, ok ? 0 : walkVector, Ctl.RES_VECTOR);
  store<u32>(CTL, ok ? 0 : walkError, Ctl.RES_ERROR);
  store<u64>(CTL, ok || f == FaultKind.Bus ? walkPa : 0, Ctl.RES_PA);
  store<u64>(CTL, f == FaultKind.X86 && walkVector == Vector.PF ? addr : 0, Ctl.RES_ADDR);
  store<u32>(CTL, ok ? walkLeaf : 0, Ctl.RES_LEAF);
  store<u32>(CTL, ok ? walkShift : 0, Ctl.RES_SHIFT);
  store<u64>(CTL, ok ? walkPtePa : 0, Ctl.RES_PTE_PA);
}

// The batch context, set once per batch by batchLoop for the hit loops.
let bPcid: u64 = 0, bHash: usize = 0;

/** Deny masks for the hit loops, indexed by the kind byte itself: [read,
 *  write, fetch, then 253 × read (translateOne treats unknown kinds as
 *  reads)], so the loop needs no clamp. Static data: its address is a
 *  constant and costs the loop no register. Rewritten only when the masks
 *  change (CPL, EFLAGS.AC, a flush-protected control). */
const HIT_MASKS: usize = memory.data(256 * 8, 8);
let hitMasksValid = false;
function setHitMasks(r: u64, w: u64, x: u64): void {
  if (hitMasksValid && load<u64>(HIT_MASKS) == r && load<u64>(HIT_MASKS, 8) == w && load<u64>(HIT_MASKS, 16) == x) return;
  store<u64>(HIT_MASKS, r);
  store<u64>(HIT_MASKS, w, 8);
  store<u64>(HIT_MASKS, x, 16);
  for (let k: usize = 3; k < 256; k++) store<u64>(HIT_MASKS + (k << 3), r);
  hitMasksValid = true;
}

/**
 * The hot loop: translate elements i, i+1, … with the inline probe of
 * structure 0 while they hit; return the index of the first miss (or n).
 *
 * Per element: two loads of the batch, two of the entry, one of the mask
 * table, two branches (the tag, then the deny bits), one store; four
 * elements per iteration (hitOne), so that the loop's own instructions are
 * paid once per four (measured 2–16 % faster, `wasmmu bench`). Everything
 * else is kept out:
 *  - no call, not even an untaken one (it costs V8 registers and roughly
 *    doubles a hit, measured with `wasmmu bench`);
 *  - no statistics: hits are counted after the run from the kinds
 *    (countKinds), so the loop carries no counters;
 *  - no loop-invariant it can do without: `wide` (IA-32e: no 32-bit
 *    truncation) and `tagged` (CR4.PCIDE: a PCID in the tag and the set
 *    hash) are constants at each of the four call sites, so each copy keeps
 *    only what it uses in registers. Spilled invariants were a third of the
 *    loop's time when it had one generic copy (V8's TurboFan, x64).
 */
// @ts-ignore: decorator
@inline function hitLoop(i: u32, n: u32, wide: bool, tagged: bool): u32 {
  // The context in locals: globals are reloaded from memory at every use.
  const ents = TLB_ENTS0, setMask = TLB_SETMASK0;
  const pcid: u64 = tagged ? bPcid : 0;
  const h: usize = tagged ? bHash : 0;
  const vas = BATCH_VA;
  let v = vas + (<usize>i << 3);
  const vEnd = vas + (<usize>n << 3);
  let k = BATCH_KIND + <usize>i;
  let o = BATCH_OUT + (<usize>i << 3);
  // Four elements per iteration: the loop's own work (V8's interrupt check,
  // the bound, the pointer steps) once per four.
  const vEnd4 = vEnd - 24;
  for (; v < vEnd4; v += 32, k += 4, o += 32) {
    if (!hitOne(v, k, o, ents, setMask, h, pcid, wide, tagged)) return <u32>((v - vas) >> 3);
    if (!hitOne(v + 8, k + 1, o + 8, ents, setMask, h, pcid, wide, tagged)) return <u32>((v + 8 - vas) >> 3);
    if (!hitOne(v + 16, k + 2, o + 16, ents, setMask, h, pcid, wide, tagged)) return <u32>((v + 16 - vas) >> 3);
    if (!hitOne(v + 24, k + 3, o + 24, ents, setMask, h, pcid, wide, tagged)) return <u32>((v + 24 - vas) >> 3);
  }
  for (; v < vEnd; v += 8, k++, o += 8) if (!hitOne(v, k, o, ents, setMask, h, pcid, wide, tagged)) break;
  return <u32>((v - vas) >> 3);
}

/** One element of hitLoop: the VA at `v`, the kind at `k`, the PA to `o`; false on a miss (nothing written). */
// @ts-ignore: decorator
@inline function hitOne(v: usize, k: usize, o: usize, ents: usize, setMask: usize, h: usize, pcid: u64, wide: bool, tagged: bool): bool {
  let va = load<u64>(v);
  if (!wide) va &= 0xffff_ffff;
  const e = ents + ((((<usize>(va >> 12)) ^ h) & setMask) << TlbEnt.SIZE_LOG2);
  const data = load<u64>(e, TlbEnt.DATA);
  const tag: u64 = tagged ? (va & ~<u64>0xfff) | pcid : va & ~<u64>0xfff;
  // The two halves of TLB-ABI.md's hit test as two predictable branches:
  // fewer dependent ALU operations per element than one combined compare
  // (measured ≈ 15 % faster).
  if (load<u64>(e) != tag) return false;
  if (data & load<u64>(HIT_MASKS + (<usize>load<u8>(k) << 3))) return false;
  store<u64>(o, va ^ (data & ~<u64>TlbDeny.MASK));
  return true;
}

function hitRun64(i: u32, n: u32): u32 { return hitLoop(i, n, true, false); }
function hitRun64Pcid(i: u32, n: u32): u32 { return hitLoop(i, n, true, true); }
function hitRun32(i: u32, n: u32): u32 { return hitLoop(i, n, false, false); }

/** Writes and fetches among batch.kind[start..end), into kWrites/kFetches.
 *  SIMD, 16 kinds per step: a small fraction of the hit loop's cost. */
let kWrites: u32 = 0, kFetches: u32 = 0;
// @ts-ignore: decorator
@inline function sumU8(v: v128): u32 {
  const s = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}
function countKinds(start: u32, end: u32): void {
  let w: u32 = 0, x: u32 = 0;
  let p = BATCH_KIND + <usize>start;
  const stop = BATCH_KIND + <usize>end;
  const one = i8x16.splat(1), two = i8x16.splat(2);
  while (p + 16 <= stop) {
    // Up to 255 steps per lane sum before the u8 lanes could overflow.
    let aw = i8x16.splat(0), ax = i8x16.splat(0);
    const blockEnd = p + 255 * 16 < stop ? p + 255 * 16 : stop;
    for (; p + 16 <= blockEnd; p += 16) {
      const k = v128.load(p);
      aw = i8x16.sub(aw, i8x16.eq(k, one));     // eq gives -1 per matching lane
      ax = i8x16.sub(ax, i8x16.eq(k, two));
    }
    w += sumU8(aw);
    x += sumU8(ax);
  }
  for (; p < stop; p++) {
    const k = load<u8>(p);
    w += <u32>(k == Access.Write);
    x += <u32>(k == Access.Fetch);
  }
  kWrites = w; kFetches = x;
}

/** Elements missRun took through the walk (they are not hit-loop hits), by kind. */
let mrSlow: u32 = 0, mrSlowW: u32 = 0, mrSlowX: u32 = 0;
/** missRun stopped at a run of hits (not at an element it leaves to translateElem). */
let mrHits = false;

/**
 * The steady state of a working set larger than the TLB: runs of misses that
 * the fast walk answers, each filled into structure 0. Elements i, i+1, …
 * while each is either a structure-0 hit or a fast-walk 4 KiB translation;
 * returns the first element it left alone (nothing of it touched: the fast
 * walk writes nothing when it declines), or `end`, or (mrHits) the element
 * after a run of hits (the hit loop is faster there).
 *
 * Exactly what translateElem does for these elements — the miss counted for
 * its kind, the walk counted with its references, the fill (translateMiss →
 * tlbFill) — but in one loop with the statistics summed in locals, no calls
 * but the walk, and no look-up in the other structures: the caller has
 * checked that structure 0 is the only one holding anything and that entries
 * carry no PCID (CR4.PCIDE clear), so that look-up could only miss.
 * Hits here are counted with the hit loop's (countKinds), misses in mrSlow*.
 */
function missRun(i: u32, end: u32, vaMask: u64): u32 { return walkRunOf(i, end, vaMask, true); }

/** missRun with no TLB at all (every access walks): nothing to probe, count as a miss or fill. */
function walkRun(i: u32, end: u32, vaMask: u64): u32 { return walkRunOf(i, end, vaMask, false); }

// @ts-ignore: decorator
@inline function walkRunOf(i: u32, end: u32, vaMask: u64, tlb: bool): u32 {
  const ents = TLB_ENTS0, setMask = TLB_SETMASK0;
  const pge = ((load<u64>(CTL, Ctl.CR4) >> Cr.CR4_PGE) & 1) != 0;
  if (tlb) denyBitsCached(0);               // the deny table for these controls (denyBitsTabled)
  const sd0 = TLB_BASE + TlbHdr.STRUCTS;
  let mr: u32 = 0, mw: u32 = 0, mx: u32 = 0, refs: u32 = 0, hits: u32 = 0, evicted: u32 = 0;
  mrHits = false;
  for (; i < end; i++) {
    const va = load<u64>(BATCH_VA + (<usize>i << 3)) & vaMask;
    const k = load<u8>(BATCH_KIND + <usize>i);
    // Structure 0's slot of va: with no PCID every entry hashes to its VA's slot.
    let e: usize = 0, key: u64 = 0, data: u64 = 0;
    if (tlb) {
      e = ents + (((<usize>(va >> 12)) & setMask) << TlbEnt.SIZE_LOG2);
      key = load<u64>(e);
      data = load<u64>(e, TlbEnt.DATA);
      if (key == (va & ~<u64>0xfff) && !(data & load<u64>(HIT_MASKS + (<usize>k << 3)))) {
        store<u64>(BATCH_OUT + (<usize>i << 3), va ^ (data & ~<u64>TlbDeny.MASK));
        if (++hits == 8) { i++; mrHits = true; break; }   // a run of hits: back to the hit loop
        continue;
      }
      hits = 0;
    }
    const kind: u32 = k > <u8>Access.Fetch ? Access.Read : <u32>k;
    if (x86WalkFast(va, kind) != FaultKind.None || walkShift != 12) break;
    // Every 4 KiB walk of one paging mode reads as many entries.
    if (refs == 0) refs = walkRefs; else if (walkRefs != refs) break;
    if (kind == Access.Read) mr++; else if (kind == Access.Write) mw++; else mx++;
    if (tlb) {
      // tlbFill into that slot, as insert() fills a direct-mapped structure:
      // an eviction if it held another valid translation, then the entry.
      const old = load<u32>(e, TlbEnt.LEAF);
      if (!(data & TlbDeny.INVALID) && !wordsMap(key, data, old, va, 12, 0)) evicted++;
      const vbase = va & ~<u64>0xfff, leaf = walkLeaf;
      entryStoreOver(sd0, e, old, vbase, ((walkPa & ~<u64>0xfff) ^ vbase) | denyBitsTabled(leaf), walkPtePa,
        leaf | (12 << TlbEnt.SHIFT_SHIFT) | ((leaf & Leaf.G) && pge ? TlbEnt.GLOBAL : 0));
    }
    store<u64>(BATCH_OUT + (<usize>i << 3), walkPa);
  }
  const walks = mr + mw + mx;
  if (walks != 0) {
    if (tlb) {
      if (evicted) statAdd(Stat.EVICTIONS, evicted);
      statAdd(statAccess(1, Access.Read, 1), mr);
      statAdd(statAccess(1, Access.Write, 1), mw);
      statAdd(statAccess(1, Access.Fetch, 1), mx);
    }
    statAdd(Stat.WALKS, walks);
    statAdd(Stat.WALK_REFS + (refs < 7 ? refs : 7) * 8, walks);
  }
  mrSlow = walks; mrSlowW = mw; mrSlowX = mx;
  return i;
}

/** How far prefetchAhead looks past a miss. */
// @ts-ignore: decorator
@inline const AHEAD: u32 = 8;
/** Where the prefetch loads go, so that they are not optimised away. */
let prefetchSink: u64 = 0;

/**
 * Memory-level parallelism for runs of misses (random accesses over a large
 * working set): read the structure-0 TLB line of elements [from, from+AHEAD),
 * and for those that will miss, the leaf entry their walk will read. Nothing
 * is written and nothing decided here — each element is translated in order
 * afterwards exactly as before; these loads only bring the lines in
 * together instead of one miss at a time. Returns the first element not
 * looked at.
 */
function prefetchAhead(from: u32, end: u32, vaMask: u64): u32 {
  const to = from + AHEAD < end ? from + AHEAD : end;
  const ents = TLB_ENTS0, setMask = TLB_SETMASK0, h = bHash;
  let sink: u64 = 0;
  for (let j = from; j < to; j++) {
    const va = load<u64>(BATCH_VA + (<usize>j << 3)) & vaMask;
    sink ^= load<u64>(ents + ((((<usize>(va >> 12)) ^ h) & setMask) << TlbEnt.SIZE_LOG2));
  }
  if (!walkPrepared) { fastWalkPrepare(); walkPrepared = true; }
  for (let j = from; j < to; j++) {
    const va = load<u64>(BATCH_VA + (<usize>j << 3)) & vaMask;
    const e = ents + ((((<usize>(va >> 12)) ^ h) & setMask) << TlbEnt.SIZE_LOG2);
    if ((load<u64>(e) ^ (va & ~<u64>0xfff)) >> 12 != 0) sink ^= x86WalkTouch(va);
  }
  prefetchSink ^= sink;
  return to;
}

/**
 * Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the
 * fault count. Runs of hits go through the hit loops (hitLoop: the entry's
 * tag and data, the kind's mask, one store per element); each miss, other
 * structures and faults go through translateElem, out of line. Hit counts
 * are added to the statistics once per batch (countKinds).
 */
export function translateBatch(n: u32): u32 {
  // The core refuses a count past the batch buffers itself (the host checks
  // first and says why): the loop would write past batch.out.
  if (n > BATCH_CAP) return BATCH_REFUSED;
  return batchLoop(0, n, false);
}

/**
 * The batch loop over entries [start, end). With `stopAtFault` (a constant at
 * each call site, so the inlined loop is specialised) it returns at the first
 * fault with that entry's index, else it runs to the end and returns the
 * fault count.
 */
// @ts-ignore: decorator
@inline function batchLoop(start: u32, end: u32, stopAtFault: bool): u32 {
  let faults: u32 = 0;
  const wide = load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4;
  const vaMask: u64 = wide ? <u64>-1 : 0xffff_ffff;
  const pcid = currentPcid();
  const fast = TLB_FAST;
  const tagged = (load<u64>(CTL, Ctl.CR4) >> Cr.CR4_PCIDE) & 1;
  const none = structCount() == 0;          // no TLB at all (fixed with the layout)
  bPcid = pcid;
  bHash = <usize>(<u32>pcid * <u32>TlbEnt.PCID_HASH);
  const mr = accessMask(Access.Read), mw = accessMask(Access.Write), mx = accessMask(Access.Fetch);
  if (fast) setHitMasks(mr, mw, mx);
  walkPrepared = false;
  // Elements that left the hit loop (translateOne counts them itself).
  let slow: u32 = 0, slowW: u32 = 0, slowX: u32 = 0;
  let i: u32 = start, stop = end, ahead: u32 = 0;
  while (i < end) {
    if (fast) {
      // 32-bit paging never has PCIDs (CR4.PCIDE needs IA-32e mode).
      i = !wide ? hitRun32(i, end) : tagged ? hitRun64Pcid(i, end) : hitRun64(i, end);
      if (i >= end) break;
    }
    // A miss. In the steady state missRun takes it and the misses after it;
    // what it leaves (a fault, an A or D bit to set, a large page, …) goes on here.
    const steady = fast && !tagged && onlyStruct0();
    if (none || steady) {
      if (!walkPrepared) { fastWalkPrepare(); walkPrepared = true; }
      if (fastWalkOn()) {
        i = none ? walkRun(i, end, vaMask) : missRun(i, end, vaMask);
        slow += mrSlow; slowW += mrSlowW; slowX += mrSlowX;
        if (i >= end) break;
        if (mrHits) continue;                 // a run of hits: the hit loop
      }
    }
    // Start the memory traffic of the next misses now (their TLB
    // lines, then their leaf entries) so that it overlaps this one's walk.
    if (fast && i + 1 > ahead) ahead = prefetchAhead(i + 1, end, vaMask);
    const va = load<u64>(BATCH_VA + (<usize>i << 3)) & vaMask;
    let kind = <u32>load<u8>(BATCH_KIND + <usize>i);
    if (kind > <u32>Access.Fetch) kind = Access.Read;
    slow++; slowW += <u32>(kind == Access.Write); slowX += <u32>(kind == Access.Fetch);
    // Structure 0 has missed (the hit loop); when it is the only structure
    // holding anything and entries carry no PCID, directLookup could only
    // count that miss, so count it here and walk.
    // With no TLB at all there is nothing to look up either.
    const f = steady ? missWalk(va, kind)
      : none ? translateMiss(va, kind, pcid)
      : translateElem(va, kind, pcid, kind == Access.Read ? mr : kind == Access.Write ? mw : mx, fast);
    let out: u64;
    if (f == FaultKind.None) out = walkPa;
    else {
      faults++;
      out = (<u64>1 << BatchOut.FAULT_BIT) | (<u64>f << BatchOut.KIND_SHIFT)
        | (<u64>(walkVector & 0xffff) << BatchOut.VECTOR_SHIFT) | <u64>walkError;
    }
    store<u64>(BATCH_OUT + (<usize>i << 3), out);
    i++;
    if (stopAtFault && f != FaultKind.None) { stop = i - 1; break; }
  }
  // The hit loops' hits: every element up to i that translateOne did not see.
  if (fast && i - start > slow) {
    countKinds(start, i);
    const w = kWrites - slowW, x = kFetches - slowX;
    statAdd(statAccess(1, Access.Read, 0), <u64>(i - start - slow - w - x));
    statAdd(statAccess(1, Access.Write, 0), <u64>w);
    statAdd(statAccess(1, Access.Fetch, 0), <u64>x);
  }
  return stopAtFault ? stop : faults;
}

/**
 * Translate batch entries [start, end) in order and stop at the first fault:
 * returns its index (its fault word is in batch.out), or `end`. Entries after
 * a fault are not touched — no TLB fill, no A/D bit, no statistic — so a
 * caller that handles the fault (demand paging) and resumes at the returned
 * index sees exactly what a CPU restarting the faulting access would.
 */
export function translateRange(start: u32, end: u32): u32 {
  if (start > end || end > BATCH_CAP) return BATCH_REFUSED;
  return batchLoop(start, end, true);
}
