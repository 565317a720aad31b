import { type Command, Option } from "commander";
import type { OutputFormat } from "../../trace/convert.js";
import { convertFile } from "../../trace/convert-file.js";
import type { SourceOptions } from "../../trace/source.js";
import { parseCountIn } from "../parse.js";
import { addSourceOptions, givenOptions } from "../trace-source.js";

interface ConvertFlags extends SourceOptions { to?: OutputFormat; note?: string; limit?: number }

/** `wasmmu convert IN OUT`: between trace formats (WMT is the compact one). */
export function registerConvert(program: Command): void {
  const cmd = program.command("convert")
    .description("convert a trace (or a synthetic workload) to WMT, lackey text or ChampSim records; " +
      "OUT ending in .gz is gzip-compressed, in .br Brotli-compressed (slow to write, fast to read; for xz, write .wmt and run `xz -9` on it)")
    .argument("[in]", "input trace (omit with --synthetic)")
    .argument("[out]", "output file, e.g. trace.wmt, trace.wmt.br or trace.wmt.gz");
  addSourceOptions(cmd)
    .addOption(new Option("--to <format>", "output format (default: from OUT's name, else wmt)").choices(["wmt", "lackey", "champsim"]))
    .option("--note <text>", "provenance note stored in a WMT header (how the trace was recorded)")
    .option("--limit <n>", "convert only the first N accesses", parseCountIn(1))
    .action(async (input: string | undefined, out: string | undefined, o: ConvertFlags, self: Command) => {
      // With --synthetic the single argument is the output.
      if (out === undefined) { out = input; input = undefined; }
      if (out === undefined) throw new Error("convert: give the output file (wasmmu convert IN OUT, or wasmmu convert --synthetic KIND OUT)");
      const r = await convertFile({ input, out, to: o.to, note: o.note, limit: o.limit, source: { ...o, given: givenOptions(self) } });
      console.log(`${r.accesses.toLocaleString("en-US")} accesses → ${out} (${r.to})` +
        `${r.skipped ? `, ${r.skipped} malformed records skipped` : ""} in ${r.seconds.toFixed(2)} s`);
    });
}
