/**
 * The `hpa` strategy: H. Peter Anvin's 2012 plan for the direct mapping,
 * step by step as written — not as init_mem_mapping() implemented it, which
 * switches CR3 once at the end (docs/SEMANTICS.md, "Early boot"):
 *
 *   1. build page tables for the kernel image out of the brk reserve;
 *   2. then map RAM top-down from the highest region, tables still from brk,
 *      until the reserve is exhausted;
 *   3. call the paravirt hook on the tables created so far (Xen: make them
 *      read-only and register them);
 *   4. switch CR3 to the new tables;
 *   5. continue downward, allocating each batch of page tables from the
 *      highest memory mapped so far,
 *   6. hooking each table of the batch before it is linked in,
 *   7. until every region is mapped (the ISA range last).
 *
 * Nothing is sized in advance: before each slice or batch the planner counts
 * exactly which tables mapping it will create (count.ts) given the tables that
 * already exist, and takes that many pages.
 *
 * Slices in step 2 follow the table span of the largest page size (512 GiB
 * with 1G pages, 1 GiB with 2M pages, 2 MiB with 4K pages — one new table per
 * slice at most, a few more where a region boundary forces small pages); a
 * slice that does not fit the rest of the reserve is retried at the next
 * smaller span before the reserve counts as exhausted. Batches in step 5 grow
 * with what is mapped (a batch covers at most as much address space as is
 * mapped already, rounded to a power of two), so there are only logarithmically
 * many, and tables for X bytes (≤ X/512) always fit in what is mapped.
 */
import { BootPanic, type PgtAllocation } from "./alloc-low.js";
import { countTablesForRanges } from "./count.js";
import { PageMask } from "./geometry.js";
import { BootInputError, type BootInput } from "./input.js";
import { EarlyMapper, ISA_END_ADDRESS } from "./init-mapping.js";
import type { BootPlan } from "./plan.js";
import type { PgtableSink } from "./pgtable.js";
import { PGT_LEVEL_NAMES } from "../kernel/types.js";

const PAGE = 4096;
type Interval = [number, number];

/** RAM (memblock memory, whole pages) inside [lo, hi) that is not yet mapped. */
function unmappedRam(input: BootInput, mapped: Interval[], lo: number, hi: number): Interval[] {
  const out: Interval[] = [];
  for (const [sp, ep] of input.memblock.memPfnRanges()) {
    let s = Math.max(sp * PAGE, lo);
    const e = Math.min(ep * PAGE, hi);
    for (const [ms, me] of mapped) {
      if (s >= e) break;
      if (me <= s || ms >= e) continue;
      if (ms > s) out.push([s, ms]);
      s = Math.max(s, me);
    }
    if (s < e) out.push([s, e]);
  }
  return out;
}

function addInterval(list: Interval[], s: number, e: number): void {
  list.push([s, e]);
  list.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < list.length;) {
    if (list[i]![0] <= list[i - 1]![1]) { list[i - 1]![1] = Math.max(list[i - 1]![1], list[i]![1]); list.splice(i, 1); }
    else i++;
  }
}

