/**
 * The `linux` strategy: init_mem_mapping() as implemented (arch/x86/mm/init.c,
 * v3.9 and later; the step growth of v4.x–v6.x by default, v3.9's as an
 * option — docs/SEMANTICS.md, "Early boot"):
 *
 *   probe_page_size_mask()
 *   init_memory_mapping(0, ISA_END_ADDRESS)          the ISA range, holes or not
 *   memory_map_top_down(ISA_END_ADDRESS, end)        default, or bottom-up:
 *     memory_map_bottom_up(kernel_end, end); memory_map_bottom_up(1M, kernel_end)
 *   (32-bit) early_ioremap_page_table_range_init()
 *   load_cr3(swapper_pg_dir)                         one switch, at the end
 *
 * Page tables come from alloc_low_pages() (brk first, then memblock inside
 * what is already mapped). Paravirt hooks run inside *_populate_init, i.e.
 * each table is hooked after it was filled and before it is linked in.
 */
import { AllocLowPages, BootPanic, type StepRule } from "./alloc-low.js";
import { entryIndex, type Geometry, geometry, PageMask } from "./geometry.js";
import type { BootInput } from "./input.js";
import { kernelPhysicalMappingInit32, kernelPhysicalMappingInit64, oneMdTableInit, onePageTableInit, type PhysMapContext } from "./phys-mapping.js";
import { type BootPlan, hex, type PlanStep, summarize } from "./plan.js";
import { type PgtableModel, PgtableModel as Model, type PgtableSink, Slot } from "./pgtable.js";
import { pageSizeString, type SplitContext, splitMemRange } from "./split.js";
import { PGT_LEVEL_NAMES, PgtLevel } from "../kernel/types.js";

export const ISA_END_ADDRESS = 0x100000;
const PAGE = 4096;

/** Everything one planning run shares (both strategies build on it). */
export class EarlyMapper {
  readonly g: Geometry;
  readonly model: PgtableModel;
  readonly alloc: AllocLowPages;
  readonly steps: PlanStep[] = [];
  readonly initMemoryMapping: [number, number][] = [];
  readonly mapRanges: BootPlan["mapRanges"] = [];
  readonly mappingSteps: [string, number, number][] = [];
  readonly directPages = [0, 0, 0, 0, 0];
  readonly pageSizeMask: number;
  readonly split: SplitContext;
  readonly phys: PhysMapContext;
  /** The init_memory_mapping range being mapped (for allocation records). */
  during = "";
  /** Optional override of where table pages come from (hpa). */
  pageSource: ((caller: string, level: PgtLevel) => { pa: number; source: "brk" | "memblock"; num?: number }) | null = null;

  constructor(readonly input: BootInput, sink?: PgtableSink) {
    this.g = geometry(input.mode);
    this.model = new Model(this.g, input.pgdPa, sink);
    this.alloc = new AllocLowPages(input.memblock, {
      rule: input.stepRule, pgtBufStart: input.pgtBuf.start, pgtBufPages: input.pgtBuf.pages,
      brkExtendPages: input.brkExtendPages,
    });
    this.pageSizeMask = probePageSizeMask(input);
    this.split = { geometry: this.g, pageSizeMask: this.pageSizeMask, memblock: input.memblock, maxLowPfn: input.maxLowPfn };
    const self = this;
    this.phys = {
      model: this.model, e820: input.e820, directPages: this.directPages,
      allocPage(caller: string, level: PgtLevel): number { return self.allocTablePage(caller, level); },
    };
    if (!this.g.is64) this.addHead32Tables();
    if (input.preexisting) this.model.registerPreexisting(input.preexisting);
    this.model.onHook = (h) => this.steps.push({ op: "hook", frames: [{ pa: h.pa, level: PGT_LEVEL_NAMES[h.level] }],
      why: this.hookWhy });
  }

  /** Why hooks are being issued right now (shown in the plan). */
  hookWhy = "paravirt_alloc_* in *_populate_init: table filled, not yet linked";

  /** alloc_low_page() for a table of `level`. */
  allocTablePage(caller: string, level: PgtLevel): number {
    if (this.pageSource) {
      const r = this.pageSource(caller, level);
      this.steps.push({ op: "alloc", pa: r.pa, level: PGT_LEVEL_NAMES[level], source: r.source, caller });
      return r.pa;
    }
    const a = this.alloc.alloc(1, caller, this.during, PGT_LEVEL_NAMES[level]);
    this.steps.push({ op: "alloc", pa: a.pa, level: a.level, source: a.source, caller });
    return a.pa;
  }

