/**
 * kernel_physical_mapping_init(): map one split_mem_range() piece into the
 * direct map, allocating table pages on the way down — arch/x86/mm/init_64.c
 * (__kernel_physical_mapping_init, phys_p4d_init, phys_pud_init,
 * phys_pmd_init, phys_pte_init) and arch/x86/mm/init_32.c
 * (kernel_physical_mapping_init, one_md_table_init, one_page_table_init).
 *
 * Rules that decide allocation and accounting, kept exactly:
 * - a missing non-leaf entry costs one alloc_low_pages(1), *then* the lower
 *   level is filled, *then* the entry is written by *_populate_init (whose
 *   paravirt hook therefore sees a finished table);
 * - a present entry is reused: a lower table is descended into, a large page
 *   is kept when the piece allows that size (and still counted in
 *   direct_pages_count), and split when it does not;
 * - entries beyond the piece's end are cleared only when no E820 RAM /
 *   RESERVED_KERN lies under them (the walker's e820__mapped_any check);
 * - the return value (paddr_last) is where the last written mapping ended —
 *   for a large page the end of that page, which is what
 *   add_pfn_range_mapped() then records.
 */
import { E820Type, e820MappedAny, type E820Entry } from "./e820.js";
import { entryIndex, type Geometry, PageMask } from "./geometry.js";
import { type PgtableModel, Slot, type Table } from "./pgtable.js";
import { PgtLevel } from "../kernel/types.js";

export interface PhysMapContext {
  readonly model: PgtableModel;
  /** alloc_low_page(): a zeroed page for a table of `level`, needed by `caller`. */
  allocPage(caller: string, level: PgtLevel): number;
  readonly e820: readonly E820Entry[];
  /** direct_pages_count[PG_LEVEL_NONE, 4K, 2M, 1G, 512G] (update_page_count). */
  readonly directPages: number[];
}

const PG_4K = 1, PG_2M = 2, PG_1G = 3;

function ramOrKernel(ctx: PhysMapContext, s: number, e: number): boolean {
  return e820MappedAny(ctx.e820, s, e, E820Type.Ram) || e820MappedAny(ctx.e820, s, e, E820Type.ReservedKern);
}

function newTable(ctx: PhysMapContext, level: PgtLevel, caller: string): Table {
  const pa = ctx.allocPage(caller, level);
  return ctx.model.addTable(pa, level, false);
}

/** Which kernel function allocates the page that sits below a table of `level`. */
const ALLOC_CALLER: Record<number, string> = {
  [PgtLevel.Pgd]: "__kernel_physical_mapping_init",
  [PgtLevel.P4d]: "phys_p4d_init",
  [PgtLevel.Pud]: "phys_pud_init",
  [PgtLevel.Pmd]: "phys_pmd_init",
};

/** 64-bit: map [paddrStart, paddrEnd) with `mask`; returns paddr_last. */
export function kernelPhysicalMappingInit64(ctx: PhysMapContext, paddrStart: number, paddrEnd: number, mask: number): number {
  const m = ctx.model, g = m.g, pgd = m.pgd;
  const span = 2 ** g.shift[PgtLevel.Pgd]!;
  let paddrLast = paddrEnd;
  for (let paddr = paddrStart, next: number; paddr < paddrEnd; paddr = next) {
    next = Math.floor(paddr / span) * span + span;
    const i = entryIndex(g, PgtLevel.Pgd, paddr);
    const cl = m.childLevel(PgtLevel.Pgd);
    if (pgd.kind[i] !== Slot.None) {
      paddrLast = physLevelInit(ctx, m.child(pgd, i), paddr, paddrEnd, mask);
      continue;
    }
    const t = newTable(ctx, cl, ALLOC_CALLER[PgtLevel.Pgd]!);
    paddrLast = physLevelInit(ctx, t, paddr, paddrEnd, mask);
    m.link(pgd, i, t);
  }
  return paddrLast;
}

