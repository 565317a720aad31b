/**
 * One walker for every pass over a range of page tables on the host, as
 * Linux has walk_page_range() (mm/pagewalk.c): it visits [start, end) of an
 * address space top-down in address order and calls the caller's callbacks —
 * one per entry kind (pgd/p4d/pud/pmd/pte_entry), pte_hole for empty entries
 * above the pte level — and descends into the tables the entries point to.
 *
 * It is generic over the architecture: a PageTables says what the tables
 * look like, how an entry is read, when it is none, when it maps a page and
 * where the table it points to is. src/kernel/x86/pgtable.ts (x86PageTables)
 * builds one for x86 page tables however they are read — the kernel side
 * through the paravirt value hooks, `info tlb` as the CPU reads guest memory,
 * the Xen model machine frames, its guest machine frames mapped back to
 * pseudo-physical ones; src/kernel/mm-walk.ts (mmPageTables) builds one for
 * any mm from its architecture's MmArch. The walker itself only reads; a
 * callback may change what lies below the entry it is given and skip it
 * (zap and mprotect do, through forEachLeafTable in mm-walk.ts).
 *
 * As in Linux:
 * - callbacks are named by the kind of entry (after folding: the entries of a
 *   4-level pgd are p4d entries: the level of the table below, plus one);
 * - pte_entry sees every pte in range, none ones included; above the pte
 *   level a none entry goes to pte_hole instead of the entry callback;
 * - a large leaf (PageTables.huge) goes to its level's callback, marked
 *   `leaf`, and is not descended into;
 * - a callback returning non-zero ends the walk, and walkPageRange returns
 *   that value; setting `action = WalkAction.Continue` skips the entry's
 *   subtree (ACTION_CONTINUE);
 * - a level is only descended into when some callback below it is set.
 * Unlike Linux, `addr`/`next` are the entry's whole span, not clipped to
 * [start, end), and addresses are the ones the indices build (not
 * sign-extended: canonicalize() in x86/pgtable-types.ts makes x86 ones canonical).
 */
import { entryKindAt } from "./arch.js";
import { PgtLevel, type TableGeometry } from "./types.js";

/** What the walker does after an entry callback (enum page_walk_action). */
export const enum WalkAction {
  /** Descend into the table the entry points to (the default). */
  Subtree = 0,
  /** Go on with the next entry at this level, skipping the subtree. */
  Continue = 1,
}

/** One entry as a callback sees it. The walker reuses the object: copy what you keep. */
export interface WalkEntry {
  /** Kind of the entry by Linux name (pte_t … pgd_t, after folding). */
  level: PgtLevel;
  /** Depth of the table holding it (0 = the top table). */
  depth: number;
  /** Its slot in that table. */
  index: number;
  /** Physical address of the entry (as `readEntry` takes it) and its value. */
  ptr: number;
  val: bigint;
  /** The virtual addresses the entry maps: [addr, next). */
  addr: bigint;
  next: bigint;
  /** A pte, or a large page. */
  leaf: boolean;
  /** Set by the callback; Subtree when it is called. */
  action: WalkAction;
}

export type WalkEntryFn = (w: WalkEntry) => number | void;

/** struct mm_walk_ops: every callback is optional. */
export interface MmWalkOps {
  pgdEntry?: WalkEntryFn;
  p4dEntry?: WalkEntryFn;
  pudEntry?: WalkEntryFn;
  pmdEntry?: WalkEntryFn;
  /** Every pte in range, none ones included. */
  pteEntry?: WalkEntryFn;
  /** A none entry above the pte level: [addr, next) is not mapped; `level` is the entry's kind. */
  pteHole?: (addr: bigint, next: bigint, level: PgtLevel, depth: number) => number | void;
}

/** What a walk needs of the tables' shape. */
export interface WalkGeometry {
  /** Tables from the top to the pte table. */
  readonly tables: readonly TableGeometry[];
  /** Bits of virtual address translated (lookupAddress masks the rest off). */
  readonly vaBits: number;
  /** Bytes per entry. */
  readonly entryBytes: number;
}

/** The page tables a walk reads: their shape, and how an entry is read, judged and followed. */
export interface PageTables {
  readonly g: WalkGeometry;
  /** The entry at physical address `ptr`. */
  readEntry(ptr: number): bigint;
  /** Is the entry of a table at `depth` above the pte level none (pXd_none: a hole)? */
  none(e: bigint, depth: number): boolean;
  /** Does the entry of a table at `depth` above the pte level map a page (a large leaf)? */
  huge(e: bigint, depth: number): boolean;
  /** The table a non-leaf entry points to, or null when there is none to descend into. */
  tableAddr(e: bigint, depth: number): number | null;
}

/** The callback for the entries of one kind only. */
export function entryOps(level: PgtLevel, fn: WalkEntryFn): MmWalkOps {
  switch (level) {
    case PgtLevel.Pte: return { pteEntry: fn };
    case PgtLevel.Pmd: return { pmdEntry: fn };
    case PgtLevel.Pud: return { pudEntry: fn };
    case PgtLevel.P4d: return { p4dEntry: fn };
    default: return { pgdEntry: fn };
  }
}

