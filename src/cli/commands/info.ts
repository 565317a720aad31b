import type { Command } from "commander";
import { infoTlb } from "../../run/info-tlb.js";
import { runTrace } from "../../run/run-trace.js";
import { parseCountIn } from "../parse.js";
import { addRunOptions, type RunFlags, runOptions } from "../run-options.js";

/** `wasmmu info tlb`: QEMU's monitor command, on the address space a trace run leaves behind. */
export function registerInfo(program: Command): void {
  const info = program.command("info").description("inspect a machine, like QEMU's monitor `info` commands");
  const tlb = info.command("tlb")
    .description("run a trace (default: the bundled one), then list the mappings of the process's page tables " +
      "as QEMU's `info tlb` does: VIRTUAL: PHYSICAL XGPDACTUW");
  addRunOptions(tlb)
    .option("--user", "only the user half (skip the kernel's direct map)")
    .option("--max-lines <n>", "print at most N mappings", parseCountIn(1))
    .action(async (trace: string | undefined, o: RunFlags & { user?: boolean; maxLines?: number }, self: Command) => {
      const { machine, aborted } = await runTrace(runOptions(trace, { ...o, progress: false }, self));
      if (aborted) process.exitCode = 130;
      let lines = infoTlb(machine.engine);
      if (o.user) lines = lines.filter((l) => !l.startsWith("ffff"));
      const shown = o.maxLines !== undefined ? lines.slice(0, o.maxLines) : lines;
      console.log(shown.join("\n"));
      if (shown.length < lines.length) console.log(`… ${lines.length - shown.length} more (raise --max-lines)`);
    });
}
