/**
 * The early page-table allocator: alloc_low_pages() with the brk buffer
 * (early_alloc_pgt_buf / pgt_buf_start/end/top) and the can_use_brk_pgt rule,
 * plus the mapped-pfn bookkeeping it depends on (min_pfn_mapped,
 * max_pfn_mapped, add_pfn_range_mapped, pfn_range_is_mapped) —
 * arch/x86/mm/init.c.
 *
 * Rule `modern` (v4.x–v6.x): when brk is exhausted or unusable, take the pages
 * from memblock inside [min_pfn_mapped, max_pfn_mapped) (highest first under
 * the default top-down memblock). Rule `v39` (v3.9): the same but without the
 * extend_brk fallback and with a panic when nothing is mapped yet.
 */
import type { Memblock } from "./memblock.js";

export type StepRule = "modern" | "v39";
export type PgtSource = "brk" | "memblock";

/** One alloc_low_pages() call, in the record's terms. */
export interface PgtAllocation {
  num: number;
  pa: number;
  source: PgtSource;
  /** The kernel function that needed the page (which level it is for). */
  caller: string;
  /** The init_memory_mapping() range (or phase) being mapped: "0x0-0xfffff". */
  during: string;
  /** Level name of the table the page became ("pud", "pmd", "pte", …). */
  level: string;
  /** Was every page inside already-mapped memory when it was handed out? */
  mapped: boolean;
}

/** panic() in the early mapping code. */
export class BootPanic extends Error {
  constructor(msg: string) { super(`Kernel panic: ${msg}`); this.name = "BootPanic"; }
}

const PAGE = 4096;

export interface AllocLowOptions {
  rule: StepRule;
  /** Physical address of the brk page-table buffer and its size in pages. */
  pgtBufStart: number;
  pgtBufPages: number;
  /** Pages extend_brk() could still add above the buffer. 6.1 locks brk in
   *  reserve_brk() (_brk_start = 0) before init_mem_mapping(), so the default
   *  0 makes the extend_brk fallback fail as the kernel's BUG_ON would. */
  brkExtendPages?: number;
}

export class AllocLowPages {
  pgtBufStart: number;    // pfns
  pgtBufEnd: number;
  pgtBufTop: number;
  canUseBrkPgt = true;
  minPfnMapped = 0;
  maxPfnMapped = 0;
  /** pfn_mapped[]: merged, sorted [start, end) pfn ranges mapped so far. */
  readonly pfnMapped: [number, number][] = [];
  readonly allocations: PgtAllocation[] = [];
  private brkRoom: number;
  /** Pages obtained from extend_brk (reported separately). */
  extendedBrkPages = 0;

  constructor(private readonly memblock: Memblock, private readonly opts: AllocLowOptions) {
    if (opts.pgtBufStart % PAGE) throw new RangeError(`pgt_buf start 0x${opts.pgtBufStart.toString(16)} is not page aligned`);
    this.pgtBufStart = this.pgtBufEnd = opts.pgtBufStart / PAGE;
    this.pgtBufTop = this.pgtBufStart + opts.pgtBufPages;
    this.brkRoom = opts.brkExtendPages ?? 0;
  }

  get brkPagesUsed(): number { return this.pgtBufEnd - this.pgtBufStart; }

  /** alloc_low_pages(num): returns the physical address of `num` zeroed pages. */
  alloc(num: number, caller: string, during: string, level: string): PgtAllocation {
    let pfn: number, source: PgtSource;
    if (this.pgtBufEnd + num > this.pgtBufTop || !this.canUseBrkPgt) {
      let ret = 0;
      if (this.opts.rule === "v39" && this.minPfnMapped >= this.maxPfnMapped)
        throw new BootPanic("alloc_low_pages: ran out of memory");
      if (this.minPfnMapped < this.maxPfnMapped)
        ret = this.memblock.allocRange(PAGE * num, PAGE, this.minPfnMapped * PAGE, this.maxPfnMapped * PAGE);
      source = "memblock";
      if (!ret && this.canUseBrkPgt && this.opts.rule === "modern") {
        // extend_brk(): only while brk is not locked down.
        if (this.brkRoom >= num) {
          ret = this.pgtBufTop * PAGE;
          this.pgtBufTop += num; this.pgtBufEnd = this.pgtBufTop; this.brkRoom -= num;
          this.extendedBrkPages += num;
          source = "brk";
        }
      }
      if (!ret) throw new BootPanic("alloc_low_pages: can not alloc memory");
      pfn = ret / PAGE;
    } else {
      pfn = this.pgtBufEnd;
      this.pgtBufEnd += num;
      source = "brk";
    }
    const a: PgtAllocation = { num, pa: pfn * PAGE, source, caller, during, level,
      mapped: this.pfnRangeIsMapped(pfn, pfn + num) };
    this.allocations.push(a);
    return a;
  }

  /** add_pfn_range_mapped(): record [s, e) pfns as mapped; max_pfn_mapped grows. */
  addPfnRangeMapped(s: number, e: number): void {
    if (e > s) {
      const r = this.pfnMapped;
      let i = 0;
      while (i < r.length && r[i]![1] < s) i++;
      let ns = s, ne = e, j = i;
      while (j < r.length && r[j]![0] <= ne) { ns = Math.min(ns, r[j]![0]); ne = Math.max(ne, r[j]![1]); j++; }
      r.splice(i, j - i, [ns, ne]);
    }
    this.maxPfnMapped = Math.max(this.maxPfnMapped, e);
  }

  /** pfn_range_is_mapped(): [s, e) lies inside one mapped range. */
  pfnRangeIsMapped(s: number, e: number): boolean {
    for (const [a, b] of this.pfnMapped) if (s >= a && e <= b) return true;
    return false;
  }
}
