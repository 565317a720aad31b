/**
 * The Linux side of Xen PV memory management: the Xen backend of the
 * paravirt hook table (arch/x86/xen/mmu_pv.c, x86-64, 4-level paging).
 *
 * The kernel side calls the same PvMmuOps hooks as on bare hardware; this
 * backend turns them into what a PV guest must do:
 *  - entries hold machine frames: make_* converts pfn→mfn, *_val back;
 *  - an mm's tables are made read-only in the kernel's direct map and pinned
 *    with Xen when the mm comes into use (enter_mmap → xen_pgd_pin), and
 *    unpinned and made writable again when it goes (exit_mmap);
 *  - while an mm is pinned, tables attached to it are made read-only (and
 *    PTE pages pinned) in alloc_*, and the reverse in release_*;
 *  - entry writes into a pinned table are mmu_update hypercalls, checked by
 *    Xen; writes into an unpinned table are plain kernel stores — through the
 *    direct map, so the emulated MMU checks them: a store to a read-only
 *    (pinned) table page is a #PF raised by the walker, not a flag test here;
 *  - CR3 loads are MMUEXT_NEW_BASEPTR (+ the user pgd of an x86-64 mm).
 *
 * Until xenPagetableInit() (x86_init.paging.pagetable_init) the early-boot
 * *_init variants are in force: every table attached to init_mm is treated
 * as pinned (alloc_pte_init pins L1s at once), and "is this page pinned?"
 * answers yes because struct pages do not exist yet.
 *
 * Not modelled: the vsyscall page in the user pgd, the p2m's own mapping
 * (xen_pagetable_p2m_setup), early_ioremap slots, and Xen's trap-and-emulate
 * of stores to pinned tables. Because of the last one, set_pte_init stores
 * natively only into tables that are not pinned yet and uses mmu_update for
 * pinned ones (Linux would rely on Xen emulating the store).
 */
import { Access } from "../../abi.js";
import type { Translation } from "../../engine/engine.js";
import type { PhysMem } from "../../phys/phys-mem.js";
import { PAGE_SIZE, type Pfn, PgtLevel, type PhysAddr } from "../../kernel/types.js";
import { entryFrame, isPresent } from "../../kernel/x86/pgtable.js";
import { lookupAddress, type PageTables, WalkAction, type WalkEntry, walkPageRange } from "../../kernel/pagewalk.js";
import { __PAGE_KERNEL, __PAGE_KERNEL_RO, _PAGE_GLOBAL, _PAGE_PSE, _PAGE_RW } from "../../kernel/x86/pgtable-types.js";
import {
  TLB_FLUSH_ALL, type FlushTlbInfo, type MmuCpu, type PvMm, type PvMmuOps, type TableGather,
} from "../ops.js";
import { HypercallError } from "./errno.js";
import type { XenHypervisor } from "./hypervisor.js";
import { MmuCmd, MmuExtCmd, Uvmf, XEN_PV_GEOMETRY } from "./interface.js";
import { Multicall } from "./multicall.js";
import { INVALID_MFN, type P2m } from "./p2m.js";
import { x86PageTables } from "../../kernel/x86/pgtable.js";

/** __PAGE_OFFSET of x86-64 with 4-level paging and no KASLR: pgd slot 273, past Xen's hole. */
export const XEN_PAGE_OFFSET = 0xffff888000000000n;
/** pgd_index(USER_LIMIT): the pin walk covers user slots 0..255 (round_up(STACK_TOP_MAX, PGDIR_SIZE)). */
const USER_PGD_PTRS = 256;
/** GUARD_HOLE_BASE_ADDR..END: the pgd slots of Xen's hole, never walked. */
const HOLE_LOW = 256, HOLE_HIGH = 272;
const PTRS_PER_TABLE = XEN_PV_GEOMETRY.tables[0]!.entries;

/**
 * PAGE_KERNEL and PAGE_KERNEL_RO as a PV guest has them: __PAGE_KERNEL* masked
 * with __supported_pte_mask, from which xen_start_kernel removed _PAGE_GLOBAL.
 */
export const PAGE_KERNEL = __PAGE_KERNEL & ~_PAGE_GLOBAL;
export const PAGE_KERNEL_RO = __PAGE_KERNEL_RO & ~_PAGE_GLOBAL;

/** What this backend needs of the CPU: the engine (MmuCpu plus translate). */
export interface XenGuestCpu extends MmuCpu {
  translate(va: bigint, access: Access, out?: Translation): Translation;
}

/** A kernel store through the direct map faulted (the walker raised #PF). */
export class GuestPageFault extends Error {
  constructor(readonly va: bigint, readonly pa: PhysAddr, readonly t: Translation) {
    super(`kernel store to 0x${va.toString(16)} (pseudo-physical 0x${pa.toString(16)}) faulted: ` +
      `vector ${t.vector}, error code 0x${t.errorCode.toString(16)}`);
    this.name = "GuestPageFault";
  }
}

