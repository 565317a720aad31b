/**
 * The `wasmmu` command. Each subcommand lives in its own module under
 * src/cli/commands/ and registers itself here.
 */
import { existsSync } from "node:fs";
import { Command } from "commander";
import { registerBoot } from "./commands/boot.js";
import { registerBench } from "./commands/bench.js";
import { registerConform } from "./commands/conform.js";
import { registerConvert } from "./commands/convert.js";
import { registerDemo } from "./commands/demo.js";
import { registerExplore } from "./commands/explore.js";
import { registerInfo } from "./commands/info.js";
import { registerRun } from "./commands/run.js";
import { registerXen } from "./commands/xen.js";
import { registerPtCost } from "./commands/pt-cost.js";
import { registerPtdump } from "./commands/ptdump.js";
import { registerS390Pgmem } from "./commands/s390-pgmem.js";
import { registerSweep, registerWorker } from "./commands/sweep.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("wasmmu")
    .description("WebAssembly-accelerated MMU emulator core: x86 and s390 page-table walkers, TLB, Linux kernel-side model. " +
      "With no command, or a trace file in its place (wasmmu [options] [TRACE]), `run` runs: the bundled trace by default")
    // Usage errors on one line, like every other error (bin/wasmmu.mjs).
    .configureOutput({ outputError: (str, write) => write(`wasmmu: ${str.replace(/^error: /, "").trimEnd()} (run with --help for usage)\n`) });
  registerBoot(program);
  registerDemo(program);
  registerConform(program);
  registerRun(program);
  registerConvert(program);
  registerInfo(program);
  registerXen(program);
  registerPtdump(program);
  registerPtCost(program);
  registerS390Pgmem(program);
  registerBench(program);
  registerExplore(program);
  registerSweep(program);
  registerWorker(program);
  return program;
}

/**
 * `run` is the default command, so `wasmmu TRACE` runs a trace. A first
 * argument that is neither a command nor an existing file, and looks like a
 * word rather than a path, is most likely a mistyped command: say so instead
 * of "no such file".
 */
function checkFirstArgument(program: Command, first: string | undefined): void {
  if (first === undefined || first.startsWith("-") || first === "help") return;
  const names = program.commands.map((c) => c.name());
  if (names.includes(first) || existsSync(first) || !/^[a-z][a-z0-9_-]*$/i.test(first)) return;
  throw new Error(`unknown command "${first}", and no trace file of that name either ` +
    `(commands: ${names.join(", ")}; \`wasmmu TRACE\` runs a trace file, see wasmmu --help)`);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  checkFirstArgument(program, argv[2]);
  await program.parseAsync(argv);
}
