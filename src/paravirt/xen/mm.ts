/**
 * The reference-counting core of Xen's PV memory management
 * (xen/arch/x86/mm.c): general and typed references, recursive validation
 * of page tables (promote/demote), and the checked update of one entry.
 *
 * The rule everything here enforces: a frame is used in one way at a time —
 * as an Ln page table or mapped writable — and an entry may only reference
 * frames its domain owns. A page table becomes "validated" when it gains its
 * first typed reference (get_page_type): every present entry is checked and
 * takes a reference on its target, recursively down to the L1s. When the
 * last typed reference goes (put_page_type), it is demoted and those
 * references are dropped again.
 *
 * Differences from Xen, on purpose:
 * - Validation is not preemptible (no -ERESTART / PGT_partial continuations):
 *   a failure undoes everything before returning, which is what a guest
 *   observes once Xen's continuations have run.
 * - No fast path for "sufficiently similar" entries (mod_l1_entry): taking
 *   the new references before dropping the old ones gives the same result.
 * - adjust_guest_l*e (forcing _PAGE_USER on a 64-bit PV kernel's mappings,
 *   because the real guest kernel runs in ring 3) is not modelled: the
 *   emulated guest kernel runs at CPL 0, so entries are stored unchanged.
 * - L1TF checks on non-present entries are not modelled.
 */
import type { PhysMem } from "../../phys/phys-mem.js";
import { everyEntry, type PageTables, WalkAction, type WalkEntry, walkTableRange } from "../../kernel/pagewalk.js";
import { PgtLevel } from "../../kernel/types.js";
import { entryFrame, isPresent, isWritable } from "../../kernel/x86/pgtable.js";
import { _PAGE_ACCESSED, _PAGE_DIRTY, childLevel, depthOf } from "../../kernel/x86/pgtable-types.js";
import { XenErrno } from "./errno.js";
import { FrameTable, PgType, pgTypeOf, tableLevelOf } from "./frame-table.js";
import { DomId, XEN_PV_GEOMETRY } from "./interface.js";
import { x86PageTables } from "../../kernel/x86/pgtable.js";

const ENTRY_SIZE = XEN_PV_GEOMETRY.entryBytes;

/**
 * Flag bits a PV guest may not set (arch_init_memory's base_disallow_mask:
 * everything but P, RW, US, A, D, AVAIL, AVAIL_HIGH, NX). Only bits 0..11
 * can be disallowed: 12..51 are the frame, 52..63 are all guest-accessible.
 * L1 entries may also use G (L1_DISALLOW_MASK = base & ~_PAGE_GLOBAL); cache
 * attributes stay disallowed for a domain without cache-flush permission.
 */
const L1_DISALLOW_LOW = 0x098n;   // PWT | PCD | PAT
const LN_DISALLOW_LOW = 0x198n;   // PWT | PCD | PSE | G  (so no superpages)

/** x86-64 PV: L4 slots 256..271 belong to Xen (is_guest_l4_slot). */
export const ROOT_PAGETABLE_FIRST_XEN_SLOT = 256;
export const ROOT_PAGETABLE_LAST_XEN_SLOT = 271;
export const isGuestL4Slot = (slot: number): boolean =>
  slot < ROOT_PAGETABLE_FIRST_XEN_SLOT || slot > ROOT_PAGETABLE_LAST_XEN_SLOT;

const isTableType = (t: number): boolean => t >= PgType.L1 && t <= PgType.L4;

export class XenMm {
  /** Machine memory as page tables, for walks (src/kernel/pagewalk.ts). */
  readonly tables: PageTables;

  constructor(
    private readonly phys: PhysMem,
    readonly frames: FrameTable,
    /** Flush every TLB that may hold a mapping of a frame of domain `owner`
     *  (flush_mask(d->dirty_cpumask) in _get_page_type on a type change). */
    private readonly flushOnTypeChange: (owner: number) => void,
  ) {
    this.tables = x86PageTables(XEN_PV_GEOMETRY, (ptr) => phys.read64(ptr));
  }

  /**
   * Call `fn` for every present guest entry of the table `mfn` of type `type`
   * (Xen's own L4 slots left out), in slot order, until it returns non-zero;
   * returns that value or 0. Lower tables are not visited: each table is
   * validated through its own typed reference.
   */
  forEachGuestEntry(mfn: number, type: PgType, fn: (e: bigint, slot: number) => number): number {
    const depth = depthOf(XEN_PV_GEOMETRY, tableLevelOf(type));
    return walkTableRange(this.tables, mfn * 4096, depth, everyEntry((w: WalkEntry) => {
      w.action = WalkAction.Continue;
      if ((type === PgType.L4 && !isGuestL4Slot(w.index)) || !isPresent(w.val)) return 0;
      return fn(w.val, w.index);
    }));
  }

  // ── entries in machine memory ──────────────────────────────────────────

