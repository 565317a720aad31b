/**
 * The s390 kernel side of one machine: the page allocator, the table
 * descriptors and NR_PAGETABLE, the PTE-table allocator profile, the RCU
 * table-freeing queue, the gmap notifier list, the TLB-invalidation log and
 * the CPU (an engine with the s390 walker) that the address spaces run on.
 *
 * One CPU is modelled (cpu 0). "Attached" (mm->context.cpu_attach_mask) means
 * the mm's ASCE is loaded on it; that is what decides between the lazy and
 * the direct PTE exchange (arch/s390/mm/pgtable.c ptep_flush_lazy).
 */
import { Access, S390Opt } from "../../abi.js";
import { newTranslation, type Engine, type Translation } from "../../engine/engine.js";
import type { S390Methods } from "../../engine/s390.js";
import { KernelBase } from "../kernel.js";
import type { PageAllocator } from "../page-alloc.js";
import type { LockdepMode } from "../ptlock.js";
import type { Gmap } from "./gmap.js";
import type { S390Mm } from "./mm.js";
import { __tlbRemoveTable, type TableFree } from "./pgalloc.js";
import { _PAGE_INVALID, PAGE_TABLE_SIZE, PAGE_TABLE_SIZE_31 } from "./pgtable-bits.js";
import { FlagsTables } from "./pgtable-flags.js";
import { FragmentTables } from "./pgtable-frag.js";
import { FullPageTables, PGTABLE_PROFILES, type PgtableProfile, type PteTableProfile } from "./pgtable-profile.js";
import { checkBool, checkOneOf } from "../../check.js";
import { checkKernelOptions } from "../options.js";

export type S390Engine = Engine & S390Methods;

export type { PgtableProfile };

export interface S390KernelOptions {
  /** The CPU: an engine (its guest memory is the machine's RAM). */
  engine: S390Engine;
  profile?: PgtableProfile;
  /** 31-bit ESA/390 PTE tables (4-byte PTEs, 1 KiB tables): "flags" profile only. */
  esa390?: boolean;
  /** Check the fragment invariants after every allocator operation (default true). */
  debug?: boolean;
  allocator?: PageAllocator;
  /** NR_CPUS / CONFIG_SPLIT_PTLOCK_CPUS (split locks when nrCpus ≥ splitPtlockCpus). */
  nrCpus?: number;
  splitPtlockCpus?: number;
  lockdep?: LockdepMode;
}

/** A TLB invalidation the kernel issued (for tests and tracing). */
export type TlbEvent =
  | { op: "ipte"; addr: bigint; ptep: number; asce: bigint }
  | { op: "idte"; entry: number; asce: bigint }
  | { op: "flush_mm"; asce: bigint }
  | { op: "purge" };

/** gmap invalidation notifier (gmap_register_pte_notifier): [start, end] guest range. */
export type GmapNotifier = (gmap: Gmap, start: bigint, end: bigint) => void;

/** PSW of a user program in an ESA/390 kernel: DAT on (bit 5), 31-bit addressing (bit 32). */
const ESA390_PSW = 0x0400_0000_8000_0000n;

export class S390Kernel extends KernelBase<S390Mm> {
  readonly engine: S390Engine;
  /** The PTE-table allocator profile (default "fragref"; see pgtable-profile.ts) … */
  readonly profile: PgtableProfile;
  /** … and its strategy, chosen here once. */
  readonly pgtable: PteTableProfile;
  readonly esa390: boolean;
  debug: boolean;
  /** page->_refcount (S390_REFCOUNT: AA/PP in the upper byte). */
  readonly pageRefcount = new Map<number, number>();
  /** page->flags fragment bits (S390_FLAGS). */
  readonly pageFlags = new Map<number, number>();
  /** Tables handed to tlb_remove_table whose grace period has not ended. */
  readonly rcuPending: TableFree[] = [];
  readonly gmapNotifiers = new Set<GmapNotifier>();
  readonly tlbEvents: TlbEvent[] = [];
  /** The mm whose ASCE cpu 0 runs (null: none yet). */
  current: S390Mm | null = null;

