// Single and batch translation: TLB probe → walk → fill (DESIGN.md). The TLB
// (tlb.ts, issue 3) plugs into tlbLookup/tlbFill; the walker leaves its
// result in the walk globals either way, so the callers below do not change.
import { Access, BatchOut, Ctl, FaultKind, Opt, Stat, TlbDeny, TlbEnt, TlbFlag, TlbHdr, TlbStruct, Vector, X86Mode } from "../src/abi";
import { BATCH_KIND, BATCH_OUT, BATCH_VA, CTL, TLB_BASE } from "./layout";
import { accessMask, currentPcid, statAccess, statAdd, tlbDropFaulting, tlbFill, tlbLookup } from "./tlb";
import { walkError, walkFault, walkLeaf, walkPa, walkPtePa, walkRefs, walkSetHit, walkShift, walkVector, x86Walk } from "./x86/walk";

/** The linear address as CR2 holds it: 32 bits outside IA-32e mode. */
// @ts-ignore: decorator
@inline export function linearOf(va: u64): u64 {
  return load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4 ? va : va & 0xffff_ffff;
}

/** Is the TLB's structure 0 the direct-mapped 4 KiB L1 the inline probe expects? */
// @ts-ignore: decorator
@inline function fastTlb(): bool {
  return (load<u32>(TLB_BASE, TlbHdr.FLAGS) & TlbFlag.FAST) != 0 && load<u32>(TLB_BASE, TlbHdr.COUNT) != 0;
}

/**
 * One access with side effects: TLB probe → walk → fill (A/D bits, CR2 on
 * #PF). With the option AdOnFaultNone a walk first runs without side effects
 * and only a successful one is repeated for real, so a faulting walk writes
 * nothing. Unknown access kinds are reads (as the walker treats them).
 */
export function translateOne(va: u64, access: u32): u32 {
  if (access > <u32>Access.Fetch) access = Access.Read;
  const lva = linearOf(va);
  const pcid = currentPcid();
  const mask = accessMask(access);
  if (fastTlb()) {
    // The inline probe of structure 0 (TLB-ABI.md), as in the batch loop.
    const sd = TLB_BASE + TlbHdr.STRUCTS;
    const set = (<usize>(lva >> 12) ^ <usize>(<u32>pcid * <u32>TlbEnt.PCID_HASH))
      & ((<usize>1 << load<u32>(sd, TlbStruct.SETS_LOG2)) - 1);
    const e = TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES) + (set << TlbEnt.SIZE_LOG2);
    const data = load<u64>(e, TlbEnt.DATA);
    if (((load<u64>(e) ^ ((lva & ~<u64>0xfff) | pcid)) | (data & mask)) == 0) {
      walkSetHit(lva ^ (data & ~<u64>TlbDeny.MASK), load<u32>(e, TlbEnt.LEAF) & TlbEnt.LEAF_BITS, 12, load<u64>(e, TlbEnt.PTE_PA));
      statAdd(statAccess(1, access, 0), 1);
      return FaultKind.None;
    }
  }
  if (tlbLookup(lva, access, pcid, mask)) return FaultKind.None;
  return translateMiss(lva, access, pcid);
}

