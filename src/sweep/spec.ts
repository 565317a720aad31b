/**
 * The sweep model: a sweep is traces × configurations, each pair a cell, each
 * cell one trace run (src/run/run-trace.ts). Configurations come from a grid
 * (the cartesian product of per-axis value lists) and/or an explicit list.
 * Every cell is normalised (defaults filled in, axes that do not apply to its
 * TLB organisation dropped) and named by a hash of its trace and normalised
 * configuration, so the same cell has the same id whatever the order it was
 * listed in — which is what lets a sweep resume. docs/SWEEP.md describes the
 * format.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { EngineName } from "../engine/engine.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";
import type { RunPageSize } from "../run/machine.js";
import type { TlbConfig, TlbGeometry } from "../tlb/config.js";
import { type SyntheticKind, SYNTHETIC_DEFAULTS, SYNTHETIC_KINDS } from "../trace/synthetic.js";
import { parseCountIn, parseNumberIn, parseSizeIn, parseUintIn } from "../cli/parse.js";
import { parse as parseYaml } from "yaml";

/** The axes, in the order the summary lists them. */
export const AXES = ["engine", "mode", "page-size", "tlb", "tlb-entries", "l2", "replacement", "psc"] as const;
export type Axis = (typeof AXES)[number];

/** A normalised configuration: every axis that applies to the cell, as its canonical text. */
export type CellConfig = Partial<Record<Axis, string>>;

const DEFAULTS: Record<Axis, string> = {
  engine: "wasm", mode: "4level", "page-size": "4k", tlb: "fast", "tlb-entries": "16384", l2: "128x8", replacement: "lru", psc: "off",
};

const PSC_LEVELS = ["pml5", "pml4", "pdpt", "pd"] as const;
const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function choice(values: readonly string[]): (v: string) => string {
  return (v) => {
    if (!values.includes(v)) throw new Error(`expected one of ${values.join(", ")}`);
    return v;
  };
}

/** "SETSxWAYS" with the limits of src/tlb/config.ts. */
function geometry(v: string): TlbGeometry {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new Error("expected SETSxWAYS such as 128x8");
  const sets = Number(m[1]), ways = Number(m[2]);
  if (!isPow2(sets) || sets > 1 << 22) throw new Error("the number of sets must be a power of two from 1 to 4,194,304");
  if (ways < 1 || ways > 32) throw new Error("the number of ways must be 1 to 32");
  return { sets, ways };
}

/** Each axis: its value's canonical text, or an error saying what was expected. */
const PARSE: Record<Axis, (v: string) => string> = {
  engine: choice(["wasm", "ts"]),
  mode: choice(["2level", "pae", "4level", "5level"]),
  "page-size": choice(["4k", "2m", "thp"]),
  tlb: choice(["fast", "research", "off"]),
  "tlb-entries": (v) => {
    let n: number;
    try { n = parseCountIn(1, 1 << 22)(v); } catch { throw new Error("expected a power of two from 1 to 4M"); }
    if (!isPow2(n)) throw new Error("expected a power of two from 1 to 4M");
    return String(n);
  },
  l2: (v) => {
    if (v === "none") return v;
    const g = geometry(v);
    return `${g.sets}x${g.ways}`;
  },
  replacement: choice(["lru", "plru"]),
  // off, on (the default caches), or sizes: LEVEL:SETSxWAYS joined by "+" (the others keep their default).
  psc: (v) => {
    if (v === "off" || v === "on") return v;
    const parts = v.split("+").map((p) => {
      const [level, g, ...rest] = p.split(":");
      if (!PSC_LEVELS.includes(level as never) || g === undefined || rest.length)
        throw new Error(`expected off, on, or LEVEL:SETSxWAYS joined by "+" (levels ${PSC_LEVELS.join(", ")}), e.g. pd:16x4+pdpt:4x4`);
      const geo = geometry(g);
      return [level!, `${geo.sets}x${geo.ways}`] as const;
    });
    const seen = new Set(parts.map(([l]) => l));
    if (seen.size !== parts.length) throw new Error("a paging-structure cache level is given twice");
    return parts.sort((a, b) => PSC_LEVELS.indexOf(a[0] as never) - PSC_LEVELS.indexOf(b[0] as never)).map(([l, g]) => `${l}:${g}`).join("+");
  },
};