export interface XenMmuOptions {
  xen: XenHypervisor;
  domid: number;
  p2m: P2m;
  /** The engine the guest runs on (attached to the hypervisor as vCPU 0). */
  cpu: XenGuestCpu;
  /** Machine memory (the engine's PhysMem). */
  machine: PhysMem;
  /** Pseudo-physical address of swapper_pg_dir (init_mm's pgd). */
  initPgd: PhysAddr;
  pageOffset?: bigint;
  /** USE_SPLIT_PTE_PTLOCKS (NR_CPUS ≥ 4, the usual configuration): PTE pages are pinned one by one. */
  splitPtlocks?: boolean;
  /** Page allocator for the x86-64 user pgd (xen_pgd_alloc); without one no user pgd is kept. */
  allocPage?: () => Pfn | null;
  freePage?: (pfn: Pfn) => void;
}

export class XenMmuOps implements PvMmuOps {
  readonly name = "xen";
  /** Xen PV forbids a shared kernel PMD (xen_info.shared_kernel_pmd = 0 in
   *  arch/x86/xen/enlighten_pv.c): every pgd is a whole page on pgd_list, so
   *  that it can be pinned. */
  readonly sharedKernelPmd = false;
  readonly xen: XenHypervisor;
  readonly domid: number;
  readonly p2m: P2m;
  readonly cpu: XenGuestCpu;
  readonly pageOffset: bigint;
  readonly splitPtlocks: boolean;
  /** swapper_pg_dir / init_top_pgt (pseudo-physical); moves once, in xenSetupKernelPagetable. */
  initPgd: PhysAddr;
  readonly mc: Multicall;
  /** The vCPU the hooks run on; the engine is vCPU 0. */
  vcpu = 0;
  /** PG_pinned, per pfn. */
  private readonly pinnedPages = new Set<Pfn>();
  /** page->private of a pgd page: its user pgd (x86-64). */
  private readonly userPgds = new Map<Pfn, Pfn>();
  /** xen_cr3 per vCPU (pseudo-physical). */
  private readonly cr3s: PhysAddr[];
  /** xen_struct_pages_ready: false during early boot. */
  private structPagesReady = false;
  /** pv_ops.mmu still holds the early-boot *_init variants. */
  private early = true;
  /** Legacy (3.x) mask_rw_pte: pfns of the early page-table buffer [pgt_buf_start, pgt_buf_top). */
  private pgtBuf: { start: Pfn; top: Pfn } | null = null;
  /** xen_start_info's first_p2m_pfn / nr_p2m_frames: frames make_pte_init maps read-only. */
  private p2mFrames: { first: Pfn; nr: number } | null = null;
  private lazyDepth = 0;
  private cr2 = 0n;
  private fixmap: ((idx: number, pa: PhysAddr, prot: bigint) => void) | null = null;
  private readonly machine: PhysMem;
  private readonly allocPage: (() => Pfn | null) | undefined;
  private readonly freePage: ((pfn: Pfn) => void) | undefined;

  constructor(opts: XenMmuOptions) {
    this.xen = opts.xen;
    this.domid = opts.domid;
    this.p2m = opts.p2m;
    this.cpu = opts.cpu;
    this.machine = opts.machine;
    this.initPgd = opts.initPgd;
    this.pageOffset = opts.pageOffset ?? XEN_PAGE_OFFSET;
    this.splitPtlocks = opts.splitPtlocks ?? true;
    this.allocPage = opts.allocPage;
    this.freePage = opts.freePage;
    this.mc = new Multicall(this.xen, this.domid, () => this.vcpu);
    this.cr3s = this.xen.domain(this.domid).vcpus.map(() => opts.initPgd);
  }

  /** Install the fixmap mapper (set_pte_vaddr on init_mm). */
  bindFixmap(fn: (idx: number, pa: PhysAddr, prot: bigint) => void): void { this.fixmap = fn; }

  /** PagePinned(pfn) as the guest records it. */
  isPagePinned(pfn: Pfn): boolean { return this.pinnedPages.has(pfn); }
  /** Still in early boot (the *_init hooks)? */
  get inEarlyBoot(): boolean { return this.early; }
  get inLazyMmu(): boolean { return this.lazyDepth > 0; }
  /** The user pgd of `pgd` (page->private), if any. */
  userPgd(pgd: PhysAddr): PhysAddr | null {
    const u = this.userPgds.get(Math.floor(pgd / PAGE_SIZE));
    return u === undefined ? null : u * PAGE_SIZE;
  }

  // ── control registers ──────────────────────────────────────────────────