/** The same callback for entries of every kind. */
export function everyEntry(fn: WalkEntryFn): MmWalkOps {
  return { pgdEntry: fn, p4dEntry: fn, pudEntry: fn, pmdEntry: fn, pteEntry: fn };
}

function callbackFor(ops: MmWalkOps, level: PgtLevel): WalkEntryFn | undefined {
  switch (level) {
    case PgtLevel.Pte: return ops.pteEntry;
    case PgtLevel.Pmd: return ops.pmdEntry;
    case PgtLevel.Pud: return ops.pudEntry;
    case PgtLevel.P4d: return ops.p4dEntry;
    default: return ops.pgdEntry;
  }
}

/**
 * Walk [start, end) of the address space whose top table is at `pgd`. Returns
 * 0, or the first non-zero value a callback returned.
 */
export function walkPageRange(pt: PageTables, pgd: number, start: bigint, end: bigint, ops: MmWalkOps): number {
  return new Walker(pt, ops).walk(pgd, 0, 0n, start, end);
}

/**
 * Walk the entries of one table at `depth` and what hangs below them, the
 * table taken on its own: its first entry maps address 0. For checks that go
 * table by table (the Xen model validates and audits each table page once,
 * however many entries point to it). [start, end) defaults to all entries.
 */
export function walkTableRange(pt: PageTables, table: number, depth: number, ops: MmWalkOps,
  start = 0n, end?: bigint): number {
  const tg = pt.g.tables[depth]!;
  return new Walker(pt, ops).walk(table, depth, 0n, start, end ?? BigInt(tg.entries) << BigInt(tg.shift));
}

/** The entry mapping `va` at the deepest level a walk reaches: lookup_address(). */
export interface Lookup {
  /** Kind of the entry: Pte, or higher where the walk stopped (large page, non-present or unfollowed table entry). */
  level: PgtLevel;
  /** Depth of the table holding it. */
  depth: number;
  ptr: number;
  val: bigint;
  leaf: boolean;
}

/**
 * lookup_address_in_pgd(): the deepest entry on the way to `va` — the pte, or
 * the entry above it where the walk could not go on. null when a none entry
 * above the pte level is in the way. `va` may be canonical (sign-extended):
 * only the bits the mode translates are looked at.
 */
export function lookupAddress(pt: PageTables, pgd: number, va: bigint): Lookup | null {
  va &= (1n << BigInt(pt.g.vaBits)) - 1n;
  let found: Lookup | null = null;
  const note: WalkEntryFn = (w) => { found = { level: w.level, depth: w.depth, ptr: w.ptr, val: w.val, leaf: w.leaf }; };
  walkPageRange(pt, pgd, va, va + 1n, { ...everyEntry(note), pteHole: () => { found = null; } });
  return found;
}

class Walker {
  /** needBelow[d]: some callback runs below depth d, so tables there are worth descending into. */
  private readonly needBelow: boolean[];

  constructor(private readonly pt: PageTables, private readonly ops: MmWalkOps) {
    const g = pt.g, n = g.tables.length;
    this.needBelow = new Array<boolean>(n).fill(false);
    for (let d = n - 2; d >= 0; d--) {
      const below = d + 1;
      const here = callbackFor(ops, entryKindAt(g.tables, below)) !== undefined || (below < n - 1 && ops.pteHole !== undefined);
      this.needBelow[d] = here || this.needBelow[below]!;
    }
  }

  walk(table: number, depth: number, base: bigint, start: bigint, end: bigint): number {
    const { pt, ops } = this, g = pt.g;
    const tg = g.tables[depth]!, last = depth === g.tables.length - 1;
    const shift = BigInt(tg.shift), span = 1n << shift, level = entryKindAt(g.tables, depth);
    const cb = callbackFor(ops, level);
    const descend = this.needBelow[depth]!;
    const w: WalkEntry = { level, depth, index: 0, ptr: 0, val: 0n, addr: 0n, next: 0n, leaf: false, action: WalkAction.Subtree };
    for (let i = start > base ? Number((start - base) >> shift) : 0; i < tg.entries; i++) {
      const addr = base + (BigInt(i) << shift);
      if (addr >= end) break;
      const ptr = table + i * g.entryBytes;
      const val = pt.readEntry(ptr);
      if (!last && pt.none(val, depth)) {
        const r = ops.pteHole?.(addr, addr + span, level, depth);
        if (r) return r;
        continue;
      }
      const leaf = last || pt.huge(val, depth);
      if (cb) {
        w.index = i; w.ptr = ptr; w.val = val; w.addr = addr; w.next = addr + span; w.leaf = leaf; w.action = WalkAction.Subtree;
        const r = cb(w);
        if (r) return r;
        if (w.action !== WalkAction.Subtree) continue;
      }
      if (leaf || !descend) continue;
      const child = pt.tableAddr(val, depth);
      if (child === null) continue;
      const r = this.walk(child, depth + 1, addr, start, end);
      if (r) return r;
    }
    return 0;
  }
}
