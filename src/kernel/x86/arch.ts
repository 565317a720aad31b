/**
 * x86 for the generic mm code (../arch.ts): the tables of the paging mode,
 * entries read and written through pv_ops with the lock check (entry.ts),
 * table pages allocated and announced per level (pgalloc.ts), leaves with
 * hardware-managed accessed/dirty bits, the shared zero page, and TLB
 * flushes by range, PCID-aware (tlb.ts).
 */
import { Access } from "../../abi.js";
import type { MmArch } from "../arch.js";
import { KernelOomError } from "../kernel.js";
import { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from "../mman.js";
import type { MmuGather } from "../mmu-gather.js";
import type { PtDesc } from "../ptdesc.js";
import { PAGE_SHIFT, PAGE_SIZE, PgtLevel } from "../types.js";
import { checkEntryLock, entryLockptr, readEntry, setEntry } from "./entry.js";
import { archPageTableSyncKinds, archSyncKernelMappings } from "./kernel-mappings.js";
import type { X86Mm } from "./mm.js";
import { paravirtRelease, pgdFree, populate, tableAllocOne, tableFree } from "./pgalloc.js";
import { isLeafEntry, isPresent, pmdBad } from "./pgtable.js";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_RW, _PAGE_USER, entryAddr, entryKind, entrySpan, hugeEntryAddr, isCanonical } from "./pgtable-types.js";
import { switchMm } from "./tlb.js";

const hex = (v: bigint | number): string => "0x" + v.toString(16);
const last = (mm: X86Mm): number => mm.k.geometry.tables.length - 1;