  /**
   * init_memory_mapping(start, end): split, map each piece, record the
   * mapped pfn range [start, paddr_last of the last piece).
   */
  initMemoryMappingCall(start: number, end: number, phase: string): number {
    this.during = `${hex(start)}-${hex(end - 1)}`;
    this.initMemoryMapping.push([start, end]);
    this.steps.push({ op: "range", start, end, phase });
    const pieces = splitMemRange(this.split, start, end);
    this.mapRanges.push({ start, end, pieces: pieces.map((r) => [r.start, r.end, pageSizeString(this.g, r.mask)]) });
    let ret = 0;
    for (const r of pieces) {
      this.steps.push({ op: "map", start: r.start, end: r.end, pageSize: pageSizeString(this.g, r.mask) });
      ret = this.g.is64 ? kernelPhysicalMappingInit64(this.phys, r.start, r.end, r.mask)
        : kernelPhysicalMappingInit32(this.phys, r.start, r.end, r.mask);
    }
    this.alloc.addPfnRangeMapped(Math.floor(start / PAGE), Math.floor(ret / PAGE));
    return Math.floor(ret / PAGE);
  }

  /**
   * head_32.S mapped [0, n × PMD_SIZE) with pte pages at the start of the brk
   * area (all pages below pgt_buf), and PAE swapper_pg_dir comes with its
   * kernel pmd page (initial_pg_pmd): both exist before init_mem_mapping().
   */
  private addHead32Tables(): void {
    const m = this.model, g = this.g, input = this.input;
    if (g.mode === "pae") {
      const pmd = m.addTable(input.pgdPa + PAGE, PgtLevel.Pmd, true);
      m.linkQuiet(m.pgd, g.pageOffsetPgdIndex, pmd);
    }
    const n = Math.floor((input.pgtBuf.start - input.kernel.brkBase) / PAGE);
    const span = 2 ** g.pmdShift;
    for (let k = 0; k < n; k++) {
      const pte = m.addTable(input.kernel.brkBase + k * PAGE, PgtLevel.Pte, true);
      const pmd = g.mode === "pae" ? m.child(m.pgd, entryIndex(g, PgtLevel.Pgd, k * span)) : m.pgd;
      const lvl = g.mode === "pae" ? PgtLevel.Pmd : PgtLevel.Pgd;
      m.linkQuiet(pmd, entryIndex(g, lvl, k * span), pte);
      for (let i = 0; i < g.entriesPerTable; i++) {
        pte.kind[i] = Slot.Leaf;
        m.sink.setLeafEntry?.(pte.pa, PgtLevel.Pte, i, k * span + i * PAGE, false);
      }
    }
    if (n) this.alloc.addPfnRangeMapped(0, n * span / PAGE);
    // early_ioremap's bm_pte (a static page of the image) sits in the fixmap already.
    for (const va of input.fixmap?.prepopulated ?? []) {
      const pmdT = this.fixmapPmdTable(va);
      const pte = m.addTable(input.pgdPa + 2 * PAGE, PgtLevel.Pte, true);
      m.linkQuiet(pmdT.t, pmdT.i, pte);
    }
  }

  /** The pmd table and index for a 32-bit fixmap virtual address. */
  fixmapPmdTable(va: number): { t: ReturnType<PgtableModel["table"]>; i: number } {
    const g = this.g, m = this.model;
    if (g.mode === "pae") {
      const pgdIdx = Math.floor(va / 2 ** 30);
      const t = oneMdTableInit(this.phys, pgdIdx);
      return { t, i: Math.floor(va / 2 ** 21) % 512 };
    }
    return { t: m.pgd, i: Math.floor(va / 2 ** 22) };
  }

  loadCr3(why: string): void {
    this.steps.push({ op: "cr3", pa: this.input.pgdPa, why });
    this.model.sink.loadCr3?.(this.input.pgdPa);
  }

