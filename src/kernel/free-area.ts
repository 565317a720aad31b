/**
 * The buddy free lists (struct free_area of mm/page_alloc.c): per order, the
 * free blocks by first pfn, kept sorted so that placement can be address
 * ordered (page-alloc.ts says why), and the operations on them — merging a
 * freed block with its buddies (__free_one_page), carving a range out,
 * finding the lowest or highest fitting piece and splitting its block down
 * to it (__rmqueue_smallest + expand). Counting pages is the allocator's.
 */
import { PAGE_SIZE, type Pfn } from "./types.js";

/** Largest order (Linux MAX_PAGE_ORDER, formerly MAX_ORDER - 1): 2^10 pages = 4 MiB. */
export const MAX_PAGE_ORDER = 10;

export type Placement = "bottom-up" | "top-down";

/** Where a block may come from. */
export interface TakeOptions {
  placement: Placement;
  /** The block must lie at or above this address. */
  minAddr?: number;
  /** The block must end at or below this address (exclusive limit, like memblock's `end`). */
  maxAddr?: number;
}

const hex = (n: number): string => "0x" + n.toString(16);

/** Index of the first element ≥ x in a sorted array. */
export function lowerBound(a: readonly number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (a[mid]! < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Cut [s, e) into maximal naturally aligned blocks, lowest first. */
export function forEachAlignedBlock(s: Pfn, e: Pfn, fn: (pfn: Pfn, order: number) => void): void {
  for (let p = s; p < e;) {
    let o = MAX_PAGE_ORDER;
    while (o > 0 && (p % (1 << o) !== 0 || p + (1 << o) > e)) o--;
    fn(p, o);
    p += 1 << o;
  }
}

export class FreeArea {
  /** Per order: start pfns of free blocks, sorted ascending. */
  private readonly lists: number[][] = Array.from({ length: MAX_PAGE_ORDER + 1 }, () => []);
  /** pfn of a free block's first frame → its order (the PageBuddy + buddy_order of Linux). */
  private readonly head = new Map<Pfn, number>();

  /** The free blocks of `order`, sorted. */
  blocks(order: number): readonly Pfn[] { return this.lists[order]!; }
  /** Order of the free block starting at pfn, or undefined. */
  orderAt(pfn: Pfn): number | undefined { return this.head.get(pfn); }
  /** Number of free blocks. */
  get size(): number { return this.head.size; }

  insert(pfn: Pfn, order: number): void {
    const l = this.lists[order]!;
    l.splice(lowerBound(l, pfn), 0, pfn);
    this.head.set(pfn, order);
  }

  remove(pfn: Pfn, order: number): void {
    const l = this.lists[order]!;
    const i = lowerBound(l, pfn);
    if (l[i] !== pfn) throw new Error(`internal: free block ${hex(pfn)} missing from order-${order} list`);
    l.splice(i, 1);
    this.head.delete(pfn);
  }

  /** __free_one_page: merge with free buddies as far as possible, then insert. */
  merge(pfn: Pfn, order: number): void {
    while (order < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (this.head.get(buddy) !== order) break;
      this.remove(buddy, order);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.insert(pfn, order);
  }

  /** The free block containing pfn, or null. */
  containing(pfn: Pfn): { start: Pfn; order: number } | null {
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      const start = pfn - (pfn % (1 << o));
      if (this.head.get(start) === o) return { start, order: o };
    }
    return null;
  }

  /** Remove every free frame in [s, e), keeping the rest of the blocks it cuts; returns how many. */
  carve(s: Pfn, e: Pfn): number {
    let taken = 0;
    for (let o = MAX_PAGE_ORDER; o >= 0; o--) {
      const l = this.lists[o]!;
      // Blocks that may overlap: start in [s - 2^o + 1, e).
      let i = lowerBound(l, s - (1 << o) + 1);
      const hits: number[] = [];
      for (; i < l.length && l[i]! < e; i++) hits.push(l[i]!);
      for (const p of hits) {
        this.remove(p, o);
        const a = Math.max(p, s), b = Math.min(p + (1 << o), e);
        taken += b - a;
        if (p < a) forEachAlignedBlock(p, a, (q, qo) => this.insert(q, qo));
        if (b < p + (1 << o)) forEachAlignedBlock(b, p + (1 << o), (q, qo) => this.insert(q, qo));
      }
    }
    return taken;
  }

  /**
   * Find and take a block: among all free blocks of order ≥ `order`, the
   * 2^order-aligned piece that lies inside [minAddr, maxAddr) and is lowest
   * (bottom-up) or highest (top-down). Then split the containing block so
   * that only that piece is taken (expand()). null when nothing fits.
   */
  take(order: number, opts: TakeOptions): Pfn | null {
    const size = 1 << order;
    const topDown = opts.placement === "top-down";
    const minPfn = Math.ceil((opts.minAddr ?? 0) / PAGE_SIZE);
    const maxPfn = opts.maxAddr === undefined ? Infinity : Math.floor(opts.maxAddr / PAGE_SIZE);
    let best: { piece: Pfn; block: Pfn; blockOrder: number } | null = null;
    for (let o = order; o <= MAX_PAGE_ORDER; o++) {
      const l = this.lists[o]!;
      if (l.length === 0) continue;
      const bsize = 1 << o;
      if (topDown) {
        for (let i = maxPfn === Infinity ? l.length - 1 : lowerBound(l, maxPfn) - 1; i >= 0; i--) {
          const b = l[i]!;
          if (b + bsize <= minPfn) break;
          const hi = Math.min(b + bsize, maxPfn);
          const piece = Math.floor((hi - size) / size) * size;
          if (piece >= Math.max(b, minPfn)) {
            if (!best || piece > best.piece) best = { piece, block: b, blockOrder: o };
            break;
          }
        }
      } else {
        for (let i = lowerBound(l, minPfn - bsize + 1); i < l.length; i++) {
          const b = l[i]!;
          if (b >= maxPfn) break;
          const piece = Math.ceil(Math.max(b, minPfn) / size) * size;
          if (piece + size <= Math.min(b + bsize, maxPfn)) {
            if (!best || piece < best.piece) best = { piece, block: b, blockOrder: o };
            break;
          }
        }
      }
    }
    if (!best) return null;
    // expand(): halve the block, keep the half holding the piece, free the other.
    this.remove(best.block, best.blockOrder);
    let b = best.block;
    for (let o = best.blockOrder; o > order; o--) {
      const half = 1 << (o - 1);
      if (best.piece < b + half) this.insert(b + half, o - 1);
      else { this.insert(b, o - 1); b += half; }
    }
    return b;
  }
}
