import type { Command } from "commander";
import { ptdump } from "../../kernel/x86/ptdump.js";
import { formatReport } from "../../run/report.js";
import { runTrace } from "../../run/run-trace.js";
import { addRunOptions, type RunFlags, runOptions } from "../run-options.js";

/**
 * `wasmmu run [TRACE]`: a trace through demand paging and the TLB, then the
 * report. With no TRACE (and no --synthetic), the bundled default workload.
 */
export function registerRun(program: Command): void {
  const cmd = program.command("run", { isDefault: true })
    .description("run a memory trace (lackey, ChampSim, WMT; plain, gzip, Brotli or xz) or a synthetic workload through " +
      "demand paging and the TLB, and print the statistics (default command; with no TRACE: the bundled gzip trace)");
  addRunOptions(cmd)
    .option("--json", "print the report as JSON (field names: docs/RUN-REPORT.md)")
    .option("--ptdump", "after the report, list the process's address space as /sys/kernel/debug/page_tables does")
    .action(async (trace: string | undefined, o: RunFlags & { json?: boolean; ptdump?: boolean }, self: Command) => {
      const { report, machine, aborted } = await runTrace(runOptions(trace, o, self));
      // Ctrl-C: the statistics so far are printed, and the exit status says the run was cut short.
      if (aborted) process.exitCode = 130;
      console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
      if (o.ptdump && !o.json) {
        const mm = machine.currentMm;
        console.log(mm ? `\n${ptdump(machine.kernel, mm).trimEnd()}` : "\n(no process ran: nothing to dump)");
      }
    });
}
