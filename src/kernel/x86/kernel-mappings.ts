/**
 * Keeping the kernel half of every pgd in step with init_mm
 * (arch/x86/mm/pgtable.c pgd_list_add/pgd_list_del; arch/x86/mm/fault.c
 * vmalloc_sync_one, arch/x86/mm/init_64.c sync_global_pgds): every pgd that
 * does not share the kernel PMD is on pgd_list, and a kernel mapping that
 * populated a per-pgd level is copied into each of them.
 */
import { KernelBugError } from "../kernel.js";
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import type { PtDesc } from "../ptdesc.js";
import { PGT_LEVEL_NAMES, PgtLevel, type PhysAddr } from "../types.js";
import { entryPtr, readEntry, setEntry } from "./entry.js";
import { isLeafEntry } from "./pgtable.js";
import { _PAGE_PRESENT, entryAddr, entryKind, tableIndex } from "./pgtable-types.js";


/** pgd_list_add: caller holds pgd_lock. */
export function pgdListAdd(k: Kernel, pgd: PtDesc): void {
  if (!k.pgdLock.held) k.lockdep.report("pgd_list_add without pgd_lock");
  k.pgdList.push(pgd);
}

/** pgd_list_del: caller holds pgd_lock. */
export function pgdListDel(k: Kernel, pgd: PtDesc): void {
  if (!k.pgdLock.held) k.lockdep.report("pgd_list_del without pgd_lock");
  const i = k.pgdList.indexOf(pgd);
  if (i < 0) throw new Error(`pgd_list_del: ${pgd} is not on pgd_list`);
  k.pgdList.splice(i, 1);
}


/**
 * Depth of the table whose entries are per-pgd copies of init_mm's and so
 * must be synchronised: the pmd-kind entries on 32-bit (the pgd itself for
 * 2-level, the private kernel pmd for unshared PAE), the top level on 64-bit.
 * null when nothing needs syncing (PAE with a shared kernel PMD).
 */
export function syncDepth(k: Kernel): number | null {
  const g = k.geometry;
  if (g.mode === "pae") return k.sharedKernelPmd ? null : 1;
  return 0;
}

/** ARCH_PAGE_TABLE_SYNC_MASK as a set of entry kinds. */
export function archPageTableSyncKinds(k: Kernel): PgtLevel[] {
  const d = syncDepth(k);
  return d === null ? [] : [entryKind(k.geometry, d)];
}

/** Walk a pgd down to the entry of `va` in table `depth`; null if a table on the way is missing. */
function entryAt(k: Kernel, pgd: PhysAddr, va: bigint, depth: number): PhysAddr | null {
  let table = pgd;
  for (let d = 0; d < depth; d++) {
    const e = readEntry(k, entryPtr(k, table, tableIndex(k.geometry, d, va)));
    if (!(e & _PAGE_PRESENT) || isLeafEntry(e)) return null;
    table = entryAddr(k.geometry, e);
  }
  return entryPtr(k, table, tableIndex(k.geometry, depth, va));
}

/**
 * arch_sync_kernel_mappings / vmalloc_sync_all / sync_global_pgds: copy every
 * present init_mm entry of the synchronised level in [start, end) into each
 * pgd on pgd_list whose slot is empty. A slot that is present but points
 * elsewhere is the kernel's BUG_ON: reported as KernelBugError (after the
 * other pgds were handled, so a report loses nothing). Returns the number of
 * entries copied.
 */
export function archSyncKernelMappings(k: Kernel, start: bigint, end: bigint): number {
  const depth = syncDepth(k);
  if (depth === null) return 0;
  const g = k.geometry;
  const span = 1n << BigInt(g.tables[depth]!.shift);
  const kind = entryKind(g, depth);
  let copied = 0;
  const bugs: string[] = [];
  const lo = start < g.pageOffset ? g.pageOffset : start;
  k.pgdLock.lock();
  try {
    for (let addr = lo & ~(span - 1n); addr < end && addr >= lo - span; addr += span) {
      const refp = entryAt(k, k.initMm.pgd, addr, depth);
      if (refp === null) continue;
      const ref = readEntry(k, refp);
      if (!(ref & _PAGE_PRESENT)) continue;
      for (const pt of k.pgdList) {
        const mm = pt.mm as Mm;
        mm.pageTableLock.lock();
        try {
          const p = entryAt(k, pt.pa, addr, depth);
          if (p === null) continue;
          const cur = readEntry(k, p);
          if (!(cur & _PAGE_PRESENT)) { setEntry(k, kind, p, ref); copied++; }
          else if (entryAddr(g, cur) !== entryAddr(g, ref))
            bugs.push(`${PGT_LEVEL_NAMES[kind]} entry for 0x${addr.toString(16)} in the pgd of mm ${mm.id} points to ` +
              `0x${entryAddr(g, cur).toString(16)}, init_mm's to 0x${entryAddr(g, ref).toString(16)}`);
        } finally { mm.pageTableLock.unlock(); }
      }
      if (addr + span < addr) break;
    }
  } finally { k.pgdLock.unlock(); }
  if (bugs.length) throw new KernelBugError(bugs.join("; "));
  return copied;
}
