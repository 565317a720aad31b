/**
 * One entry point for tools (the CLI, tests): turn options into a BootInput,
 * plan with a strategy, optionally build in guest memory and verify, and say
 * whether the result is a success.
 */
import { readFile } from "node:fs/promises";
import type { EngineName } from "../engine/engine.js";
import type { StepRule } from "./alloc-low.js";
import { type BuildOptions, type BuildResult, buildAndVerify, plan } from "./build.js";
import { E820Error, type E820Entry, parseE820 } from "./e820.js";
import { type BootMode, BOOT_MODES } from "./geometry.js";
import { type Backend, type BootInput, BootInputError, inputFromE820, inputFromMem, kernelLayoutAt, parseSize } from "./input.js";
import { type BootPlan, planToJson, type Strategy } from "./plan.js";
import { type BootRecord, compareWithRecord, inputFromRecord, parseRecords } from "./record.js";
import { xenBuildOptions, xenStartOfDayTables } from "./xen.js";

export interface BootOptions {
  e820?: string;          // file
  mem?: string;           // "64G"
  fromRecord?: string;    // file (JSONL)
  recordId?: string;
  strategy?: Strategy;
  xen?: boolean;
  mode?: BootMode;
  pageSizes?: string;     // "4k,2M,1G"
  brk?: number;
  bottomUp?: boolean;
  stepRule?: StepRule;
  /** Physical kernel image as "START-END" (hex, decimal or sizes like 16M). */
  kernel?: string;
}

/** "0x1000000-0x4430000", "16M-68M" → [start, end). */
export function parseRange(s: string): [number, number] {
  const m = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(s);
  if (!m) throw new BootInputError(`bad range "${s}" (expected START-END, e.g. 0x1000000-0x4430000 or 16M-68M)`);
  const num = (x: string): number => (/^0x[0-9a-f]+$/i.test(x) ? parseInt(x, 16) : parseSize(x));
  return [num(m[1]!), num(m[2]!)];
}

export function parsePageSizes(s: string, mode: BootMode): { pse: boolean; gbpages: boolean } {
  const set = new Set(s.split(/[,+\s]+/).filter(Boolean).map((x) => x.toUpperCase()));
  for (const x of set) if (!["4K", "2M", "4M", "1G"].includes(x)) throw new BootInputError(`unknown page size "${x}" (use 4k, 2M/4M, 1G)`);
  if (!set.has("4K")) throw new BootInputError("4k pages are always needed (the ISA range and unaligned edges)");
  const large = mode === "2level" ? "4M" : "2M";
  const other = mode === "2level" ? "2M" : "4M";
  if (set.has(other)) throw new BootInputError(`${other} pages do not exist in ${mode} mode (large pages are ${large})`);
  if (set.has("1G") && (mode === "pae" || mode === "2level")) throw new BootInputError(`1G pages need 64-bit paging, not ${mode}`);
  if (set.has("1G") && !set.has(large)) throw new BootInputError("1G pages without 2M pages are not a configuration the kernel has (GBPAGES implies PSE)");
  return { pse: set.has(large), gbpages: set.has("1G") };
}

export interface Loaded { input: BootInput; record?: BootRecord }

/** A file named by `flag`, or a one-line error naming the flag and the file. */
async function readInputFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied"
      : err instanceof Error ? err.message : String(err);
    throw new BootInputError(`${flag} ${path}: ${why}`);
  }
}

/** The --e820 file, parsed; a parse error names the file. */
async function readE820(path: string): Promise<E820Entry[]> {
  const text = await readInputFile("--e820", path);
  try {
    return parseE820(text);
  } catch (err) {
    if (err instanceof E820Error) throw new BootInputError(`--e820 ${path}: ${err.message}`);
    throw err;
  }
}