  readEntry(mfn: number, slot: number): bigint { return this.phys.read64(mfn * 4096 + slot * ENTRY_SIZE); }
  writeEntry(mfn: number, slot: number, v: bigint): void { this.phys.write64(mfn * 4096 + slot * ENTRY_SIZE, v); }

  // ── general references (count_info) ────────────────────────────────────

  /** get_page_from_mfn(): a reference on a frame `d` owns, or false. */
  getPage(mfn: number, d: number): boolean {
    const f = this.frames;
    if (!f.valid(mfn) || f.owner[mfn] !== d || f.count[mfn] === 0) return false;
    f.count[mfn]!++;
    return true;
  }

  putPage(mfn: number): void {
    if (this.frames.count[mfn] === 0) throw new Error(`put_page: mfn 0x${mfn.toString(16)} has no references`);
    this.frames.count[mfn]!--;
  }

  // ── typed references (type_info) ───────────────────────────────────────

  /** get_page_type(): take a typed reference, validating a table on its first one. */
  getPageType(mfn: number, type: PgType): number {
    const f = this.frames;
    if (f.typeCount[mfn] !== 0) {
      if (f.type[mfn] !== type) return -XenErrno.EINVAL;   // "Bad type"
      f.typeCount[mfn]!++;
      return 0;
    }
    const old = f.type[mfn]!;
    if (old !== type) {
      f.type[mfn] = type;
      f.setValidated(mfn, false);
      // A frame about to become a page table may still be writable through
      // a stale TLB entry of a mapping that is gone: flush (mm.c, "It is
      // vital that no other CPUs are left with writeable mappings").
      if (old !== PgType.None) this.flushOnTypeChange(f.owner[mfn]!);
    }
    f.typeCount[mfn] = 1;
    if (f.validated(mfn)) return 0;
    if (isTableType(type)) {
      const rc = this.promote(mfn, type);
      if (rc !== 0) {                       // validate_page failure: type_info = 0
        f.type[mfn] = PgType.None;
        f.typeCount[mfn] = 0;
        return rc;
      }
    }
    f.setValidated(mfn, true);
    return 0;
  }

  /** put_page_type(): drop a typed reference; a table losing its last one is demoted. */
  putPageType(mfn: number): void {
    const f = this.frames;
    if (f.typeCount[mfn] === 0) throw new Error(`put_page_type: mfn 0x${mfn.toString(16)} has no typed references`);
    if (--f.typeCount[mfn]! === 0 && isTableType(f.type[mfn]!) && f.validated(mfn)) {
      f.setValidated(mfn, false);
      this.demote(mfn, f.type[mfn]!);
    }
  }

  /** get_page_and_type_from_mfn(): -EINVAL if `d` does not own the frame. */
  getPageAndType(mfn: number, type: PgType, d: number): number {
    if (!this.getPage(mfn, d)) return -XenErrno.EINVAL;
    const rc = this.getPageType(mfn, type);
    if (rc !== 0) this.putPage(mfn);
    return rc;
  }

  putPageAndType(mfn: number): void {
    this.putPageType(mfn);
    this.putPage(mfn);
  }

  // ── references held by one entry ───────────────────────────────────────

  /** The low flag bits an entry of a table at `level` may not carry. */
  static disallowed(level: PgtLevel, e: bigint): bigint {
    return e & (level === PgtLevel.Pte ? L1_DISALLOW_LOW : LN_DISALLOW_LOW);
  }

  /**
   * get_page_from_l1e(): the references a present L1 entry holds — a general
   * one on its target, plus a writable type reference if RW is set.
   */
  getPageFromL1e(e: bigint, d: number): number {
    if (XenMm.disallowed(PgtLevel.Pte, e) !== 0n) return -XenErrno.EINVAL;  // "Bad L1 flags"
    const mfn = entryFrame(e), f = this.frames;
    // Not RAM, or I/O memory: needs I/O privilege, which no domain here has.
    if (!f.valid(mfn) || f.owner[mfn] === DomId.IO) return -XenErrno.EPERM;
    // Another domain's, Xen's or a free frame: "could_not_pin".
    if (!this.getPage(mfn, d)) return -XenErrno.EBUSY;
    if (isWritable(e) && this.getPageType(mfn, PgType.Writable) !== 0) {
      this.putPage(mfn);
      return -XenErrno.EBUSY;
    }
    return 0;
  }

  putPageFromL1e(e: bigint): void {
    const mfn = entryFrame(e);
    if (!isPresent(e) || !this.frames.valid(mfn) || this.frames.owner[mfn] === DomId.IO) return;
    if (isWritable(e)) this.putPageAndType(mfn);
    else this.putPage(mfn);
  }

