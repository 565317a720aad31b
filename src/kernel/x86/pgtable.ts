/**
 * x86 page-table entry tests and mode selection, as arch/x86/include/asm/
 * pgtable.h has them; the vocabulary they are written in — modes, entry bits,
 * control-register bits, the geometry of each mode — is
 * src/kernel/x86/pgtable-types.ts.
 */
import {
  _KERNPG_TABLE, _PAGE_ACCESSED, _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, EFER_LMA, EFER_LME, EFER_NX,
  PTE_PFN_MASK, type PagingMode, X86_CR0_PE, X86_CR0_PG, X86_CR0_WP, X86_CR4_LA57, X86_CR4_PAE, X86_CR4_PCIDE, X86_CR4_PGE,
  X86_CR4_PSE, entryAddr, type PagingGeometry,
} from "./pgtable-types.js";
import { entryKindAt } from "../arch.js";
import type { PageTables } from "../pagewalk.js";


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

/** pte_write: the entry allows writes. */
export const isWritable = (e: bigint): boolean => (e & _PAGE_RW) !== 0n;

/** The frame number a 64-bit entry holds (pte_pfn; under Xen PV a machine frame, pte_mfn). */
export const entryFrame = (e: bigint): number => Number((e & PTE_PFN_MASK) >> 12n);

/** pfn_pte: an entry for `frame` with `prot` (which carries no frame bits). */
export const makeEntry = (frame: number, prot: bigint): bigint => (BigInt(frame) << 12n) | prot;

/** Architectural register values that select this paging mode (CR0.PG|PE|WP, CR4.PAE/LA57/PGE, EFER.LME|LMA|NXE). */
export function x86ControlFor(mode: PagingMode, opts: { pcid?: boolean; pge?: boolean } = {}):
  { cr0: bigint; cr4: bigint; efer: bigint } {
  let cr4 = opts.pge === false ? 0n : X86_CR4_PGE;
  let efer = 0n;
  if (mode === "2level") cr4 |= X86_CR4_PSE;
  if (mode === "pae") { cr4 |= X86_CR4_PAE; efer |= EFER_NX; }
  if (mode === "4level" || mode === "5level") {
    cr4 |= X86_CR4_PAE | (opts.pcid ? X86_CR4_PCIDE : 0n) | (mode === "5level" ? X86_CR4_LA57 : 0n);
    efer |= EFER_LME | EFER_LMA | EFER_NX;
  }
  return { cr0: X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, cr4, efer };
}

/**
 * x86 page tables for the page-range walker (src/kernel/pagewalk.ts): none is
 * 0, a large leaf is PS at a level the mode has large pages at, a present
 * non-leaf entry points to its table — at the entry's address, or where
 * `follow` says (the Xen guest maps machine frames back to pseudo-physical
 * ones; null: do not descend).
 */
export function x86PageTables(g: PagingGeometry, readEntry: (ptr: number) => bigint,
  follow?: (e: bigint) => number | null): PageTables {
  return {
    g, readEntry,
    none: (e) => e === 0n,
    huge: (e, depth) => (e & _PAGE_PSE) !== 0n && g.hugeLevels.includes(entryKindAt(g.tables, depth)),
    tableAddr: (e) => ((e & _PAGE_PRESENT) === 0n ? null : follow ? follow(e) : entryAddr(g, e)),
  };
}