function physLevelInit(ctx: PhysMapContext, t: Table, paddr: number, paddrEnd: number, mask: number): number {
  switch (t.level) {
    case PgtLevel.Pte: return physPteInit(ctx, t, paddr, paddrEnd);
    case PgtLevel.P4d: return physP4dInit(ctx, t, paddr, paddrEnd, mask);
    default: return physLargeLevelInit(ctx, t, paddr, paddrEnd, mask);
  }
}

/** phys_p4d_init (5-level only; with 4 levels the pud page is passed straight down). */
function physP4dInit(ctx: PhysMapContext, t: Table, paddr: number, paddrEnd: number, mask: number): number {
  const m = ctx.model, g = m.g, span = 2 ** g.shift[PgtLevel.P4d]!;
  let paddrLast = paddrEnd;
  const tableEnd = Math.floor(paddr / (span * 512)) * span * 512 + span * 512;
  for (let next: number; paddr < Math.min(paddrEnd, tableEnd); paddr = next) {
    next = Math.floor(paddr / span) * span + span;
    const i = entryIndex(g, PgtLevel.P4d, paddr);
    if (t.kind[i] !== Slot.None) {
      paddrLast = physLevelInit(ctx, m.child(t, i), paddr, paddrEnd, mask);
      continue;
    }
    const c = newTable(ctx, PgtLevel.Pud, ALLOC_CALLER[PgtLevel.P4d]!);
    paddrLast = physLevelInit(ctx, c, paddr, paddrEnd, mask);
    m.link(t, i, c);
  }
  return paddrLast;
}

/** phys_pud_init / phys_pmd_init: levels that may hold a large page (1G / 2M). */
function physLargeLevelInit(ctx: PhysMapContext, t: Table, paddr: number, paddrEnd: number, mask: number): number {
  const m = ctx.model, g = m.g, level = t.level;
  const span = 2 ** g.shift[level]!;
  const largeBit = level === PgtLevel.Pud ? PageMask.Huge : PageMask.Large;
  let paddrLast = paddrEnd, pages = 0;
  for (let i = entryIndex(g, level, paddr), next: number; i < g.entriesPerTable; i++, paddr = next) {
    const base = Math.floor(paddr / span) * span;
    next = base + span;
    if (paddr >= paddrEnd) {
      if (t.kind[i] !== Slot.None && !ramOrKernel(ctx, base, next)) m.clear(t, i);
      continue;
    }
    if (t.kind[i] === Slot.Table) {
      paddrLast = physLevelInit(ctx, m.child(t, i), paddr, paddrEnd, mask);
      continue;
    }
    if (t.kind[i] === Slot.Leaf && mask & largeBit) {
      // "If we are ok with a large mapping, then we will use the existing mapping."
      pages++;
      paddrLast = next;
      continue;
    }
    // (A present large page without the mask falls through and is split below.)
    if (mask & largeBit) {
      pages++;
      m.setLeaf(t, i, base);
      paddrLast = next;
      continue;
    }
    const c = newTable(ctx, m.childLevel(level), ALLOC_CALLER[level]!);
    paddrLast = physLevelInit(ctx, c, paddr, paddrEnd, mask);
    m.link(t, i, c);
  }
  ctx.directPages[level === PgtLevel.Pud ? PG_1G : PG_2M]! += pages;
  return paddrLast;
}

/** phys_pte_init. */
function physPteInit(ctx: PhysMapContext, t: Table, paddr: number, paddrEnd: number): number {
  const m = ctx.model, g = m.g, n = g.entriesPerTable;
  let paddrLast = paddrEnd;
  const first = entryIndex(g, PgtLevel.Pte, paddr), base0 = paddr - (paddr % 4096);
  const at = (i: number): number => base0 + (i - first) * 4096;        // the page entry i maps
  // Entries whose page starts below paddrEnd are mapped; runs of empty ones
  // are written in one go (with 4k pages only, as under Xen, this is most
  // of the planning time).
  const stop = paddr < paddrEnd ? Math.min(n, first + Math.ceil((paddrEnd - base0) / 4096)) : first;
  const pages = stop - first;
  for (let i = first; i < stop;) {
    // "We will re-use the existing mapping" (Xen pre-sets some entries read-only).
    if (t.kind[i] !== Slot.None) { i++; continue; }
    let j = i + 1;
    while (j < stop && t.kind[j] === Slot.None) j++;
    m.setLeafRun(t, i, j, at(i));
    paddrLast = at(j);
    i = j;
  }
  // The rest of the table: entries left from earlier that map no RAM go.
  for (let i = stop; i < n; i++)
    if (t.kind[i] !== Slot.None && !ramOrKernel(ctx, at(i), at(i) + 4096)) m.clear(t, i);
  ctx.directPages[PG_4K]! += pages;
  return paddrLast;
}

