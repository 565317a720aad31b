/**
 * The physical page allocator: a binary buddy allocator over the usable
 * ranges of a memory map (mm/page_alloc.c, Documentation/mm/physical_memory.rst).
 *
 *   order:   0      1        2            …   10 (MAX_PAGE_ORDER)
 *   block:  4 KiB  8 KiB   16 KiB             4 MiB, aligned to its own size
 *
 * A free block of order k starting at pfn p has its buddy at p ^ (1 << k);
 * freeing a block merges it with a free buddy of the same order, repeatedly
 * (__free_one_page). Allocation takes a block of the smallest sufficient order
 * and splits the rest back onto the free lists (expand()).
 *
 * Two things differ from Linux on purpose:
 *  - Placement is address-ordered and selectable: bottom-up (lowest fitting
 *    block) or top-down (highest), optionally inside [minAddr, maxAddr). Linux's
 *    buddy lists are LIFO. Address order is what memblock gives the early
 *    boot code (memblock_set_bottom_up; the boot planner keeps its own
 *    memblock, src/boot/memblock.ts), and it makes every test deterministic.
 *  - Misuse is an exception, not a BUG: double free, freeing a reserved or
 *    never-allocated frame, or freeing with the wrong order throws a
 *    PageAllocError and changes nothing.
 *
 * Nothing here touches guest memory except zeroing (GFP_ZERO), so the
 * allocator works unchanged over dense and sparse PhysMem: a sparse frame is
 * backed only when someone writes to it.
 */
import type { PhysMem } from "../phys/phys-mem.js";
import { FreeArea, forEachAlignedBlock, lowerBound, MAX_PAGE_ORDER, type Placement } from "./free-area.js";
import { PAGE_SIZE, type Pfn, type PhysAddr } from "./types.js";

export { MAX_PAGE_ORDER, type Placement };

/** A range of physical bytes [start, end). */
export interface PhysRange { start: PhysAddr; end: PhysAddr }

/** One entry of a firmware memory map (e820-like); only "usable" feeds the allocator. */
export interface MemoryMapEntry extends PhysRange {
  type: "usable" | "reserved" | "acpi" | "nvs" | "unusable";
}

export interface AllocOptions {
  /** Overrides the allocator's default placement for this call. */
  placement?: Placement;
  /** The block must lie at or above this address. */
  minAddr?: PhysAddr;
  /** The block must end at or below this address (exclusive limit, like memblock's `end`). */
  maxAddr?: PhysAddr;
  /** Zero the block (GFP_ZERO). */
  zero?: boolean;
}

export interface PageAllocatorOptions {
  /** Usable physical ranges, or a whole memory map (non-usable entries are skipped). */
  map: readonly (PhysRange | MemoryMapEntry)[];
  /** Needed for `zero` allocations and checked against for range sanity. */
  phys?: PhysMem;
  /** Default placement (bottom-up). */
  placement?: Placement;
}

export type PageAllocErrorCode =
  | "double-free" | "free-reserved" | "not-allocated" | "wrong-order" | "bad-order"
  | "bad-range" | "range-busy" | "not-reserved";

/** A misuse of the allocator. The allocator's state is unchanged when this is thrown. */
export class PageAllocError extends Error {
  constructor(readonly code: PageAllocErrorCode, message: string) {
    super(message);
    this.name = "PageAllocError";
  }
}

/** A point-in-time summary (like /proc/buddyinfo + the meminfo page counts). */
export interface PageAllocStats {
  /** Frames handed to the allocator (usable, page-aligned inward). */
  managedPages: number;
  freePages: number;
  allocatedPages: number;
  /** Frames taken out by reserve() (and not released). */
  reservedPages: number;
  /** Free blocks per order 0..MAX_PAGE_ORDER. */
  freeBlocks: number[];
  /** Successful allocations and failures so far (injected failures included). */
  allocations: number;
  failures: number;
}

const hex = (n: number): string => "0x" + n.toString(16);

