/**
 * x86 page-table geometry and entry bits, as the kernel sees them
 * (arch/x86/include/asm/pgtable_types.h, pgtable-{2,3}level_types.h,
 * pgtable_64_types.h; Intel SDM Vol. 3A §4.3–4.5).
 *
 * One descriptor per paging mode drives every walk on the host side, as one
 * mode descriptor drives the core's walker (STYLE example 1). A mode lists its
 * *tables* from the top: the top table is always the pgd; folded levels simply
 * do not appear.
 *
 *   mode     tables (top → leaf)          entry  entries  top entry kind
 *   2level   pgd → pte                     4 B    1024     pmd   (pud, pmd folded)
 *   pae      pgd(4) → pmd → pte            8 B    512      pud   (p4d, pud folded)
 *   4level   pgd → pud → pmd → pte         8 B    512      p4d   (p4d folded)
 *   5level   pgd → p4d → pud → pmd → pte   8 B    512      pgd
 *
 * The *entry kind* of a table is the level of the table its entries point to,
 * plus one: it names the hook that writes such an entry (set_pmd for a 2-level
 * pgd, set_pud for a PAE pgd, set_p4d for a 4-level pgd) exactly as Linux's
 * folding does.
 */
import { PgtLevel, type TableGeometry } from "../types.js";

export type PagingMode = "2level" | "pae" | "4level" | "5level";

/** Entry bits (pgtable_types.h _PAGE_BIT_*), as bigint masks. */
export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_PWT = 1n << 3n;
export const _PAGE_PCD = 1n << 4n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
/** In a pmd/pud entry: the entry is a large leaf (PS). */
export const _PAGE_PSE = 1n << 7n;
export const _PAGE_GLOBAL = 1n << 8n;
/** _PAGE_BIT_PROTNONE reuses GLOBAL on non-present entries: a PROT_NONE page. */
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
export const _PAGE_NX = 1n << 63n;

/** _PAGE_TABLE / _KERNPG_TABLE: flags of an entry that points to a table. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

export type { TableGeometry };

export interface PagingGeometry {
  readonly mode: PagingMode;
  /** Bytes per entry. */
  readonly entryBytes: 4 | 8;
  /** Tables from the top (pgd) to the pte table. */
  readonly tables: readonly TableGeometry[];
  /** Bits of virtual address translated (32, 48, 57). */
  readonly vaBits: number;
  /** Physical-address bits an entry can hold (32 for 2-level, 52 otherwise). */
  readonly paBits: number;
  /** pgd_index(PAGE_OFFSET): first pgd slot of the kernel half (KERNEL_PGD_BOUNDARY). */
  readonly kernelPgdBoundary: number;
  /** Start of the kernel half (PAGE_OFFSET). */
  readonly pageOffset: bigint;
  /** First address above user space (TASK_SIZE_MAX). */
  readonly taskSize: bigint;
  /** Start and last byte of the vmalloc area (VMALLOC_START, VMALLOC_END, inclusive). */
  readonly vmallocStart: bigint;
  readonly vmallocEnd: bigint;
  /** NX available (PAE and long mode with EFER.NXE). */
  readonly hasNx: boolean;
  /** Leaf sizes allowed per level (Pmd: 2 MiB or 4 MiB, Pud: 1 GiB). */
  readonly hugeLevels: readonly PgtLevel[];
}

const t = (level: PgtLevel, shift: number, entries: number): TableGeometry => ({ level, shift, entries });

export const GEOMETRY: Readonly<Record<PagingMode, PagingGeometry>> = {
  "2level": {
    mode: "2level", entryBytes: 4, vaBits: 32, paBits: 32, hasNx: false,
    tables: [t(PgtLevel.Pgd, 22, 1024), t(PgtLevel.Pte, 12, 1024)],
    kernelPgdBoundary: 768, pageOffset: 0xc000_0000n, taskSize: 0xc000_0000n,
    vmallocStart: 0xf000_0000n, vmallocEnd: 0xff7f_ffffn,
    hugeLevels: [PgtLevel.Pmd],
  },
  pae: {
    mode: "pae", entryBytes: 8, vaBits: 32, paBits: 52, hasNx: true,
    tables: [t(PgtLevel.Pgd, 30, 4), t(PgtLevel.Pmd, 21, 512), t(PgtLevel.Pte, 12, 512)],
    kernelPgdBoundary: 3, pageOffset: 0xc000_0000n, taskSize: 0xc000_0000n,
    vmallocStart: 0xf000_0000n, vmallocEnd: 0xff7f_ffffn,
    hugeLevels: [PgtLevel.Pmd],
  },
  "4level": {
    mode: "4level", entryBytes: 8, vaBits: 48, paBits: 52, hasNx: true,
    tables: [t(PgtLevel.Pgd, 39, 512), t(PgtLevel.Pud, 30, 512), t(PgtLevel.Pmd, 21, 512), t(PgtLevel.Pte, 12, 512)],
    kernelPgdBoundary: 273, pageOffset: 0xffff_8880_0000_0000n, taskSize: 0x0000_7fff_ffff_f000n,
    vmallocStart: 0xffff_c900_0000_0000n, vmallocEnd: 0xffff_e8ff_ffff_ffffn,
    hugeLevels: [PgtLevel.Pmd, PgtLevel.Pud],
  },
  "5level": {
    mode: "5level", entryBytes: 8, vaBits: 57, paBits: 52, hasNx: true,
    tables: [t(PgtLevel.Pgd, 48, 512), t(PgtLevel.P4d, 39, 512), t(PgtLevel.Pud, 30, 512), t(PgtLevel.Pmd, 21, 512), t(PgtLevel.Pte, 12, 512)],
    kernelPgdBoundary: 273, pageOffset: 0xff11_0000_0000_0000n, taskSize: 0x00ff_ffff_ffff_f000n,
    vmallocStart: 0xffa0_0000_0000_0000n, vmallocEnd: 0xffd1_ffff_ffff_ffffn,
    hugeLevels: [PgtLevel.Pmd, PgtLevel.Pud],
  },
};

