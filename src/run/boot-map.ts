/**
 * The kernel's direct mapping for a run machine, built as early boot builds
 * it: the boot planner (src/boot/) runs
 * init_mem_mapping() — strategy "linux", as the recorded kernels do, or
 * "hpa", the top-down plan — against a QEMU-like e820 map for the RAM size,
 * with the kernel image and its brk page-table buffer where the recorded
 * Debian 6.1 kernel has them, and writes every table into swapper_pg_dir
 * through the kernel's paravirt hooks. The page allocator then receives the
 * memory map with what early boot used taken out (mem_init's memblock →
 * buddy handover): the first MiB, the kernel image with its brk, and every
 * table page the plan took from memblock.
 *
 * 64-bit paging only (4- and 5-level): for PAE and 2-level the kernel side's
 * swapper layout (head_32's tables, the PAE kernel PMDs) and the planner's
 * would have to be merged first; those machines keep the plain mapping.
 */
import { geometry } from "../boot/geometry.js";
import { PvSink } from "../boot/guest.js";
import { plan } from "../boot/build.js";
import { type BootInput, BootInputError, inputFromMem } from "../boot/input.js";
import { E820Type } from "../boot/e820.js";
import type { BootPlan } from "../boot/plan.js";
import { PageAllocator } from "../kernel/page-alloc.js";
import type { Kernel } from "../kernel/x86/kernel.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";
import type { PhysMem } from "../phys/phys-mem.js";

/** How the run machine's kernel direct map is built. */
export type BootStrategy = "linux" | "hpa" | "plain";

/** Can the planner build this machine's direct map? */
export function plannerSupports(mode: PagingMode): boolean { return mode === "4level" || mode === "5level"; }

/** What the report says about the boot. */
export interface BootInfo {
  strategy: "linux" | "hpa";
  /** Page sizes the direct map could use ("4K", "2M", "1G"). */
  pageSizes: string[];
  /** Page-table pages the plan allocated, and where from. */
  tablePages: number;
  brkPages: number;
  memblockPages: number;
  /** Lowest and highest table page (physical addresses). */
  lowestTable: number;
  highestTable: number;
  /** Direct-mapped bytes (usable RAM plus the ISA range). */
  mappedBytes: number;
  planMs: number;
}

/** Everything the machine needs before the Kernel is constructed: the boot input and the allocator it implies. */
export interface BootPrep { input: BootInput; allocator: PageAllocator }

/**
 * The boot input for a machine with `memBytes` of RAM (a QEMU-like e820: above
 * 3 GiB the RAM beyond 2 GiB sits above 4 GiB, so physical addresses reach
 * `physTop`). Throws a RangeError that says what to do when the RAM cannot
 * hold the kernel image.
 */
export function bootInput(mode: PagingMode, memBytes: number): { input: BootInput; physTop: number } {
  if (!plannerSupports(mode)) throw new RangeError(`the boot planner builds 4level and 5level machines; use --boot plain for ${mode}`);
  let input: BootInput;
  try {
    input = inputFromMem(memBytes, { mode });
  } catch (e) {
    if (!(e instanceof BootInputError)) throw e;
    throw new RangeError(`${e.message}: the boot planner places the kernel image at 16–68 MiB (the recorded Debian ` +
      `6.1 layout), so it needs at least 128 MiB of RAM; raise --mem or use --boot plain`);
  }
  return { input, physTop: Math.max(...input.e820.map((e) => e.end)) };
}

/** The page allocator of a planned boot: the memory map with early boot's reservations taken out. */
export function prepareBoot(input: BootInput, phys: PhysMem): BootPrep {
  const allocator = new PageAllocator({
    map: input.e820.filter((e) => e.end <= phys.size)
      .map((e) => ({ start: e.start, end: e.end, type: e.type === E820Type.Ram ? "usable" as const : "reserved" as const })),
    phys,
  });
  // memblock's reservations at init_mem_mapping(): the first MiB and the kernel image up to _brk_end.
  allocator.reserve(0, 0x100000);
  allocator.reserve(input.kernel.text, input.kernel.brkEnd);
  return { input, allocator };
}

/**
 * Run the planner into the kernel's swapper_pg_dir. Call after the Kernel
 * was constructed on `prep.allocator` (its zero page and pgd come from the
 * buddy allocator; memblock is told about them so the plan never hands them
 * out as table pages), with paging enabled on that pgd.
 */
export function bootDirectMap(kernel: Kernel, prep: BootPrep, strategy: "linux" | "hpa"): { plan: BootPlan; info: BootInfo } {
  const { input, allocator } = prep;
  for (const b of allocator.allocatedBlocks()) input.memblock.reserve(b.pfn * 4096, (b.pfn + (1 << b.order)) * 4096);
  input.pgdPa = kernel.initMm.pgd;
  const g = geometry(input.mode);
  const sink = new PvSink(g, kernel.ops, kernel.phys, input.pgdPa, { kernelText: [input.kernel.text, input.kernel.end] });
  const t0 = performance.now();
  const p = plan(strategy, input, sink);
  const planMs = performance.now() - t0;
  // Hand the table pages over: memblock-allocated ones leave the buddy pool
  // (brk pages are inside the reserved kernel image already).
  const live = new Set<number>();
  for (const s of p.steps) {
    if (s.op === "alloc") live.add(s.pa);
    else if (s.op === "release") live.delete(s.pa);
  }
  for (const pa of live)
    if (pa < input.kernel.text || pa >= input.kernel.brkEnd) allocator.reserve(pa, pa + 4096);
  let mappedBytes = 0;
  for (const [s, e] of p.pfnMapped) mappedBytes += (e - s) * 4096;
  const sm = p.summary;
  return {
    plan: p,
    info: {
      strategy, pageSizes: p.pageSizes, tablePages: sm.totalTablePages, brkPages: sm.brkPages, memblockPages: sm.memblockPages,
      lowestTable: sm.lowestTable, highestTable: sm.highestTable, mappedBytes, planMs,
    },
  };
}