  readCr2(): bigint { return this.cr2; }
  writeCr2(v: bigint): void { this.cr2 = BigInt.asUintN(64, v); }
  /** xen_read_cr3: the per-CPU xen_cr3, a pseudo-physical address. */
  readCr3(): bigint { return BigInt(this.cr3s[this.vcpu]!); }

  /**
   * xen_write_cr3: NEW_BASEPTR for the kernel pgd and NEW_USER_BASEPTR for
   * its user pgd (0 if none), batched (XEN_LAZY_CPU is not modelled, so at
   * once). Xen loads the machine CR3 on the CPU and flushes its TLB.
   */
  writeCr3(v: bigint): void {
    const pgd = Number(BigInt.asUintN(64, v) & ~0xfffn & ((1n << 52n) - 1n));
    const user = this.userPgd(pgd);
    this.mc.mmuextOp({ cmd: MmuExtCmd.NEW_BASEPTR, mfn: this.mfnOf(pgd) });
    this.mc.mmuextOp({ cmd: MmuExtCmd.NEW_USER_BASEPTR, mfn: user === null ? 0 : this.mfnOf(user) });
    this.issue(false);
    this.cr3s[this.vcpu] = pgd;
  }

  /** Run `fn` with the hooks acting for another vCPU (its hypercalls, its CR3). */
  onVcpu<T>(vcpu: number, fn: () => T): T {
    if (!(vcpu >= 0 && vcpu < this.cr3s.length)) throw new RangeError(`onVcpu: domain has no vCPU ${vcpu}`);
    const saved = this.vcpu;
    this.mc.flush();
    this.vcpu = vcpu;
    try { return fn(); } finally { this.mc.flush(); this.vcpu = saved; }
  }

  cr3Of(vcpu: number): PhysAddr { return this.cr3s[vcpu]!; }

  // ── mm lifecycle ───────────────────────────────────────────────────────

  /** xen_enter_mmap: pin the new mm's tables (under mm->page_table_lock). */
  enterMmap(mm: PvMm): void { this.pgdPin(mm); }

  /**
   * xen_exit_mmap: first make every vCPU that still has this pgd in CR3 drop
   * it (xen_drop_mm_ref — a pinned pgd in use by a CPU cannot be unpinned
   * cleanly), then unpin if pinned.
   */
  exitMmap(mm: PvMm): void {
    this.dropMmRef(mm);
    if (this.isPagePinned(Math.floor(mm.pgd / PAGE_SIZE))) this.pgdUnpin(mm);
  }

  /** xen_drop_mm_ref: switch every vCPU running on mm's pgd to swapper_pg_dir. */
  private dropMmRef(mm: PvMm): void {
    for (let v = 0; v < this.cr3s.length; v++)
      if (this.cr3s[v] === mm.pgd) this.onVcpu(v, () => this.writeCr3(BigInt(this.initPgd)));
  }

  /** xen_pgd_pin / __xen_pgd_pin. */
  pgdPin(mm: PvMm): void {
    const pgd = mm.pgd, user = this.userPgd(pgd);
    this.pgdWalk(mm, pgd, (pfn, level) => this.pinPage(pfn, level), USER_PGD_PTRS);
    this.mc.mmuextOp({ cmd: MmuExtCmd.PIN_L4_TABLE, mfn: this.mfnOf(pgd) });
    if (user !== null) {
      this.pinPage(user / PAGE_SIZE, PgtLevel.Pgd);
      this.mc.mmuextOp({ cmd: MmuExtCmd.PIN_L4_TABLE, mfn: this.mfnOf(user) });
    }
    this.issue(false);
  }

  /** xen_pgd_unpin / __xen_pgd_unpin: UNPIN the pgd first, then make every table writable. */
  pgdUnpin(mm: PvMm): void {
    const pgd = mm.pgd, user = this.userPgd(pgd);
    this.mc.mmuextOp({ cmd: MmuExtCmd.UNPIN_TABLE, mfn: this.mfnOf(pgd) });
    if (user !== null) {
      this.mc.mmuextOp({ cmd: MmuExtCmd.UNPIN_TABLE, mfn: this.mfnOf(user) });
      this.unpinPage(user / PAGE_SIZE, PgtLevel.Pgd);
    }
    this.pgdWalk(mm, pgd, (pfn, level) => this.unpinPage(pfn, level), USER_PGD_PTRS);
    this.issue(false);
  }