/**
 * 32-bit (PAE or 2-level) kernel_physical_mapping_init(). Large pages only
 * when the piece's mask is exactly the large-page bit (use_pse); the
 * head_32 tables are reused where present. The kernel writes every entry
 * twice (identity attributes first, then the final ones, per Intel's TLB
 * application note); only the final values are modelled. Returns
 * last_map_addr (advanced by 4K mappings only).
 */
export function kernelPhysicalMappingInit32(ctx: PhysMapContext, start: number, end: number, mask: number): number {
  const m = ctx.model, g = m.g, pgd = m.pgd;
  const usePse = mask === PageMask.Large;
  const ptrsPerPte = g.entriesPerTable;
  let lastMapAddr = end, pages2m = 0, pages4k = 0;
  let pfn = Math.floor(start / 4096);
  const endPfn = Math.floor(end / 4096);
  for (let pgdIdx = entryIndex(g, PgtLevel.Pgd, pfn * 4096); pgdIdx < g.topEntries; pgdIdx++) {
    const pmdTable = oneMdTableInit(ctx, pgdIdx);
    if (pfn >= endPfn) continue;
    const paeMode = g.mode === "pae";
    let pmdIdx = paeMode ? entryIndex(g, PgtLevel.Pmd, pfn * 4096) : pgdIdx;
    const pmdEntries = paeMode ? g.entriesPerTable : pgdIdx + 1;
    for (; pmdIdx < pmdEntries && pfn < endPfn; pmdIdx++) {
      if (usePse) {
        pfn -= pfn % ptrsPerPte;
        pages2m++;
        m.setLeaf(pmdTable, pmdIdx, pfn * 4096);
        pfn += ptrsPerPte;
        continue;
      }
      const pte = onePageTableInit(ctx, pmdTable, pmdIdx);
      for (let ofs = pfn % ptrsPerPte; ofs < ptrsPerPte && pfn < endPfn; ofs++, pfn++) {
        pages4k++;
        if (pte.kind[ofs] === Slot.None) m.setLeaf(pte, ofs, pfn * 4096);
        else m.leavesWritten++;   // rewritten with the same frame
        lastMapAddr = pfn * 4096 + 4096;
      }
    }
  }
  ctx.directPages[PG_2M]! += pages2m;
  ctx.directPages[PG_4K]! += pages4k;
  return lastMapAddr;
}

/** one_md_table_init(): PAE allocates a pmd page for an empty pgd entry; 2-level folds the pmd. */
export function oneMdTableInit(ctx: PhysMapContext, pgdIdx: number): Table {
  const m = ctx.model, pgd = m.pgd;
  if (m.g.mode !== "pae") return pgd;
  if (pgd.kind[pgdIdx] === Slot.Table) return m.child(pgd, pgdIdx);
  const t = newTable(ctx, PgtLevel.Pmd, "one_md_table_init");
  m.link(pgd, pgdIdx, t);
  return t;
}

/** one_page_table_init(): a pte page for an empty pmd entry. */
export function onePageTableInit(ctx: PhysMapContext, pmdTable: Table, idx: number): Table {
  const m = ctx.model;
  if (pmdTable.kind[idx] === Slot.Table) return m.child(pmdTable, idx);
  if (pmdTable.kind[idx] === Slot.Leaf)
    throw new Error(`one_page_table_init: pmd entry ${idx} of 0x${pmdTable.pa.toString(16)} is a large page (kernel BUG)`);
  const t = newTable(ctx, PgtLevel.Pte, "one_page_table_init");
  m.link(pmdTable, idx, t);
  return t;
}