/** The walk after a TLB miss, with its statistics, fill and fault handling. */
function translateMiss(lva: u64, access: u32, pcid: u64): u32 {
  let f: u32;
  if (load<u32>(CTL, Ctl.OPTIONS) & Opt.AdOnFaultNone) {
    f = x86Walk(lva, access, false);
    if (f == FaultKind.None) f = x86Walk(lva, access, true);
  } else f = x86Walk(lva, access, true);
  statAdd(Stat.WALKS, 1);
  statAdd(Stat.WALK_REFS + (walkRefs < 7 ? walkRefs : 7) * 8, 1);
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

// The batch context, set once per batch by translateBatch for hitRun.
let bVaMask: u64 = 0, bPcid: u64 = 0, bM0: u64 = 0, bM1: u64 = 0, bM2: u64 = 0;
let bEnts: usize = 0, bSetMask: usize = 0, bHash: usize = 0;
let bHits: u32 = 0, bHitsW: u32 = 0, bHitsX: u32 = 0;

/**
 * The hot loop: translate elements i, i+1, … with the inline probe of
 * structure 0 while they hit; return the index of the first miss (or n).
 * It contains no call at all — a call left in a hot wasm loop, even an
 * untaken one, costs V8 registers and roughly doubles a hit (PEERS.md).
 */
function hitRun(i: u32, n: u32): u32 {
  const vaMask = bVaMask, pcid = bPcid, m0 = bM0, m1 = bM1, m2 = bM2;
  const ents = bEnts, setMask = bSetMask, h = bHash;
  let hits: u32 = 0, hitsW: u32 = 0, hitsX: u32 = 0;
  for (; i < n; i++) {
    const va = load<u64>(BATCH_VA + (<usize>i << 3)) & vaMask;
    const kind = <u32>load<u8>(BATCH_KIND + <usize>i);
    const e = ents + (((<usize>(va >> 12) ^ h) & setMask) << TlbEnt.SIZE_LOG2);
    const data = load<u64>(e, TlbEnt.DATA);
    const mask = select<u64>(m1, select<u64>(m2, m0, kind == Access.Fetch), kind == Access.Write);
    if (((load<u64>(e) ^ ((va & ~<u64>0xfff) | pcid)) | (data & mask)) != 0) break;
    store<u64>(BATCH_OUT + (<usize>i << 3), va ^ (data & ~<u64>TlbDeny.MASK));
    hits++;
    hitsW += <u32>(kind == Access.Write);
    hitsX += <u32>(kind == Access.Fetch);
  }
  bHits += hits; bHitsW += hitsW; bHitsX += hitsX;
  return i;
}

/**
 * Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the
 * fault count. Runs of hits go through hitRun (two loads, one masked
 * compare, one store per element); each miss, other structures and faults
 * go through translateOne, out of line. Hit counts are added to the
 * statistics once per batch.
 */
export function translateBatch(n: u32): u32 {
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
  const ia32e = load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4;
  const vaMask: u64 = ia32e ? <u64>-1 : 0xffff_ffff;
  const pcid = currentPcid();
  const fast = fastTlb();
  const sd = TLB_BASE + TlbHdr.STRUCTS;
  bVaMask = vaMask; bPcid = pcid;
  bM0 = accessMask(Access.Read); bM1 = accessMask(Access.Write); bM2 = accessMask(Access.Fetch);
  bEnts = TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES);
  bSetMask = fast ? (<usize>1 << load<u32>(sd, TlbStruct.SETS_LOG2)) - 1 : 0;
  bHash = <usize>(<u32>pcid * <u32>TlbEnt.PCID_HASH);
  bHits = 0; bHitsW = 0; bHitsX = 0;
  let i: u32 = start;
  while (i < end) {
    if (fast) {
      i = hitRun(i, end);
      if (i >= end) break;
    }
    const va = load<u64>(BATCH_VA + (<usize>i << 3)) & vaMask;
    const f = translateOne(va, <u32>load<u8>(BATCH_KIND + <usize>i));
    let out: u64;
    if (f == FaultKind.None) out = walkPa;
    else {
      faults++;
      out = (<u64>1 << BatchOut.FAULT_BIT) | (<u64>f << BatchOut.KIND_SHIFT)
        | (<u64>(walkVector & 0xffff) << BatchOut.VECTOR_SHIFT) | <u64>walkError;
    }
    store<u64>(BATCH_OUT + (<usize>i << 3), out);
    if (stopAtFault && f != FaultKind.None) break;
    i++;
  }
  statAdd(statAccess(1, Access.Read, 0), <u64>(bHits - bHitsW - bHitsX));
  statAdd(statAccess(1, Access.Write, 0), <u64>bHitsW);
  statAdd(statAccess(1, Access.Fetch, 0), <u64>bHitsX);
  return stopAtFault ? i : faults;
}

/**
 * Translate batch entries [start, end) in order and stop at the first fault:
 * returns its index (its fault word is in batch.out), or `end`. Entries after
 * a fault are not touched — no TLB fill, no A/D bit, no statistic — so a
 * caller that handles the fault (demand paging) and resumes at the returned
 * index sees exactly what a CPU restarting the faulting access would.
 */
export function translateRange(start: u32, end: u32): u32 {
  return batchLoop(start, end, true);
}
