/**
 * memblock: the early boot allocator (mm/memblock.c), reduced to what
 * init_mem_mapping() touches: two sorted, merged region lists (`memory` and
 * `reserved`), range allocation top-down (default) or bottom-up, and
 * memblock_is_region_memory().
 *
 * Semantics kept exactly because they decide where page tables land:
 * - memblock_find_in_range_node() raises `start` to at least PAGE_SIZE and
 *   walks the free ranges (memory minus reserved) from the top
 *   (__memblock_find_range_top_down: cand = round_down(this_end − size, align))
 *   or from the bottom (__memblock_find_range_bottom_up).
 * - A successful memblock_alloc_range_nid() reserves what it returns, so the
 *   next early page table comes from just below the previous one (the 64 GiB
 *   record shows 0x107ffff000, 0x107fffe000, … descending).
 */
import { E820Type, type E820Entry } from "./e820.js";

export interface Region {
  base: number;
  end: number;      // exclusive
  flags: number;
}

export const PAGE_SIZE = 4096;

const roundDown = (x: number, a: number): number => x - (x % a);
const roundUp = (x: number, a: number): number => roundDown(x + a - 1, a);

export class Memblock {
  readonly memory: Region[] = [];
  readonly reserved: Region[] = [];
  /** memblock_set_bottom_up(true) — what `movable_node` does on x86. */
  bottomUp = false;
  /** memblock.current_limit (only used when a caller asks for "accessible"). */
  currentLimit = Number.MAX_SAFE_INTEGER;

  addMemory(base: number, end: number, flags = 0): void { addRegion(this.memory, base, end, flags); }
  reserve(base: number, end: number): void { addRegion(this.reserved, base, end, 0); }
  /** memblock_remove(): take [base, end) out of memory. */
  removeMemory(base: number, end: number): void { removeRange(this.memory, base, end); }
  /** memblock_phys_free(): give a reserved range back. */
  free(base: number, end: number): void { removeRange(this.reserved, base, end); }

  /**
   * memblock_is_region_memory(base, size): the whole range lies inside ONE
   * memory region (memblock_search finds the region holding `base`).
   */
  isRegionMemory(base: number, end: number): boolean {
    for (const r of this.memory) if (base >= r.base && base < r.end) return r.end >= end;
    return false;
  }

  /** for_each_free_mem_range: memory minus reserved, ascending. */
  *freeRanges(): Generator<[number, number]> {
    let ri = 0;
    const res = this.reserved;
    for (const m of this.memory) {
      let cur = m.base;
      while (ri < res.length && res[ri]!.end <= cur) ri++;
      for (let j = ri; j < res.length && res[j]!.base < m.end; j++) {
        const r = res[j]!;
        if (r.base > cur) yield [cur, Math.min(r.base, m.end)];
        cur = Math.max(cur, r.end);
        if (cur >= m.end) break;
      }
      if (cur < m.end) yield [cur, m.end];
    }
  }

  /** memblock_find_in_range_node(size, align, start, end): an address, or 0 if none. */
  findInRange(start: number, end: number, size: number, align: number): number {
    start = Math.max(start, PAGE_SIZE);      // "avoid allocating the first page"
    end = Math.max(start, end);
    const free = [...this.freeRanges()];
    if (this.bottomUp) {
      for (const [fs, fe] of free) {
        const s = clamp(fs, start, end), e = clamp(fe, start, end);
        const cand = roundUp(s, align);
        if (cand < e && e - cand >= size) return cand;
      }
      return 0;
    }
    for (let i = free.length - 1; i >= 0; i--) {
      const [fs, fe] = free[i]!;
      const s = clamp(fs, start, end), e = clamp(fe, start, end);
      if (e < size) continue;
      const cand = roundDown(e - size, align);
      if (cand >= s) return cand;
    }
    return 0;
  }

  /** memblock_phys_alloc_range(size, align, start, end): find + reserve; 0 on failure. */
  allocRange(size: number, align: number, start: number, end: number): number {
    const pa = this.findInRange(start, end, size, align);
    if (pa) this.reserve(pa, pa + size);
    return pa;
  }

  /** for_each_mem_pfn_range: memory regions rounded inward to whole pages, as pfns. */
  *memPfnRanges(): Generator<[number, number]> {
    for (const r of this.memory) {
      const s = Math.ceil(r.base / PAGE_SIZE), e = Math.floor(r.end / PAGE_SIZE);
      if (s < e) yield [s, e];
    }
  }

  clone(): Memblock {
    const m = new Memblock();
    m.memory.push(...this.memory.map((r) => ({ ...r })));
    m.reserved.push(...this.reserved.map((r) => ({ ...r })));
    m.bottomUp = this.bottomUp;
    m.currentLimit = this.currentLimit;
    return m;
  }

  /**
   * e820__memblock_setup(): every RAM / RESERVED_KERN entry becomes memory,
   * then memblock_trim_memory(PAGE_SIZE) drops partial pages.
   */
  static fromE820(table: readonly E820Entry[]): Memblock {
    const m = new Memblock();
    for (const e of table) {
      if (e.type === E820Type.SoftReserved) m.reserve(e.start, e.end);
      if (e.type !== E820Type.Ram && e.type !== E820Type.ReservedKern) continue;
      const s = roundUp(e.start, PAGE_SIZE), en = roundDown(e.end, PAGE_SIZE);
      if (s < en) m.addMemory(s, en);
    }
    return m;
  }
}

function clamp(x: number, lo: number, hi: number): number { return x < lo ? lo : x > hi ? hi : x; }

/** memblock_add_range + memblock_merge_regions: insert and merge touching/overlapping regions. */
function addRegion(list: Region[], base: number, end: number, flags: number): void {
  if (!(end > base)) return;
  let i = 0;
  while (i < list.length && list[i]!.end < base) i++;
  let nb = base, ne = end;
  let j = i;
  while (j < list.length && list[j]!.base <= ne && list[j]!.flags === flags) {
    nb = Math.min(nb, list[j]!.base); ne = Math.max(ne, list[j]!.end); j++;
  }
  list.splice(i, j - i, { base: nb, end: ne, flags });
}

/** memblock_remove_range on a list: cut [base, end) out of every region. */
function removeRange(list: Region[], base: number, end: number): void {
  const out: Region[] = [];
  for (const r of list) {
    if (r.end <= base || r.base >= end) { out.push(r); continue; }
    if (r.base < base) out.push({ base: r.base, end: base, flags: r.flags });
    if (r.end > end) out.push({ base: end, end: r.end, flags: r.flags });
  }
  list.splice(0, list.length, ...out);
}
