import type { Command } from "commander";
import { SZ_4K } from "../../kernel/mm.js";
import { ptdump } from "../../kernel/x86/ptdump.js";
import type { PagingMode } from "../../kernel/x86/pgtable.js";
import { Machine } from "../../run/machine.js";

/** `wasmmu ptdump`: build a small example address space and list it like /sys/kernel/debug/page_tables. */
export function registerPtdump(program: Command): void {
  program.command("ptdump")
    .description("build an example address space and list it like /sys/kernel/debug/page_tables")
    .option("--mode <mode>", "paging mode: 2level, pae, 4level, 5level", "4level")
    .option("--kernel", "include the kernel half")
    .action(async (opts: { mode: string; kernel?: boolean }) => {
      if (!["2level", "pae", "4level", "5level"].includes(opts.mode)) throw new Error(`--mode must be 2level, pae, 4level or 5level, got ${opts.mode}`);
      const mode = opts.mode as PagingMode;
      // A booted machine, as `wasmmu run` boots it: the kernel half then holds
      // the direct map of RAM at PAGE_OFFSET (a bare Kernel has swapper_pg_dir
      // and nothing mapped in it).
      const k = (await Machine.create({ engine: "wasm", mode, memBytes: 64 << 20 })).kernel;
      const huge = mode === "2level" ? 4 << 20 : 2 << 20;
      k.vmap(k.geometry.vmallocStart, 4 * SZ_4K, 0x10_0000, "rw");
      const mm = k.mmCreate();
      mm.mapRange(0x40_0000n, 4 * SZ_4K, { pa: 0x20_0000, prot: "rx" });          // text
      mm.mapRange(0x40_4000n, 2 * SZ_4K, { pa: 0x30_0000, prot: "rw" });          // data
      mm.mapRange(BigInt(8 * huge), huge, { pa: huge, prot: "rw", pageSize: huge }); // a huge page
      mm.mmap(0x1000_0000n, 8 * SZ_4K, { prot: "rw" });                           // heap, touched twice
      mm.handleFault(0x1000_0000n, 1);
      mm.handleFault(0x1000_1000n, 0);
      process.stdout.write(ptdump(k, mm, { kernel: opts.kernel }));
    });
}
