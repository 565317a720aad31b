/**
 * The host's x86 page-table vocabulary, in one place and by Linux's names:
 * paging modes, entry bits and the protections built from them
 * (arch/x86/include/asm/pgtable_types.h), the control-register bits that
 * select a mode (processor-flags.h, msr-index.h), and the geometry of each
 * mode (pgtable-2level_types.h, pgtable-3level_types.h, pgtable_64_types.h;
 * Intel SDM Vol. 3A §4.3–4.5). The kernel side, the boot planner, the Xen
 * model, the run machine and the command line all speak it.
 *
 * Bit positions are not restated here: entry bits come from `Pte` and
 * register bits from `Cr` in src/abi.ts, which the wasm core compiles too,
 * so host and core cannot disagree. Entries are bigints on the host (a
 * 64-bit entry does not fit a JS number); the Number forms are `Pte` itself.
 *
 * One descriptor per paging mode drives every walk on the host side, as one
 * mode descriptor drives the core's walker. A mode lists its *tables* from
 * the top: the top table is always the pgd; folded levels simply do not
 * appear.
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
 * folding does. Levels are `PgtLevel` (src/kernel/types.ts), numbered from the
 * leaf: pte 0, pmd 1, pud 2, p4d 3, pgd 4.
 */
import { Cr, Pte } from "../../abi.js";
import { PgtLevel, type TableGeometry } from "../types.js";

// ── paging modes ─────────────────────────────────────────────────────────────

export type PagingMode = "2level" | "pae" | "4level" | "5level";
/** Every paging mode, in order of their number of levels. */
export const PAGING_MODES: readonly PagingMode[] = ["2level", "pae", "4level", "5level"];

// ── entry bits (pgtable_types.h _PAGE_BIT_*), as bigint masks ─────────────────

export const _PAGE_PRESENT = BigInt(Pte.P);
export const _PAGE_RW = BigInt(Pte.RW);
export const _PAGE_USER = BigInt(Pte.US);
export const _PAGE_PWT = BigInt(Pte.PWT);
export const _PAGE_PCD = BigInt(Pte.PCD);
export const _PAGE_ACCESSED = BigInt(Pte.A);
export const _PAGE_DIRTY = BigInt(Pte.D);
/** In a pmd/pud entry: the entry is a large leaf (PS). */
export const _PAGE_PSE = BigInt(Pte.PS);
/** In a pte the PS position is PAT. */
export const _PAGE_PAT = _PAGE_PSE;
export const _PAGE_GLOBAL = BigInt(Pte.G);
/** _PAGE_BIT_PROTNONE reuses GLOBAL on non-present entries: a PROT_NONE page. */
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
/** PAT of a large leaf (bit 12; the frame starts above it, SDM Table 4-15). */
export const _PAGE_PAT_LARGE = BigInt(Pte.LARGE_PAT);
export const _PAGE_NX = 1n << BigInt(Pte.XD_BIT);

/** PTE_PFN_MASK of a 64-bit entry: bits 12..51 (__PHYSICAL_MASK_SHIFT 52). */
export const PTE_PFN_MASK = ((1n << 52n) - 1n) & ~0xfffn;

// ── protections built from the bits ──────────────────────────────────────────

/** _PAGE_TABLE: an entry pointing to a table that user mappings hang under. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** _KERNPG_TABLE: an entry pointing to a kernel-only table. */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
/**
 * __PAGE_KERNEL and friends: kernel data, read-only data, text, and a large
 * kernel page. What a kernel finally writes is these masked with
 * __supported_pte_mask: no NX without NX support (2-level paging), and no
 * GLOBAL under Xen PV (xen_start_kernel clears _PAGE_GLOBAL from it).
 */
export const __PAGE_KERNEL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX;
export const __PAGE_KERNEL_RO = __PAGE_KERNEL & ~(_PAGE_RW | _PAGE_DIRTY);
export const __PAGE_KERNEL_EXEC = __PAGE_KERNEL & ~_PAGE_NX;
export const __PAGE_KERNEL_LARGE = __PAGE_KERNEL | _PAGE_PSE;

// ── control registers (processor-flags.h, msr-index.h), as bigint masks ──────

const crBit = (b: Cr): bigint => 1n << BigInt(b);
export const X86_CR0_PE = crBit(Cr.CR0_PE);
export const X86_CR0_WP = crBit(Cr.CR0_WP);
export const X86_CR0_PG = crBit(Cr.CR0_PG);
export const X86_CR4_PSE = crBit(Cr.CR4_PSE);
export const X86_CR4_PAE = crBit(Cr.CR4_PAE);
export const X86_CR4_PGE = crBit(Cr.CR4_PGE);
export const X86_CR4_LA57 = crBit(Cr.CR4_LA57);
export const X86_CR4_PCIDE = crBit(Cr.CR4_PCIDE);
export const EFER_LME = crBit(Cr.EFER_LME);
export const EFER_LMA = crBit(Cr.EFER_LMA);
export const EFER_NX = crBit(Cr.EFER_NXE);
/** CR3 bit 63: keep the PCID's TLB entries on this load (needs CR4.PCIDE). */
export const X86_CR3_PCID_NOFLUSH = crBit(Cr.CR3_NOFLUSH);

// ── geometry ─────────────────────────────────────────────────────────────────

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
  /** Entry kinds that may be large leaves (Pmd: 2 MiB or 4 MiB, Pud: 1 GiB). */
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

/** The level of the tables that entries of the table at `level` point to. */
export function childLevel(g: PagingGeometry, level: PgtLevel): PgtLevel {
  return g.tables[depthOf(g, level) + 1]!.level;
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

/** Mask of the physical-address field of an entry (PTE_PFN_MASK of this mode). */
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