/** Pfn ranges sorted, with overlapping or touching ones merged (copies; the input is not changed). */
function mergeRanges(ranges: readonly { start: Pfn; end: Pfn }[]): { start: Pfn; end: Pfn }[] {
  const merged: { start: Pfn; end: Pfn }[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

export class PageAllocator {
  /** The free blocks (address-ordered placement). */
  private readonly free = new FreeArea();
  /** pfn of an allocated block's first frame → its order. */
  private readonly allocated = new Map<Pfn, number>();
  /** Reserved ranges in pfns [start, end), disjoint, sorted. */
  private reserved: { start: Pfn; end: Pfn }[] = [];
  /** Usable pfn ranges [start, end), as given (inward-aligned), sorted, merged. */
  readonly usable: readonly { start: Pfn; end: Pfn }[];
  readonly phys: PhysMem | undefined;
  placement: Placement;

  private nrFree = 0;
  private nrAllocated = 0;
  private nrManaged = 0;
  private allocCount = 0;
  private failCount = 0;
  /** Absolute allocation attempt numbers (1-based) that must fail. */
  private readonly failAt = new Set<number>();

  constructor(opts: PageAllocatorOptions) {
    this.phys = opts.phys;
    this.placement = opts.placement ?? "bottom-up";
    const ranges: { start: Pfn; end: Pfn }[] = [];
    for (const r of opts.map) {
      if ("type" in r && r.type !== "usable") continue;
      if (!(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.end >= r.start))
        throw new PageAllocError("bad-range", `memory map entry [${hex(r.start)}, ${hex(r.end)}) is not a valid range`);
      if (opts.phys && r.end > opts.phys.size)
        throw new PageAllocError("bad-range",
          `memory map entry [${hex(r.start)}, ${hex(r.end)}) extends beyond guest memory (${hex(opts.phys.size)} bytes)`);
      // Partial frames at either end are unusable (PFN_UP(start), PFN_DOWN(end)).
      const s = Math.ceil(r.start / PAGE_SIZE), e = Math.floor(r.end / PAGE_SIZE);
      if (e > s) ranges.push({ start: s, end: e });
    }
    const merged = mergeRanges(ranges);
    this.usable = merged;
    for (const r of merged) {
      this.addRange(r.start, r.end);
      this.nrManaged += r.end - r.start;
    }
  }

  // ── allocation ─────────────────────────────────────────────────────────

  /**
   * Allocate 2^order contiguous frames aligned to their size. Returns the
   * first pfn, or null when no block fits (or an injected failure hits),
   * as alloc_pages() returns NULL: callers unwind, nothing is left half-done.
   */
  allocPages(order: number, opts: AllocOptions = {}): Pfn | null {
    this.checkOrder(order);
    const attempt = ++this.allocCount;
    if (this.failAt.delete(attempt)) { this.failCount++; return null; }
    const pfn = this.free.take(order, { ...opts, placement: opts.placement ?? this.placement });
    if (pfn === null) { this.failCount++; return null; }
    this.allocated.set(pfn, order);
    this.nrFree -= 1 << order;
    this.nrAllocated += 1 << order;
    if (opts.zero) {
      if (!this.phys) throw new PageAllocError("bad-range", "allocPages({ zero: true }) needs an allocator created with `phys`");
      this.phys.fill(pfn * PAGE_SIZE, PAGE_SIZE << order, 0);
    }
    return pfn;
  }

  /** One frame (alloc_page). */
  allocPage(opts?: AllocOptions): Pfn | null { return this.allocPages(0, opts); }

  /**
   * Free a block previously returned by allocPages with the same order
   * (__free_pages). Merges with free buddies. Throws PageAllocError, changing
   * nothing, on a double free, a reserved or never-allocated frame, or an
   * order that does not match the allocation.
   */
  freePages(pfn: Pfn, order: number): void {
    this.checkOrder(order);
    const got = this.allocated.get(pfn);
    if (got === undefined) throw this.whyNotAllocated(pfn);
    if (got !== order)
      throw new PageAllocError("wrong-order",
        `free of pfn ${hex(pfn)} with order ${order}, but it was allocated with order ${got}`);
    this.allocated.delete(pfn);
    this.nrAllocated -= 1 << order;
    this.nrFree += 1 << order;
    this.free.merge(pfn, order);
  }

  freePage(pfn: Pfn): void { this.freePages(pfn, 0); }

  /** Order of the allocated block starting at pfn, or undefined. */
  allocatedOrder(pfn: Pfn): number | undefined { return this.allocated.get(pfn); }

  /** Every allocated block (for leak reports), sorted by pfn. */
  allocatedBlocks(): { pfn: Pfn; order: number }[] {
    return [...this.allocated].map(([pfn, order]) => ({ pfn, order })).sort((a, b) => a.pfn - b.pfn);
  }

  // ── reservation (memblock_reserve / free_reserved_area) ───────────────

  /**
   * Take [start, end) (bytes, widened to whole frames) out of the free pool,
   * e.g. for the kernel image or firmware tables. Every frame of the range
   * that is usable must currently be free: reserving an allocated frame is a
   * "range-busy" error and changes nothing. Frames outside usable memory are
   * simply not managed and need no reservation.
   */
  reserve(start: PhysAddr, end: PhysAddr): void {
    const s = Math.floor(start / PAGE_SIZE), e = Math.ceil(end / PAGE_SIZE);
    this.checkPfnRange(s, e, "reserve");
    for (const [pfn, order] of this.allocated)
      if (pfn < e && pfn + (1 << order) > s)
        throw new PageAllocError("range-busy",
          `reserve [${hex(start)}, ${hex(end)}): frames ${hex(pfn)}..${hex(pfn + (1 << order) - 1)} are allocated`);
    let taken = 0;
    for (const u of this.usable) {
      const a = Math.max(s, u.start), b = Math.min(e, u.end);
      if (a >= b) continue;
      taken += this.free.carve(a, b);
      this.addReserved(a, b);
    }
    this.nrFree -= taken;
  }

  /**
   * Give reserved frames in [start, end) back to the free pool
   * (free_reserved_area, memblock_free_late). Frames in the range that are not
   * reserved make it a "not-reserved" error: nothing changes.
   */
  unreserve(start: PhysAddr, end: PhysAddr): void {
    const s = Math.floor(start / PAGE_SIZE), e = Math.ceil(end / PAGE_SIZE);
    this.checkPfnRange(s, e, "unreserve");
    let covered = 0;
    for (const r of this.reserved) covered += Math.max(0, Math.min(e, r.end) - Math.max(s, r.start));
    let usable = 0;
    for (const u of this.usable) usable += Math.max(0, Math.min(e, u.end) - Math.max(s, u.start));
    if (covered !== usable)
      throw new PageAllocError("not-reserved",
        `unreserve [${hex(start)}, ${hex(end)}): only ${covered} of its ${usable} usable frames are reserved`);
    const next: { start: Pfn; end: Pfn }[] = [];
    for (const r of this.reserved) {
      if (r.end <= s || r.start >= e) { next.push(r); continue; }
      if (r.start < s) next.push({ start: r.start, end: s });
      if (r.end > e) next.push({ start: e, end: r.end });
      forEachAlignedBlock(Math.max(s, r.start), Math.min(e, r.end), (p, o) => this.free.merge(p, o));
    }
    this.reserved = next;
    this.nrFree += covered;
  }

  /** Is the frame inside a reserved range? */
  isReserved(pfn: Pfn): boolean {
    const i = lowerBound(this.reserved.map((r) => r.end), pfn + 1);
    const r = this.reserved[i];
    return r !== undefined && r.start <= pfn;
  }

  // ── failure injection (should_fail_alloc_page / fail_page_alloc) ───────

  /**
   * Make the n-th allocation attempt from now fail (1 = the next one).
   * Call several times to fail several attempts. Meant for tests that prove
   * every path unwinds when memory runs out in the middle of an operation.
   */
  failNth(n: number): void {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`failNth: n must be an integer ≥ 1, got ${n}`);
    this.failAt.add(this.allocCount + n);
  }

  /** Forget pending injected failures. */
  clearFailures(): void { this.failAt.clear(); }

  // ── accounting ─────────────────────────────────────────────────────────

  get freePagesCount(): number { return this.nrFree; }
  get allocatedPagesCount(): number { return this.nrAllocated; }

  stats(): PageAllocStats {
    let reservedPages = 0;
    for (const r of this.reserved) reservedPages += r.end - r.start;
    return {
      managedPages: this.nrManaged, freePages: this.nrFree, allocatedPages: this.nrAllocated,
      reservedPages, freeBlocks: Array.from({ length: MAX_PAGE_ORDER + 1 }, (_, o) => this.free.blocks(o).length),
      allocations: this.allocCount - this.failCount, failures: this.failCount,
    };
  }

  /**
   * Check the allocator's invariants (for tests): free blocks aligned, inside
   * usable memory, disjoint from each other, from allocations and from
   * reservations; no two free buddies of the same order left unmerged; the
   * counters add up. Throws an Error naming the first broken invariant.
   */
  checkInvariants(): void {
    const spans: [number, number, string][] = [];
    let free = 0;
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      for (const p of this.free.blocks(o)) {
        if (p % (1 << o) !== 0) throw new Error(`free block ${hex(p)} of order ${o} is misaligned`);
        if (this.free.orderAt(p) !== o) throw new Error(`free list and head map disagree at ${hex(p)}`);
        const b = p ^ (1 << o);
        if (o < MAX_PAGE_ORDER && this.free.orderAt(b) === o) throw new Error(`free buddies ${hex(p)}/${hex(b)} of order ${o} not merged`);
        if (!this.usable.some((u) => u.start <= p && p + (1 << o) <= u.end)) throw new Error(`free block ${hex(p)} outside usable memory`);
        spans.push([p, p + (1 << o), "free"]);
        free += 1 << o;
      }
    }
    if (this.free.size !== spans.length) throw new Error("stale entries in the free head map");
    let alloc = 0;
    for (const [p, o] of this.allocated) { spans.push([p, p + (1 << o), "allocated"]); alloc += 1 << o; }
    let res = 0;
    for (const r of this.reserved) { spans.push([r.start, r.end, "reserved"]); res += r.end - r.start; }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++)
      if (spans[i]![0] < spans[i - 1]![1]) throw new Error(`${spans[i - 1]![2]} and ${spans[i]![2]} frames overlap at ${hex(spans[i]![0])}`);
    if (free !== this.nrFree || alloc !== this.nrAllocated) throw new Error("page counters do not match the lists");
    if (free + alloc + res !== this.nrManaged) throw new Error(`free ${free} + allocated ${alloc} + reserved ${res} != managed ${this.nrManaged}`);
  }

  // ── internals ──────────────────────────────────────────────────────────

  private checkOrder(order: number): void {
    if (!(Number.isInteger(order) && order >= 0 && order <= MAX_PAGE_ORDER))
      throw new PageAllocError("bad-order", `order must be an integer in [0, ${MAX_PAGE_ORDER}], got ${order}`);
  }

  private checkPfnRange(s: Pfn, e: Pfn, what: string): void {
    if (!(Number.isSafeInteger(s) && Number.isSafeInteger(e) && s >= 0 && e >= s))
      throw new PageAllocError("bad-range", `${what}: [${hex(s * PAGE_SIZE)}, ${hex(e * PAGE_SIZE)}) is not a valid range`);
  }

  private whyNotAllocated(pfn: Pfn): PageAllocError {
    if (this.isReserved(pfn))
      return new PageAllocError("free-reserved", `free of pfn ${hex(pfn)}: the frame is reserved, not allocated`);
    if (this.free.containing(pfn) !== null)
      return new PageAllocError("double-free", `double free of pfn ${hex(pfn)}: the frame is already free`);
    for (const [p, o] of this.allocated)
      if (p < pfn && pfn < p + (1 << o))
        return new PageAllocError("not-allocated",
          `free of pfn ${hex(pfn)}: it is inside the order-${o} block at ${hex(p)}, free that block instead`);
    return new PageAllocError("not-allocated", `free of pfn ${hex(pfn)}: the frame was never allocated (or is not managed memory)`);
  }

  /** Seed [s, e) as free with maximal aligned blocks (__free_pages_memory). */
  private addRange(s: Pfn, e: Pfn): void {
    forEachAlignedBlock(s, e, (p, o) => {
      this.free.insert(p, o);
      this.nrFree += 1 << o;
    });
  }

  private addReserved(s: Pfn, e: Pfn): void { this.reserved = mergeRanges([...this.reserved, { start: s, end: e }]); }
}

/** The usable ranges of a memory map, in bytes (for callers that print them). */
export function usableRanges(map: readonly MemoryMapEntry[]): PhysRange[] {
  return map.filter((e) => e.type === "usable").map((e) => ({ start: e.start, end: e.end }));
}
