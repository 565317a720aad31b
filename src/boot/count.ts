/**
 * How many page-table pages would mapping some ranges allocate, given the
 * tables that exist now? The same decisions as phys-mapping.ts, without doing
 * anything — the `hpa` strategy asks this right before each slice or batch,
 * so that it never has to guess page-table memory in advance.
 *
 * A table is identified by its level and the block of address space it
 * covers, so tables that several pieces or ranges would share are counted
 * once.
 */
import { entryIndex, type Geometry, PageMask } from "./geometry.js";
import { type PgtableModel, Slot, type Table } from "./pgtable.js";
import { type SplitContext, splitMemRange } from "./split.js";
import { PgtLevel } from "../kernel/types.js";

/** Tables needed to map every [start, end) of `ranges` the way init_memory_mapping() would. */
export function countTablesForRanges(m: PgtableModel, split: SplitContext, ranges: readonly [number, number][]): number {
  const fresh = new Set<string>();
  for (const [s, e] of ranges)
    for (const r of splitMemRange(split, s, e)) {
      if (m.g.is64) countLevel(m, m.g, PgtLevel.Pgd, m.pgd, r.start, r.end, r.mask, fresh);
      else count32(m, r.start, r.end, r.mask, fresh);
    }
  return fresh.size;
}

/** `t === null`: a table that would be new (all entries empty). */
function countLevel(m: PgtableModel, g: Geometry, level: PgtLevel, t: Table | null, paddr: number, paddrEnd: number,
  mask: number, fresh: Set<string>): void {
  if (level === PgtLevel.Pte) return;
  const span = 2 ** g.shift[level]!;
  const large = level === PgtLevel.Pud ? PageMask.Huge : level === PgtLevel.Pmd ? PageMask.Large : 0;
  const child = m.childLevel(level);
  for (let p = paddr; p < paddrEnd; p = Math.floor(p / span) * span + span) {
    const i = entryIndex(g, level, p);
    const kind = t ? t.kind[i]! : Slot.None;
    const key = `${child}:${Math.floor(p / span)}`;
    if (kind === Slot.Table) countLevel(m, g, child, m.child(t!, i), p, paddrEnd, mask, fresh);
    else if (!(large && mask & large) || (kind === Slot.None && fresh.has(key))) {
      // a new table here (or the split of a large page without the size)
      fresh.add(key);
      countLevel(m, g, child, null, p, paddrEnd, mask, fresh);
    }
    if (level !== PgtLevel.Pgd && level !== PgtLevel.P4d && i === g.entriesPerTable - 1) break;
  }
}

function count32(m: PgtableModel, start: number, end: number, mask: number, fresh: Set<string>): void {
  const g = m.g, usePse = mask === PageMask.Large;
  const pmdSpan = 2 ** g.pmdShift;
  for (let p = start - (start % pmdSpan); p < end; p += pmdSpan) {
    let pmdT: Table | null = m.pgd;
    let idx = entryIndex(g, PgtLevel.Pgd, p);
    if (g.mode === "pae") {
      const pi = idx;
      if (m.pgd.kind[pi] === Slot.Table) pmdT = m.child(m.pgd, pi);
      else { pmdT = null; fresh.add(`${PgtLevel.Pmd}:${pi}`); }
      idx = entryIndex(g, PgtLevel.Pmd, p);
    }
    if (usePse) continue;
    if (!pmdT || pmdT.kind[idx] !== Slot.Table) fresh.add(`${PgtLevel.Pte}:${Math.floor(p / pmdSpan)}`);
  }
}
