/**
 * The output of a planning run: the ordered steps (what was mapped with which
 * page size, which table page came from where, which hooks ran, when CR3
 * was switched), the record-shaped summary fields, and counts.
 */
import type { PgtAllocation } from "./alloc-low.js";
import type { Backend } from "./input.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";

export type Strategy = "linux" | "hpa";

export type PlanStep =
  /** An init_memory_mapping() call (linux) or a mapping batch (hpa). */
  | { op: "range"; start: number; end: number; phase: string }
  /** One split piece mapped with a page size. */
  | { op: "map"; start: number; end: number; pageSize: string }
  /** A page-table page allocated. */
  | { op: "alloc"; pa: number; level: string; source: string; caller: string }
  /** paravirt_alloc_* (Xen: make RO, pin L1) on table frames. */
  | { op: "hook"; frames: { pa: number; level: string }[]; why: string }
  /** A table page handed back (paravirt_release_*). */
  | { op: "release"; pa: number; level: string }
  /** load_cr3(). */
  | { op: "cr3"; pa: number; why: string }
  /** A note in the plan (phase boundaries of hpa, probe block). */
  | { op: "note"; text: string };

export interface PlanSummary {
  /** Table pages allocated per level (pre-existing tables excluded). */
  tablePages: Record<string, number>;
  totalTablePages: number;
  brkPages: number;
  memblockPages: number;
  /** Lowest / highest physical address of an allocated table page (−1 if none). */
  lowestTable: number;
  highestTable: number;
  /** Lowest table page taken from RAM (memblock) rather than brk (−1 if none). */
  lowestRamTable: number;
  hooks: number;
  cr3Switches: number;
  /** Leaf entries written. */
  leaves: number;
  /** Planning (and building, when a sink is attached) time in milliseconds. */
  timeMs: number;
}

export interface BootPlan {
  strategy: Strategy;
  mode: PagingMode;
  backend: Backend;
  pageSizes: string[];
  steps: PlanStep[];
  /** init_memory_mapping() ranges [start, end) in order (linux); mapping batches (hpa). */
  initMemoryMapping: [number, number][];
  /** Per init_memory_mapping call: its split pieces. */
  mapRanges: { start: number; end: number; pieces: [number, number, string][] }[];
  /** init_range_memory_mapping / memory_map_bottom_up calls. */
  mappingSteps: [string, number, number][];
  allocations: PgtAllocation[];
  topDownProbeBlock: [number, number] | null;
  pgtBufEndFinal: number;
  maxPfnMapped: number;
  /** direct_pages_count [none, 4k, 2M, 1G, 512G]. */
  directPages: number[];
  /** Mapped pfn ranges at the end (pfn_mapped[]). */
  pfnMapped: [number, number][];
  pgd: number;
  summary: PlanSummary;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;
const rng = (s: number, e: number): string => `[mem ${hex(s).padStart(10)}-${hex(e - 1).padStart(10)}]`;

function humanSize(n: number): string {
  for (const [u, s] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 1024]] as const)
    if (n >= s && n % s === 0) return `${n / s}${u}`;
  for (const [u, s] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 1024]] as const)
    if (n >= s) return `${(n / s).toFixed(1)}${u}`;
  return `${n}B`;
}

/**
 * Human-readable plan: one line per step, then the summary. `modeName` is how
 * the caller spells the paging mode (default: the PagingMode itself).
 */
export function formatPlan(p: BootPlan, opts: { maxSteps?: number; modeName?: string } = {}): string {
  const out: string[] = [];
  out.push(`boot plan: strategy ${p.strategy}, ${opts.modeName ?? p.mode}, ${p.backend}, page sizes ${p.pageSizes.join("+")}, pgd at ${hex(p.pgd)}`);
  const max = opts.maxSteps ?? Infinity;
  let shown = 0, hidden = 0;
  let i = 0;
  for (const s of mergeHookSteps(p.steps)) {
    if (shown >= max) { hidden++; continue; }
    shown++;
    const n = String(++i).padStart(5);
    switch (s.op) {
      case "range": out.push(`${n}  ${s.phase}: init_memory_mapping ${rng(s.start, s.end)} (${humanSize(s.end - s.start)})`); break;
      case "map": out.push(`${n}      map ${rng(s.start, s.end)} page ${s.pageSize}`); break;
      case "alloc": out.push(`${n}      page table (${s.level}) at ${hex(s.pa)} from ${s.source}  [${s.caller}]`); break;
      case "hook": out.push(`${n}      paravirt hook on ${s.frames.length} table page(s) (${s.why}): ` +
        s.frames.slice(0, 6).map((f) => `${f.level}@${hex(f.pa)}`).join(" ") + (s.frames.length > 6 ? " …" : "")); break;
      case "release": out.push(`${n}      release ${s.level} page ${hex(s.pa)}`); break;
      case "cr3": out.push(`${n}  CR3 ← ${hex(s.pa)} (${s.why})`); break;
      case "note": out.push(`${n}  -- ${s.text}`); break;
    }
  }
  if (hidden) out.push(`       … ${hidden} more steps (use --json for all)`);
  out.push(formatSummary(p));
  return out.join("\n");
}

