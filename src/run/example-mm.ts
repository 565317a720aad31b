/**
 * A small example address space to look at (`wasmmu ptdump`): a machine
 * booted as a trace run boots it, so that the kernel half holds the direct map
 * of RAM at PAGE_OFFSET (a bare Kernel has swapper_pg_dir and nothing mapped
 * in it), a vmalloc area, and one process with text, data, a huge page and a
 * heap touched twice. It lives here rather than in src/kernel because it
 * boots a run machine (src/run/machine.ts).
 */
import { SZ_4K } from "../kernel/mm.js";
import type { Kernel } from "../kernel/x86/kernel.js";
import type { X86Mm as Mm } from "../kernel/x86/mm.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";
import { Machine } from "./machine.js";

export async function exampleAddressSpace(mode: PagingMode): Promise<{ kernel: Kernel; mm: Mm }> {
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
  return { kernel: k, mm };
}
