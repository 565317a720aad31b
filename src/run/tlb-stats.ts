/**
 * The TLB part of the run report: the engine's statistics (src/tlb/stats.ts,
 * counters in linear memory) with the organisation that produced them and a
 * few derived figures (hit rates, memory references per walk).
 */
import type { Engine } from "../engine/engine.js";
import type { TlbStats } from "../tlb/stats.js";

export interface TlbStructureInfo { name: string; level: number; sets: number; ways: number }

export interface TlbReport extends TlbStats {
  /** "fast", "research" or "off". */
  organisation: string;
  structures: TlbStructureInfo[];
  pagingStructureCaches: TlbStructureInfo[];
  /** L1 hits / L1 accesses (0 when nothing was looked up). */
  l1HitRate: number;
  /** Hits at L1 or L2 / L1 accesses. */
  hitRate: number;
  /** Paging-structure entries read per walk, on average. */
  refsPerWalk: number;
}

const info = (s: { name: string; level: number; sets: number; ways: number }): TlbStructureInfo =>
  ({ name: s.name, level: s.level, sets: s.sets, ways: s.ways });

export function engineTlbReport(e: Engine): TlbReport {
  const s = e.stats();
  const t = e.layout.tlb;
  const refs = s.walkRefs.reduce((sum, n, i) => sum + n * i, 0);
  return {
    organisation: t.mode,
    structures: t.structures.map(info),
    pagingStructureCaches: t.psc.map(info),
    l1HitRate: s.l1.accesses > 0 ? s.l1.hits / s.l1.accesses : 0,
    hitRate: s.l1.accesses > 0 ? (s.l1.hits + s.l2.hits) / s.l1.accesses : 0,
    refsPerWalk: s.walks > 0 ? refs / s.walks : 0,
    ...s,
  };
}
