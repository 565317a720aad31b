/**
 * s390 for the generic mm code (../arch.ts): CRST region and segment tables
 * over as many levels as the mm's ASCE has now (or one ESA/390 segment
 * table), PTE tables that are fragments of a page (pgalloc.ts), PTEs with
 * software young and dirty bits changed by exchange — IPTE, or a lazy flush
 * of the whole mm (pgtable.ts) — no zero page, tables freed after an
 * explicit RCU grace period (S390Kernel.rcuGracePeriod), and free_pgtables
 * by floor and ceiling.
 */
import { Access } from "../../abi.js";
import { pteDepth, type MmArch } from "../arch.js";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "../mman.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SIZE, PgtLevel, type TableGeometry } from "../types.js";
import { asceLevel, crstTableFree, pmdAllocOne, p4dAllocOne, pudAllocOne } from "./crst.js";
import { S390Error } from "./errors.js";
import type { S390Mm } from "./mm.js";
import { PgTable, pageTableAlloc, pageTableFree, pageTableFreeRcu, pmdPopulate, type TableFree } from "./pgalloc.js";
import {
  _PAGE_NOEXEC, _REGION_ENTRY_INVALID, _REGION_ENTRY_ORIGIN, _SEGMENT_ENTRY_ORIGIN_31, _SEGMENT_SHIFT, CRST_ENTRIES, crstEmpty,
  crstEntry, crstShift, mkPtePhys, pmdPgtableOrigin, protToPgprot, pteAddr, pteMkdirty, pteMkwrite, pteMkyoung, pteNone,
  ptePresent, pteWrite, pteWrprotect, PTRS_PER_PTE, TASK_SIZE_MAX, type CrstLevel,
} from "./pgtable-bits.js";
import { ptepClearFlush, ptepGetAndClear, ptepSetAccessFlags, setPteAt } from "./pgtable.js";

const PTE_TABLE: TableGeometry = { level: PgtLevel.Pte, shift: 12, entries: PTRS_PER_PTE };
/** The tables below an ASCE whose top is the CRST table of `top` (3 region-first … 0 segment). */
const crstTables = (top: CrstLevel): readonly TableGeometry[] => [
  ...Array.from({ length: top + 1 }, (_, i): TableGeometry => {
    const lvl = top - i;
    return { level: (lvl + 1) as PgtLevel, shift: Number(crstShift(lvl as CrstLevel)), entries: CRST_ENTRIES };
  }),
  PTE_TABLE,
];
const TABLES_64 = ([0, 1, 2, 3] as const).map(crstTables);
const TABLES_31: readonly TableGeometry[] = [{ level: PgtLevel.Pmd, shift: Number(_SEGMENT_SHIFT), entries: CRST_ENTRIES }, PTE_TABLE];

const tablesOf = (mm: S390Mm): readonly TableGeometry[] => (mm.k.esa390 ? TABLES_31 : TABLES_64[asceLevel(mm.asce)]!);
/** Depth of the segment table, whose entries point to PTE tables. */
const segmentDepth = (mm: S390Mm): number => pteDepth(tablesOf(mm)) - 1;
/** DAT level (3 region-first … 0 segment) of the table at `depth`. */
const crstLevelAt = (mm: S390Mm, depth: number): CrstLevel => (segmentDepth(mm) - depth) as CrstLevel;

/** protection_map for this mm: ESA/390 has no instruction-execution protection (bit 55 must be 0). */
const pgprot = (mm: S390Mm, prot: number): bigint => {
  const p = protToPgprot(prot);
  return mm.k.esa390 ? p & ~_PAGE_NOEXEC : p;
};