  /**
   * xen_pin_page: first time only (TestSetPagePinned), remap the page's
   * direct-map alias read-only — flushing only for the pgd, which the walk
   * visits last — and pin a PTE page at once when split ptlocks are on
   * (its lock is held until the batch is issued, not modelled).
   */
  private pinPage(pfn: Pfn, level: PgtLevel): void {
    if (this.pinnedPages.has(pfn)) return;
    this.pinnedPages.add(pfn);
    this.mc.updateVaMapping(this.va(pfn), this.kernelPte(pfn, PAGE_KERNEL_RO), level === PgtLevel.Pgd ? Uvmf.TLB_FLUSH : Uvmf.NONE);
    if (level === PgtLevel.Pte && this.splitPtlocks) this.mc.mmuextOp({ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: this.p2m.pfnToMfn(pfn) });
  }

  /** xen_unpin_page: the reverse; a separately pinned PTE page is unpinned first. */
  private unpinPage(pfn: Pfn, level: PgtLevel): void {
    if (!this.pinnedPages.delete(pfn)) return;
    if (level === PgtLevel.Pte && this.splitPtlocks) this.mc.mmuextOp({ cmd: MmuExtCmd.UNPIN_TABLE, mfn: this.p2m.pfnToMfn(pfn) });
    this.mc.updateVaMapping(this.va(pfn), this.kernelPte(pfn, PAGE_KERNEL), level === PgtLevel.Pgd ? Uvmf.TLB_FLUSH : Uvmf.NONE);
  }

  /**
   * __xen_pgd_walk: visit the table pages under pgd slots [0, limit) except
   * Xen's hole — each pud page, then each pmd page followed by its pte pages —
   * and the pgd itself last, so the callback can flush there.
   */
  private pgdWalk(_mm: PvMm, pgd: PhysAddr, fn: (pfn: Pfn, level: PgtLevel) => void, limit: number): void {
    const g = XEN_PV_GEOMETRY;
    // Entries that point to tables: p4d (the 4-level pgd's), pud and pmd entries; pte pages are not entered.
    const table = (w: WalkEntry): void => {
      const pfn = w.depth === 0 && w.index >= HOLE_LOW && w.index < HOLE_HIGH ? null : this.tableOf(w.val);
      if (pfn === null) { w.action = WalkAction.Continue; return; }
      fn(pfn, g.tables[w.depth + 1]!.level);
    };
    walkPageRange(this.guestTables, pgd, 0n, BigInt(limit) << BigInt(g.tables[0]!.shift), { p4dEntry: table, pudEntry: table, pmdEntry: table });
    fn(Math.floor(pgd / PAGE_SIZE), PgtLevel.Pgd);
  }

  /** The guest's tables as it reads them: pseudo-physical addresses, machine frames in the entries. */
  private get guestTables(): PageTables {
    return x86PageTables(XEN_PV_GEOMETRY, (pa) => this.readEntry(pa), (e) => {
      const pfn = this.p2m.mfnToPfn(entryFrame(e));
      return pfn === INVALID_MFN ? null : pfn * PAGE_SIZE;
    });
  }

  /** xen_mm_pin_all: pin every pgd not yet pinned (save/restore). */
  mmPinAll(mms: readonly PvMm[]): void {
    for (const mm of mms) if (!this.isPagePinned(Math.floor(mm.pgd / PAGE_SIZE))) this.pgdPin(mm);
  }

  /** xen_mm_unpin_all: the reverse, for every pinned pgd that is not init_mm's. */
  mmUnpinAll(mms: readonly PvMm[]): void {
    for (const mm of mms) if (!mm.isInitMm && this.isPagePinned(Math.floor(mm.pgd / PAGE_SIZE))) this.pgdUnpin(mm);
  }

  // ── TLB ────────────────────────────────────────────────────────────────

  /** xen_flush_tlb: MMUEXT_TLB_FLUSH_LOCAL. */
  flushTlbUser(): void { this.mc.mmuextOp({ cmd: MmuExtCmd.TLB_FLUSH_LOCAL }); this.issue(true); }
  flushTlbKernel(): void { this.flushTlbUser(); }
  /** xen_flush_tlb_one_user: MMUEXT_INVLPG_LOCAL. */
  flushTlbOneUser(addr: bigint): void {
    this.mc.mmuextOp({ cmd: MmuExtCmd.INVLPG_LOCAL, linearAddr: addr });
    this.issue(true);
  }
  /** xen_flush_tlb_multi: one page → INVLPG_MULTI, anything more → TLB_FLUSH_MULTI. */
  flushTlbMulti(cpus: readonly number[], info: FlushTlbInfo): void {
    const one = info.end !== TLB_FLUSH_ALL && info.end - info.start <= BigInt(PAGE_SIZE);
    this.mc.mmuextOp(one
      ? { cmd: MmuExtCmd.INVLPG_MULTI, linearAddr: info.start, vcpuMask: cpus }
      : { cmd: MmuExtCmd.TLB_FLUSH_MULTI, vcpuMask: cpus });
    this.issue(true);
  }
  tlbRemoveTable(tlb: TableGather, table: Pfn): void { tlb.removeTable(table); }

