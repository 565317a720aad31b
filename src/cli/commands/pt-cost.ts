import type { Command } from "commander";
import { parseCountIn } from "../parse.js";
import { pageTableCosts } from "../../kernel/x86/pgtable-cost.js";

const human = (n: number): string =>
  n >= 2 ** 30 && n % 2 ** 30 === 0 ? `${n / 2 ** 30} GiB` : n >= 2 ** 20 && n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB`
    : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${+n.toFixed(1)} B`;

/** `wasmmu pt-cost`: page-table memory per GiB mapped, per paging mode and page size. */
export function registerPtCost(program: Command): void {
  program.command("pt-cost")
    .description("page-table memory used per GiB mapped for each paging mode and page size")
    .option("--gib <n>", "GiB to map per measurement (1 to 3)", parseCountIn(1, 3), 1)
    .action(async (opts: { gib: number }) => {
      console.log("mode     page size  table pages  page-table bytes per GiB mapped");
      for await (const r of pageTableCosts(opts.gib))
        console.log(`${r.mode.padEnd(8)} ${human(r.pageSize).padStart(9)}  ${String(r.tables).padStart(11)}  ${human(r.bytesPerGiB)}`);
    });
}