/** `value` of `axis` in canonical form; errors name the axis and the value (`where` says where it was given). */
export function parseAxisValue(where: string, axis: string, value: unknown): string {
  if (!(AXES as readonly string[]).includes(axis)) throw new Error(`${where}: unknown axis "${axis}" (axes: ${AXES.join(", ")})`);
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || text === "") throw new Error(`${where}: axis ${axis}: expected a value, got ${JSON.stringify(value)}`);
  try { return PARSE[axis as Axis](text); } catch (e) {
    throw new Error(`${where}: axis ${axis}: bad value "${text}": ${(e as Error).message}`);
  }
}

/**
 * A configuration with defaults filled in and the axes that do not apply to
 * it dropped: tlb-entries only shapes the fast TLB, l2 the research one, the
 * replacement policy only set-associative structures (the research TLB or the
 * paging-structure caches), and an "off" TLB caches nothing at all.
 */
export function normaliseConfig(given: CellConfig): CellConfig {
  const c: Record<Axis, string> = { ...DEFAULTS, ...given };
  const out: CellConfig = { engine: c.engine, mode: c.mode, "page-size": c["page-size"], tlb: c.tlb };
  if (c.tlb === "fast") out["tlb-entries"] = c["tlb-entries"];
  if (c.tlb === "research") out.l2 = c.l2;
  if (c.tlb !== "off") out.psc = c.psc;
  if (c.tlb === "research" || (c.tlb !== "off" && c.psc !== "off")) out.replacement = c.replacement;
  return out;
}

/** Axes a configuration may carry for it to be runnable (tree-PLRU needs power-of-two ways). */
function checkConfig(c: CellConfig): void {
  if (c.replacement !== "plru") return;
  const ways = [c.l2, ...(c.psc ?? "").split("+").map((p) => p.split(":")[1])]
    .filter((g): g is string => g !== undefined && g !== "none" && /x/.test(g)).map((g) => Number(g.split("x")[1]));
  const bad = ways.find((w) => !isPow2(w));
  if (bad !== undefined) throw new Error(`replacement plru needs a power-of-two number of ways, got ${bad}`);
}

/** The TLB configuration of the engine for a normalised configuration. */
export function tlbConfigOf(c: CellConfig): TlbConfig {
  const tlb: TlbConfig = { mode: c.tlb as TlbConfig["mode"] };
  if (c["tlb-entries"]) tlb.entries4k = Number(c["tlb-entries"]);
  if (c.l2) tlb.l2 = c.l2 === "none" ? null : { unified: geometry(c.l2), "1g": { sets: 4, ways: 4 } };
  if (c.replacement) tlb.replacement = c.replacement as "lru" | "plru";
  if (c.psc === "on") tlb.psc = true;
  else if (c.psc && c.psc !== "off")
    tlb.psc = Object.fromEntries(c.psc.split("+").map((p) => { const [l, g] = p.split(":"); return [l!, geometry(g!)]; }));
  return tlb;
}

/** The machine part of the run options. */
export function machineOf(c: CellConfig): { engine: EngineName; mode: PagingMode; pageSize: RunPageSize } {
  return { engine: c.engine as EngineName, mode: c.mode as PagingMode, pageSize: c["page-size"] as RunPageSize };
}

/**
 * The number of TLB entries for 4 KiB pages that the curves put on their x
 * axis: the fast TLB's 4 KiB array, the research TLB's L2 (or, without one,
 * its L1 data TLB for 4 KiB pages: 16 × 4); none when nothing is cached.
 */
