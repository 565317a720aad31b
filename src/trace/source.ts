/**
 * Where the accesses of a run or a conversion come from: a trace file (any
 * format, plain or compressed) or a synthetic workload. The options are
 * checked together before anything is opened, so that a parameter that would
 * be silently ignored, or synthetic parameters that do not fit together, stop
 * with an error that names the option's command-line flag.
 */
import { openTrace, type FileFormat } from "./open.js";
import type { TraceReader } from "./reader.js";
import { type SyntheticKind, SyntheticReader, ZIPF_MAX_PAGES } from "./synthetic.js";

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
  /**
   * The options set on purpose (not left at their defaults), by attribute
   * name: only those can be "ignored" (a --seed for a trace file is an error,
   * the default seed is not).
   */
  given?: ReadonlySet<string>;
}

/** Top of the synthetic workloads' address range: the x86-64 4-level user half. */
export const USER_TOP = 2 ** 47;
/** Largest synthetic working set in 4 KiB pages (--pages). */
export const MAX_PAGES = 2 ** 35;

/** Synthetic-only options (attribute name → flag) and file-only ones. */
const SYNTHETIC_ONLY: Record<string, string> = {
  count: "--count", pages: "--pages", alpha: "--alpha", stride: "--stride", minPages: "--min-pages", maxPages: "--max-pages",
  writeRatio: "--write-ratio", seed: "--seed", base: "--base",
};
const FILE_ONLY: Record<string, string> = { format: "--format", lenient: "--lenient" };

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

/** Open the source the options describe; `file` may be undefined only with a synthetic workload. */
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
