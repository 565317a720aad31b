// The `linux` early-boot strategy's parts (arch/x86/mm/init.c): split_mem_range,
// init_mem_mapping on a small example machine whose every step is worked out
// by hand below, alloc_low_pages, and the bottom-up order.
import { describe, expect, it } from "vitest";
import { AllocLowPages, BootPanic } from "../../src/boot/alloc-low.js";
import { geometry, PageMask } from "../../src/boot/geometry.js";
import { planLinux } from "../../src/boot/init-mapping.js";
import { type BootInput, inputFromE820, inputFromMem } from "../../src/boot/input.js";
import { Memblock } from "../../src/boot/memblock.js";
import { splitMemRange, splitRaw } from "../../src/boot/split.js";

const G64 = geometry("4level");
const L = PageMask.Large, H = PageMask.Huge;

function memblockOf(...r: [number, number][]): Memblock {
  const m = new Memblock();
  for (const [s, e] of r) m.addMemory(s, e);
  return m;
}

/** The example machine: RAM [0, 0x9f000) + [1M, 2G), brk (6 pages) at 0x02a00000, 4-level, 2M, no 1G. */
function example(stepRule: "modern" | "v39"): BootInput {
  const mb = memblockOf([0, 0x9f000], [0x100000, 0x80000000]);
  mb.reserve(0x1000000, 0x2a06000);
  return {
    mode: "4level", backend: "native", memblock: mb,
    e820: [{ start: 0, end: 0x9f000, type: 1 }, { start: 0x100000, end: 0x80000000, type: 1 }],
    kernel: { text: 0x1000000, end: 0x2a06000, brkBase: 0x2a00000, brkEnd: 0x2a06000 },
    pgtBuf: { start: 0x2a00000, pages: 6 }, pse: true, gbpages: false, bottomUp: false, stepRule,
    maxPfn: 0x80000, maxLowPfn: 0x80000, pgdPa: 0x29f0000, brkExtendPages: 0,
  };
}

const hexr = (p: [number, number][]): string[] => p.map(([s, e]) => `${s.toString(16)}-${e.toString(16)}`);

describe("split_mem_range", () => {
  const exampleCtx = { geometry: G64, pageSizeMask: L, memblock: example("modern").memblock, maxLowPfn: 0x80000 };

  it("[1M, 1.5G) → 4K head [1M, 2M) + 2M [2M, 1.5G)", () => {
    expect(splitMemRange(exampleCtx, 0x100000, 0x60000000)).toEqual([
      { start: 0x100000, end: 0x200000, mask: 0 }, { start: 0x200000, end: 0x60000000, mask: L }]);
  });

  it("[0x7fe00000, 2G) → one 2M piece", () => {
    expect(splitMemRange(exampleCtx, 0x7fe00000, 0x80000000)).toEqual([{ start: 0x7fe00000, end: 0x80000000, mask: L }]);
  });

  it("a 1G-capable range that leaves its region gets no upgrades; inside one region everything merges into ONE piece", () => {
    const ctx = { geometry: G64, pageSizeMask: L | H, memblock: memblockOf([0x1ff000, 0x40200000]), maxLowPfn: 0 };
    expect(splitRaw(ctx, 0x1ff000, 0x40200000)).toEqual([
      { start: 0x1ff000, end: 0x200000, mask: 0 }, { start: 0x200000, end: 0x40000000, mask: L }, { start: 0x40000000, end: 0x40200000, mask: L }]);
    expect(splitMemRange(ctx, 0x1ff000, 0x40200000)).toEqual([
      { start: 0x1ff000, end: 0x200000, mask: 0 }, { start: 0x200000, end: 0x40200000, mask: L }]);
    const whole = { ...ctx, memblock: memblockOf([0, 0x80000000]) };
    expect(splitMemRange(whole, 0x1ff000, 0x40200000)).toEqual([{ start: 0x1ff000, end: 0x40200000, mask: L | H }]);
  });

  it("32-bit non-PAE never starts with a large page at pfn 0; adjust upgrades it only without the hole", () => {
    const g = geometry("2level");
    const holed = { geometry: g, pageSizeMask: L, memblock: memblockOf([0, 0x9f000], [0x100000, 0x2000000]), maxLowPfn: 0x36ffe };
    expect(splitMemRange(holed, 0, 0x1000000)).toEqual([{ start: 0, end: 0x400000, mask: 0 }, { start: 0x400000, end: 0x1000000, mask: L }]);
    const flat = { ...holed, memblock: memblockOf([0, 0x2000000]) };
    expect(splitRaw(flat, 0, 0x1000000)[0]).toEqual({ start: 0, end: 0x400000, mask: 0 });
    expect(splitMemRange(flat, 0, 0x1000000)).toEqual([{ start: 0, end: 0x1000000, mask: L }]);
  });

  it("32-bit: a large page may not reach above max_low_pfn", () => {
    const g = geometry("pae");
    const ctx = { geometry: g, pageSizeMask: L, memblock: memblockOf([0x100000, 0x40000000]), maxLowPfn: 0x36ffe };
    expect(splitMemRange(ctx, 0x36e00000, 0x36ffe000)).toEqual([{ start: 0x36e00000, end: 0x36ffe000, mask: 0 }]);
  });
});