  finish(strategy: BootPlan["strategy"], t0: number, probe: [number, number] | null): BootPlan {
    const base = {
      strategy, mode: this.input.mode, backend: this.input.backend,
      pageSizes: pageSizeNames(this.g, this.pageSizeMask),
      steps: this.steps, initMemoryMapping: this.initMemoryMapping, mapRanges: this.mapRanges,
      mappingSteps: this.mappingSteps, allocations: this.alloc.allocations, topDownProbeBlock: probe,
      pgtBufEndFinal: this.alloc.pgtBufEnd * PAGE, maxPfnMapped: this.alloc.maxPfnMapped,
      directPages: this.directPages, pfnMapped: this.alloc.pfnMapped.map(([s, e]) => [s, e] as [number, number]),
      pgd: this.input.pgdPa,
    };
    return { ...base, summary: summarize(base, this.model, performance.now() - t0) };
  }
}

/** probe_page_size_mask(): 2M/4M with PSE, 1G with GBPAGES (64-bit only). */
export function probePageSizeMask(input: BootInput): number {
  const g = geometry(input.mode);
  let m = 0;
  if (input.pse) m |= PageMask.Large;
  if (input.pse && input.gbpages && g.hasHuge) m |= PageMask.Huge;
  return m;
}

export function pageSizeNames(g: Geometry, mask: number): string[] {
  const s = ["4k"];
  if (mask & PageMask.Large) s.push(g.largeName);
  if (mask & PageMask.Huge) s.push("1G");
  return s;
}

/** get_new_step_size() (the `modern` step rule): shift by PMD_SHIFT − PAGE_SHIFT − 1. */
function newStepSize(g: Geometry, step: number): number {
  return step * 2 ** (g.pmdShift - 12 - 1);
}

/**
 * init_range_memory_mapping(r_start, r_end): map each memblock memory range
 * inside [r_start, r_end), ascending; brk may not be used for a chunk that
 * overlaps the unused part of the brk buffer. Returns the RAM mapped.
 */
export function initRangeMemoryMapping(em: EarlyMapper, rStart: number, rEnd: number, phase: string): number {
  em.mappingSteps.push(["init_range_memory_mapping", rStart, rEnd]);
  let mapped = 0;
  for (const [sp, ep] of em.input.memblock.memPfnRanges()) {
    const start = Math.min(Math.max(sp * PAGE, rStart), rEnd);
    const end = Math.min(Math.max(ep * PAGE, rStart), rEnd);
    if (start >= end) continue;
    const a = em.alloc;
    a.canUseBrkPgt = Math.max(start, a.pgtBufEnd * PAGE) >= Math.min(end, a.pgtBufTop * PAGE);
    em.initMemoryMappingCall(start, end, phase);
    mapped += end - start;
    a.canUseBrkPgt = true;
  }
  return mapped;
}

const roundDown = (x: number, a: number): number => Math.floor(x / a) * a;
const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** memory_map_top_down(map_start, map_end). Returns the probe block. */
export function memoryMapTopDown(em: EarlyMapper, mapStart: number, mapEnd: number, rule: StepRule): [number, number] {
  const g = em.g, a = em.alloc, pmd = 2 ** g.pmdShift;
  // The highest free PMD_SIZE block: allocated and freed at once (modern),
  // memblock_find_in_range (v3.9) — the same answer.
  const addr = em.input.memblock.findInRange(mapStart, mapEnd, pmd, pmd);
  if (!addr) throw new BootPanic(`memory_map_top_down: no free ${pmd >> 20} MiB block in [${hex(mapStart)}, ${hex(mapEnd)})`);
  const realEnd = addr + pmd;
  em.steps.push({ op: "note", text: `memory_map_top_down: probe block ${hex(addr)}-${hex(realEnd - 1)} → real_end ${hex(realEnd)}` });
  let step = pmd;
  a.maxPfnMapped = 0;
  a.minPfnMapped = realEnd / PAGE;
  let lastStart = realEnd, mappedRam = 0;
  while (lastStart > mapStart) {
    let start: number;
    if (lastStart > step) {
      start = roundDown(lastStart - 1, step);
      if (start < mapStart) start = mapStart;
    } else start = mapStart;
    const n = initRangeMemoryMapping(em, start, lastStart, "top-down");
    lastStart = start;
    a.minPfnMapped = lastStart / PAGE;
    if (rule === "v39") {
      // v3.9: "only increase step_size after big range get mapped"
      if (n > mappedRam) step *= 2 ** 5;
      mappedRam += n;
    } else {
      mappedRam += n;
      if (mappedRam >= step) step = newStepSize(g, step);
    }
  }
  if (realEnd < mapEnd) initRangeMemoryMapping(em, realEnd, mapEnd, "above the probe block");
  return [addr, realEnd];
}

