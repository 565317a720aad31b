/**
 * The trace-source options shared by `run` and `convert`: a file (any
 * format, plain or compressed) or a synthetic workload.
 */
import { type Command, Option } from "commander";
import { openTrace, type FileFormat } from "../trace/open.js";
import type { TraceReader } from "../trace/reader.js";
import { SYNTHETIC_DEFAULTS, SYNTHETIC_KINDS, type SyntheticKind, SyntheticReader } from "../trace/synthetic.js";
import { parseCount, parseNumberIn, parseUint } from "./parse.js";

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
}

export function addSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--format <format>", "trace format (default: from the file name, then the content)").choices(["lackey", "champsim", "wmt"]))
    .option("--lenient", "skip malformed records and count them instead of stopping at the first")
    .addOption(new Option("--synthetic <kind>", "generate a workload instead of reading a file").choices([...SYNTHETIC_KINDS]))
    .option("--count <n>", "synthetic: number of accesses (e.g. 10M)", parseCount, 10_000_000)
    .option("--pages <n>", "synthetic: working set in 4 KiB pages", parseCount, SYNTHETIC_DEFAULTS.pages)
    .option("--alpha <a>", "synthetic zipf: exponent", parseNumberIn(0.01, 99), SYNTHETIC_DEFAULTS.alpha)
    .option("--stride <bytes>", "synthetic strided: bytes between accesses", parseCount, SYNTHETIC_DEFAULTS.stride)
    .option("--min-pages <n>", "synthetic sweep: smallest working set", parseCount, SYNTHETIC_DEFAULTS.minPages)
    .option("--max-pages <n>", "synthetic sweep: largest working set", parseCount, SYNTHETIC_DEFAULTS.maxPages)
    .option("--write-ratio <f>", "synthetic: fraction of writes", parseNumberIn(0, 1), SYNTHETIC_DEFAULTS.writeRatio)
    .option("--seed <n>", "synthetic: random seed", parseUint, SYNTHETIC_DEFAULTS.seed)
    .option("--base <va>", "synthetic: first virtual address", parseUint, SYNTHETIC_DEFAULTS.base);
}

/** Open the source the options describe; `file` may be undefined only with --synthetic. */
export async function openSource(file: string | undefined, o: SourceOptions): Promise<TraceReader> {
  if (o.synthetic) {
    if (file !== undefined) throw new Error(`give either a TRACE file or --synthetic, not both`);
    return new SyntheticReader({
      kind: o.synthetic, count: o.count, pages: o.pages, alpha: o.alpha, stride: o.stride,
      minPages: o.minPages, maxPages: o.maxPages, writeRatio: o.writeRatio, seed: o.seed, base: o.base,
    });
  }
  if (file === undefined) throw new Error("no trace given: pass a TRACE file or --synthetic uniform|zipf|strided|sweep");
  return openTrace(file, { format: o.format, lenient: o.lenient });
}