describe("init_mem_mapping on the example machine", () => {
  it("modern step rule: ISA, then [0x7fe00000,2G), [0x60000000,0x7fe00000), [1M,0x60000000); brk use 4 (PUD, PMD, PTE for ISA, PMD for pud[1])", () => {
    const p = planLinux(example("modern"));
    expect(hexr(p.initMemoryMapping)).toEqual(["0-100000", "7fe00000-80000000", "60000000-7fe00000", "100000-60000000"]);
    expect(p.mappingSteps.map((s) => s[0])).toEqual(Array(3).fill("init_range_memory_mapping"));
    expect(p.pgtBufEndFinal - 0x2a00000).toBe(4 * 4096);
    expect(p.allocations.map((a) => [a.pa, a.level, a.source])).toEqual([
      [0x2a00000, "pud", "brk"], [0x2a01000, "pmd", "brk"], [0x2a02000, "pte", "brk"], [0x2a03000, "pmd", "brk"]]);
    expect(p.mapRanges[0]!.pieces).toEqual([[0, 0x100000, "4k"]]);   // [0, 2M) is not one memblock region
    // the PUD page sits in pgd slot 273 (PAGE_OFFSET 0xffff888000000000)
    expect(p.steps.find((s) => s.op === "alloc")).toMatchObject({ caller: "__kernel_physical_mapping_init" });
  });

  it("v39 step rule: steps [0x7fe00000,2G), [0x7c000000,0x7fe00000), [1M,0x7c000000); brk use 4", () => {
    const p = planLinux(example("v39"));
    expect(hexr(p.initMemoryMapping)).toEqual(["0-100000", "7fe00000-80000000", "7c000000-7fe00000", "100000-7c000000"]);
    expect(p.pgtBufEndFinal - 0x2a00000).toBe(4 * 4096);
  });

  it("all 256 frames of [0, 1 MiB) get PTEs, holes included", () => {
    const p = planLinux(example("modern"));
    expect(p.directPages[1]).toBe(256 + 256);   // ISA + the [1M, 2M) head
  });
});