  constructor(opts: S390KernelOptions) {
    checkKernelOptions("S390Kernel", opts, ["engine", "profile", "esa390", "debug", "allocator"]);
    if (typeof opts.engine?.setS390 !== "function") throw new TypeError("S390Kernel: engine must be an engine (createEngine)");
    if (opts.profile !== undefined) checkOneOf("S390Kernel", "profile", opts.profile, PGTABLE_PROFILES);
    for (const k of ["esa390", "debug"] as const) if (opts[k] !== undefined) checkBool("S390Kernel", k, opts[k]);
    const profile = opts.profile ?? "fragref";
    const esa390 = opts.esa390 ?? false;
    if (esa390 && profile !== "flags")
      throw new RangeError(`esa390: 31-bit page tables exist only in the "flags" profile (S390_FLAGS), not "${profile}"`);
    super({ phys: opts.engine.phys, allocator: opts.allocator, nrCpus: opts.nrCpus, splitPtlockCpus: opts.splitPtlockCpus,
      lockdep: opts.lockdep, levels: 5 });
    this.engine = opts.engine;
    this.profile = profile;
    this.esa390 = esa390;
    this.debug = opts.debug ?? true;
    this.pgtable = profile === "flags" ? new FlagsTables(this) : profile === "fullPage" ? new FullPageTables(this) : new FragmentTables(this, profile);
  }

  /** Bytes of one PTE table: 256 entries of 8 bytes, or of 4 in ESA/390. */
  get pteTableBytes(): number { return this.esa390 ? PAGE_TABLE_SIZE_31 : PAGE_TABLE_SIZE; }

  /**
   * End the RCU grace period: every table queued by tlb_remove_table since
   * the last one is passed to __tlb_remove_table (tlb_remove_table_rcu).
   * Returns how many were processed.
   */
  rcuGracePeriod(): number {
    const batch = this.rcuPending.splice(0);
    for (const t of batch) __tlbRemoveTable(this, t);
    return batch.length;
  }

  /** Pointers queued for __tlb_remove_table (table | half bits), oldest first. */
  pendingTablePointers(): number[] { return this.rcuPending.map((t) => t.ptr); }

  /** Run the fragment-invariant check if debug mode is on. */
  debugCheck(): void { if (this.debug) this.pgtable.checkInvariants(); }

  // ── the CPU ──────────────────────────────────────────────────────────

  /** Load `asce` as the primary ASCE of cpu 0 (64-bit, DAT on, key 0); in an
   *  ESA/390 kernel an STD, with the CPU in ESA/390 DAT format and 31-bit mode. */
  loadAsce(asce: bigint): void {
    const e = this.engine;
    e.setArch("s390");
    if (this.esa390)
      e.setS390({ asce, pswKey: 0, pswMask: ESA390_PSW, options: e.s390().options | S390Opt.Esa390 });
    else e.setS390({ asce, pswKey: 0 });
  }

  /** switch_mm: run `mm` on cpu 0 (its ASCE in CR1; attach mask updated). */
  switchMm(mm: S390Mm): void {
    if (this.current && this.current !== mm) this.current.cpuAttachMask.delete(0);
    this.current = mm;
    mm.cpuAttachMask.add(0);
    this.loadAsce(mm.asce);
  }

  /** One access by cpu 0 through `asce` (process or gmap), with the
   *  storage-key side effects; faults come back as data. */
  translate(asce: bigint, va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    this.loadAsce(asce);
    const r = this.engine.translateS390(va, access, out);
    if (this.current) this.loadAsce(this.current.asce);
    return r;
  }

  /** IPTE: invalidate the PTE at `ptep` and purge translations of `addr`. */
  ipte(ptep: number, addr: bigint, asce: bigint): void {
    if (this.esa390) {
      // The 4-byte ESA/390 entry: set its I bit (the same 0x400 as in the
      // 64-bit format), then purge (the core's IPTE knows the 64-bit format
      // only; a full purge is a superset).
      this.phys.write32(ptep, this.phys.read32(ptep, true) | Number(_PAGE_INVALID), true);
      this.engine.purgeTlb();
    } else this.engine.ipte(ptep, addr);
    this.tlbEvents.push({ op: "ipte", addr, ptep, asce });
  }

  /** Purge every translation (PTLB / CSP): __tlb_flush_mm, gmap_flush_tlb. */
  flushMm(asce: bigint): void {
    this.engine.purgeTlb();
    this.tlbEvents.push({ op: "flush_mm", asce });
  }

  /** IPTE events for `addr` so far. */
  iptesFor(addr: bigint): number {
    return this.tlbEvents.filter((e) => e.op === "ipte" && e.addr === addr).length;
  }
}
