/**
 * An mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h): collects what
 * an unmap tears down — the virtual range whose translations must go, data
 * pages and page-table pages to free — and frees them only after the TLB
 * flush, so no CPU can still reach a freed page through a stale TLB or
 * paging-structure-cache entry. Table pages wait for an RCU grace period
 * too (tlb_remove_table → tlb_remove_table_rcu), so lockless walkers
 * (__pte_offset_map) never see a reused page. What a flush is and how the
 * tables reach RCU is the architecture's (MmArch.tlbFlush, tlbRemoveTables).
 */
import type { Mm } from "./mm.js";
import { PAGE_SHIFT, PAGE_SIZE, type Pfn } from "./types.js";

/** Also a TableGather (paravirt/ops.ts): x86's pv_ops.mmu.tlb_remove_table queues tables on it. */
export class MmuGather {
  /** Range to flush [start, end); empty when start >= end. */
  start = (1n << 64n) - 1n;
  end = 0n;
  /** log2 of the smallest page size torn down (the flush stride); 64 while nothing was. */
  strideShift = 64;
  freedTables = false;
  /** PAE: a PDPT entry was cleared, only a CR3 reload will do (tlb->need_flush_all). */
  needFlushAll = false;
  private readonly tables: unknown[] = [];
  private readonly pages: { pfn: Pfn; order: number }[] = [];
  private finished = false;

  constructor(readonly mm: Mm) {}

  /** tlb_remove_tlb_entry / tlb_flush_pmd_range: a leaf of 2^shift bytes at va was cleared. */
  removeTlbEntry(va: bigint, shift: number): void {
    if (va < this.start) this.start = va;
    const e = va + (1n << BigInt(shift));
    if (e > this.end) this.end = e;
    if (shift < this.strideShift) this.strideShift = shift;
  }

  /** tlb_remove_page_size: a data block to free after the flush. */
  removePage(pfn: Pfn, order: number): void { this.pages.push({ pfn, order }); }

  /** tlb_remove_table: a detached table (as the architecture names it) to free after the flush. */
  removeTable(table: unknown): void {
    this.freedTables = true;
    this.tables.push(table);
  }

  /** The table-freeing part of free_pgtables widens the flush to the tables' span. */
  coverTable(va: bigint, span: bigint): void {
    if (va < this.start) this.start = va;
    if (va + span > this.end) this.end = va + span;
    if (this.strideShift === 64) this.strideShift = PAGE_SHIFT;
  }

  /** Something was torn down: a translation may be stale. */
  get cleared(): boolean { return this.start < this.end || this.freedTables; }

  /**
   * tlb_finish_mmu: flush, then free data pages and hand the table pages on
   * (to be freed after the grace period).
   */
  finish(): void {
    if (this.finished) throw new Error("tlb_finish_mmu twice on one mmu_gather");
    this.finished = true;
    const mm = this.mm;
    mm.arch.tlbFlush(this);
    for (const p of this.pages) mm.k.alloc.freePages(p.pfn, p.order);
    const tables = this.tables.splice(0);
    if (tables.length) mm.arch.tlbRemoveTables(mm, tables);
  }

  get pendingTables(): number { return this.tables.length; }
  get pendingBytes(): number { return this.tables.length * PAGE_SIZE; }
}
