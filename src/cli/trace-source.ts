/**
 * The trace-source flags shared by `run` and `convert`: a file (any format,
 * plain or compressed) or a synthetic workload. What they describe is opened
 * by src/trace/source.ts.
 */
import { type Command, Option } from "commander";
import { MAX_PAGES, USER_TOP } from "../trace/source.js";
import { SYNTHETIC_DEFAULTS, SYNTHETIC_KINDS } from "../trace/synthetic.js";
import { parseCountIn, parseNumberIn, parseUintIn } from "./parse.js";

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