export function tlbEntriesOf(c: CellConfig): number | undefined {
  if (c.tlb === "fast") return Number(c["tlb-entries"]);
  if (c.tlb === "research") {
    if (c.l2 === "none") return 64;
    const [s, w] = c.l2!.split("x").map(Number);
    return s! * w!;
  }
  return undefined;
}

/** A trace of the sweep: a file, or a synthetic workload and its parameters. */
export type TraceSpec =
  | { file: string }
  | { synthetic: SyntheticKind; params: Record<string, number> };

const SYNTHETIC_PARAMS: Record<string, (v: string) => number> = {
  count: parseCountIn(1), pages: parseCountIn(1, 2 ** 35), alpha: parseNumberIn(0.01, 99), stride: parseCountIn(1, 2 ** 32),
  "min-pages": parseCountIn(1, 2 ** 30), "max-pages": parseCountIn(1, 2 ** 30), "write-ratio": parseNumberIn(0, 1),
  seed: parseUintIn(0, 2 ** 32 - 1), base: parseUintIn(0, 2 ** 47 - 4096),
};

/**
 * A trace as given: a file path, or `synthetic:KIND[:KEY=VALUE,…]` (keys
 * count, pages, alpha, stride, min-pages, max-pages, write-ratio, seed, base,
 * as the `run` flags of the same names).
 */
export function parseTrace(where: string, t: string): TraceSpec {
  if (!t.startsWith("synthetic:")) return { file: t };
  const [, kind, rest, ...more] = t.split(":");
  if (!SYNTHETIC_KINDS.includes(kind as SyntheticKind) || more.length)
    throw new Error(`${where}: trace "${t}": expected synthetic:KIND[:KEY=VALUE,…] with KIND one of ${SYNTHETIC_KINDS.join(", ")}`);
  const params: Record<string, number> = {};
  for (const kv of rest ? rest.split(",") : []) {
    const [k, v] = kv.split("=");
    const parse = k === undefined ? undefined : SYNTHETIC_PARAMS[k];
    if (!parse || v === undefined)
      throw new Error(`${where}: trace "${t}": "${kv}" is not KEY=VALUE with KEY one of ${Object.keys(SYNTHETIC_PARAMS).join(", ")}`);
    try { params[k!] = parse(v); } catch (e) {
      throw new Error(`${where}: trace "${t}": ${k}: ${(e as Error).message}`);
    }
  }
  params.count ??= 1_000_000;
  return { synthetic: kind as SyntheticKind, params };
}

/** What names a trace in the summary and the report. */
export function traceLabel(t: TraceSpec): string {
  if ("file" in t) return t.file.split(/[\\/]/).pop()!;
  const ps = Object.keys(t.params).sort().map((k) => `${k}=${t.params[k]}`);
  return `synthetic:${t.synthetic}${ps.length ? `:${ps.join(",")}` : ""}`;
}

/** What identifies a trace in a cell's id: the absolute path of a file, the parameters of a workload. */
function traceKey(t: TraceSpec): string {
  return "file" in t ? resolve(t.file) : traceLabel(t);
}

/** Options every cell shares. */
export interface SweepFixed {
  /** Stop each run after this many accesses. */
  limit?: number;
  /** Guest RAM in bytes. */
  mem: number;
  /** Trace files: skip malformed records and count them (`run --lenient`). */
  lenient?: boolean;
}

export interface SweepSpec {
  traces: TraceSpec[];
  /** Per-axis value lists; their cartesian product. */
  grid: Partial<Record<Axis, string[]>>;
  /** Explicit configurations, run in addition to the grid's. */
  configs: CellConfig[];
  fixed: SweepFixed;
}

export interface Cell {
  id: string;
  trace: TraceSpec;
  traceLabel: string;
  config: CellConfig;
  fixed: SweepFixed;
}

/** The grid's configurations: one per combination of its axes' values (one empty one for an empty grid). */
function gridConfigs(grid: Partial<Record<Axis, string[]>>): CellConfig[] {
  let out: CellConfig[] = [{}];
  for (const axis of AXES) {
    const values = grid[axis];
    if (!values) continue;
    out = out.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  }
  return out;
}