export async function loadInputs(o: BootOptions): Promise<Loaded[]> {
  const mode = o.mode ?? "x86-64";
  if (!BOOT_MODES.includes(mode)) throw new BootInputError(`unknown --mode ${mode} (expected ${BOOT_MODES.join(", ")})`);
  const sources = [o.e820, o.mem, o.fromRecord].filter((x) => x !== undefined).length;
  if (sources > 1) throw new BootInputError("give one of --e820 FILE, --mem SIZE, --from-record FILE");
  const backend: Backend = o.xen ? "xen" : "native";
  if (o.fromRecord && o.kernel !== undefined) throw new BootInputError("--kernel: a recorded boot carries its own kernel layout; drop one of them");
  if (o.fromRecord) {
    let recs = parseRecords(await readInputFile("--from-record", o.fromRecord));
    if (o.recordId) recs = recs.filter((r) => r.id === o.recordId);
    if (!recs.length) throw new BootInputError(o.recordId ? `no record with id "${o.recordId}" in ${o.fromRecord}` : `no records in ${o.fromRecord}`);
    return recs.map((r) => {
      const input = inputFromRecord(r);
      if (o.stepRule) input.stepRule = o.stepRule;
      if (o.xen) throw new BootInputError("--from-record reproduces a native boot; drop --xen");
      return { input, record: r };
    });
  }
  const sizes = o.pageSizes ? parsePageSizes(o.pageSizes, mode) : {};
  const kernel = o.kernel === undefined ? undefined : kernelLayoutAt(...parseRange(o.kernel), mode);
  const common = { mode, backend, ...sizes, pgtBufPages: o.brk, bottomUp: o.bottomUp, stepRule: o.stepRule, kernel };
  const input = o.e820 ? inputFromE820(await readE820(o.e820), common) : inputFromMem(parseSize(o.mem ?? "64G"), common);
  if (backend === "xen") {
    // plan-only runs see the same start-of-day tables a build creates
    const sod = xenStartOfDayTables(input);
    input.preexisting = sod.preexisting;
    for (const [s, e] of sod.reserve) input.memblock.reserve(s, e);
  }
  return [{ input }];
}

export interface RunResult { plan: BootPlan; build?: BuildResult; record?: BootRecord; differences?: string[] }

export async function runBoot(loaded: Loaded, strategy: Strategy, build: false | BuildOptions): Promise<RunResult> {
  const out: RunResult = build ? { plan: null as unknown as BootPlan } : { plan: plan(strategy, loaded.input) };
  if (build) {
    out.build = await buildAndVerify(strategy, loaded.input, build);
    out.plan = out.build.plan;
  }
  if (loaded.record) { out.record = loaded.record; out.differences = strategy === "linux" ? compareWithRecord(out.plan, loaded.record) : undefined; }
  return out;
}

/**
 * Above this much RAM a Xen PV guest's direct map is planned but not built
 * unless forced: under Xen every pte is a checked kernel store and every pte
 * page a validated pin (about 0.4 s and 13 MB per GiB).
 */
export const XEN_BUILD_LIMIT = 8 * 2 ** 30;

export interface BuildChoice {
  /** false: plan only. */
  build: boolean;
  engine: EngineName;
  /** Build a Xen PV guest even above XEN_BUILD_LIMIT. */
  forceBuild?: boolean;
}

/**
 * How to run `loaded`: the build options, or false to plan only. `xenTooBig`:
 * a build was asked for but the guest is above XEN_BUILD_LIMIT, so only the
 * plan is made.
 */
export function buildFor(loaded: Loaded, o: BuildChoice): { build: false | BuildOptions; xenTooBig: boolean } {
  const isXen = loaded.input.backend === "xen";
  const tooBig = isXen && loaded.input.maxPfn * 4096 > XEN_BUILD_LIMIT && !o.forceBuild;
  const build: false | BuildOptions = o.build === false || tooBig ? false : { engine: o.engine, ...(isXen ? xenBuildOptions() : {}) };
  return { build, xenTooBig: tooBig && o.build !== false };
}

/** A failed boot: the built map does not translate as planned, or the plan differs from the recorded boot. */
export function bootFailed(r: RunResult): boolean {
  return (r.build?.verify !== undefined && !r.build.verify.ok) || (r.differences?.length ?? 0) > 0;
}

/** The result as JSON: the plan with the record's field names, the verification, the comparison with the record. */
export function bootResultJson(r: RunResult, warnings?: string[]): Record<string, unknown> {
  const v = r.build?.verify;
  return {
    ...(r.record ? { id: r.record.id } : {}),
    ...planToJson(r.plan),
    ...(warnings ? { warnings } : {}),
    ...(v ? { verify: { ok: v.ok, translated: v.translated, regions_2M: v.regions, pages_4k: v.pages,
      mismatches: v.mismatches.map((m) => ({ va: `0x${m.va.toString(16)}`, pa: `0x${m.pa.toString(16)}`, got: m.got })),
      tables_from_unmapped: v.tablesFromUnmapped.map((x) => `0x${x.toString(16)}`), end_faults: v.endFaults } } : {}),
    ...(r.differences ? { matches_record: r.differences.length === 0, differences: r.differences } : {}),
  };
}
