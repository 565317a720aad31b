/**
 * Building the planned tables in guest memory through the paravirt hook
 * table, as the kernel does: entries through set_p*_init / *_populate_init
 * (pv_ops.mmu.set_pte … set_pgd, with make_pte … converting values — pfn→mfn
 * under Xen), table pages announced by paravirt_alloc_pte/pmd/pud/p4d
 * before they are linked, and the final load_cr3 through write_cr3.
 *
 * The hook table is the kernel side's PvMmuOps (src/paravirt/ops.ts); any
 * backend (native, Xen, recording) drives the build.
 */
import { type Geometry, leafEntry, tableEntry } from "./geometry.js";
import type { PvMm, PvMmuOps } from "../paravirt/ops.js";
import type { PgtableSink } from "./pgtable.js";
import { PgtLevel } from "../kernel/types.js";

/** The hooks early boot calls (a subset of PvMmuOps, so every backend fits). */
export type EarlyPvOps = Pick<PvMmuOps, "name" | "allocPte" | "allocPmd" | "allocPud" | "allocP4d"
  | "setPte" | "setPmd" | "setPud" | "setP4d" | "setPgd"
  | "makePte" | "makePmd" | "makePud" | "makeP4d" | "makePgd" | "writeCr3">;

/** Physical memory as the sink needs it (PhysMem satisfies this). */
export interface GuestPhys { fill(pa: number, len: number, byte: number): void }

type Setter = "setPte" | "setPmd" | "setPud" | "setP4d" | "setPgd";
type Maker = "makePte" | "makePmd" | "makePud" | "makeP4d" | "makePgd";

/**
 * Which setter writes an entry of a table at `level` — after folding: the
 * 4-level pgd entry is written with set_p4d (p4d_populate_init), a PAE pgd
 * entry (PDPTE) with set_pud, a 2-level pgd entry with set_pmd.
 */
function setterFor(g: Geometry, level: PgtLevel): [Setter, Maker] {
  switch (level) {
    case PgtLevel.Pte: return ["setPte", "makePte"];
    case PgtLevel.Pmd: return ["setPmd", "makePmd"];
    case PgtLevel.Pud: return ["setPud", "makePud"];
    case PgtLevel.P4d: return ["setP4d", "makeP4d"];
    default:
      if (g.mode === "5level") return ["setPgd", "makePgd"];
      if (g.mode === "4level") return ["setP4d", "makeP4d"];
      if (g.mode === "pae") return ["setPud", "makePud"];
      return ["setPmd", "makePmd"];
  }
}

export interface PvSinkOptions {
  /** Frames whose direct-map PTE must be read-only (Xen: page-table frames). */
  readOnly?: (pa: number) => boolean;
  /** 32-bit kernel text [start, end): PAGE_KERNEL_EXEC there. */
  kernelText?: [number, number];
  /** load_cr3 of a top-level table: instead of the write_cr3 hook (Xen: pin a new pgd, then load it). */
  switchPgd?: (pgd: number) => void;
}

/** A PgtableSink writing through a paravirt backend into guest memory. */
export class PvSink implements PgtableSink {
  /** init_mm as the hooks see it (its pgd is swapper_pg_dir / init_top_pgt). */
  readonly mm: PvMm;
  entriesWritten = 0;

  constructor(readonly g: Geometry, readonly ops: EarlyPvOps, readonly phys: GuestPhys, pgd: number, readonly opts: PvSinkOptions = {}) {
    this.mm = { id: 0, pgd, isInitMm: true };
  }

  /** clear_page() of a fresh table page: a plain store, the page is not attached yet. */
  tableAlloc(pa: number): void { this.phys.fill(pa, 4096, 0); }

  allocHook(pa: number, level: PgtLevel): void {
    const pfn = pa / 4096;
    switch (level) {
      case PgtLevel.Pte: this.ops.allocPte(this.mm, pfn); break;
      case PgtLevel.Pmd: this.ops.allocPmd(this.mm, pfn); break;
      case PgtLevel.Pud: this.ops.allocPud(this.mm, pfn); break;
      case PgtLevel.P4d: this.ops.allocP4d(this.mm, pfn); break;
    }
  }

  private write(table: number, level: PgtLevel, index: number, v: bigint, leafLarge = false): void {
    const [set, make] = leafLarge && this.g.is64 ? (["setPte", "makePte"] as const) : setterFor(this.g, level);
    this.ops[set](table + index * this.g.entryBytes, v === 0n ? 0n : this.ops[make](v));
    this.entriesWritten++;
  }

  setTableEntry(table: number, level: PgtLevel, index: number, child: number): void {
    this.write(table, level, index, tableEntry(this.g, level, child));
  }

  /** 64-bit large leaves go through set_pte_init((pte_t *)pmd, …) exactly as init_64.c does. */
  setLeafEntry(table: number, level: PgtLevel, index: number, pa: number, large: boolean): void {
    const kt = this.opts.kernelText;
    const exec = !this.g.is64 && !!kt && pa < kt[1] && pa + (large ? 2 ** this.g.pmdShift : 4096) > kt[0];
    const readOnly = !large && !!this.opts.readOnly?.(pa);
    this.write(table, level, index, leafEntry(this.g, pa, large, { exec, readOnly }), large);
  }

  clearEntry(table: number, level: PgtLevel, index: number): void { this.write(table, level, index, 0n); }

  loadCr3(pgd: number): void {
    if (this.opts.switchPgd) this.opts.switchPgd(pgd); else this.ops.writeCr3(BigInt(pgd));
  }
}
