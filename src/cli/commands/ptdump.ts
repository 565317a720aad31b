import type { Command } from "commander";
import { ptdump } from "../../kernel/x86/ptdump.js";
import type { PagingMode } from "../../kernel/x86/pgtable-types.js";
import { exampleAddressSpace } from "../../run/example-mm.js";

/** `wasmmu ptdump`: build a small example address space and list it like /sys/kernel/debug/page_tables. */
export function registerPtdump(program: Command): void {
  program.command("ptdump")
    .description("build an example address space and list it like /sys/kernel/debug/page_tables")
    .option("--mode <mode>", "paging mode: 2level, pae, 4level, 5level", "4level")
    .option("--kernel", "include the kernel half")
    .action(async (opts: { mode: string; kernel?: boolean }) => {
      if (!["2level", "pae", "4level", "5level"].includes(opts.mode)) throw new Error(`--mode must be 2level, pae, 4level or 5level, got ${opts.mode}`);
      const { kernel, mm } = await exampleAddressSpace(opts.mode as PagingMode);
      process.stdout.write(ptdump(kernel, mm, { kernel: opts.kernel }));
    });
}