export function planHpa(input: BootInput, sink?: PgtableSink): BootPlan {
  const t0 = performance.now();
  const em = new EarlyMapper(input, sink);
  const g = em.g, m = em.model, a = em.alloc;
  const mapped: Interval[] = [];
  const queue: { pa: number; source: "brk" | "memblock" }[] = [];
  em.pageSource = (caller, level) => {
    const q = queue.shift();
    if (!q) throw new Error(`hpa: page-table page count was wrong (needed one more for ${caller})`);
    const rec: PgtAllocation = { num: 1, pa: q.pa, source: q.source, caller, during: em.during,
      level: PGT_LEVEL_NAMES[level], mapped: a.pfnRangeIsMapped(q.pa / PAGE, q.pa / PAGE + 1) };
    a.allocations.push(rec);
    return q;
  };
  const brkLeft = (): number => a.pgtBufTop - a.pgtBufEnd;
  const takeBrk = (n: number): void => {
    for (let i = 0; i < n; i++) queue.push({ pa: (a.pgtBufEnd++) * PAGE, source: "brk" });
  };
  const need = (ivs: Interval[]): number => countTablesForRanges(m, em.split, ivs);
  const mapIntervals = (ivs: Interval[], phase: string): void => {
    for (const [s, e] of ivs) { em.initMemoryMappingCall(s, e, phase); addInterval(mapped, s, e); }
    if (queue.length) throw new Error(`hpa: ${queue.length} page-table page(s) counted but not used`);
  };

  // ── 1. the kernel image, from brk ──
  m.deferHooks = true;
  em.steps.push({ op: "note", text: "hpa step 1: map the kernel image, page tables from the brk reserve" });
  const k0 = input.kernel.text - (input.kernel.text % PAGE);
  const k1 = Math.ceil(Math.max(input.kernel.end, input.kernel.brkEnd) / PAGE) * PAGE;
  const kernelIvs = unmappedRam(input, mapped, k0, k1);
  const kNeed = need(kernelIvs);
  if (kNeed > brkLeft())
    throw new BootInputError(`brk reserve too small for the kernel image: mapping it needs ${kNeed} page-table pages, the reserve has ${brkLeft()} ` +
      `(raise it with --brk ${kNeed + 1 + (input.backend === "xen" ? 1 : 0)} or more: with 4k pages only, as under Xen, the image needs a pte page per 2 MiB)`);
  takeBrk(kNeed);
  a.canUseBrkPgt = true;
  mapIntervals(kernelIvs, "hpa 1 (kernel image, brk)");

  // ── 2. top-down from the highest region while the reserve lasts ──
  em.steps.push({ op: "note", text: "hpa step 2: map top-down from the highest RAM, page tables from the brk reserve" });
  const top = (g.is64 ? input.maxPfn : input.maxLowPfn) * PAGE;
  const pmd = 2 ** g.pmdShift;
  let span = em.pageSizeMask & PageMask.Huge ? 2 ** 39 : em.pageSizeMask & PageMask.Large ? 2 ** 30 : pmd;
  let last = top;
  while (last > ISA_END_ADDRESS) {
    const start = Math.max(Math.floor((last - 1) / span) * span, ISA_END_ADDRESS);
    const ivs = unmappedRam(input, mapped, start, last);
    const n = need(ivs);
    if (n > brkLeft()) {
      if (span > pmd) { span = Math.max(pmd, span / 512); continue; }
      break;                                            // the reserve is exhausted
    }
    takeBrk(n);
    mapIntervals(ivs.reverse(), "hpa 2 (top-down, brk)");
    last = start;
  }

  // ── 3. hook everything created so far; 4. switch CR3 ──
  const deferred = m.flushHooks();
  em.steps.push({ op: "hook", frames: deferred.map((h) => ({ pa: h.pa, level: PGT_LEVEL_NAMES[h.level] })),
    why: "hpa step 3: tables built from brk, before CR3 points at them" });
  em.loadCr3("hpa step 4: switch to the new tables");

  // ── 5–7. downward in batches, tables from the highest mapped memory ──
  em.hookWhy = "hpa step 6: each new table hooked before it is linked in";
  const mb = input.memblock;
  const bottomUp = mb.bottomUp;
  mb.bottomUp = false;                                  // "as high as possible"
  try {
    let batch = span;
    while (last > 0) {
      const floor = last > ISA_END_ADDRESS ? ISA_END_ADDRESS : 0;
      const start = Math.max(Math.floor((last - 1) / batch) * batch, floor);
      const ivs = floor === 0 ? [[0, ISA_END_ADDRESS] as Interval].filter(([s, e]) => !covered(mapped, s, e)) : unmappedRam(input, mapped, start, last);
      const n = need(ivs);
      const pages = allocFromMapped(input, mapped, n);
      if (!pages) {
        if (batch > pmd) { batch /= 2; continue; }
        throw new BootPanic(`hpa: no free already-mapped memory for ${n} page-table page(s) to map [0x${start.toString(16)}, 0x${last.toString(16)})`);
      }
      em.steps.push({ op: "note", text: floor === 0 ? `hpa step 7: the ISA range last, ${n} table page(s) from mapped memory`
        : `hpa step 5: batch [0x${start.toString(16)}, 0x${last.toString(16)}): ${n} table page(s) from the highest mapped memory` });
      for (const pa of pages) queue.push({ pa, source: "memblock" });
      mapIntervals(floor === 0 ? ivs : ivs.reverse(), floor === 0 ? "hpa 7 (ISA range)" : "hpa 5 (batch)");
      last = start;
      const mappedBytes = mapped.reduce((s, [x, y]) => s + (y - x), 0);
      while (batch * 2 <= mappedBytes) batch *= 2;
    }
  } finally {
    mb.bottomUp = bottomUp;
  }
  return em.finish("hpa", t0, null);
}

function covered(mapped: Interval[], s: number, e: number): boolean {
  return mapped.some(([a, b]) => a <= s && e <= b);
}

/**
 * `n` pages from memblock, highest first, each inside an already-mapped
 * interval (never from a hole between mapped intervals). All or nothing.
 */
function allocFromMapped(input: BootInput, mapped: Interval[], n: number): number[] | null {
  const mb = input.memblock;
  const got: number[] = [];
  for (let i = mapped.length - 1; i >= 0 && got.length < n; i--) {
    const [s, e] = mapped[i]!;
    for (let pa; got.length < n && (pa = mb.allocRange(PAGE, PAGE, s, e));) got.push(pa);
  }
  if (got.length < n) { for (const pa of got) mb.free(pa, pa + PAGE); return null; }
  return got;
}