describe("alloc_low_pages", () => {
  it("a chunk overlapping the unused brk tail takes its tables from memblock inside [min_pfn_mapped, max_pfn_mapped)", () => {
    // 4-level, 2M only: mapping [1M, …) needs a PMD page for GiB 1 while the chunk holds the brk buffer.
    const input = inputFromMem(4 * 2 ** 30);   // RAM [1M, 2G) + [4G, 6G), like the q35 4G boot
    const p = planLinux(input);
    const during = p.allocations.filter((a) => a.during.startsWith("0x100000-"));
    expect(during.length).toBeGreaterThan(0);
    for (const a of during) {
      expect(a.source).toBe("memblock");
      expect(a.mapped).toBe(true);
    }
  });

  it("with brk exhausted, the highest free page below max_pfn_mapped, inside mapped memory", () => {
    const mb = memblockOf([0x100000, 0x40000000]);
    const a = new AllocLowPages(mb, { rule: "modern", pgtBufStart: 0x2000000, pgtBufPages: 1 });
    a.alloc(1, "t", "", "pte");
    a.addPfnRangeMapped(0x20000, 0x30000);
    a.minPfnMapped = 0x20000;
    const got = a.alloc(1, "t", "", "pte");
    expect(got).toMatchObject({ pa: 0x2ffff000, source: "memblock", mapped: true });
    expect(a.alloc(1, "t", "", "pte").pa).toBe(0x2fffe000);
  });

  it("brk exhausted, nothing mapped (min ≥ max) and brk not usable → panic", () => {
    const a = new AllocLowPages(memblockOf([0x100000, 0x40000000]), { rule: "modern", pgtBufStart: 0x2000000, pgtBufPages: 2 });
    a.canUseBrkPgt = false;
    expect(() => a.alloc(1, "t", "", "pte")).toThrow(BootPanic);
    const v39 = new AllocLowPages(memblockOf([0x100000, 0x40000000]), { rule: "v39", pgtBufStart: 0x2000000, pgtBufPages: 0 });
    expect(() => v39.alloc(1, "t", "", "pte")).toThrow(/ran out of memory/);
  });

  it("extend_brk is used only when the brk area is not locked (6.1 locks it before init_mem_mapping)", () => {
    const a = new AllocLowPages(memblockOf([0x100000, 0x40000000]), { rule: "modern", pgtBufStart: 0x2000000, pgtBufPages: 0, brkExtendPages: 1 });
    expect(a.alloc(1, "t", "", "pte")).toMatchObject({ pa: 0x2000000, source: "brk" });
    expect(() => a.alloc(1, "t", "", "pte")).toThrow(/can not alloc/);
  });
});

describe("bottom-up", () => {
  it("the first range after ISA starts at kernel_end; [1M, kernel_end) is mapped last", () => {
    const input = inputFromMem(2 ** 31, { bottomUp: true });
    const p = planLinux(input);
    expect(p.initMemoryMapping[1]![0]).toBe(input.kernel.end);
    expect(p.topDownProbeBlock).toBeNull();
    const last = p.initMemoryMapping[p.initMemoryMapping.length - 1]!;
    expect(last[1]).toBe(input.kernel.end);
    expect(p.mappingSteps.filter((s) => s[0] === "memory_map_bottom_up").map((s) => s[1]))
      .toEqual([input.kernel.end, 0x100000]);
  });
});

describe("bad input", () => {
  it("no usable RAM above 1 MiB is a clear error", () => {
    expect(() => inputFromE820([{ start: 0, end: 0x9f000, type: 1 }])).toThrow(/no usable RAM above 1 MiB/);
  });
  it("a brk reserve that does not fit the kernel's brk area is a clear error", () => {
    expect(() => inputFromMem(2 ** 30, { pgtBufPages: 1000 })).toThrow(/brk reserve of 1000 pages does not fit/);
    expect(() => inputFromMem(2 ** 30, { pgtBufPages: 0 })).toThrow(/at least 1 page/);
  });
  it("a kernel image outside RAM is a clear error", () => {
    expect(() => inputFromMem(2 ** 30, { kernel: { text: 0x80000000, end: 0x81000000, brkBase: 0x80f00000, brkEnd: 0x81000000 } }))
      .toThrow(/not inside usable RAM/);
  });
  it("Xen PV is 64-bit only", () => {
    expect(() => inputFromMem(2 ** 30, { mode: "pae", backend: "xen" })).toThrow(/64-bit only/);
  });
});
