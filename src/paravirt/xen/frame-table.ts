/**
 * Xen's frame table: one `struct page_info` per machine frame
 * (xen/arch/x86/include/asm/mm.h), reduced to what PV memory management uses.
 *
 *   owner      domain that owns the frame (DomId.INVALID = free)
 *   count      count_info & PGC_count_mask: general references. A frame given
 *              to a domain holds 1 (PGC_allocated); every mapping, typed use,
 *              pin and base pointer adds one.
 *   type       type_info & PGT_type_mask: what the frame is being used as.
 *   typeCount  type_info & PGT_count_mask: how many uses of that type exist.
 *              The type can change only while it is 0 (get_page_type).
 *   validated  PGT_validated: a table whose every entry has been checked and
 *              holds its references.
 *   pinned     PGT_pinned: the guest holds one type reference explicitly.
 *   m2p        machine_to_phys_mapping[mfn]: the guest pfn (−1 = none).
 *   linear     linear_pt_count: > 0 = this table holds that many linear
 *              entries (read-only maps of another root of its level),
 *              < 0 = it is the target of that many; never both.
 *
 * Like Xen, the type stays recorded when typeCount drops to 0 (a page table
 * is then demoted: no longer validated); "in use as" therefore always means
 * typeCount > 0.
 */
import { PgtLevel } from "../../kernel/types.js";
import { depthOf } from "../../kernel/x86/pgtable-types.js";
import { DomId, XEN_PV_GEOMETRY } from "./interface.js";

/**
 * PGT_* types. Xen names a table type by its distance from the leaf, counted
 * from 1 (PGT_l1_page_table is a pte table, PGT_l4 the pgd); the levels
 * themselves are PgtLevel everywhere, converted by pgTypeOf / tableLevelOf.
 */
export const enum PgType { None = 0, L1 = 1, L2 = 2, L3 = 3, L4 = 4, Writable = 7 }

/** The PGT_lN_page_table type of a table at `level` of XEN_PV_GEOMETRY. */
export function pgTypeOf(level: PgtLevel): PgType {
  return (XEN_PV_GEOMETRY.tables.length - depthOf(XEN_PV_GEOMETRY, level)) as PgType;
}

/** The level of a table of type `t` (L1 … L4). */
export function tableLevelOf(t: PgType): PgtLevel {
  return XEN_PV_GEOMETRY.tables[XEN_PV_GEOMETRY.tables.length - t]!.level;
}

export const PG_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "none", 1: "l1", 2: "l2", 3: "l3", 4: "l4", 7: "writable",
};

const enum Flag { Validated = 1, Pinned = 2 }

/** A snapshot of one frame's page_info, for tests, logs and the CLI. */
export interface FrameInfo {
  mfn: number;
  owner: number;
  type: PgType;
  typeCount: number;
  count: number;
  validated: boolean;
  pinned: boolean;
  m2p: number;
  linear: number;
}

export class FrameTable {
  readonly owner: Uint16Array;
  readonly count: Uint32Array;
  readonly type: Uint8Array;
  readonly typeCount: Uint32Array;
  private readonly flags: Uint8Array;
  readonly m2p: Int32Array;
  readonly linear: Int16Array;

  constructor(readonly nrFrames: number) {
    this.owner = new Uint16Array(nrFrames).fill(DomId.INVALID);
    this.count = new Uint32Array(nrFrames);
    this.type = new Uint8Array(nrFrames);
    this.typeCount = new Uint32Array(nrFrames);
    this.flags = new Uint8Array(nrFrames);
    this.m2p = new Int32Array(nrFrames).fill(-1);
    this.linear = new Int16Array(nrFrames);
  }

  /** mfn_valid(): the frame exists as RAM in the frame table. */
  valid(mfn: number): boolean { return Number.isInteger(mfn) && mfn >= 0 && mfn < this.nrFrames; }

  validated(mfn: number): boolean { return (this.flags[mfn]! & Flag.Validated) !== 0; }
  setValidated(mfn: number, on: boolean): void { this.setFlag(mfn, Flag.Validated, on); }
  pinned(mfn: number): boolean { return (this.flags[mfn]! & Flag.Pinned) !== 0; }
  setPinned(mfn: number, on: boolean): void { this.setFlag(mfn, Flag.Pinned, on); }

  /** In use as a page table of any level right now. */
  isPageTable(mfn: number): boolean {
    const t = this.type[mfn]!;
    return this.typeCount[mfn]! > 0 && t >= PgType.L1 && t <= PgType.L4;
  }

  info(mfn: number): FrameInfo {
    return {
      mfn, owner: this.owner[mfn]!, type: this.type[mfn]! as PgType, typeCount: this.typeCount[mfn]!,
      count: this.count[mfn]!, validated: this.validated(mfn), pinned: this.pinned(mfn), m2p: this.m2p[mfn]!, linear: this.linear[mfn]!,
    };
  }

  private setFlag(mfn: number, f: Flag, on: boolean): void {
    this.flags[mfn] = on ? this.flags[mfn]! | f : this.flags[mfn]! & ~f;
  }
}
