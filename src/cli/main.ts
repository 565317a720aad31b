/**
 * The `wasmmu` command. Each subcommand lives in its own module under
 * src/cli/commands/ and registers itself here.
 */
import { Command } from "commander";
import { registerBoot } from "./commands/boot.js";
import { registerBench } from "./commands/bench.js";
import { registerConform } from "./commands/conform.js";
import { registerConvert } from "./commands/convert.js";
import { registerDemo } from "./commands/demo.js";
import { registerInfo } from "./commands/info.js";
import { registerRun } from "./commands/run.js";
import { registerXen } from "./commands/xen.js";
import { registerPtCost } from "./commands/pt-cost.js";
import { registerPtdump } from "./commands/ptdump.js";
import { registerS390Pgmem } from "./commands/s390-pgmem.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("wasmmu")
    .description("WebAssembly-accelerated MMU emulator core: x86 and s390 page-table walkers, TLB, Linux kernel-side model")
    .showHelpAfterError("(run with --help for usage)");
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
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
