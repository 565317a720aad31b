/**
 * split_mem_range() and adjust_range_page_size_mask() (arch/x86/mm/init.c):
 * cut [start, end) into at most NR_RANGE_MR pieces, each with the page sizes
 * it may use, the way init_memory_mapping() does before it maps anything.
 * All arithmetic is on pfns (PFN_DOWN), exactly as the kernel does it.
 */
import { type Geometry, PageMask } from "./geometry.js";
import type { Memblock } from "./memblock.js";

export interface MapRange {
  start: number;   // bytes
  end: number;     // exclusive
  /** page_size_mask bits (PageMask). */
  mask: number;
}

export interface SplitContext {
  geometry: Geometry;
  /** The global page_size_mask from probe_page_size_mask(). */
  pageSizeMask: number;
  memblock: Memblock;
  /** 32-bit: a large page must not reach above max_low_pfn. */
  maxLowPfn: number;
  /** after_bootmem: no adjustment (never true during early boot). */
  afterBootmem?: boolean;
}

export class SplitError extends Error {
  constructor(msg: string) { super(msg); this.name = "SplitError"; }
}

const PUD_PFNS = 1 << (30 - 12);
const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;
const roundDown = (x: number, a: number): number => Math.floor(x / a) * a;

/** page_size_string(): "1G" wins, else "2M" (or "4M" on 2-level), else "4k". */
export function pageSizeString(g: Geometry, mask: number): "1G" | "2M" | "4M" | "4k" {
  if (mask & PageMask.Huge) return "1G";
  if (mask & PageMask.Large) return g.largeName;
  return "4k";
}

function saveMr(g: Geometry, mr: MapRange[], startPfn: number, endPfn: number, mask: number): void {
  if (startPfn >= endPfn) return;
  if (mr.length >= g.nrRangeMr) throw new SplitError("run out of range for init_memory_mapping");
  mr.push({ start: startPfn * 4096, end: endPfn * 4096, mask });
}

/** split_mem_range() without the final adjust/merge (the raw pieces). */
export function splitRaw(ctx: SplitContext, start: number, end: number): MapRange[] {
  const g = ctx.geometry, psm = ctx.pageSizeMask;
  const pmdPfns = 2 ** (g.pmdShift - 12);
  const mr: MapRange[] = [];
  const limitPfn = Math.floor(end / 4096);
  let pfn = Math.floor(start / 4096);
  let startPfn = pfn;

  // Head, not large-page aligned. 32-bit never uses a large page for the
  // first 2/4 MiB (fixed-size MTRRs live there).
  let endPfn = !g.is64 && pfn === 0 ? pmdPfns : roundUp(pfn, pmdPfns);
  if (endPfn > limitPfn) endPfn = limitPfn;
  if (startPfn < endPfn) { saveMr(g, mr, startPfn, endPfn, 0); pfn = endPfn; }

  // Large-page (2M/4M) range; on 64-bit only up to the next 1 GiB boundary.
  startPfn = roundUp(pfn, pmdPfns);
  if (g.is64) {
    endPfn = roundUp(pfn, PUD_PFNS);
    if (endPfn > roundDown(limitPfn, pmdPfns)) endPfn = roundDown(limitPfn, pmdPfns);
  } else {
    endPfn = roundDown(limitPfn, pmdPfns);
  }
  if (startPfn < endPfn) { saveMr(g, mr, startPfn, endPfn, psm & PageMask.Large); pfn = endPfn; }

  if (g.is64) {
    // 1 GiB range.
    startPfn = roundUp(pfn, PUD_PFNS);
    endPfn = roundDown(limitPfn, PUD_PFNS);
    if (startPfn < endPfn) { saveMr(g, mr, startPfn, endPfn, psm & (PageMask.Large | PageMask.Huge)); pfn = endPfn; }
    // Tail not 1 GiB aligned.
    startPfn = roundUp(pfn, pmdPfns);
    endPfn = roundDown(limitPfn, pmdPfns);
    if (startPfn < endPfn) { saveMr(g, mr, startPfn, endPfn, psm & PageMask.Large); pfn = endPfn; }
  }

  // Tail not large-page aligned.
  saveMr(g, mr, pfn, limitPfn, 0);
  return mr;
}

/**
 * adjust_range_page_size_mask(): a piece gains a page size when its span,
 * rounded out to that page size, lies inside one memblock memory region.
 */
export function adjustRangePageSizeMask(ctx: SplitContext, mr: MapRange[]): void {
  const g = ctx.geometry, psm = ctx.pageSizeMask, pmd = 2 ** g.pmdShift, pud = 2 ** 30;
  for (const r of mr) {
    if (psm & PageMask.Large && !(r.mask & PageMask.Large)) {
      const s = roundDown(r.start, pmd), e = roundUp(r.end, pmd);
      const tooHigh = !g.is64 && e / 4096 > ctx.maxLowPfn;
      if (!tooHigh && ctx.memblock.isRegionMemory(s, e)) r.mask |= PageMask.Large;
    }
    if (psm & PageMask.Huge && !(r.mask & PageMask.Huge)) {
      const s = roundDown(r.start, pud), e = roundUp(r.end, pud);
      if (ctx.memblock.isRegionMemory(s, e)) r.mask |= PageMask.Huge;
    }
  }
}

/** Merge neighbours with equal masks (the "try to merge same page size and continuous" loop). */
export function mergeRanges(mr: MapRange[]): MapRange[] {
  const out: MapRange[] = [];
  for (const r of mr) {
    const last = out[out.length - 1];
    if (last && last.end === r.start && last.mask === r.mask) last.end = r.end;
    else out.push({ ...r });
  }
  return out;
}

/** split_mem_range(): raw split, adjust (before bootmem), merge. */
export function splitMemRange(ctx: SplitContext, start: number, end: number): MapRange[] {
  const mr = splitRaw(ctx, start, end);
  if (!ctx.afterBootmem) adjustRangePageSizeMask(ctx, mr);
  return mergeRanges(mr);
}
