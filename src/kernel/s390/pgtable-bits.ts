/**
 * s390 page-table geometry, entry formats and the software young/dirty PTE
 * bits, as the kernel sees them (arch/s390/include/asm/pgtable.h, page.h;
 * PoP ch. 3 "Translation Tables").
 *
 *   level     table           entries  size    entry maps   index bits
 *   pgd/p4d/  region 1/2/3    2048     16 KiB  8P/4T/2G     0x7ff << 53/42/31
 *   pud
 *   pmd       segment         2048     16 KiB  1 MiB        0x7ff << 20
 *   pte       page table      256      2 KiB   4 KiB        0xff  << 12
 *
 * s390 PTEs have no hardware accessed/dirty bits: hardware records reference
 * and change per frame in the storage key. Since 3.12 Linux emulates young
 * and dirty in software with the invalid and protect bits:
 *
 *   I = !(YOUNG && READ)     an old page faults on the next access
 *   P = !(DIRTY && WRITE)    a clean page faults on the first store
 *
 * Every helper below keeps that invariant (pgtable.h pte_mk*; commits
 * 0944fe3f4a32 "s390/mm: implement software referenced bits" and the earlier
 * "software dirty bits"). Values are bigints (a PTE is a 64-bit word).
 */

// ── geometry ────────────────────────────────────────────────────────────

/** _PAGE_ENTRIES / PTRS_PER_PTE. */
export const PTRS_PER_PTE = 256;
/** _CRST_ENTRIES: region and segment tables. */
export const CRST_ENTRIES = 2048;
/** A 64-bit PTE table: 256 × 8 B (_PAGE_TABLE_SIZE). */
export const PAGE_TABLE_SIZE = 2048;
/** A 31-bit (ESA/390) PTE table: 256 × 4 B. */
export const PAGE_TABLE_SIZE_31 = 1024;
/** CRST_ALLOC_ORDER: 2048 × 8 B = 16 KiB = 4 frames. */
export const CRST_ALLOC_ORDER = 2;
export const CRST_BYTES = CRST_ENTRIES * 8;

export const _SEGMENT_SHIFT = 20n;
export const _REGION3_SHIFT = 31n;
export const _REGION2_SHIFT = 42n;
export const _REGION1_SHIFT = 53n;
export const _SEGMENT_SIZE = 1n << _SEGMENT_SHIFT;
export const _REGION3_SIZE = 1n << _REGION3_SHIFT;
export const _REGION2_SIZE = 1n << _REGION2_SHIFT;
export const _REGION1_SIZE = 1n << _REGION1_SHIFT;
/** TASK_SIZE_MAX: the 5-level limit (2^64 − PAGE_SIZE). */
export const TASK_SIZE_MAX = (1n << 64n) - 4096n;

/** The end of an ESA/390 (31-bit) address space: one segment table of 2048 4-byte entries. */
export const ESA390_LIMIT = 1n << 31n;
/** An ESA/390 segment table: 2048 × 4 B = 8 KiB, an order-1 allocation. */
export const SEGMENT_TABLE_ORDER_31 = 1;
/** ESA/390 STD: the segment table's length in 64-byte units, minus one (127 for 2048 entries). */
export const _STD_TABLE_LENGTH_31 = BigInt((CRST_ENTRIES * 4) / 64 - 1);

// ── ASCE and region/segment entries ────────────────────────────────────

export const _ASCE_ORIGIN = ~0xfffn;
export const _ASCE_PRIVATE_SPACE = 0x100n;
export const _ASCE_ALT_EVENT = 0x80n;
export const _ASCE_SPACE_SWITCH = 0x40n;
export const _ASCE_TYPE_MASK = 0x0cn;
export const _ASCE_TYPE_REGION1 = 0x0cn;
export const _ASCE_TYPE_REGION2 = 0x08n;
export const _ASCE_TYPE_REGION3 = 0x04n;
export const _ASCE_TYPE_SEGMENT = 0x00n;
export const _ASCE_TABLE_LENGTH = 0x03n;
export const _ASCE_USER_BITS = _ASCE_SPACE_SWITCH | _ASCE_PRIVATE_SPACE | _ASCE_ALT_EVENT;

export const _REGION_ENTRY_ORIGIN = ~0xfffn;
export const _REGION_ENTRY_PROTECT = 0x200n;
export const _REGION_ENTRY_NOEXEC = 0x100n;
export const _REGION_ENTRY_INVALID = 0x20n;
export const _REGION_ENTRY_TYPE_MASK = 0x0cn;
export const _REGION_ENTRY_TYPE_R1 = 0x0cn;
export const _REGION_ENTRY_TYPE_R2 = 0x08n;
export const _REGION_ENTRY_TYPE_R3 = 0x04n;
export const _REGION_ENTRY_LENGTH = 0x03n;

