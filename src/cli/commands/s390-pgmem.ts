import type { Command } from "commander";
import { parseCountIn } from "../parse.js";
import { comparePgtableMemory, type PgtableMemory } from "../../kernel/s390/pgtable-memory.js";

const int = parseCountIn(1);

function allocatorName(r: PgtableMemory): string {
  return r.esa390 ? "31-bit ESA/390 (S390_FLAGS, 1 KiB)" : r.pgste ? "PGSTE (KVM host)"
    : r.profile === "fullPage" ? "fullPage (S390_FULLPAGE)" : "fragments (S390_FRAGREF)";
}

/** `wasmmu s390-pgmem`: page-table memory of many small s390 processes per allocator profile. */
export function registerS390Pgmem(program: Command): void {
  program.command("s390-pgmem")
    .description("s390 page-table memory for N processes with many small mappings: 2 KiB fragments vs full pages vs PGSTEs")
    .option("-p, --processes <n>", "processes", int, 64)
    .option("-m, --mappings <n>", "one-page mappings per process, 1 MiB apart", int, 32)
    .option("--json", "print JSON instead of a table")
    .action(async (o: { processes: number; mappings: number; json?: boolean }) => {
      const rows = await comparePgtableMemory(o);
      if (o.json) { console.log(JSON.stringify(rows, null, 2)); return; }
      const kib = (pages: number): string => `${(pages * 4).toLocaleString("en-US")} KiB`;
      console.log(`${o.processes} processes × ${o.mappings} one-page mappings 1 MiB apart (${rows[0]!.pteTables} PTE tables)\n`);
      console.log("| allocator | PTE-table pages | all page-table pages | per process |");
      console.log("|---|---:|---:|---:|");
      for (const r of rows)
        console.log(`| ${allocatorName(r)} | ${r.ptePages} (${kib(r.ptePages)}) | ${r.totalPages} (${kib(r.totalPages)}) | ${kib(r.bytesPerProcess / 4096)} |`);
    });
}