export const x86MmArch: MmArch<X86Mm, PtDesc> = {
  tables: (mm) => mm.k.geometry.tables,
  entryBytes: (mm) => mm.k.geometry.entryBytes,
  pagingName: (mm) => mm.k.geometry.mode,
  hugeLeaves: (mm, depth) => mm.k.geometry.hugeLevels.includes(entryKind(mm.k.geometry, depth)),
  taskSize: (mm) => mm.k.geometry.taskSize,
  rangeError(mm, va, end) {
    const g = mm.k.geometry;
    if (mm.isInitMm) {
      if (va < g.pageOffset || !isCanonical(g, va) || !isCanonical(g, end - 1n) || (end - 1n) >> 63n !== va >> 63n)
        return `init_mm mappings must lie in the kernel half (≥ ${hex(g.pageOffset)})`;
    } else if (va < 0n || end > g.taskSize) return `outside user space [0, ${hex(g.taskSize)})`;
    return null;
  },

  readEntry: (mm, pa) => readEntry(mm.k, pa),
  pxdNone: (_mm, e) => e === 0n,
  pxdTable: (mm, e) => (isPresent(e) && !isLeafEntry(e) ? entryAddr(mm.k.geometry, e) : null),
  pxdHuge: (_mm, e) => (e & _PAGE_PSE) !== 0n,
  pmdBad: (_mm, e) => pmdBad(e),
  pxdClear: (mm, depth, pa) => setEntry(mm.k, entryKind(mm.k.geometry, depth), pa, 0n, false),
  setPxd: (mm, depth, pa, v) => setEntry(mm.k, entryKind(mm.k.geometry, depth), pa, v),
  pxdLockptr: (mm, pa) => entryLockptr(mm.k, pa),

  pxdAllocOne: (mm, level) => tableAllocOne(mm.k, mm, level),
  pxdPopulate: (mm, pa, depth, table) => populate(mm.k, mm, pa, depth, table),
  pxdFree: (mm, _level, table) => tableFree(mm.k, table),
  pxdFreeTlb(mm, gather, depth, tablePa, addr) {
    const k = mm.k, g = k.geometry;
    const pt = k.ptdescs.get(tablePa / PAGE_SIZE)!;
    paravirtRelease(k, g.tables[depth + 1]!.level, pt);
    k.ops.tlbRemoveTable(gather, pt.pfn);
    gather.coverTable(addr, entrySpan(g, depth));
    // A PAE PDPT entry lives in registers loaded with CR3: only a reload drops it.
    if (g.mode === "pae" && depth === 0) gather.needFlushAll = true;
  },
  freePgtablesRule: "empty",

  pteNone: (e) => e === 0n,
  ptePresent: (e) => (e & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0n,
  pteWrite: (e) => (e & _PAGE_RW) !== 0n,
  leafPa: (mm, e, depth) =>
    depth === last(mm) ? entryAddr(mm.k.geometry, e) : hugeEntryAddr(mm.k.geometry, e, entrySpan(mm.k.geometry, depth)),
  mkPte(mm, pa, prot, writable, huge) {
    let e = BigInt(pa) | (huge ? _PAGE_PSE : 0n);
    if (prot === PROT_NONE) return e | _PAGE_PROTNONE | _PAGE_ACCESSED;
    e |= _PAGE_PRESENT | _PAGE_ACCESSED;
    if (writable) e |= _PAGE_RW;
    if (mm.isInitMm) e |= _PAGE_GLOBAL; else e |= _PAGE_USER;
    if (mm.k.geometry.hasNx && !(prot & PROT_EXEC)) e |= _PAGE_NX;
    return e;
  },
  pteMkdirty: (e) => e | _PAGE_DIRTY,
  pteMkyoung: (e) => e | _PAGE_ACCESSED,
  pteMkwrite: (e) => e | _PAGE_RW,
  setPteAt: (mm, _addr, ptep, pte) => setEntry(mm.k, PgtLevel.Pte, ptep, pte),
  ptepGetAndClear(mm, _addr, ptep) {
    const old = readEntry(mm.k, ptep);
    setEntry(mm.k, PgtLevel.Pte, ptep, 0n);
    return old;
  },
  ptepClearFlush(mm, addr, ptep) {
    setEntry(mm.k, PgtLevel.Pte, ptep, 0n);
    mm.k.flushTlbMmRange(mm, addr, addr + BigInt(PAGE_SIZE), PAGE_SHIFT, false);
  },
  // The walker sets accessed and dirty itself (SDM 4.8): the fault path has nothing to add.
  ptepSetAccessFlags: () => false,
  pteModify(mm, old, prot, writable, depth) {
    const pa = x86MmArch.leafPa(mm, old, depth);
    const fresh = x86MmArch.mkPte(mm, pa, prot, writable, depth !== last(mm));
    return fresh | (old & _PAGE_DIRTY) | (prot === PROT_NONE ? 0n : old & _PAGE_ACCESSED);
  },
  ptepModifyProt(mm, addr, ptep, modify) {
    const ops = mm.k.ops;
    checkEntryLock(mm.k, PgtLevel.Pte, ptep);
    const was = ops.ptepModifyProtStart(mm, addr, ptep);
    ops.ptepModifyProtCommit(mm, addr, ptep, was, ops.makePte(modify(ops.pteVal(was))));   // start returns the raw pte
  },
  enterLazyMmu: (mm) => mm.k.ops.enterLazyMmu(),
  leaveLazyMmu: (mm) => mm.k.ops.leaveLazyMmu(),
  zeroPage: (mm) => mm.k.zeroPagePa,
  accessError(vma, access) {
    const need = access === Access.Write ? PROT_WRITE : access === Access.Fetch ? PROT_EXEC : PROT_READ;
    // x86 cannot express write-only or exec-only: any non-NONE protection reads.
    return vma.prot === PROT_NONE || (need !== PROT_READ && !(vma.prot & need));
  },

  exitMmap(mm) {
    const k = mm.k;
    if (k.tlb.loadedMm === mm) switchMm(k, k.initMm);
    k.ops.exitMmap(mm);
  },
  pgdFree(mm) {
    pgdFree(mm.k, mm, mm.pgd);
    mm.pgd = 0;
  },
  tlbFlush(gather: MmuGather) {
    const mm = gather.mm as X86Mm;
    if (gather.needFlushAll) mm.k.flushTlbMm(mm);
    else if (gather.start < gather.end)
      mm.k.flushTlbMmRange(mm, gather.start, gather.end, gather.strideShift === 64 ? PAGE_SHIFT : gather.strideShift, gather.freedTables);
  },
  tlbRemoveTables(mm, tables) {
    const k = mm.k;
    k.rcu.call(() => {
      for (const pfn of tables as readonly number[]) k.ptdescs.dtorFree(k.ptdescs.get(pfn)!);
    });
  },
  syncKernelMappings(mm, start, end, modified) {
    if (archPageTableSyncKinds(mm.k).some((kd) => modified.has(kd))) archSyncKernelMappings(mm.k, start, end);
  },

  mmError: (_code, message) => new RangeError(message),
  oomError: (what) => new KernelOomError(what),
};