  // ── pgd ────────────────────────────────────────────────────────────────

  /** xen_pgd_alloc: an x86-64 mm also gets a zeroed user pgd (page->private). */
  pgdAlloc(mm: PvMm): boolean {
    if (!this.allocPage) return true;
    const u = this.allocPage();
    if (u === null) return false;
    this.machine.fill(this.p2m.physToMachine(u * PAGE_SIZE), PAGE_SIZE, 0);
    this.userPgds.set(Math.floor(mm.pgd / PAGE_SIZE), u);
    return true;
  }

  /** xen_pgd_free: free the user pgd. */
  pgdFree(_mm: PvMm, pgd: PhysAddr): void {
    const key = Math.floor(pgd / PAGE_SIZE), u = this.userPgds.get(key);
    if (u === undefined) return;
    if (this.pinnedPages.has(u)) throw new Error(`xen_pgd_free: user pgd pfn 0x${u.toString(16)} is still pinned`);
    this.userPgds.delete(key);
    this.freePage?.(u);
  }

  // ── alloc / release of table pages ─────────────────────────────────────

  allocPte(mm: PvMm, pfn: Pfn): void { this.early ? this.allocPteInit(pfn) : this.allocPtpage(mm, pfn, PgtLevel.Pte); }
  allocPmd(mm: PvMm, pfn: Pfn): void { this.early ? this.allocPmdInit(pfn) : this.allocPtpage(mm, pfn, PgtLevel.Pmd); }
  allocPud(mm: PvMm, pfn: Pfn): void { this.early ? this.allocPmdInit(pfn) : this.allocPtpage(mm, pfn, PgtLevel.Pud); }
  /** 4-level PV: no p4d tables (alloc_p4d stays paravirt_nop). */
  allocP4d(_mm: PvMm, _pfn: Pfn): void { /* paravirt_nop */ }
  releasePte(pfn: Pfn): void { this.early ? this.releasePteInit(pfn) : this.releasePtpage(pfn, PgtLevel.Pte); }
  releasePmd(pfn: Pfn): void { this.early ? this.releasePmdInit(pfn) : this.releasePtpage(pfn, PgtLevel.Pmd); }
  releasePud(pfn: Pfn): void { this.early ? this.releasePmdInit(pfn) : this.releasePtpage(pfn, PgtLevel.Pud); }
  releaseP4d(_pfn: Pfn): void { /* paravirt_nop */ }

  /**
   * xen_alloc_ptpage: only for a pinned mm — mark the page pinned, make its
   * alias read-only and (PTE, split locks, not already pinned) pin it, all
   * before the entry pointing to it is written. An unpinned mm: nothing.
   */
  private allocPtpage(mm: PvMm, pfn: Pfn, level: PgtLevel): void {
    if (!this.pagePinned(mm.pgd)) return;
    const was = this.pinnedPages.has(pfn);
    this.pinnedPages.add(pfn);
    this.setPfnProt(pfn, PAGE_KERNEL_RO);
    if (level === PgtLevel.Pte && this.splitPtlocks && !was) this.mc.mmuextOp({ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: this.p2m.pfnToMfn(pfn) });
    this.issue(true);
  }

  /** xen_release_ptpage: a pinned page is unpinned (PTE, split locks), made writable, unmarked. */
  private releasePtpage(pfn: Pfn, level: PgtLevel): void {
    if (!this.pinnedPages.has(pfn)) return;
    if (level === PgtLevel.Pte && this.splitPtlocks) this.mc.mmuextOp({ cmd: MmuExtCmd.UNPIN_TABLE, mfn: this.p2m.pfnToMfn(pfn) });
    this.setPfnProt(pfn, PAGE_KERNEL);
    this.issue(true);
    this.pinnedPages.delete(pfn);
  }

  /** xen_alloc_pte_init: early boot — everything on init_mm is pinned, so RO and PIN_L1 now. */
  private allocPteInit(pfn: Pfn): void {
    this.makeLowmemPageReadonly(pfn);
    this.pinPagetablePfn(MmuExtCmd.PIN_L1_TABLE, pfn);
    this.pinnedPages.add(pfn);
  }
  /** xen_alloc_pmd_init (pmd and pud): RO only; Xen validates it when it is hooked in. */
  private allocPmdInit(pfn: Pfn): void {
    this.makeLowmemPageReadonly(pfn);
    this.pinnedPages.add(pfn);
  }
  private releasePteInit(pfn: Pfn): void {
    this.pinPagetablePfn(MmuExtCmd.UNPIN_TABLE, pfn);
    this.makeLowmemPageReadwrite(pfn);
    this.pinnedPages.delete(pfn);
  }
  private releasePmdInit(pfn: Pfn): void {
    this.makeLowmemPageReadwrite(pfn);
    this.pinnedPages.delete(pfn);
  }