export const s390MmArch: MmArch<S390Mm, PgTable | PtDesc> = {
  tables: tablesOf,
  entryBytes: (mm) => (mm.k.esa390 ? 4 : 8),
  pagingName: (mm) => (mm.k.esa390 ? "ESA/390" : `s390 ${tablesOf(mm).length}-level`),
  hugeLeaves: () => false,
  taskSize: () => TASK_SIZE_MAX,
  rangeError: (_mm, va, end) => (va < 0n || end > TASK_SIZE_MAX ? "outside user space" : null),
  mmapPrepare: (mm, end) => mm.checkAsceLimit(end),

  readEntry: (mm, pa) => (mm.k.esa390 ? BigInt(mm.k.phys.read32(pa, true)) : mm.k.phys.read64(pa, true)),
  pxdNone: (_mm, e) => (e & _REGION_ENTRY_INVALID) !== 0n,
  pxdTable(mm, e, depth) {
    if (e & _REGION_ENTRY_INVALID) return null;
    if (depth !== segmentDepth(mm)) return Number(e & _REGION_ENTRY_ORIGIN);
    return mm.k.esa390 ? Number(e & _SEGMENT_ENTRY_ORIGIN_31) : pmdPgtableOrigin(e);
  },
  pxdHuge: () => false,
  pmdBad: () => false,
  pxdClear(mm, depth, pa) {
    const empty = crstEmpty(crstLevelAt(mm, depth));
    if (mm.k.esa390) mm.k.phys.write32(pa, Number(empty), true); else mm.k.phys.write64(pa, empty, true);
  },
  setPxd() { throw new Error("s390: this model maps no large pages"); },
  pxdLockptr: (mm, pa, depth) => (depth === segmentDepth(mm) ? mm.pmdLockptr(pa) : mm.pageTableLock),

  pxdAllocOne(mm, level) {
    switch (level) {
      case PgtLevel.Pte: return pageTableAlloc(mm);
      case PgtLevel.Pmd: return pmdAllocOne(mm);
      case PgtLevel.Pud: return pudAllocOne(mm);
      default: return p4dAllocOne(mm);
    }
  },
  pxdPopulate(mm, pa, depth, table) {
    if (depth === segmentDepth(mm)) pmdPopulate(mm, pa, table as PgTable);
    else mm.k.phys.write64(pa, crstEntry(crstLevelAt(mm, depth), table.pa), true);
  },
  pxdFree(mm, level, table) {
    if (level === PgtLevel.Pte) pageTableFree(mm, table as PgTable);
    else crstTableFree(mm, table as PtDesc);
  },
  pxdFreeTlb(mm, gather, depth, tablePa, addr) {
    if (depth === segmentDepth(mm)) { pageTableFreeRcu(mm, PgTable.at(tablePa), addr, gather); return; }
    // pmd_free_tlb / pud_free_tlb: the dtor runs now, the pages go after the grace period.
    const pt = mm.k.ptdescs.get(tablePa / PAGE_SIZE)!;
    mm.k.ptdescs.dtor(pt);
    gather.removeTable({ ptr: pt.pa, mm, kind: "table" } satisfies TableFree);
  },
  freePgtablesRule: "unspanned",

  pteNone,
  ptePresent,
  pteWrite,
  leafPa: (_mm, e) => pteAddr(e),
  mkPte(mm, pa, prot, writable) {
    // Without a zero page every pte of a writable VMA is writable; the other case is for completeness.
    const pte = mkPtePhys(pa, pgprot(mm, prot));
    return writable ? pte : pteWrprotect(pte);
  },
  pteMkdirty,
  pteMkyoung,
  pteMkwrite,
  setPteAt,
  ptepGetAndClear,
  ptepClearFlush(mm, addr, ptep) { ptepClearFlush(mm, addr, ptep); },
  ptepSetAccessFlags: (mm, addr, ptep, entry) => ptepSetAccessFlags(mm, addr, ptep, entry),
  enterLazyMmu() {},
  leaveLazyMmu() {},
  // No zero page: every anonymous fault gets a frame of its own (as an mm with PGSTEs must, mm_forbids_zeropage).
  zeroPage: () => null,
  accessError(vma, access) {
    const need = access === Access.Write ? PROT_WRITE : access === Access.Fetch ? PROT_EXEC | PROT_READ : PROT_READ;
    return !(vma.prot & need);
  },

  exitMmap(mm) {
    if (mm.gmaps.length)
      throw new S390Error("EBUSY", `mm ${mm.id}: gmap ${mm.gmaps.map((g) => g.id).join(", ")} still attached (gmap_free first)`);
    const k = mm.k;
    if (k.current === mm) { k.current = null; mm.cpuAttachMask.delete(0); }
  },
  pgdFree: (mm) => crstTableFree(mm, mm.pgdDesc),          // the ESA/390 segment table too (its order is in the ptdesc)
  tlbFlush(gather) {
    // Ptes were exchanged with IPTE already; what is left is a lazy exchange's deferred flush, or freed tables.
    const mm = gather.mm as S390Mm;
    if (gather.cleared || mm.flushMmPending) {
      mm.flushMmPending = false;
      mm.k.flushMm(mm.asce);
    }
  },
  tlbRemoveTables: (mm, tables) => { mm.k.rcuPending.push(...(tables as readonly TableFree[])); },

  mmError: (code, message) => new S390Error(code, message),
  oomError: (what) => new S390Error("ENOMEM", `${what}: out of memory; rolled back`),
};
