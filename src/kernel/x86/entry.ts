/**
 * x86 page-table entries as the kernel reads and writes them: pte_val()
 * through pv_ops, the entry pointer arithmetic, which table (and so which
 * lock) an entry belongs to, and set_pte … set_pgd through the paravirt
 * hooks with the lock check (arch/x86/include/asm/pgtable.h, paravirt.h).
 *
 * Every write into a table that is (or may be) visible to the walker goes
 * through the paravirt set_* hooks (setEntry). Initialising a table nobody can
 * see yet (clone_pgd_range into a new pgd, copying the kernel pmd) is a plain
 * store (rawStore), as Linux's memcpy is.
 */
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import type { PtDesc } from "../ptdesc.js";
import { useSplitPmdPtlocks, useSplitPtePtlocks, type SpinLock } from "../ptlock.js";
import { PAGE_SIZE, PGT_LEVEL_NAMES, PgtLevel, type PhysAddr } from "../types.js";
import { depthOf, entryKind } from "./pgtable-types.js";

export function readEntry(k: Kernel, pa: PhysAddr): bigint {
  // pte_val() & co.: identity natively, machine → pseudo-physical frame under
  // Xen PV. Every backend converts all levels alike (Xen's xen_pte_val,
  // xen_pmd_val, … are all pte_mfn_to_pfn), so one hook serves every level.
  return k.ops.pteVal(k.phys.readEntry(pa, k.geometry.entryBytes));
}

/** The entry's bits as stored, for memcpy-like copies of live entries (clone_pgd_range). */
export function readEntryRaw(k: Kernel, pa: PhysAddr): bigint {
  return k.phys.readEntry(pa, k.geometry.entryBytes);
}

/** Physical address of entry `idx` of the table at `tablePa`. */
export function entryPtr(k: Kernel, tablePa: PhysAddr, idx: number): PhysAddr {
  return tablePa + idx * k.geometry.entryBytes;
}

/** Plain store (tables nobody can walk yet). */
export function rawStore(k: Kernel, pa: PhysAddr, v: bigint): void { k.phys.writeEntry(pa, v, k.geometry.entryBytes); }

/** What a table page holding an entry is: owner mm and level. */
export interface TableInfo { mm: Mm; level: PgtLevel; desc: PtDesc | null; tablePa: PhysAddr }

/** The table containing the entry at `pa` (a ptdesc page, or a 32-byte PAE pgd object). */
export function tableOf(k: Kernel, pa: PhysAddr): TableInfo | null {
  const slab = k.pgdCache.ownerOf(pa);
  if (slab) return { mm: slab.mm, level: PgtLevel.Pgd, desc: null, tablePa: slab.pgd };
  const d = k.ptdescs.containing(pa);
  if (!d || !d.pgtable || d.level === null || !d.mm) return null;
  return { mm: d.mm as Mm, level: d.level, desc: d, tablePa: d.pa };
}

/**
 * The lock that protects the entry at `pa`: pte_lockptr for pte
 * tables, pmd_lockptr for entries of kind pmd, mm.page_table_lock above;
 * init_mm always uses its page_table_lock.
 */
export function entryLockptr(k: Kernel, pa: PhysAddr): SpinLock {
  const t = tableOf(k, pa);
  if (!t) throw new Error(`entry at 0x${pa.toString(16)} is not inside a live page table`);
  const kind = entryKind(k.geometry, depthOf(k.geometry, t.level));
  if (t.mm.isInitMm || t.desc?.kernelPart) return t.mm.pageTableLock;
  if (kind === PgtLevel.Pte && useSplitPtePtlocks(k.ptdescs.deps.ptlocks)) return t.desc!.ptl!;
  if (kind === PgtLevel.Pmd && useSplitPmdPtlocks(k.ptdescs.deps.ptlocks, k.levels)) return t.desc!.ptl!;
  return t.mm.pageTableLock;
}

/**
 * Write a live entry through the hook for its kind (set_pte … set_pgd). With
 * `check`, lockdep verifies that the lock protecting the entry is held; pass
 * false only where Linux writes without it, and say why at the call site.
 * With PTI, a top-level entry for user space is mirrored into the user pgd
 * (pti_set_user_pgtbl; the kernel copy is not made NX in this model).
 */
export function setEntry(k: Kernel, kind: PgtLevel, pa: PhysAddr, v: bigint, check = true): void {
  if (check) checkEntryLock(k, kind, pa);
  hookSet(k, kind, pa, v);
  if (k.pti) {
    const t = tableOf(k, pa);
    if (t && t.level === PgtLevel.Pgd && (pa - t.tablePa) / k.geometry.entryBytes < k.geometry.tables[0]!.entries / 2)
      hookSet(k, kind, pa + PAGE_SIZE, v);
  }
}

/** Lockdep: the lock protecting the entry at pa must be held for a write of it. */
export function checkEntryLock(k: Kernel, kind: PgtLevel, pa: PhysAddr): void {
  if (!k.lockdep.enabled) return;
  const lock = entryLockptr(k, pa);
  if (!lock.held) k.lockdep.report(`${PGT_LEVEL_NAMES[kind]} entry at 0x${pa.toString(16)} written without holding ${lock.name}`);
}

function hookSet(k: Kernel, kind: PgtLevel, pa: PhysAddr, v: bigint): void {
  switch (kind) {
    // The kernel builds entries from pseudo-physical frames; make_pte & co. turn
    // them into what the hardware walks (identity natively, pfn → mfn on Xen PV).
    case PgtLevel.Pte: k.ops.setPte(pa, k.ops.makePte(v)); break;
    case PgtLevel.Pmd: k.ops.setPmd(pa, k.ops.makePmd(v)); break;
    case PgtLevel.Pud: k.ops.setPud(pa, k.ops.makePud(v)); break;
    case PgtLevel.P4d: k.ops.setP4d(pa, k.ops.makeP4d(v)); break;
    case PgtLevel.Pgd: k.ops.setPgd(pa, k.ops.makePgd(v)); break;
  }
}

/** Depth of the table whose entries are pmd-kind (they point to pte tables). */
export const pmdDepth = (k: Kernel): number => k.geometry.tables.length - 2;

/** The entry kind of the table at `depth` (pgtable.ts entryKind, for callers holding the kernel). */
export const kindAt = (k: Kernel, depth: number): PgtLevel => entryKind(k.geometry, depth);