/** memory_map_bottom_up(map_start, map_end). */
export function memoryMapBottomUp(em: EarlyMapper, mapStart: number, mapEnd: number, rule: StepRule): void {
  const g = em.g, a = em.alloc;
  em.mappingSteps.push(["memory_map_bottom_up", mapStart, mapEnd]);
  let step = 2 ** g.pmdShift, mappedRam = 0, start = mapStart;
  a.minPfnMapped = Math.floor(start / PAGE);
  while (start < mapEnd) {
    let next: number;
    if (step && mapEnd - start > step) {
      next = roundUp(start + 1, step);
      if (next > mapEnd) next = mapEnd;
    } else next = mapEnd;
    const n = initRangeMemoryMapping(em, start, next, "bottom-up");
    start = next;
    if (rule === "v39") {
      if (n > mappedRam) step *= 2 ** 5;
      mappedRam += n;
    } else {
      mappedRam += n;
      if (mappedRam >= step) step = newStepSize(g, step);
    }
  }
}

/**
 * early_ioremap_page_table_range_init() (32-bit): pte pages for the whole
 * fixmap; the kmap part gets its pte pages from one up-front
 * alloc_low_pages(count) so that they are contiguous (page_table_kmap_check
 * copies each freshly made pte page into the next preallocated one and
 * releases the first).
 */
export function earlyIoremapPageTableRangeInit(em: EarlyMapper): void {
  const fx = em.input.fixmap;
  if (!fx) return;
  const g = em.g, m = em.model, pmd = 2 ** g.pmdShift;
  em.during = "early_ioremap_page_table_range_init";
  const kb = Math.floor(fx.kmapStart / pmd), ke = Math.floor((fx.kmapEnd - 1) / pmd);
  const inKmap = (va: number): boolean => kb !== ke && Math.floor(va / pmd) >= kb && Math.floor(va / pmd) <= ke;
  let count = 0;
  for (let va = fx.start; va !== fx.end; va += pmd) if (inKmap(va)) count++;
  let adr = 0;
  if (count) {
    const a = em.alloc.alloc(count, "page_table_range_init", em.during, "pte");
    em.steps.push({ op: "alloc", pa: a.pa, level: `pte x${count}`, source: a.source, caller: "page_table_range_init" });
    adr = a.pa;
  }
  for (let va = fx.start; va !== fx.end; va += pmd) {
    const { t, i } = em.fixmapPmdTable(va);
    const pte = onePageTableInit(em.phys, t, i);
    if (inKmap(va)) {
      const copy = m.addTable(adr, PgtLevel.Pte, false);
      copy.kind.set(pte.kind);
      adr += PAGE;
      m.link(t, i, copy);
      em.steps.push({ op: "release", pa: pte.pa, level: "pte" });
    }
  }
}

/** The `linux` strategy: plan (and, with a sink, build) init_mem_mapping(). */
export function planLinux(input: BootInput, sink?: PgtableSink): BootPlan {
  const t0 = performance.now();
  const em = new EarlyMapper(input, sink);
  const g = em.g;
  const end = (g.is64 ? input.maxPfn : input.maxLowPfn) * PAGE;
  em.initMemoryMappingCall(0, ISA_END_ADDRESS, "ISA");
  let probe: [number, number] | null = null;
  if (input.bottomUp) {
    const kernelEnd = input.kernel.end;
    memoryMapBottomUp(em, kernelEnd, end, input.stepRule);
    memoryMapBottomUp(em, ISA_END_ADDRESS, kernelEnd, input.stepRule);
  } else {
    probe = memoryMapTopDown(em, ISA_END_ADDRESS, end, input.stepRule);
  }
  if (!g.is64) earlyIoremapPageTableRangeInit(em);
  em.loadCr3("load_cr3(swapper_pg_dir) at the end of init_mem_mapping");
  return em.finish("linux", t0, probe);
}