/**
 * The cells of a sweep, one per trace × distinct normalised configuration,
 * sorted by trace (as listed) then by their axes' values. An axis whose
 * values apply to none of the configurations (tlb-entries with only a
 * research TLB, say) is an error rather than silently unused.
 */
export function expandCells(spec: SweepSpec): Cell[] {
  const configs = [...(spec.configs.length === 0 || Object.keys(spec.grid).length > 0 ? gridConfigs(spec.grid) : []), ...spec.configs];
  const norm = new Map<string, CellConfig>();
  const used = new Set<string>();
  for (const c of configs) {
    const n = normaliseConfig(c);
    try { checkConfig(n); } catch (e) { throw new Error(`configuration ${describeConfig(c)}: ${(e as Error).message}`); }
    for (const k of Object.keys(n)) used.add(k);
    norm.set(JSON.stringify(n), n);
  }
  for (const axis of Object.keys(spec.grid))
    if (!used.has(axis)) throw new Error(`axis ${axis} applies to no configuration of the sweep (${
      axis === "tlb-entries" ? "it sizes the fast TLB: add tlb=fast" : axis === "l2" ? "it shapes the research TLB: add tlb=research"
        : "replacement applies to the research TLB and to paging-structure caches: add tlb=research or psc=on"})`);
  const sorted = [...norm.values()].sort(compareConfigs);
  const cells: Cell[] = [];
  const ids = new Set<string>();
  for (const trace of spec.traces) {
    for (const config of sorted) {
      const key = JSON.stringify([traceKey(trace), AXES.map((a) => config[a] ?? null), spec.fixed.limit ?? null, spec.fixed.mem,
        ...("file" in trace && spec.fixed.lenient ? ["lenient"] : [])]);
      const id = createHash("sha256").update(key).digest("hex").slice(0, 16);
      // A trace listed twice (the file and the command line, say) is one trace.
      if (ids.has(id)) continue;
      ids.add(id);
      cells.push({ id, trace, traceLabel: traceLabel(trace), config, fixed: spec.fixed });
    }
  }
  return cells;
}

