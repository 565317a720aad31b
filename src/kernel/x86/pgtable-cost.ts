/**
 * Page-table memory per GiB mapped: build an mm, map `gib` GiB with one page
 * size, and count the table pages it took (NR_PAGETABLE after minus before,
 * so the pgd and PAE's preallocated pmds, which every mm has anyway, are not
 * counted). Runs over sparse memory so a large machine costs nothing.
 */
import { createEngine } from "../../engine/index.js";
import { Kernel } from "./kernel.js";
import { SZ_1G } from "../mman.js";
import { GEOMETRY, PAGING_MODES, type PagingMode } from "./pgtable-types.js";

export interface PageTableCost {
  mode: PagingMode;
  pageSize: number;
  gib: number;
  /** Table pages added by the mapping. */
  tables: number;
  /** Bytes of page tables per GiB mapped. */
  bytesPerGiB: number;
}

/** Page sizes the mode can map: 4 KiB, the pmd leaf (2 or 4 MiB) and, on 64-bit, 1 GiB. */
export function pageSizesFor(mode: PagingMode): number[] {
  const g = GEOMETRY[mode];
  return g.tables.filter((t, i) => i === g.tables.length - 1 || (i > 0 || g.tables.length === 2) && t.shift <= 30 && i >= g.tables.length - 3)
    .map((t) => 2 ** t.shift).filter((s) => s <= SZ_1G && (s !== SZ_1G || g.vaBits > 32)).sort((a, b) => a - b);
}

export async function measurePageTableCost(mode: PagingMode, pageSize: number, gib = 1): Promise<PageTableCost> {
  const e = await createEngine("wasm", { backing: "sparse", physSize: 2 ** 36, poolBytes: 64 << 20 });
  const k = new Kernel({ mode, cpu: e, lockdep: "off" });
  const mm = k.mmCreate();
  const before = k.nrPagetable;
  // At 1 GiB (so the first pgd slot's tables are not shared with anything), or at 0 when
  // that would not fit a 32-bit user space.
  const va = 0x4000_0000n + BigInt(gib * SZ_1G) <= k.geometry.taskSize ? 0x4000_0000n : 0n;
  mm.mapRange(va, gib * SZ_1G, { pa: 0, prot: "rw", pageSize });
  const tables = k.nrPagetable - before;
  mm.destroy();
  return { mode, pageSize, gib, tables, bytesPerGiB: (tables * 4096) / gib };
}

/** Every paging mode with every page size it can map, one measurement each, as they are made. */
export async function* pageTableCosts(gib = 1): AsyncGenerator<PageTableCost> {
  for (const mode of PAGING_MODES)
    for (const ps of pageSizesFor(mode)) yield await measurePageTableCost(mode, ps, gib);
}
