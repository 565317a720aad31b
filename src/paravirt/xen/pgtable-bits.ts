/**
 * x86-64 page-table entry bits as Xen checks them (arch/x86/include/asm/
 * pgtable_types.h in Linux; xen/arch/x86/include/asm/x86_64/page.h in Xen).
 * Entries are 64-bit values (bigint on the host side, which is not a hot path).
 */
export const PAGE_PRESENT = 1n << 0n;
export const PAGE_RW = 1n << 1n;
export const PAGE_USER = 1n << 2n;
export const PAGE_PWT = 1n << 3n;
export const PAGE_PCD = 1n << 4n;
export const PAGE_ACCESSED = 1n << 5n;
export const PAGE_DIRTY = 1n << 6n;
/** PSE in a non-leaf entry, PAT in a PTE. */
export const PAGE_PSE = 1n << 7n;
export const PAGE_PAT = 1n << 7n;
export const PAGE_GLOBAL = 1n << 8n;
export const PAGE_NX = 1n << 63n;

/** Bits 12..51: the frame. */
export const PTE_PFN_MASK = ((1n << 52n) - 1n) & ~0xfffn;
export const PTRS_PER_TABLE = 512;
export const ENTRY_SIZE = 8;

/** _PAGE_TABLE and _KERNPG_TABLE (SPEC C.1). */
export const PAGE_TABLE = PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_ACCESSED | PAGE_DIRTY;
export const KERNPG_TABLE = PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY;
/** PAGE_KERNEL and PAGE_KERNEL_RO (no G: Xen PV kernels do not use global pages here). */
export const PAGE_KERNEL = PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY | PAGE_NX;
export const PAGE_KERNEL_RO = PAGE_PRESENT | PAGE_ACCESSED | PAGE_NX;

export const entryFrame = (e: bigint): number => Number((e & PTE_PFN_MASK) >> 12n);
export const entryPresent = (e: bigint): boolean => (e & PAGE_PRESENT) !== 0n;
export const entryWritable = (e: bigint): boolean => (e & PAGE_RW) !== 0n;
/** An entry for `frame` with `flags` (flags carry no frame bits). */
export const makeEntry = (frame: number, flags: bigint): bigint => (BigInt(frame) << 12n) | flags;

/** Index of `va` in the table at `level` (1 = PTE table … 4 = PGD), 4-level paging. */
export const tableIndex = (va: bigint, level: number): number =>
  Number((va >> BigInt(12 + 9 * (level - 1))) & 511n);