/** Axis by axis: numbers as numbers (64 before 256), the rest as text. */
export function compareConfigs(a: CellConfig, b: CellConfig): number {
  for (const axis of AXES) {
    const x = a[axis] ?? "", y = b[axis] ?? "";
    if (x === y) continue;
    const nx = Number(x), ny = Number(y);
    if (x !== "" && y !== "" && Number.isFinite(nx) && Number.isFinite(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function describeConfig(c: CellConfig): string {
  return AXES.filter((a) => c[a] !== undefined).map((a) => `${a}=${c[a]}`).join(" ") || "(defaults)";
}

/** `AXIS=V1,V2,…` of --grid. */
export function parseGridArg(arg: string): [Axis, string[]] {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new Error(`--grid: expected AXIS=VALUE[,VALUE…] (axes: ${AXES.join(", ")}), got "${arg}"`);
  const axis = arg.slice(0, eq), values = arg.slice(eq + 1).split(",");
  const where = "--grid";
  return [axis as Axis, dedupe(values.map((v) => parseAxisValue(where, axis, v)))];
}

/** `AXIS=VALUE,AXIS=VALUE…` of --config: one explicit configuration. */
export function parseConfigArg(arg: string): CellConfig {
  const c: CellConfig = {};
  for (const kv of arg.split(",")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new Error(`--config: expected AXIS=VALUE[,AXIS=VALUE…], got "${arg}"`);
    const axis = kv.slice(0, eq);
    if (axis in c) throw new Error(`--config: axis ${axis} is given twice in "${arg}"`);
    c[axis as Axis] = parseAxisValue("--config", axis, kv.slice(eq + 1));
  }
  return c;
}

const dedupe = (xs: string[]): string[] => [...new Set(xs)];

/**
 * A sweep file, JSON or (named *.yaml / *.yml) YAML: { "traces": [...],
 * "grid": { AXIS: [values] }, "configs": [{ AXIS: value }], "limit": N,
 * "mem": "1G", "lenient": true }. Errors name the file and the field.
 */
export function parseSpecFile(name: string, text: string): Omit<SweepSpec, "fixed"> & { limit?: number; mem?: number; lenient?: boolean } {
  let j: unknown;
  const yaml = /\.ya?ml$/i.test(name);
  try { j = yaml ? parseYaml(text) : JSON.parse(text); } catch (e) {
    throw new Error(`${name}: not valid ${yaml ? "YAML" : "JSON"}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw new Error(`${name}: expected ${yaml ? "a YAML mapping" : "a JSON object"}`);
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["traces", "grid", "configs", "limit", "mem", "lenient"].includes(k))
      throw new Error(`${name}: unknown field "${k}" (fields: traces, grid, configs, limit, mem, lenient)`);
  const traces: TraceSpec[] = [];
  if (o.traces !== undefined) {
    if (!Array.isArray(o.traces) || !o.traces.every((t) => typeof t === "string"))
      throw new Error(`${name}: traces: expected a list of file paths or synthetic:KIND[:KEY=VALUE,…] strings`);
    for (const [i, t] of (o.traces as string[]).entries()) traces.push(parseTrace(`${name}: traces[${i}]`, t));
  }
  const grid: Partial<Record<Axis, string[]>> = {};
  if (o.grid !== undefined) {
    if (typeof o.grid !== "object" || o.grid === null || Array.isArray(o.grid)) throw new Error(`${name}: grid: expected an object of AXIS: [values]`);
    for (const [axis, vs] of Object.entries(o.grid)) {
      const list = Array.isArray(vs) ? vs : [vs];
      if (list.length === 0) throw new Error(`${name}: grid.${axis}: expected at least one value`);
      grid[axis as Axis] = dedupe(list.map((v) => parseAxisValue(`${name}: grid`, axis, v)));
    }
  }
  const configs: CellConfig[] = [];
  if (o.configs !== undefined) {
    if (!Array.isArray(o.configs)) throw new Error(`${name}: configs: expected a list of objects of AXIS: value`);
    for (const [i, c] of o.configs.entries()) {
      if (typeof c !== "object" || c === null || Array.isArray(c)) throw new Error(`${name}: configs[${i}]: expected an object of AXIS: value`);
      configs.push(Object.fromEntries(Object.entries(c).map(([a, v]) => [a, parseAxisValue(`${name}: configs[${i}]`, a, v)])));
    }
  }
  const out: Omit<SweepSpec, "fixed"> & { limit?: number; mem?: number; lenient?: boolean } = { traces, grid, configs };
  if (o.lenient !== undefined) {
    if (typeof o.lenient !== "boolean") throw new Error(`${name}: lenient: expected true or false, got ${JSON.stringify(o.lenient)}`);
    out.lenient = o.lenient;
  }
  if (o.limit !== undefined) {
    try { out.limit = parseCountIn(1)(String(o.limit)); } catch (e) { throw new Error(`${name}: limit: ${(e as Error).message}`); }
  }
  if (o.mem !== undefined) {
    try { out.mem = parseSizeIn(4 << 20, 2 ** 45, 4096)(String(o.mem)); } catch (e) { throw new Error(`${name}: mem: ${(e as Error).message}`); }
  }
  return out;
}

/** The synthetic defaults as the run options want them (src/trace/source.ts). */
export const SOURCE_DEFAULTS = {
  count: 1_000_000, pages: SYNTHETIC_DEFAULTS.pages, alpha: SYNTHETIC_DEFAULTS.alpha, stride: SYNTHETIC_DEFAULTS.stride,
  minPages: SYNTHETIC_DEFAULTS.minPages, maxPages: SYNTHETIC_DEFAULTS.maxPages, writeRatio: SYNTHETIC_DEFAULTS.writeRatio,
  seed: SYNTHETIC_DEFAULTS.seed, base: SYNTHETIC_DEFAULTS.base,
};