  /**
   * get_page_from_l{2,3,4}e(): the target must validate as the next lower
   * table type — or the entry is a linear page table (below).
   */
  getPageFromEntry(level: PgtLevel, e: bigint, tableMfn: number, d: number): number {
    if (level === PgtLevel.Pte) return this.getPageFromL1e(e, d);
    if (XenMm.disallowed(level, e) !== 0n) return -XenErrno.EINVAL;     // "Bad Ln flags"
    const rc = this.getPageAndType(entryFrame(e), pgTypeOf(childLevel(XEN_PV_GEOMETRY, level)), d);
    if (rc === -XenErrno.EINVAL && this.getLinearPagetable(level, e, tableMfn, d)) return 0;
    return rc;
  }

  /**
   * get_lN_linear_pagetable(): a root may map a table of its own level
   * (recursive / linear page tables) if the entry is read-only — or the guest
   * could write its own tables — and the target is already validated, which
   * also keeps validation from waiting on itself. A map of the containing
   * table itself holds no reference; another table's gets a typed one, and
   * linear maps do not chain: a table holding linear entries cannot be a
   * linear target and vice versa (linear_pt_count's sign).
   */
  private getLinearPagetable(level: PgtLevel, e: bigint, tableMfn: number, d: number): boolean {
    if (isWritable(e)) return false;                  // "Attempt to create linear p.t. with write perms"
    const target = entryFrame(e), f = this.frames;
    if (target === tableMfn) return true;
    if (f.owner[tableMfn] !== d || !this.getPage(target, d)) return false;
    if (f.linear[tableMfn]! < 0 || f.linear[target]! > 0 ||
        !(f.typeCount[target]! > 0 && f.type[target] === pgTypeOf(level) && f.validated(target))) {
      this.putPage(target);
      return false;
    }
    f.linear[tableMfn]!++;
    f.linear[target]!--;
    f.typeCount[target]!++;
    return true;
  }

  putPageFromEntry(level: PgtLevel, e: bigint, tableMfn: number): void {
    if (level === PgtLevel.Pte) { this.putPageFromL1e(e); return; }
    const target = entryFrame(e);
    if (!isPresent(e) || target === tableMfn) return;
    if (this.frames.type[target] === pgTypeOf(level)) {            // a linear entry (_put_page_type with ptpg)
      this.frames.linear[tableMfn]!--;
      this.frames.linear[target]!++;
    }
    this.putPageAndType(target);
  }

  // ── validation of a whole table ────────────────────────────────────────

  /** promote_lN_table(): every present guest entry takes its references; all or nothing. */
  private promote(mfn: number, type: PgType): number {
    const d = this.frames.owner[mfn]!, level = tableLevelOf(type);
    const taken: number[] = [];
    const rc = this.forEachGuestEntry(mfn, type, (e, slot) => {
      const r = this.getPageFromEntry(level, e, mfn, d);
      if (r === 0) taken.push(slot);
      return r;
    });
    if (rc !== 0) {
      // Undo, last reference first.
      for (let j = taken.length; j-- > 0;) this.putPageFromEntry(level, this.readEntry(mfn, taken[j]!), mfn);
      return rc;
    }
    // init_xen_l4_slots clobbers whatever the guest left in Xen's slots; Xen's
    // own mappings are not modelled, so they read as empty.
    if (type === PgType.L4)
      for (let i = ROOT_PAGETABLE_FIRST_XEN_SLOT; i <= ROOT_PAGETABLE_LAST_XEN_SLOT; i++) this.writeEntry(mfn, i, 0n);
    return 0;
  }

  /** demote_lN_table(): drop what promote took. */
  private demote(mfn: number, type: PgType): void {
    const level = tableLevelOf(type);
    this.forEachGuestEntry(mfn, type, (e) => { this.putPageFromEntry(level, e, mfn); return 0; });
  }

  // ── a checked write of one entry ───────────────────────────────────────

  /**
   * mod_lN_entry(): replace entry `slot` of the validated table at `level`,
   * `tableMfn`. The new entry's references are taken first, then it is
   * written, then the old entry's references are dropped; a rejected update
   * changes nothing. `preserveAd` ORs the A/D bits already in the entry into
   * the new value (MMU_PT_UPDATE_PRESERVE_AD), so a hardware update racing
   * the guest's read-modify-write is not lost.
   */
  modEntry(level: PgtLevel, tableMfn: number, slot: number, nval: bigint, preserveAd: boolean, d: number): number {
    if (level === PgtLevel.Pgd && !isGuestL4Slot(slot)) return -XenErrno.EINVAL;   // "L4 update in Xen-private area"
    const old = this.readEntry(tableMfn, slot);
    if (isPresent(nval)) {
      const rc = this.getPageFromEntry(level, nval, tableMfn, d);
      if (rc !== 0) return rc;
    }
    const v = preserveAd ? nval | (old & (_PAGE_ACCESSED | _PAGE_DIRTY)) : nval;
    this.writeEntry(tableMfn, slot, v);
    this.putPageFromEntry(level, old, tableMfn);
    return 0;
  }
}