export const _REGION1_ENTRY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_LENGTH;
export const _REGION1_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_INVALID;
export const _REGION2_ENTRY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_LENGTH;
export const _REGION2_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_INVALID;
export const _REGION3_ENTRY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_LENGTH;
export const _REGION3_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_INVALID;

/** Page-table origin of a segment entry: 2 KiB aligned, which is what makes
 *  2 KiB fragments addressable. */
export const _SEGMENT_ENTRY_ORIGIN = ~0x7ffn;
export const _SEGMENT_ENTRY_ORIGIN_LARGE = ~0xfffffn;
export const _SEGMENT_ENTRY_PROTECT = 0x200n;
export const _SEGMENT_ENTRY_NOEXEC = 0x100n;
export const _SEGMENT_ENTRY_INVALID = 0x20n;
export const _SEGMENT_ENTRY_LARGE = 0x400n;
export const _SEGMENT_ENTRY = 0n;
export const _SEGMENT_ENTRY_EMPTY = _SEGMENT_ENTRY_INVALID;

/** ESA/390 segment entry: a 31-bit page-table origin, 64-byte aligned … */
export const _SEGMENT_ENTRY_ORIGIN_31 = ((1n << 31n) - 1n) & ~63n;
/** … and the table's length in units of 16 entries, minus one (PTL). */
export const _SEGMENT_ENTRY_PTL_31 = PTRS_PER_PTE / 16 - 1;

// ── PTE bits (the encoding since 3.12) ─────────────────────────────────

/** Hardware bits. */
export const _PAGE_NOEXEC = 0x100n;
export const _PAGE_PROTECT = 0x200n;
export const _PAGE_INVALID = 0x400n;
export const _PAGE_LARGE = 0x800n;
/** Software bits. */
export const _PAGE_PRESENT = 0x001n;
export const _PAGE_SOFT_DIRTY = 0x002n;
export const _PAGE_YOUNG = 0x004n;
export const _PAGE_DIRTY = 0x008n;
export const _PAGE_READ = 0x010n;
export const _PAGE_WRITE = 0x020n;
export const _PAGE_SPECIAL = 0x040n;
export const _PAGE_UNUSED = 0x080n;
/** Page-frame real address. */
export const PAGE_MASK = ~0xfffn;
export const _PAGE_CHG_MASK = PAGE_MASK | _PAGE_SPECIAL | _PAGE_DIRTY | _PAGE_YOUNG | _PAGE_SOFT_DIRTY;

/** Protections carry I and P set; mk_pte/pte_modify clear them as the
 *  young/dirty state allows (pgtable.h PAGE_NONE … PAGE_RWX). */
export const PAGE_NONE = _PAGE_PRESENT | _PAGE_INVALID | _PAGE_PROTECT;
export const PAGE_RO = _PAGE_PRESENT | _PAGE_READ | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
export const PAGE_RX = _PAGE_PRESENT | _PAGE_READ | _PAGE_INVALID | _PAGE_PROTECT;
export const PAGE_RW = _PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
export const PAGE_RWX = _PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_INVALID | _PAGE_PROTECT;

/** The empty PTE (pte_none). */
export const PTE_NONE = _PAGE_INVALID;

export const pteNone = (pte: bigint): boolean => pte === _PAGE_INVALID;
export const ptePresent = (pte: bigint): boolean => (pte & _PAGE_PRESENT) !== 0n;
export const pteSwap = (pte: bigint): boolean => (pte & (_PAGE_PROTECT | _PAGE_PRESENT)) === _PAGE_PROTECT;
export const pteYoung = (pte: bigint): boolean => (pte & _PAGE_YOUNG) !== 0n;
export const pteDirty = (pte: bigint): boolean => (pte & _PAGE_DIRTY) !== 0n;
export const pteWrite = (pte: bigint): boolean => (pte & _PAGE_WRITE) !== 0n;
export const pteRead = (pte: bigint): boolean => (pte & _PAGE_READ) !== 0n;
export const pteAddr = (pte: bigint): number => Number(pte & PAGE_MASK & 0xffff_ffff_ffff_ffffn);

