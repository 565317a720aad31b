/**
 * Paging geometry of the four modes the early mapping is planned for, and the
 * entry encodings the planner writes (arch/x86/include/asm/pgtable_types.h).
 *
 * Levels are named as Linux names the table *pages*: the page a pgd entry
 * points to is a p4d page under 5-level paging and a pud page under 4-level
 * (p4d folded); PAE has pgd (the 4-entry PDPT) → pmd → pte; 2-level has
 * pgd → pte (pmd folded, PMD_SIZE = 4 MiB).
 */

export type BootMode = "x86-64" | "la57" | "pae" | "2level";
export const BOOT_MODES: readonly BootMode[] = ["x86-64", "la57", "pae", "2level"];

/** Table page levels (also their order from the leaf up). */
export const enum Level { Pte = 1, Pmd = 2, Pud = 3, P4d = 4, Pgd = 5 }

export const LEVEL_NAMES: Record<number, string> = { 1: "pte", 2: "pmd", 3: "pud", 4: "p4d", 5: "pgd" };

/** page_size_mask bits (enum pg_level): PG_LEVEL_2M = 2 (4M on 2-level), PG_LEVEL_1G = 3. */
export const enum PageMask { Large = 1 << 2, Huge = 1 << 3 }

export interface Geometry {
  readonly mode: BootMode;
  readonly is64: boolean;
  /** Table levels from the top down, pgd first, ending with Pte. */
  readonly levels: readonly Level[];
  /** Bytes per entry: 8, or 4 on 2-level. */
  readonly entryBytes: 4 | 8;
  /** Entries per table page (the PAE pgd has 4, but lives in a whole page here). */
  readonly entriesPerTable: number;
  readonly pmdShift: number;           // 21, or 22 on 2-level
  /** log2 of the span of one entry at each level (index by Level). */
  readonly shift: Readonly<Record<number, number>>;
  /** Entries of the top table (512, 4 for PAE, 1024 for 2-level). */
  readonly topEntries: number;
  /** pgd index of PAGE_OFFSET: the direct map starts there. */
  readonly pageOffsetPgdIndex: number;
  readonly pageOffset: bigint;
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

const G64 = {
  is64: true, entryBytes: 8 as const, entriesPerTable: 512, pmdShift: 21, topEntries: 512,
  pageOffsetPgdIndex: 273, nrRangeMr: 5, largeName: "2M" as const, hasHuge: true, defaultPgtBufPages: 16,
};

export const GEOMETRIES: Readonly<Record<BootMode, Geometry>> = {
  "x86-64": {
    ...G64, mode: "x86-64", levels: [Level.Pgd, Level.Pud, Level.Pmd, Level.Pte],
    shift: { 1: 12, 2: 21, 3: 30, 5: 39 }, pageOffset: 0xffff888000000000n, maxPhysmemBits: 46,
  },
  la57: {
    ...G64, mode: "la57", levels: [Level.Pgd, Level.P4d, Level.Pud, Level.Pmd, Level.Pte],
    shift: { 1: 12, 2: 21, 3: 30, 4: 39, 5: 48 }, pageOffset: 0xff11000000000000n, maxPhysmemBits: 52,
  },
  pae: {
    mode: "pae", is64: false, levels: [Level.Pgd, Level.Pmd, Level.Pte], entryBytes: 8, entriesPerTable: 512,
    pmdShift: 21, shift: { 1: 12, 2: 21, 5: 30 }, topEntries: 4, pageOffsetPgdIndex: 3, pageOffset: 0xc0000000n,
    nrRangeMr: 3, largeName: "2M", hasHuge: false, defaultPgtBufPages: 6, maxPhysmemBits: 36,
  },
  "2level": {
    mode: "2level", is64: false, levels: [Level.Pgd, Level.Pte], entryBytes: 4, entriesPerTable: 1024,
    pmdShift: 22, shift: { 1: 12, 5: 22 }, topEntries: 1024, pageOffsetPgdIndex: 768, pageOffset: 0xc0000000n,
    nrRangeMr: 3, largeName: "4M", hasHuge: false, defaultPgtBufPages: 6, maxPhysmemBits: 32,
  },
};

export function geometry(mode: BootMode): Geometry {
  const g = GEOMETRIES[mode];
  if (!g) throw new RangeError(`unknown paging mode "${mode}" (expected ${BOOT_MODES.join(", ")})`);
  return g;
}

/** The level below `level` in this geometry (the level of the page its entries point to). */
export function childLevel(g: Geometry, level: Level): Level {
  const i = g.levels.indexOf(level);
  return g.levels[i + 1]!;
}

/**
 * Index of the entry for physical address `pa` (mapped at PAGE_OFFSET + pa)
 * in a table of `level`. PAGE_OFFSET is aligned to the top level's span in
 * every mode, so only the top index is offset.
 */
export function entryIndex(g: Geometry, level: Level, pa: number): number {
  const span = 2 ** g.shift[level]!;
  const n = Math.floor(pa / span);
  if (level === Level.Pgd) return g.pageOffsetPgdIndex + n;
  return n % g.entriesPerTable;
}

/** The direct-map virtual address of `pa` (__va). */
export function directVa(g: Geometry, pa: number): bigint {
  return BigInt.asUintN(g.is64 ? 64 : 32, g.pageOffset + BigInt(pa));
}

// ── entry encodings ──────────────────────────────────────────────────────────
// Bits: _PAGE_PRESENT 0, _PAGE_RW 1, _PAGE_ACCESSED 5, _PAGE_DIRTY 6,
// _PAGE_PSE 7, _PAGE_GLOBAL 8, _PAGE_NX 63.
const P = 1n, RW = 2n, A = 1n << 5n, D = 1n << 6n, PSE = 1n << 7n, G = 1n << 8n, NX = 1n << 63n;

/** _KERNPG_TABLE (P|RW|A|D); the PAE pgd (a PDPTE) takes only P (RW/A/D are reserved there). */
export function tableEntry(g: Geometry, level: Level, childPa: number): bigint {
  if (g.mode === "pae" && level === Level.Pgd) return BigInt(childPa) | P;
  return BigInt(childPa) | P | RW | A | D;
}

/**
 * PAGE_KERNEL (P|RW|A|D|G|NX) for a direct-map leaf, PAGE_KERNEL_LARGE adds
 * PSE. 2-level has no NX; `exec` gives PAGE_KERNEL_EXEC (32-bit kernel text).
 * `readOnly` clears RW (Xen: a frame that is a page table is never mapped RW).
 */
export function leafEntry(g: Geometry, pa: number, large: boolean, opts: { exec?: boolean; readOnly?: boolean } = {}): bigint {
  let v = BigInt(pa) | P | A | D | G;
  if (!opts.readOnly) v |= RW;
  if (large) v |= PSE;
  if (g.entryBytes === 8 && !opts.exec) v |= NX;
  return v;
}

export const ENTRY_BITS = { P, RW, A, D, PSE, G, NX } as const;