/** Entry kind of the entries of table `depth` (see the header). */
export function entryKind(g: PagingGeometry, depth: number): PgtLevel {
  const child = g.tables[depth + 1];
  return child ? ((child.level + 1) as PgtLevel) : PgtLevel.Pte;
}

/** Depth (0 = pgd) of the table at `level` in this mode, or -1 if the level is folded. */
export function depthOf(g: PagingGeometry, level: PgtLevel): number {
  return g.tables.findIndex((x) => x.level === level);
}

/** Index of `va` in table `depth`. */
export function tableIndex(g: PagingGeometry, depth: number, va: bigint): number {
  const tg = g.tables[depth]!;
  return Number((va >> BigInt(tg.shift)) & BigInt(tg.entries - 1));
}

/** Bytes mapped by one entry of table `depth`. */
export function entrySpan(g: PagingGeometry, depth: number): bigint {
  return 1n << BigInt(g.tables[depth]!.shift);
}

/** Bytes one table page occupies (4 KiB, except the 32-byte PAE pgd object). */
export function tableBytes(g: PagingGeometry, depth: number): number {
  return g.tables[depth]!.entries * g.entryBytes;
}

/** Mask of the physical-address field of an entry (PTE_PFN_MASK). */
export function pfnMask(g: PagingGeometry): bigint {
  return ((1n << BigInt(g.paBits)) - 1n) & ~0xfffn;
}

/** Physical address a table entry or 4K leaf points to. */
export function entryAddr(g: PagingGeometry, e: bigint): number {
  return Number(e & pfnMask(g));
}

/** Physical address of a large leaf (bit 12 is PAT there, SDM Table 4-15). */
export function hugeEntryAddr(g: PagingGeometry, e: bigint, span: bigint): number {
  return Number(e & pfnMask(g) & ~(span - 1n));
}

export const isPresent = (e: bigint): boolean => (e & _PAGE_PRESENT) !== 0n;
export const isNone = (e: bigint): boolean => e === 0n;
/** pmd_leaf / pud_leaf: a present entry with PS set. */
export const isLeafEntry = (e: bigint): boolean => (e & (_PAGE_PRESENT | _PAGE_PSE)) === (_PAGE_PRESENT | _PAGE_PSE);

/**
 * pmd_bad (arch/x86/include/asm/pgtable.h): a present entry that is supposed
 * to point to a table but does not carry the table flags (USER and ACCESSED
 * ignored). Large leaves are not "bad"; callers check pmd_leaf first.
 */
export function pmdBad(e: bigint): boolean {
  const flags = e & (0xfffn | _PAGE_NX);
  return (flags & ~(_PAGE_USER | _PAGE_ACCESSED)) !== (_KERNPG_TABLE & ~_PAGE_ACCESSED);
}

/** Is va canonical for this mode (sign-extended above vaBits; below 2^32 for 32-bit)? */
export function isCanonical(g: PagingGeometry, va: bigint): boolean {
  if (va < 0n || va >= 1n << 64n) return false;
  if (g.vaBits === 32) return va < 1n << 32n;
  const top = va >> BigInt(g.vaBits - 1);
  return top === 0n || top === (1n << BigInt(65 - g.vaBits)) - 1n;
}

/** Sign-extend a VA built from indices to the canonical form. */
export function canonicalize(g: PagingGeometry, va: bigint): bigint {
  if (g.vaBits === 32) return va & 0xffff_ffffn;
  const bit = 1n << BigInt(g.vaBits - 1);
  va &= (1n << BigInt(g.vaBits)) - 1n;
  return va & bit ? va | ((1n << 64n) - (1n << BigInt(g.vaBits))) : va;
}

/** Architectural register values that select this paging mode (CR0.PG|PE|WP, CR4.PAE/LA57/PGE, EFER.LME|LMA|NXE). */
export function x86ControlFor(mode: PagingMode, opts: { pcid?: boolean; pge?: boolean } = {}):
  { cr0: bigint; cr4: bigint; efer: bigint } {
  const CR0_PE = 1n, CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
  const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n, CR4_PGE = 1n << 7n, CR4_PCIDE = 1n << 17n, CR4_LA57 = 1n << 12n;
  const EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;
  let cr4 = opts.pge === false ? 0n : CR4_PGE;
  let efer = 0n;
  if (mode === "2level") cr4 |= CR4_PSE;
  if (mode === "pae") { cr4 |= CR4_PAE; efer |= EFER_NXE; }
  if (mode === "4level" || mode === "5level") {
    cr4 |= CR4_PAE | (opts.pcid ? CR4_PCIDE : 0n) | (mode === "5level" ? CR4_LA57 : 0n);
    efer |= EFER_LME | EFER_LMA | EFER_NXE;
  }
  return { cr0: CR0_PE | CR0_WP | CR0_PG, cr4, efer };
}

/** CR4.PCIDE */
export const X86_CR4_PCIDE = 1n << 17n;
/** CR3 bit 63: keep the PCID's TLB entries on this load (needs CR4.PCIDE). */
export const X86_CR3_PCID_NOFLUSH = 1n << 63n;