/** Consecutive hook steps with the same reason read better as one line. */
function mergeHookSteps(steps: readonly PlanStep[]): PlanStep[] {
  const out: PlanStep[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (s.op === "hook" && last?.op === "hook" && last.why === s.why) out[out.length - 1] = { ...last, frames: [...last.frames, ...s.frames] };
    else out.push(s);
  }
  return out;
}

export function formatSummary(p: BootPlan): string {
  const s = p.summary;
  const lv = Object.entries(s.tablePages).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const dp = p.directPages;
  return [
    "summary:",
    `  page-table pages: ${s.totalTablePages} (${lv}); from brk ${s.brkPages}, from mapped memory ${s.memblockPages}`,
    `  tables sit at ${s.lowestTable < 0 ? "-" : hex(s.lowestTable)} … ${s.highestTable < 0 ? "-" : hex(s.highestTable)}` +
      (s.lowestRamTable < 0 ? "" : ` (those from RAM: ${hex(s.lowestRamTable)} and up)`),
    `  direct map: ${dp[1]} x 4k, ${dp[2]} x ${p.mode === "2level" ? "4M" : "2M"}, ${dp[3]} x 1G; mapped up to ${hex(p.maxPfnMapped * 4096)}`,
    `  hooks ${s.hooks}, CR3 switches ${s.cr3Switches}, leaf entries written ${s.leaves}, ${s.timeMs.toFixed(1)} ms`,
  ].join("\n");
}

/**
 * JSON in the record's vocabulary (hex strings, inclusive ends), so a plan can
 * be diffed against a boot. `modeName` as in formatPlan.
 */
export function planToJson(p: BootPlan, opts: { steps?: boolean; modeName?: string } = {}): Record<string, unknown> {
  const inc = ([s, e]: [number, number]): [string, string] => [hex(s), hex(e - 1)];
  const brk = p.allocations.filter((a) => a.source === "brk");
  const mb = p.allocations.filter((a) => a.source === "memblock");
  return {
    strategy: p.strategy,
    mode: opts.modeName ?? p.mode,
    backend: p.backend,
    page_sizes: p.pageSizes,
    top_down_probe_block: p.topDownProbeBlock ? inc(p.topDownProbeBlock) : null,
    init_memory_mapping: p.initMemoryMapping.map(inc),
    map_ranges: p.mapRanges.map((m) => ({ start: hex(m.start), end: hex(m.end - 1),
      map_ranges: m.pieces.map(([s, e, z]) => [hex(s), hex(e - 1), z]) })),
    mapping_steps: p.mappingSteps.map(([f, s, e]) => [f, hex(s), hex(e - 1)]),
    brk_pgtable: brk.map((a) => [hex(a.pa), hex(a.pa + a.num * 4096 - 1)]),
    brk_pgtable_pages: brk.reduce((n, a) => n + a.num, 0),
    memblock_pgtable: mb.map((a) => [hex(a.pa), hex(a.pa + a.num * 4096 - 1)]),
    memblock_pgtable_pages: mb.reduce((n, a) => n + a.num, 0),
    alloc_low_pages: p.allocations.map((a) => ({ num: a.num, phys: [hex(a.pa), hex(a.pa + a.num * 4096 - 1)],
      source: a.source, caller: a.caller, during: a.during, level: a.level, mapped_when_allocated: a.mapped })),
    pgt_buf: { end_final: hex(p.pgtBufEndFinal) },
    max_pfn_mapped_final: hex(p.maxPfnMapped),
    direct_pages_count_at_paging_init: p.directPages.map(hex),
    summary: { ...p.summary, lowestTable: hex(p.summary.lowestTable), highestTable: hex(p.summary.highestTable),
      lowestRamTable: p.summary.lowestRamTable < 0 ? null : hex(p.summary.lowestRamTable) },
    ...(opts.steps === false ? {} : { steps: p.steps.map(stepJson) }),
  };
}

function stepJson(s: PlanStep): Record<string, unknown> {
  const o: Record<string, unknown> = { ...s };
  for (const k of ["start", "end", "pa"]) if (typeof o[k] === "number") o[k] = hex(o[k] as number);
  if (s.op === "hook") o.frames = s.frames.map((f) => ({ pa: hex(f.pa), level: f.level }));
  return o;
}

export function summarize(p: Omit<BootPlan, "summary">, model: { countByLevel(): Record<string, number>; hooks: unknown[]; leavesWritten: number }, timeMs: number): PlanSummary {
  let lo = Infinity, hi = -1, brk = 0, mb = 0, loRam = Infinity;
  for (const a of p.allocations) {
    lo = Math.min(lo, a.pa); hi = Math.max(hi, a.pa + (a.num - 1) * 4096);
    if (a.source === "brk") brk += a.num; else { mb += a.num; loRam = Math.min(loRam, a.pa); }
  }
  const tablePages = model.countByLevel();
  return {
    tablePages,
    totalTablePages: Object.values(tablePages).reduce((a, b) => a + b, 0),
    brkPages: brk, memblockPages: mb,
    lowestTable: lo === Infinity ? -1 : lo, highestTable: hi, lowestRamTable: loRam === Infinity ? -1 : loRam,
    hooks: model.hooks.length,
    cr3Switches: p.steps.filter((s) => s.op === "cr3").length,
    leaves: model.leavesWritten,
    timeMs,
  };
}
