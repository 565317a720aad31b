/**
 * The trace-source options shared by `run` and `convert`: a file (any
 * format, plain or compressed) or a synthetic workload.
 */
import { type Command, Option } from "commander";
import { openTrace, type FileFormat } from "../trace/open.js";
import type { TraceReader } from "../trace/reader.js";
import { SYNTHETIC_DEFAULTS, SYNTHETIC_KINDS, type SyntheticKind, SyntheticReader, ZIPF_MAX_PAGES } from "../trace/synthetic.js";
import { parseCountIn, parseNumberIn, parseUintIn } from "./parse.js";

export interface SourceOptions {
  format?: FileFormat;
  lenient?: boolean;
  synthetic?: SyntheticKind;
  count: number;
  pages: number;
  alpha: number;
  stride: number;
  minPages: number;
  maxPages: number;
  writeRatio: number;
  seed: number;
  base: number;
  /** Options given on the command line (not defaults), by attribute name: see givenOptions. */
  given?: ReadonlySet<string>;
}

/** Top of the synthetic workloads' address range: the x86-64 4-level user half. */
const USER_TOP = 2 ** 47;
const MAX_PAGES = 2 ** 35;

/** Synthetic-only options (attribute name → flag) and file-only ones. */
const SYNTHETIC_ONLY: Record<string, string> = {
  count: "--count", pages: "--pages", alpha: "--alpha", stride: "--stride", minPages: "--min-pages", maxPages: "--max-pages",
  writeRatio: "--write-ratio", seed: "--seed", base: "--base",
};
const FILE_ONLY: Record<string, string> = { format: "--format", lenient: "--lenient" };

export function addSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--format <format>", "trace format (default: from the file name, then the content)").choices(["lackey", "champsim", "wmt"]))
    .option("--lenient", "skip malformed records and count them instead of stopping at the first")
    .addOption(new Option("--synthetic <kind>", "generate a workload instead of reading a file").choices([...SYNTHETIC_KINDS]))
    .addOption(new Option("--count <n>", "synthetic: number of accesses (e.g. 10M; for the first N accesses of a trace file use --limit)")
      .argParser(parseCountIn(1)).default(10_000_000, "10M"))
    .addOption(new Option("--pages <n>", "synthetic: working set in 4 KiB pages").argParser(parseCountIn(1, MAX_PAGES)).default(SYNTHETIC_DEFAULTS.pages))
    .option("--alpha <a>", "synthetic zipf: exponent", parseNumberIn(0.01, 99), SYNTHETIC_DEFAULTS.alpha)
    .option("--stride <bytes>", "synthetic strided: bytes between accesses", parseCountIn(1, 2 ** 32), SYNTHETIC_DEFAULTS.stride)
    .option("--min-pages <n>", "synthetic sweep: smallest working set", parseCountIn(1, 2 ** 30), SYNTHETIC_DEFAULTS.minPages)
    .option("--max-pages <n>", "synthetic sweep: largest working set", parseCountIn(1, 2 ** 30), SYNTHETIC_DEFAULTS.maxPages)
    .option("--write-ratio <f>", "synthetic: fraction of writes", parseNumberIn(0, 1), SYNTHETIC_DEFAULTS.writeRatio)
    .option("--seed <n>", "synthetic: random seed (32 bits)", parseUintIn(0, 2 ** 32 - 1), SYNTHETIC_DEFAULTS.seed)
    .addOption(new Option("--base <va>", "synthetic: first virtual address (4 KiB aligned, below 2^47)")
      .argParser(parseUintIn(0, USER_TOP - 4096, (n) => (n % 4096 !== 0 ? "expected a multiple of 4096 (0x1000)" : null)))
      .default(SYNTHETIC_DEFAULTS.base, `0x${SYNTHETIC_DEFAULTS.base.toString(16)}`));
}

/** The options of `cmd` that were given on the command line. */
export function givenOptions(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli"));
}

/**
 * Options that would be silently ignored, and synthetic parameters that do not
 * fit together: errors that name the flags.
 */
function checkSourceOptions(file: string | undefined, o: SourceOptions): void {
  const given = o.given ?? new Set<string>();
  if (o.synthetic) {
    for (const [k, flag] of Object.entries(FILE_ONLY))
      if (given.has(k)) throw new Error(`${flag} applies to trace files, not to --synthetic workloads`);
    if (file !== undefined) throw new Error(`give either a TRACE file or --synthetic, not both`);
    const top = (pages: number): number => o.base + pages * 4096;
    if (o.synthetic === "zipf" && o.pages > ZIPF_MAX_PAGES)
      throw new Error(`--pages: a zipf working set is at most ${ZIPF_MAX_PAGES.toLocaleString("en-US")} pages, got ${o.pages.toLocaleString("en-US")}`);
    if (o.synthetic === "sweep") {
      if (o.maxPages < o.minPages) throw new Error(`--max-pages (${o.maxPages}) must be at least --min-pages (${o.minPages})`);
      if (top(o.maxPages) > USER_TOP) throw new Error(`--base + --max-pages × 4096 must stay below 2^47 (0x800000000000)`);
    } else if (top(o.pages) > USER_TOP) {
      throw new Error(`--base + --pages × 4096 must stay below 2^47 (0x800000000000)`);
    }
    return;
  }
  for (const [k, flag] of Object.entries(SYNTHETIC_ONLY)) {
    if (!given.has(k)) continue;
    throw new Error(k === "count"
      ? "--count is the length of a --synthetic workload; for the first N accesses of a trace file use --limit N"
      : `${flag} applies to --synthetic workloads only`);
  }
}

/** Open the source the options describe; `file` may be undefined only with --synthetic. */
export async function openSource(file: string | undefined, o: SourceOptions): Promise<TraceReader> {
  checkSourceOptions(file, o);
  if (o.synthetic) {
    return new SyntheticReader({
      kind: o.synthetic, count: o.count, pages: o.pages, alpha: o.alpha, stride: o.stride,
      minPages: o.minPages, maxPages: o.maxPages, writeRatio: o.writeRatio, seed: o.seed, base: o.base,
    });
  }
  if (file === undefined) throw new Error("no trace given: pass a TRACE file or --synthetic uniform|zipf|strided|sweep");
  return openTrace(file, { format: o.format, lenient: o.lenient });
}
