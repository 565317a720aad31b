/**
 * Small types shared by the kernel side (src/kernel/) and the paravirt layer
 * (src/paravirt/). Physical addresses and frame numbers are plain numbers:
 * every architecture modelled here has PA < 2^52, so they are exact
 * (a Pfn is not a PhysAddr: the names say which one you hold).
 */

/** A physical frame number: physical address >> PAGE_SHIFT. */
export type Pfn = number;
/** A guest physical byte address. */
export type PhysAddr = number;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export const pfnToPhys = (pfn: Pfn): PhysAddr => pfn * PAGE_SIZE;
export const physToPfn = (pa: PhysAddr): Pfn => Math.floor(pa / PAGE_SIZE);

/**
 * The level a page-table page sits at, by Linux name. The numbering is the
 * distance from the leaf so that "a table at level L holds entries that point
 * to tables at level L-1"; the top level of a given paging mode is whichever
 * of these it has (2-level: Pgd over Pte, with Pmd/Pud/P4d folded).
 */
export const enum PgtLevel { Pte = 0, Pmd = 1, Pud = 2, P4d = 3, Pgd = 4 }

export const PGT_LEVEL_NAMES = ["pte", "pmd", "pud", "p4d", "pgd"] as const;

/** One table of a page-table tree, as a walk sees it. */
export interface TableGeometry {
  /** Level of this table. */
  readonly level: PgtLevel;
  /** VA bit where this table's index starts. */
  readonly shift: number;
  /** Number of entries (PTRS_PER_*). */
  readonly entries: number;
}
