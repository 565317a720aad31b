/**
 * The boot planner's view of a paging mode: the mode's geometry from the
 * x86 vocabulary (src/kernel/x86/pgtable-types.ts) plus what early boot needs
 * on top of it, and the entry encodings the planner writes.
 *
 * Levels are `PgtLevel`, named as Linux names the table *pages*: the page a
 * pgd entry points to is a p4d page under 5-level paging and a pud page under
 * 4-level (p4d folded); PAE has pgd (the 4-entry PDPT) → pmd → pte; 2-level
 * has pgd → pte (pmd folded, PMD_SIZE = 4 MiB).
 */
import { PgtLevel } from "../kernel/types.js";
import {
  __PAGE_KERNEL, _KERNPG_TABLE, _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, GEOMETRY, type PagingGeometry, type PagingMode,
} from "../kernel/x86/pgtable-types.js";

/** page_size_mask bits (enum pg_level): PG_LEVEL_2M = 2 (4M on 2-level), PG_LEVEL_1G = 3. */
export const enum PageMask { Large = 1 << 2, Huge = 1 << 3 }

export interface Geometry extends PagingGeometry {
  readonly is64: boolean;
  /** Table levels from the top down, pgd first, ending with Pte. */
  readonly levels: readonly PgtLevel[];
  /** Entries per table page (the PAE pgd has 4, but lives in a whole page here). */
  readonly entriesPerTable: number;
  /** PMD_SHIFT: 21, or 22 on 2-level (the pgd entry maps what a pmd entry would). */
  readonly pmdShift: number;
  /** log2 of the span of one entry of the table at each level (indexed by PgtLevel). */
  readonly shift: Readonly<Partial<Record<PgtLevel, number>>>;
  /** Entries of the top table (512, 4 for PAE, 1024 for 2-level). */
  readonly topEntries: number;
  /** pgd index of PAGE_OFFSET: the direct map starts there. */
  readonly pageOffsetPgdIndex: number;
  /** NR_RANGE_MR: how many pieces split_mem_range may produce. */
  readonly nrRangeMr: number;
  /** Large-page sizes the mode has ("2M"/"4M", "1G"). */
  readonly largeName: "2M" | "4M";
  readonly hasHuge: boolean;
  /** Default size of the brk page-table buffer (INIT_PGT_BUF_SIZE, pages) in the
   *  recorded Debian 6.1 builds: 16 on amd64 (CONFIG_X86_5LEVEL + RANDOMIZE_MEMORY),
   *  6 on 686-pae. */
  readonly defaultPgtBufPages: number;
  /**
   * MAX_PHYSMEM_BITS: how much physical memory the kernel can use in this mode
   * (arch/x86/include/asm/sparsemem.h). e820__end_of_ram_pfn caps max_pfn at
   * MAX_ARCH_PFN = 2^(bits − 12) (arch/x86/kernel/e820.c): on 64-bit that is
   * MAXMEM (arch/x86/include/asm/pgtable_64_types.h), 64 TiB with 4-level
   * and 4 PiB with 5-level paging; 64 GiB with PAE, 4 GiB without.
   */
  readonly maxPhysmemBits: number;
}

type BootOnly = Pick<Geometry, "nrRangeMr" | "largeName" | "hasHuge" | "defaultPgtBufPages" | "maxPhysmemBits">;

/** The planner's geometry of `mode`: the vocabulary's, and the fields derived from it. */
function bootGeometry(mode: PagingMode, extra: BootOnly): Geometry {
  const pg = GEOMETRY[mode];
  const tables = pg.tables;
  return {
    ...pg, ...extra,
    is64: pg.vaBits > 32,
    levels: tables.map((x) => x.level),
    entriesPerTable: tables[tables.length - 1]!.entries,
    pmdShift: tables[tables.length - 2]!.shift,
    shift: Object.fromEntries(tables.map((x) => [x.level, x.shift])),
    topEntries: tables[0]!.entries,
    pageOffsetPgdIndex: pg.kernelPgdBoundary,
  };
}

const G64 = { nrRangeMr: 5, largeName: "2M" as const, hasHuge: true, defaultPgtBufPages: 16 };

export const BOOT_GEOMETRY: Readonly<Record<PagingMode, Geometry>> = {
  "4level": bootGeometry("4level", { ...G64, maxPhysmemBits: 46 }),
  "5level": bootGeometry("5level", { ...G64, maxPhysmemBits: 52 }),
  pae: bootGeometry("pae", { nrRangeMr: 3, largeName: "2M", hasHuge: false, defaultPgtBufPages: 6, maxPhysmemBits: 36 }),
  "2level": bootGeometry("2level", { nrRangeMr: 3, largeName: "4M", hasHuge: false, defaultPgtBufPages: 6, maxPhysmemBits: 32 }),
};

export function geometry(mode: PagingMode): Geometry {
  const g = BOOT_GEOMETRY[mode];
  if (!g) throw new RangeError(`unknown paging mode "${mode}" (expected ${Object.keys(BOOT_GEOMETRY).join(", ")})`);
  return g;
}

/**
 * Index of the entry for physical address `pa` (mapped at PAGE_OFFSET + pa)
 * in a table of `level`. PAGE_OFFSET is aligned to the top level's span in
 * every mode, so only the top index is offset.
 */
export function entryIndex(g: Geometry, level: PgtLevel, pa: number): number {
  const span = 2 ** g.shift[level]!;
  const n = Math.floor(pa / span);
  if (level === PgtLevel.Pgd) return g.pageOffsetPgdIndex + n;
  return n % g.entriesPerTable;
}

/** The direct-map virtual address of `pa` (__va). */
export function directVa(g: Geometry, pa: number): bigint {
  return BigInt.asUintN(g.is64 ? 64 : 32, g.pageOffset + BigInt(pa));
}

// ── entry encodings ──────────────────────────────────────────────────────────

/** _KERNPG_TABLE; the PAE pgd (a PDPTE) takes only P (RW/A/D are reserved there). */
export function tableEntry(g: Geometry, level: PgtLevel, childPa: number): bigint {
  if (g.mode === "pae" && level === PgtLevel.Pgd) return BigInt(childPa) | _PAGE_PRESENT;
  return BigInt(childPa) | _KERNPG_TABLE;
}

/**
 * PAGE_KERNEL for a direct-map leaf, PAGE_KERNEL_LARGE adds PSE. 2-level has
 * no NX; `exec` gives PAGE_KERNEL_EXEC (32-bit kernel text). `readOnly` clears
 * RW (Xen: a frame that is a page table is never mapped RW).
 */
export function leafEntry(g: Geometry, pa: number, large: boolean, opts: { exec?: boolean; readOnly?: boolean } = {}): bigint {
  let v = BigInt(pa) | __PAGE_KERNEL;
  if (opts.readOnly) v &= ~_PAGE_RW;
  if (large) v |= _PAGE_PSE;
  if (g.entryBytes === 4 || opts.exec) v &= ~_PAGE_NX;
  return v;
}
