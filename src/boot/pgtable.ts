/**
 * The planner's own picture of the page tables it builds: which table pages
 * exist, and per entry whether it is empty, points to a lower table, or maps
 * a page. This is what the kernel's phys_*_init() functions look at
 * (pud_none, pud_large, …) to decide what to allocate.
 *
 * Every change is also forwarded to an optional sink that writes the real
 * entries into guest memory through the paravirt hooks, so one plan run both
 * decides and (optionally) builds. Kept compact so that planning a 4 TiB
 * machine needs no guest memory at all.
 */
import type { Geometry } from "./geometry.js";
import { childLevel } from "../kernel/x86/pgtable-types.js";
import { PGT_LEVEL_NAMES, PgtLevel } from "../kernel/types.js";

export const enum Slot { None = 0, Table = 1, Leaf = 2 }

export interface Table {
  readonly pa: number;
  readonly level: PgtLevel;
  /** Slot per entry. */
  readonly kind: Uint8Array;
  /** Non-leaf tables: the physical address an entry points to (table or large page). */
  readonly target: Float64Array | null;
  /** Table pages that were there before planning (head_32 / Xen start-of-day tables). */
  readonly preexisting: boolean;
}

/** Where the real entries go (guest memory through paravirt hooks); all optional. */
export interface PgtableSink {
  /** A fresh table page: clear it (the kernel's clear_page through the direct map). */
  tableAlloc?(pa: number, level: PgtLevel): void;
  /** paravirt_alloc_{p4d,pud,pmd,pte}(&init_mm, pfn): called before the first entry pointing at the page is written. */
  allocHook?(pa: number, level: PgtLevel): void;
  /** Link: write entry `index` of `table` (level `level`) to point to `child` (a *_populate_init). */
  setTableEntry?(table: number, level: PgtLevel, index: number, child: number, childLevel: PgtLevel): void;
  /** Map: write a leaf entry (set_pte_init / set_pmd_init with PSE / set_pud_init with PSE). */
  setLeafEntry?(table: number, level: PgtLevel, index: number, pa: number, large: boolean): void;
  /** Clear an entry (set_p*_init(…, 0)). */
  clearEntry?(table: number, level: PgtLevel, index: number): void;
  /** load_cr3(). */
  loadCr3?(pgd: number): void;
}

export interface HookCall { pa: number; level: PgtLevel }

/** Tables that exist before planning starts (head_32's, Xen's start of day), already in memory. */
export interface Preexisting {
  tables: { pa: number; level: PgtLevel }[];
  links: { table: number; index: number; child: number }[];
  /** Leaf runs in pte tables: entries [from, to) map base + i·4 KiB. */
  leaves: { table: number; from: number; to: number; base: number }[];
}

export class PgtableModel {
  readonly tables = new Map<number, Table>();
  readonly pgd: Table;
  /** Hooks issued so far, in order (paravirt_alloc_*). */
  readonly hooks: HookCall[] = [];
  /** When set, allocHook calls are queued instead of issued (hpa's brk phase). */
  deferHooks = false;
  readonly pendingHooks: HookCall[] = [];
  /** Leaf entries written (for counting work and for tests). */
  leavesWritten = 0;
  /** Observer of every issued hook (the plan records them as steps). */
  onHook: ((h: HookCall) => void) | null = null;

  constructor(readonly g: Geometry, pgdPa: number, readonly sink: PgtableSink = {}) {
    this.pgd = this.addTable(pgdPa, PgtLevel.Pgd, true);
  }

  /** Register a table page. `preexisting` pages are not reported as allocations. */
  addTable(pa: number, level: PgtLevel, preexisting: boolean): Table {
    if (this.tables.has(pa)) throw new Error(`page 0x${pa.toString(16)} is already a page table`);
    const n = level === PgtLevel.Pgd ? this.g.topEntries : this.g.entriesPerTable;
    const t: Table = { pa, level, kind: new Uint8Array(n), preexisting,
      target: level === PgtLevel.Pte ? null : new Float64Array(n) };
    this.tables.set(pa, t);
    if (!preexisting) this.sink.tableAlloc?.(pa, level);
    return t;
  }

  /** Record pre-existing tables in the picture (nothing is written: they are in memory already). */
  registerPreexisting(p: Preexisting): void {
    for (const t of p.tables) if (!this.tables.has(t.pa)) this.addTable(t.pa, t.level, true);
    for (const l of p.links) {
      const t = this.table(l.table);
      t.kind[l.index] = Slot.Table;
      t.target![l.index] = l.child;
    }
    for (const r of p.leaves) this.table(r.table).kind.fill(Slot.Leaf, r.from, r.to);
  }

  table(pa: number): Table {
    const t = this.tables.get(pa);
    if (!t) throw new Error(`0x${pa.toString(16)} is not a page table`);
    return t;
  }

  child(t: Table, i: number): Table { return this.table(t.target![i]!); }

  /** *_populate_init: paravirt hook for the child, then the entry. */
  link(t: Table, i: number, child: Table): void {
    this.hook(child.pa, child.level);
    t.kind[i] = Slot.Table;
    t.target![i] = child.pa;
    this.sink.setTableEntry?.(t.pa, t.level, i, child.pa, child.level);
  }

  /** Link without a hook (pre-existing structure built before planning). */
  linkQuiet(t: Table, i: number, child: Table): void {
    t.kind[i] = Slot.Table;
    t.target![i] = child.pa;
    this.sink.setTableEntry?.(t.pa, t.level, i, child.pa, child.level);
  }

  hook(pa: number, level: PgtLevel): void {
    if (this.deferHooks) { this.pendingHooks.push({ pa, level }); return; }
    this.hooks.push({ pa, level });
    this.onHook?.({ pa, level });
    this.sink.allocHook?.(pa, level);
  }

  /**
   * Issue the queued hooks, lowest level first (tables before the tables that
   * point to them). The caller records them as one step, so the per-hook
   * observer is not told.
   */
  flushHooks(): HookCall[] {
    const q = this.pendingHooks.splice(0).sort((a, b) => a.level - b.level);
    this.deferHooks = false;
    for (const h of q) { this.hooks.push(h); this.sink.allocHook?.(h.pa, h.level); }
    return q;
  }

  setLeaf(t: Table, i: number, pa: number): void {
    t.kind[i] = Slot.Leaf;
    if (t.target) t.target[i] = pa;
    this.leavesWritten++;
    this.sink.setLeafEntry?.(t.pa, t.level, i, pa, t.level !== PgtLevel.Pte);
  }

  /** setLeaf for entries [from, to) of a pte table, mapping consecutive pages from `pa`. */
  setLeafRun(t: Table, from: number, to: number, pa: number): void {
    const set = this.sink.setLeafEntry;
    if (!set && !t.target) {
      t.kind.fill(Slot.Leaf, from, to);
      this.leavesWritten += to - from;
      return;
    }
    for (let i = from; i < to; i++, pa += 4096) this.setLeaf(t, i, pa);
  }

  clear(t: Table, i: number): void {
    if (t.kind[i] === Slot.None) return;
    t.kind[i] = Slot.None;
    if (t.target) t.target[i] = 0;
    this.sink.clearEntry?.(t.pa, t.level, i);
  }

  childLevel(level: PgtLevel): PgtLevel { return childLevel(this.g, level); }

  /** Table pages by level (excluding pre-existing ones when asked). */
  countByLevel(includePreexisting = false): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tables.values()) {
      if (t.preexisting && !includePreexisting) continue;
      const k = PGT_LEVEL_NAMES[t.level];
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}