/** pte_mkold: clear YOUNG and invalidate, so the next access faults. */
export const pteMkold = (pte: bigint): bigint => (pte & ~_PAGE_YOUNG) | _PAGE_INVALID;
/** pte_mkyoung: set YOUNG; a readable page becomes valid again. */
export const pteMkyoung = (pte: bigint): bigint => {
  pte |= _PAGE_YOUNG;
  return pte & _PAGE_READ ? pte & ~_PAGE_INVALID : pte;
};
/** pte_mkclean: clear DIRTY and protect, so the next store faults. */
export const pteMkclean = (pte: bigint): bigint => (pte & ~_PAGE_DIRTY) | _PAGE_PROTECT;
/** pte_mkdirty: set DIRTY (and SOFT_DIRTY); a writable page loses PROTECT. */
export const pteMkdirty = (pte: bigint): bigint => {
  pte |= _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
  return pte & _PAGE_WRITE ? pte & ~_PAGE_PROTECT : pte;
};
/** pte_wrprotect: clear WRITE, set PROTECT. */
export const pteWrprotect = (pte: bigint): bigint => (pte & ~_PAGE_WRITE) | _PAGE_PROTECT;
/** pte_mkwrite: set WRITE; a dirty page loses PROTECT. */
export const pteMkwrite = (pte: bigint): bigint => {
  pte |= _PAGE_WRITE;
  return pte & _PAGE_DIRTY ? pte & ~_PAGE_PROTECT : pte;
};

/** pte_modify: keep the frame and SPECIAL/DIRTY/YOUNG/SOFT_DIRTY, take the
 *  new protection (which carries I and P), then re-derive I and P. */
export function pteModify(pte: bigint, prot: bigint): bigint {
  pte = (pte & _PAGE_CHG_MASK) | prot;
  if ((pte & _PAGE_YOUNG) && (pte & _PAGE_READ)) pte &= ~_PAGE_INVALID;
  if ((pte & _PAGE_DIRTY) && (pte & _PAGE_WRITE)) pte &= ~_PAGE_PROTECT;
  return pte;
}

/** mk_pte_phys: a young PTE for the frame at `pa` (pfn_pte, mk_pte). */
export function mkPtePhys(pa: number, prot: bigint): bigint {
  return pteMkyoung(BigInt(pa) | prot);
}

/** The software-bit invariant of a present PTE (the I/P rule above). */
export function pteInvariantHolds(pte: bigint): boolean {
  if (!ptePresent(pte)) return true;
  const i = (pte & _PAGE_INVALID) !== 0n, p = (pte & _PAGE_PROTECT) !== 0n;
  return i === !(pteYoung(pte) && pteRead(pte)) && p === !(pteDirty(pte) && pteWrite(pte));
}

/** PROT_* → s390 pgprot (protection_map; exec is always allowed without NX). */
export function protToPgprot(prot: number): bigint {
  const r = (prot & 1) !== 0, w = (prot & 2) !== 0, x = (prot & 4) !== 0;
  if (!r && !w && !x) return PAGE_NONE;
  if (w) return x ? PAGE_RWX : PAGE_RW;
  return x ? PAGE_RX : PAGE_RO;
}

// ── table-type decoding ─────────────────────────────────────────────────

/** DAT level of a region/segment table by its entries' type: 3 = region
 *  first … 0 = segment. */
export type CrstLevel = 0 | 1 | 2 | 3;

/** Empty entry of a table at `level` (3 R1 … 0 segment). */
export const crstEmpty = (level: CrstLevel): bigint => _REGION_ENTRY_INVALID | (BigInt(level) << 2n);
/** Entry of a table at `level` pointing to the next table at `pa`. */
export const crstEntry = (level: CrstLevel, pa: number): bigint =>
  level === 0 ? BigInt(pa) | _SEGMENT_ENTRY : BigInt(pa) | (BigInt(level) << 2n) | _REGION_ENTRY_LENGTH;
/** Shift of the address bits that index a table at `level`. */
export const crstShift = (level: CrstLevel): bigint => 20n + 11n * BigInt(level);
export const crstIndex = (level: CrstLevel, va: bigint): number => Number((va >> crstShift(level)) & 0x7ffn);
export const pteIndex = (va: bigint): number => Number((va >> 12n) & 0xffn);

/**
 * pgd_offset_raw: the shift used to index the top table is taken from the
 * type field of its entry 0 (arch/s390/include/asm/pgtable.h):
 * ((entry0 & 0x0c) >> 2) * 11 + 20 → R1 53, R2 42, R3 31, segment 20.
 */
export const pgdShiftFromEntry = (entry0: bigint): bigint => ((entry0 & _REGION_ENTRY_TYPE_MASK) >> 2n) * 11n + 20n;

/** pmd_pgtable masking: −(sizeof(pte_t) × PTRS_PER_PTE) clears the low 11 bits. */
export const pmdPgtableOrigin = (pmd: bigint): number => Number(pmd & _SEGMENT_ENTRY_ORIGIN & 0xffff_ffff_ffff_ffffn);

export const hex = (v: bigint | number): string => "0x" + v.toString(16);