  /**
   * x86_init.paging.pagetable_init = xen_pagetable_init: switch to the
   * runtime hooks (xen_post_allocator_init) and, as xen_after_bootmem does,
   * start tracking struct pages and mark every init_mm table pinned.
   */
  xenPagetableInit(): void {
    this.mc.flush();
    this.early = false;
    this.structPagesReady = true;
    const init: PvMm = { id: 0, pgd: this.initPgd, isInitMm: true };
    this.pgdWalk(init, this.initPgd, (pfn) => this.pinnedPages.add(pfn), PTRS_PER_TABLE);
  }

  /**
   * xen_setup_kernel_pagetable (x86-64): move from the page tables the domain
   * builder started us on to the kernel's own init_top_pgt. Its kernel half
   * gets the builder's kernel entries (the direct map), then it is made
   * read-only, pinned as L4 and loaded; the old pgd is unpinned and made
   * writable. Afterwards init_mm's pgd is `pgd`.
   */
  xenSetupKernelPagetable(pgd: PhysAddr): void {
    const old = this.initPgd;
    if (pgd === old) return;
    this.mc.flush();
    for (let i = USER_PGD_PTRS; i < PTRS_PER_TABLE; i++) {
      if (i >= HOLE_LOW && i < HOLE_HIGH) continue;
      // Entries the new pgd already has stay (hpa builds its own direct map
      // there before switching); the rest come from the old one.
      if (this.readEntry(pgd + i * 8) !== 0n) continue;
      const e = this.readEntry(old + i * 8);
      if (e !== 0n) this.kernelStore(pgd + i * 8, e);
    }
    const pfn = Math.floor(pgd / PAGE_SIZE), oldPfn = Math.floor(old / PAGE_SIZE);
    this.pinPage(pfn, PgtLevel.Pgd);
    this.mc.mmuextOp({ cmd: MmuExtCmd.PIN_L4_TABLE, mfn: this.mfnOf(pgd) });
    this.mc.flush();
    this.initPgd = pgd;
    for (let v = 0; v < this.cr3s.length; v++)
      if (this.cr3s[v] === old) this.onVcpu(v, () => this.writeCr3(BigInt(pgd)));
    this.mc.mmuextOp({ cmd: MmuExtCmd.UNPIN_TABLE, mfn: this.mfnOf(old) });
    this.unpinPage(oldPfn, PgtLevel.Pgd);
    this.mc.flush();
  }

  // ── entry writes ───────────────────────────────────────────────────────

  /**
   * xen_set_pte: into a pinned table, an mmu_update (queued in lazy-MMU
   * mode); into an unpinned one, a plain kernel store through the direct map.
   * Early boot (set_pte_init): the same rule on the pages actually pinned.
   */
  setPte(ptep: PhysAddr, pte: bigint): void {
    if (this.early) pte = this.maskRwPte(pte);
    const pinned = this.early ? this.pinnedPages.has(Math.floor(ptep / PAGE_SIZE)) : this.pagePinned(ptep);
    if (pinned) this.hyperSet(ptep, pte); else this.kernelStore(ptep, pte);
  }

  /**
   * Early boot (x86-64, Linux 3.x mask_rw_pte): a new pte that maps a page of
   * the early page-table buffer is made read-only, since that page is (or
   * will be) a page table and Xen refuses a writable mapping of one.
   */
  setPgtBuf(startPfn: Pfn, topPfn: Pfn): void { this.pgtBuf = { start: startPfn, top: topPfn }; }
  /** The initial p2m's frames, mapped read-only by make_pte_init. */
  setInitialP2mFrames(firstPfn: Pfn, nr: number): void { this.p2mFrames = { first: firstPfn, nr }; }

  private maskRwPte(pte: bigint): bigint {
    if (!this.pgtBuf || !isPresent(pte)) return pte;
    const pfn = this.p2m.mfnToPfn(entryFrame(pte));
    return pfn >= this.pgtBuf.start && pfn < this.pgtBuf.top ? pte & ~_PAGE_RW : pte;
  }
  /** xen_set_pmd: a plain store unless the page is pinned (always pinned before struct pages). */
  setPmd(pmdp: PhysAddr, pmd: bigint): void {
    if (this.pagePinned(pmdp)) this.hyperSet(pmdp, pmd); else this.kernelStore(pmdp, pmd);
  }
  setPud(pudp: PhysAddr, pud: bigint): void { this.setPmd(pudp, pud); }

