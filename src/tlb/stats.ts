/**
 * The statistics of an engine, read from the STATS region (u64 counters at
 * the offsets of `Stat` in abi.ts). Both engines count into the same bytes,
 * so one reader serves them; reading costs a few dozen loads and no call
 * into wasm, so it can be done at any time.
 */
import { Access, Mem, Stat } from "../abi.js";
import { TWO32 } from "../u64.js";

/** Hits and misses of one access kind at one TLB level. */
export interface TlbKindStats { hits: number; misses: number }
export interface TlbLevelStats {
  read: TlbKindStats; write: TlbKindStats; fetch: TlbKindStats;
  /** Sums over the three kinds. */
  accesses: number; hits: number; misses: number;
}

export interface TlbStats {
  /** L1 (every structure of level 1) and L2; an L2 access happens on an L1 miss. */
  l1: TlbLevelStats;
  l2: TlbLevelStats;
  /** Page walks started by translate/translateBatch (probe is not counted). */
  walks: number;
  /** Paging-structure entries read from memory per walk: walkRefs[n] walks read n (7: 7 or more). */
  walkRefs: number[];
  /** Paging-structure-cache hits and misses per level: PML5E, PML4E, PDPTE, PDE. */
  psc: { pml5: TlbKindStats; pml4: TlbKindStats; pdpt: TlbKindStats; pd: TlbKindStats };
  /** Accessed and Dirty bits the walker set in memory. */
  aWrites: number;
  dWrites: number;
  faults: { pageFault: number; generalProtection: number; bus: number; s390: number };
  flushes: { cr3: number; invlpg: number; invpcid: number; full: number };
  /** Valid entries replaced by a fill (capacity or conflict misses). */
  evictions: number;
  /** Valid entries dropped by flushes of any cause. */
  invalidated: number;
}


export function readStats(buffer: ArrayBufferLike): TlbStats {
  const m32 = new Uint32Array(buffer, Mem.STATS_BASE, Mem.STATS_SIZE >>> 2);
  const u64 = (off: number): number => m32[off >>> 2]! + m32[(off >>> 2) + 1]! * TWO32;
  const kind = (level: number, access: Access): TlbKindStats => {
    const off = Stat.ACCESS + (level - 1) * Stat.LEVEL_STRIDE + access * Stat.KIND_STRIDE;
    return { hits: u64(off), misses: u64(off + 8) };
  };
  const level = (l: number): TlbLevelStats => {
    const read = kind(l, Access.Read), write = kind(l, Access.Write), fetch = kind(l, Access.Fetch);
    const hits = read.hits + write.hits + fetch.hits, misses = read.misses + write.misses + fetch.misses;
    return { read, write, fetch, accesses: hits + misses, hits, misses };
  };
  const psc = (i: number): TlbKindStats => ({ hits: u64(Stat.PSC_HIT + 8 * i), misses: u64(Stat.PSC_MISS + 8 * i) });
  return {
    l1: level(1), l2: level(2),
    walks: u64(Stat.WALKS),
    walkRefs: Array.from({ length: 8 }, (_, i) => u64(Stat.WALK_REFS + 8 * i)),
    psc: { pml5: psc(0), pml4: psc(1), pdpt: psc(2), pd: psc(3) },
    aWrites: u64(Stat.A_WRITES), dWrites: u64(Stat.D_WRITES),
    faults: { pageFault: u64(Stat.FAULT_PF), generalProtection: u64(Stat.FAULT_GP), bus: u64(Stat.FAULT_BUS), s390: u64(Stat.FAULT_S390) },
    flushes: { cr3: u64(Stat.FLUSH_CR3), invlpg: u64(Stat.FLUSH_INVLPG), invpcid: u64(Stat.FLUSH_INVPCID), full: u64(Stat.FLUSH_FULL) },
    evictions: u64(Stat.EVICTIONS),
    invalidated: u64(Stat.INVALIDATED),
  };
}

/** Zero every counter. */
export function resetStats(buffer: ArrayBufferLike): void {
  new Uint8Array(buffer, Mem.STATS_BASE, Stat.END).fill(0);
}
