/**
 * The sweep's summary: one row per cell, derived from the cell files alone
 * (so a resumed sweep and a fresh one summarise alike), as a text table
 * (OUT/summary.txt) and as CSV (OUT/summary.csv). Rows are in the order of
 * the cells (trace, then axis values: src/sweep/spec.ts), never in the order
 * the workers finished.
 */
import type { CellFile } from "./cell.js";
import { AXES, type CellConfig, tlbEntriesOf } from "./spec.js";

export interface SummaryRow {
  id: string;
  trace: string;
  config: CellConfig;
  /** TLB entries for 4 KiB pages (the curves' x axis; src/sweep/spec.ts tlbEntriesOf). */
  entries: number | undefined;
  accesses: number;
  /** L1 hits / L1 lookups. */
  l1HitRate: number;
  /** L2 hits / L2 lookups; undefined without an L2. */
  l2HitRate: number | undefined;
  /**
   * TLB lookups that missed at every level (so walked): 1 − (L1 hits + L2 hits) / L1 lookups;
   * 1 when nothing is cached. Lookups count the retry of an access after its page fault.
   */
  missRatio: number;
  walks: number;
  /** Paging-structure entries read from memory per walk. */
  refsPerWalk: number;
  /** Paging-structure entries read by all walks. */
  walkRefs: number;
  /** Paging-structure-cache hits, all levels. */
  pscHits: number;
  /** Accesses per second of the run (wall time; varies from run to run, unlike every other column). */
  throughput: number;
}

export function summaryRow(f: CellFile): SummaryRow {
  const r = f.report, t = r.tlb;
  const walkRefs = t.walkRefs.reduce((s, n, i) => s + n * i, 0);
  return {
    id: f.id, trace: f.trace, config: f.config, entries: tlbEntriesOf(f.config),
    accesses: r.accesses.total,
    l1HitRate: t.l1.accesses > 0 ? t.l1.hits / t.l1.accesses : 0,
    l2HitRate: t.l2.accesses > 0 ? t.l2.hits / t.l2.accesses : undefined,
    missRatio: t.l1.accesses > 0 ? 1 - (t.l1.hits + t.l2.hits) / t.l1.accesses : 1,
    walks: t.walks, refsPerWalk: t.refsPerWalk, walkRefs,
    pscHits: t.psc.pml5.hits + t.psc.pml4.hits + t.psc.pdpt.hits + t.psc.pd.hits,
    throughput: r.time.accessesPerSecond,
  };
}

export const CSV_COLUMNS = ["trace", ...AXES, "id", "accesses", "l1_hit_rate", "l2_hit_rate", "miss_ratio", "walks",
  "refs_per_walk", "walk_refs", "psc_hits", "accesses_per_second"] as const;

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Full precision (the CSV is for tools); "" for what does not apply. */
export function summaryCsv(rows: SummaryRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of rows) {
    lines.push([r.trace, ...AXES.map((a) => r.config[a] ?? ""), r.id, r.accesses, r.l1HitRate, r.l2HitRate ?? "", r.missRatio,
      r.walks, r.refsPerWalk, r.walkRefs, r.pscHits, Math.round(r.throughput)].map((v) => csvField(String(v))).join(","));
  }
  return lines.join("\n") + "\n";
}

const pct = (x: number | undefined): string => (x === undefined ? "-" : `${(100 * x).toFixed(2)}%`);
const num = (n: number): string => n.toLocaleString("en-US");

/** The same rows for people: rounded, aligned, one table per trace. */
export function summaryText(rows: SummaryRow[], header: string): string {
  const axes = AXES.filter((a) => rows.some((r) => r.config[a] !== undefined));
  const cols = [...axes, "accesses", "L1 hit", "L2 hit", "miss ratio", "walks", "refs/walk", "PSC hits", "M acc/s"];
  const out = [header];
  for (const trace of [...new Set(rows.map((r) => r.trace))]) {
    const body = rows.filter((r) => r.trace === trace).map((r) => [...axes.map((a) => r.config[a] ?? "-"), num(r.accesses),
      pct(r.l1HitRate), pct(r.l2HitRate), pct(r.missRatio), num(r.walks), r.refsPerWalk.toFixed(2), num(r.pscHits),
      (r.throughput / 1e6).toFixed(1)]);
    const w = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i < axes.length ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
    out.push("", `trace ${trace}`, line(cols), line(w.map((n) => "-".repeat(n))), ...body.map(line));
  }
  return out.join("\n") + "\n";
}