  /**
   * xen_set_p4d (4-level: the pgd entry): as set_pmd, and a user-half entry is
   * mirrored into the mm's user pgd, batched with the kernel one.
   */
  setP4d(p4dp: PhysAddr, p4d: bigint): void {
    const user = this.userPgdEntry(p4dp);
    if (!this.pagePinned(p4dp)) {
      this.kernelStore(p4dp, p4d);
      if (user !== null) this.kernelStore(user, p4d);
      return;
    }
    this.mc.mmuUpdate({ ptr: BigInt(this.p2m.physToMachine(p4dp)) | BigInt(MmuCmd.NORMAL_PT_UPDATE), val: p4d });
    if (user !== null) this.mc.mmuUpdate({ ptr: BigInt(this.p2m.physToMachine(user)) | BigInt(MmuCmd.NORMAL_PT_UPDATE), val: p4d });
    this.issue(true);
  }
  /** 4-level paging folds the p4d into the pgd: set_pgd is set_p4d. */
  setPgd(pgdp: PhysAddr, pgd: bigint): void { this.setP4d(pgdp, pgd); }

  /** xen_ptep_modify_prot_start: just read — commit preserves A/D instead of clearing first. */
  ptepModifyProtStart(_mm: PvMm, _addr: bigint, ptep: PhysAddr): bigint { return this.readEntry(ptep); }
  /** xen_ptep_modify_prot_commit: MMU_PT_UPDATE_PRESERVE_AD, always a hypercall. */
  ptepModifyProtCommit(_mm: PvMm, _addr: bigint, ptep: PhysAddr, _old: bigint, pte: bigint): void {
    this.mc.mmuUpdate({ ptr: BigInt(this.p2m.physToMachine(ptep)) | BigInt(MmuCmd.PT_UPDATE_PRESERVE_AD), val: pte });
    this.issue(true);
  }

  // ── entry values: pfn ↔ mfn ────────────────────────────────────────────

  pteVal(pte: bigint): bigint { return this.p2m.pteMfnToPfn(pte); }
  /** xen_make_pte (xen_make_pte_init while early: the initial p2m's frames lose RW). */
  makePte(val: bigint): bigint {
    if (this.early && this.p2mFrames && isPresent(val)) {
      const pfn = entryFrame(val);
      if (pfn >= this.p2mFrames.first && pfn < this.p2mFrames.first + this.p2mFrames.nr) val &= ~_PAGE_RW;
    }
    return this.p2m.ptePfnToMfn(val);
  }
  pmdVal(pmd: bigint): bigint { return this.p2m.pteMfnToPfn(pmd); }
  makePmd(val: bigint): bigint { return this.p2m.ptePfnToMfn(val); }
  pudVal(pud: bigint): bigint { return this.p2m.pteMfnToPfn(pud); }
  makePud(val: bigint): bigint { return this.p2m.ptePfnToMfn(val); }
  p4dVal(p4d: bigint): bigint { return this.p2m.pteMfnToPfn(p4d); }
  makeP4d(val: bigint): bigint { return this.p2m.ptePfnToMfn(val); }
  pgdVal(pgd: bigint): bigint { return this.p2m.pteMfnToPfn(pgd); }
  makePgd(val: bigint): bigint { return this.p2m.ptePfnToMfn(val); }

  // ── lazy MMU ───────────────────────────────────────────────────────────

  enterLazyMmu(): void { this.lazyDepth++; }
  /** xen_leave_lazy_mmu: issue what was queued. */
  leaveLazyMmu(): void {
    if (this.lazyDepth === 0) throw new Error("leaveLazyMmu() without a matching enterLazyMmu()");
    if (--this.lazyDepth === 0) this.mc.flush();
  }
  flushLazyMmu(): void { if (this.lazyDepth > 0) this.mc.flush(); }

  setFixmap(idx: number, pa: PhysAddr, prot: bigint): void {
    if (!this.fixmap) throw new Error(`setFixmap(${idx}): no fixmap area is bound yet (the kernel binds it when init_mm exists)`);
    this.fixmap(idx, pa, prot);
  }

  // ── the kernel's own accesses ──────────────────────────────────────────

  /** Direct-map virtual address of a pfn (__va). */
  va(pfn: Pfn): bigint { return this.pageOffset + BigInt(pfn) * BigInt(PAGE_SIZE); }

  /**
   * A plain 8-byte kernel store to pseudo-physical `pa`, as the CPU does it:
   * through the direct map, translated (and permission-checked) by the
   * emulated MMU at the current privilege level. A store to a read-only
   * alias — a pinned page table — raises GuestPageFault.
   */
  kernelStore(pa: PhysAddr, v: bigint): void {
    if (pa % 8 !== 0) throw new RangeError(`page-table entry address 0x${pa.toString(16)} is not 8-byte aligned`);
    const va = this.pageOffset + BigInt(pa);
    const t = this.cpu.translate(va, Access.Write);
    if (t.fault !== 0) throw new GuestPageFault(va, pa, { ...t });
    this.machine.write64(t.pa, v);
  }

