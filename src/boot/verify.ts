/**
 * Checks on a plan that was built into guest memory, made by the hardware
 * model rather than asserted by the planner:
 *
 * - translation: every mapped 2 MiB region (and every 4 KiB page of a
 *   partially mapped region) is translated by the engine's walker at
 *   PAGE_OFFSET + pa and must give pa;
 * - the end of the direct map: the first page above it must fault;
 * - table placement: replaying the plan's steps, every table page taken from
 *   memblock lies in memory mapped by an *earlier* init_memory_mapping call
 *   (brk pages are the stated exception).
 *
 * Xen's rules (no table frame mapped writable once hooked; pinned before CR3
 * points at it) are checked by the Xen hypervisor model itself, which
 * refuses the offending hypercall.
 */
import { Access, BatchOut } from "../abi.js";
import type { Engine } from "../engine/engine.js";
import { directVa, type Geometry } from "./geometry.js";
import type { BootPlan } from "./plan.js";

export interface Mismatch { va: bigint; pa: number; got: string }

export interface VerifyReport {
  /** Translations performed. */
  translated: number;
  /** 2 MiB regions checked with one translation, and 4 KiB pages of partial regions. */
  regions: number;
  pages: number;
  mismatches: Mismatch[];
  /** memblock-sourced table pages that were not inside earlier-mapped memory. */
  tablesFromUnmapped: number[];
  /** The address just above the direct map did fault. */
  endFaults: boolean;
  ok: boolean;
  ms: number;
}

type Iv = [number, number];

function union(ivs: Iv[]): Iv[] {
  const s = [...ivs].sort((a, b) => a[0] - b[0]);
  const out: Iv[] = [];
  for (const [a, b] of s) {
    const l = out[out.length - 1];
    if (l && a <= l[1]) l[1] = Math.max(l[1], b); else out.push([a, b]);
  }
  return out;
}

/** The physical ranges the plan mapped: the union of its split pieces. */
export function mappedIntervals(plan: BootPlan): Iv[] {
  return union(plan.mapRanges.flatMap((m) => m.pieces.map(([s, e]) => [s, e] as Iv)));
}

/** Replay: memblock table pages must come from ranges mapped by earlier calls. */
export function tablesFromUnmapped(plan: BootPlan): number[] {
  const done: Iv[] = [];
  let current: Iv | null = null;
  const bad: number[] = [];
  for (const s of plan.steps) {
    if (s.op === "range") { if (current) done.push(current); current = [s.start, s.end]; continue; }
    if (s.op === "alloc" && s.source === "memblock") {
      const inside = union(done).some(([a, b]) => s.pa >= a && s.pa + 4096 <= b);
      if (!inside) bad.push(s.pa);
    }
  }
  return bad;
}

export interface VerifyOptions {
  /** Machine address of a guest physical address (Xen's p2m); default identity. */
  toMachine?: (pa: number) => number;
  maxMismatches?: number;
}

export function verifyTranslations(engine: Engine, g: Geometry, plan: BootPlan, opts: VerifyOptions = {}): VerifyReport {
  const maxMismatches = opts.maxMismatches ?? 20;
  const toMachine = opts.toMachine ?? ((pa: number): number => pa);
  const t0 = performance.now();
  const ivs = mappedIntervals(plan);
  const b = engine.batch;
  const cap = b.capacity;
  const expected = new Float64Array(cap);
  const report: VerifyReport = { translated: 0, regions: 0, pages: 0, mismatches: [], tablesFromUnmapped: tablesFromUnmapped(plan),
    endFaults: false, ok: false, ms: 0 };
  let n = 0;
  const flush = (): void => {
    if (!n) return;
    engine.translateBatch(n);
    for (let i = 0; i < n; i++) {
      const out = b.out[i]!;
      const pa = expected[i]!;
      if (out >> BigInt(BatchOut.FAULT_BIT) || Number(out) !== pa) {
        if (report.mismatches.length < maxMismatches)
          report.mismatches.push({ va: b.va[i]!, pa, got: out >> BigInt(BatchOut.FAULT_BIT) ? `fault 0x${out.toString(16)}` : `0x${out.toString(16)}` });
        else report.mismatches.length++;   // count, keep the first few
      }
    }
    report.translated += n;
    n = 0;
  };
  const check = (pa: number): void => {
    b.va[n] = directVa(g, pa);
    b.kind[n] = Access.Read;
    expected[n] = toMachine(pa);
    if (++n === cap) flush();
  };
  const R = 2 ** 21;
  for (const [s, e] of ivs) {
    for (let blk = Math.floor(s / R) * R; blk < e; blk += R) {
      const lo = Math.max(s, blk), hi = Math.min(e, blk + R);
      if (lo === blk && hi === blk + R) {
        // one translation per whole region, at a page that varies from region to region
        const page = (Math.floor(blk / R) * 167) % 512;
        check(blk + page * 4096 + 0x9a8);
        report.regions++;
      } else {
        for (let p = lo; p < hi; p += 4096) { check(p + 0x10); report.pages++; }
      }
    }
  }
  flush();
  // Just above the highest mapping (rounded beyond any large page): must not translate.
  const round = g.is64 ? 2 ** 30 : 2 ** g.pmdShift;
  const top = Math.ceil(Math.max(...ivs.map(([, e]) => e)) / round) * round;
  const t = engine.probe(directVa(g, top), Access.Read);
  report.endFaults = t.fault !== 0;
  report.ok = report.mismatches.length === 0 && report.tablesFromUnmapped.length === 0 && report.endFaults;
  report.ms = performance.now() - t0;
  return report;
}