  /** Read an entry at pseudo-physical `pa` (reads of the direct map are always allowed). */
  readEntry(pa: PhysAddr): bigint { return this.machine.read64(this.p2m.physToMachine(pa)); }

  // ── helpers ────────────────────────────────────────────────────────────

  /** xen_page_pinned(): PagePinned of the containing page; before struct pages, always. */
  private pagePinned(pa: PhysAddr): boolean {
    return !this.structPagesReady || this.pinnedPages.has(Math.floor(pa / PAGE_SIZE));
  }

  private hyperSet(pa: PhysAddr, v: bigint): void {
    this.mc.mmuUpdate({ ptr: BigInt(this.p2m.physToMachine(pa)) | BigInt(MmuCmd.NORMAL_PT_UPDATE), val: v });
    this.issue(true);
  }

  /** xen_mc_issue(mode): issue now unless in the lazy mode that batches this kind of call. */
  private issue(lazyMmu: boolean): void {
    if (!(lazyMmu && this.lazyDepth > 0)) this.mc.flush();
  }

  /** __set_pfn_prot: remap pfn's alias with `prot`, no flush (queued). */
  private setPfnProt(pfn: Pfn, prot: bigint): void {
    this.mc.updateVaMapping(this.va(pfn), this.kernelPte(pfn, prot), Uvmf.NONE);
  }

  /** make_lowmem_page_readonly / _readwrite: flip RW in the existing alias, at once; failure is a BUG. */
  private makeLowmemPageReadonly(pfn: Pfn): void { this.flipLowmemRw(pfn, false); }
  private makeLowmemPageReadwrite(pfn: Pfn): void { this.flipLowmemRw(pfn, true); }
  private flipLowmemRw(pfn: Pfn, rw: boolean): void {
    this.mc.flush();
    const pte = this.lookupKernelPte(this.va(pfn));
    if (pte === null) throw new Error(`make_lowmem_page_read${rw ? "write" : "only"}: pfn 0x${pfn.toString(16)} is not in the direct map`);
    const rc = this.xen.updateVaMapping(this.domid, this.va(pfn), rw ? pte | _PAGE_RW : pte & ~_PAGE_RW, Uvmf.NONE, { vcpu: this.vcpu });
    if (rc !== 0) throw new HypercallError(`update_va_mapping(0x${this.va(pfn).toString(16)})`, rc, 0);
  }

  /** pin_pagetable_pfn: one mmuext op, now; failure is a BUG. */
  private pinPagetablePfn(cmd: MmuExtCmd, pfn: Pfn): void {
    this.mc.flush();
    const r = this.xen.mmuextOp(this.domid, [{ cmd, mfn: this.p2m.pfnToMfn(pfn) }], { vcpu: this.vcpu });
    if (r.rc !== 0) throw new HypercallError(cmd === MmuExtCmd.UNPIN_TABLE ? "UNPIN_TABLE" : "PIN_L1_TABLE", r.rc, r.done);
  }

  /** lookup_address() in init_mm: the machine PTE mapping `va`, or null. */
  private lookupKernelPte(va: bigint): bigint | null {
    const l = lookupAddress(this.guestTables, Math.floor(this.initPgd / PAGE_SIZE) * PAGE_SIZE, va);
    return l !== null && l.level === PgtLevel.Pte && isPresent(l.val) ? l.val : null;
  }

  /** pfn_pte(pfn, prot) after make_pte: the machine entry for pfn's alias. */
  private kernelPte(pfn: Pfn, prot: bigint): bigint {
    return (BigInt(this.p2m.pfnToMfn(pfn)) << 12n) | prot;
  }

  private mfnOf(pa: PhysAddr): number {
    const mfn = this.p2m.pfnToMfn(Math.floor(pa / PAGE_SIZE));
    if (mfn === INVALID_MFN) throw new RangeError(`pseudo-physical 0x${pa.toString(16)} has no machine frame`);
    return mfn;
  }

  /** The pfn of the table a present (machine) entry points to, or null. */
  private tableOf(e: bigint): Pfn | null {
    if (!isPresent(e) || (e & _PAGE_PSE) !== 0n) return null;
    const pfn = this.p2m.mfnToPfn(entryFrame(e));
    return pfn === INVALID_MFN ? null : pfn;
  }

  /** xen_get_user_pgd: the matching slot of the user pgd for a user-half pgd entry. */
  private userPgdEntry(pgdp: PhysAddr): PhysAddr | null {
    const slot = (pgdp % PAGE_SIZE) / 8;
    if (slot >= USER_PGD_PTRS) return null;
    const u = this.userPgds.get(Math.floor(pgdp / PAGE_SIZE));
    return u === undefined ? null : u * PAGE_SIZE + slot * 8;
  }
}
