/**
 * A model of the Xen hypervisor's PV memory management: domains that own
 * machine frames, vCPUs with base pointers, and the three MMU hypercalls a
 * Linux PV guest uses — mmu_update, mmuext_op and update_va_mapping
 * (xen/arch/x86/mm.c: do_mmu_update, do_mmuext_op, __do_update_va_mapping,
 * new_guest_cr3).
 *
 * Machine memory is the engine's physical memory: the emulated CPU walks the
 * guest's page tables with machine addresses, exactly as a PV guest's
 * hardware does. What keeps the guest honest is the frame table (mm.ts):
 * once a frame is a validated page table it cannot gain a writable mapping,
 * so the guest's own direct-map alias of it must be read-only, and a stray
 * kernel store to it is a #PF raised by the walker.
 *
 * Every call returns Xen's result: 0 or −errno, and for batches the number
 * of entries that completed before the first failure (Xen's *pdone); a
 * rejected entry changes nothing.
 */
import type { PhysMem } from "../../phys/phys-mem.js";
import { XenErrno, xenErrName } from "./errno.js";
import { PgtLevel } from "../../kernel/types.js";
import { lookupAddress, type PageTables } from "../../kernel/pagewalk.js";
import { entryFrame, isPresent } from "../../kernel/x86/pgtable.js";
import { depthOf, tableIndex } from "../../kernel/x86/pgtable-types.js";
import { type FrameInfo, FrameTable, PgType, tableLevelOf } from "./frame-table.js";
import {
  type BatchResult, DomId, MMUEXT_NAMES, MmuCmd, type MmuExtOp, MmuExtCmd, type MmuUpdate, Uvmf, XEN_PV_GEOMETRY,
} from "./interface.js";
import { XenMm } from "./mm.js";
import { x86PageTables } from "../../kernel/x86/pgtable.js";

/** What a vCPU runs on: the emulated MMU (an engine satisfies this). */
export interface XenCpu {
  writeCr3(cr3: bigint): unknown;
  flushTlb(includeGlobal?: boolean): void;
  invlpg(va: bigint): void;
}

export interface XenVcpu {
  readonly id: number;
  /** arch.guest_table: machine frame of the kernel L4 (0 = none). */
  guestTable: number;
  /** arch.guest_table_user: the user L4 of an x86-64 PV guest (0 = none). */
  guestTableUser: number;
  ldtBase: bigint;
  ldtEnts: number;
  cpu: XenCpu | undefined;
}

export interface XenDomain {
  readonly id: number;
  readonly vcpus: XenVcpu[];
  /** start_info.mfn_list: the initial p2m the domain builder hands the guest. */
  readonly mfnList: readonly number[];
}

/** One executed sub-operation, as the hypercall log records it. */
export interface HypercallLogEntry {
  call: "mmu_update" | "mmuext_op" | "update_va_mapping";
  domid: number;
  vcpu: number;
  /** MMUEXT_* / MMU_* / UVMF name. */
  op: string;
  /** Machine frame the operation is about (pin, entry's table, …), or -1. */
  mfn: number;
  /** Entry slot (mmu_update) or -1. */
  slot: number;
  val: bigint;
  rc: number;
}

export interface XenOptions {
  /** Machine frames in the frame table (default: all of physical memory, at most 2^20). */
  nrFrames?: number;
  /** Frames at the bottom of memory that are I/O (Xen marks the first MiB so). */
  ioFrames?: number;
  /** Frames after those that belong to Xen itself. */
  xenFrames?: number;
}

export interface CallOptions {
  vcpu?: number;
  /** foreigndom (the page owner); DOMID_SELF by default. */
  foreignDom?: number;
}

const MMU_CMD_NAMES = ["NORMAL_PT_UPDATE", "MACHPHYS_UPDATE", "PT_UPDATE_PRESERVE_AD", "PT_UPDATE_NO_TRANSLATE"];

/** __addr_ok() for a 64-bit PV guest: below 2^47 or above Xen's hole. */
const HYPERVISOR_VIRT_END = 0xffff880000000000n;
export const addrOk = (va: bigint): boolean => va < 1n << 47n || (va >= HYPERVISOR_VIRT_END && va < 1n << 64n);

export class XenHypervisor {
  readonly frames: FrameTable;
  readonly mm: XenMm;
  readonly log: HypercallLogEntry[] = [];
  private readonly domains = new Map<number, XenDomain>();
  private nextDomId = 1;
  private nextFree: number;

  constructor(readonly phys: PhysMem, opts: XenOptions = {}) {
    const nrFrames = opts.nrFrames ?? Math.min(Math.floor(phys.size / 4096), 1 << 20);
    this.frames = new FrameTable(nrFrames);
    this.mm = new XenMm(phys, this.frames, (owner) => this.flushDomain(owner));
    const io = Math.min(opts.ioFrames ?? 256, nrFrames);
    const xen = Math.min(opts.xenFrames ?? 64, nrFrames - io);
    for (let m = 0; m < io; m++) this.assign(m, DomId.IO, -1);
    for (let m = io; m < io + xen; m++) this.assign(m, DomId.XEN, -1);
    this.nextFree = io + xen;
  }

  /**
   * Build a domain with `nrPages` frames (the domain builder). Its p2m is
   * deliberately not the identity: pfn i gets machine frame
   * base + (i·stride mod n), so a guest that forgets a pfn↔mfn conversion
   * writes the wrong frame and the tests see it.
   */
  createDomain(opts: { nrPages: number; nrVcpus?: number }): XenDomain {
    const n = opts.nrPages;
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`createDomain: nrPages must be a positive integer, got ${n}`);
    if (this.nextFree + n > this.frames.nrFrames)
      throw new RangeError(`createDomain: ${n} frames requested, ${this.frames.nrFrames - this.nextFree} free`);
    const id = this.nextDomId++;
    const base = this.nextFree;
    this.nextFree += n;
    let stride = Math.max(1, Math.floor(n * 0.618)) | 1;
    while (gcd(stride, n) !== 1) stride += 2;
    const mfnList: number[] = [];
    for (let pfn = 0; pfn < n; pfn++) {
      const mfn = base + ((pfn * stride + (n >> 1)) % n);
      this.assign(mfn, id, pfn);
      this.phys.fill(mfn * 4096, 4096, 0);
      mfnList.push(mfn);
    }
    const vcpus: XenVcpu[] = [];
    for (let v = 0; v < (opts.nrVcpus ?? 1); v++)
      vcpus.push({ id: v, guestTable: 0, guestTableUser: 0, ldtBase: 0n, ldtEnts: 0, cpu: undefined });
    const d: XenDomain = { id, vcpus, mfnList };
    this.domains.set(id, d);
    return d;
  }

  domain(id: number): XenDomain {
    const d = this.domains.get(id);
    if (!d) throw new RangeError(`no domain ${id}`);
    return d;
  }

  /** Let vCPU `vcpu` of `domid` run on `cpu`: base-pointer loads and flushes reach it. */
  attachCpu(domid: number, vcpu: number, cpu: XenCpu): void {
    this.vcpu(this.domain(domid), vcpu).cpu = cpu;
  }

  frame(mfn: number): FrameInfo { return this.frames.info(mfn); }

  // ── mmu_update ─────────────────────────────────────────────────────────

  /** do_mmu_update(): apply `reqs` in order; stop at the first failure. */
  mmuUpdate(domid: number, reqs: readonly MmuUpdate[], opts: CallOptions = {}): BatchResult {
    const d = this.domain(domid), v = this.vcpu(d, opts.vcpu ?? 0);
    const pgOwner = this.pgOwner(d, opts.foreignDom);
    if (pgOwner < 0) return { rc: pgOwner, done: 0 };
    let rc = 0, i = 0, flushLinear = false;
    for (; i < reqs.length; i++) {
      const { ptr, val } = reqs[i]!;
      const cmd = Number(ptr & 7n);          // cmd = ptr & (sizeof(l1_pgentry_t) - 1)
      const ma = ptr - BigInt(cmd);
      const mfn = Number(ma >> 12n), slot = Number((ma & 0xfffn) >> 3n);
      switch (cmd) {
        case MmuCmd.NORMAL_PT_UPDATE:
        case MmuCmd.PT_UPDATE_PRESERVE_AD:
        case MmuCmd.PT_UPDATE_NO_TRANSLATE: {
          const r = this.normalUpdate(d.id, pgOwner, mfn, slot, val, cmd === MmuCmd.PT_UPDATE_PRESERVE_AD);
          rc = r.rc;
          if (rc === 0 && r.level !== null && r.level !== PgtLevel.Pte) flushLinear = true;
          break;
        }
        case MmuCmd.MACHPHYS_UPDATE:
          rc = this.machphysUpdate(pgOwner, Number(ptr >> 12n), val);
          break;
        default:
          rc = -XenErrno.ENOSYS;
      }
      this.record("mmu_update", d, v, MMU_CMD_NAMES[cmd] ?? `cmd${cmd}`, mfn, slot, val, rc);
      if (rc !== 0) break;
    }
    // A changed L2..L4 entry can leave stale linear/paging-structure caches
    // on every CPU the domain ran on (do_mmu_update's flush_linear_pt).
    if (flushLinear) this.flushDomain(d.id);
    return { rc, done: i };
  }

  /** `level`: the level of the table the entry is in, or null for a write to an ordinary frame. */
  private normalUpdate(ptOwner: number, pgOwner: number, mfn: number, slot: number, val: bigint, preserveAd: boolean):
    { rc: number; level: PgtLevel | null } {
    if (!this.mm.getPage(mfn, ptOwner)) return { rc: -XenErrno.EINVAL, level: null };  // "Could not get page for normal update"
    const f = this.frames;
    let rc: number, level: PgtLevel | null = null;
    if (f.isPageTable(mfn) && f.validated(mfn)) {                                    // page_lock() succeeded
      level = tableLevelOf(f.type[mfn]! as PgType);
      rc = level === PgtLevel.Pte || pgOwner === ptOwner
        ? this.mm.modEntry(level, mfn, slot, val, preserveAd, pgOwner)
        : -XenErrno.EINVAL;
    } else if (this.mm.getPageType(mfn, PgType.Writable) === 0) {
      this.mm.writeEntry(mfn, slot, val);                                          // an ordinary frame: a plain write
      this.mm.putPageType(mfn);
      rc = 0;
    } else {
      rc = -XenErrno.EINVAL;
    }
    this.mm.putPage(mfn);
    return { rc, level };
  }

  private machphysUpdate(pgOwner: number, mfn: number, gpfn: bigint): number {
    if (!this.mm.getPage(mfn, pgOwner)) return -XenErrno.EINVAL;   // "Could not get page for mach->phys update"
    this.frames.m2p[mfn] = gpfn < 0x80000000n ? Number(gpfn) : -1;
    this.mm.putPage(mfn);
    return 0;
  }

  // ── mmuext_op ──────────────────────────────────────────────────────────

  /** do_mmuext_op(): apply `ops` in order; stop at the first failure. */
  mmuextOp(domid: number, ops: readonly MmuExtOp[], opts: CallOptions = {}): BatchResult {
    const d = this.domain(domid), v = this.vcpu(d, opts.vcpu ?? 0);
    const pgOwner = this.pgOwner(d, opts.foreignDom);
    if (pgOwner < 0) return { rc: pgOwner, done: 0 };
    let rc = 0, i = 0;
    for (; i < ops.length; i++) {
      const op = ops[i]!;
      rc = this.extOp(d, v, pgOwner, op);
      this.record("mmuext_op", d, v, MMUEXT_NAMES[op.cmd] ?? `cmd${op.cmd}`, op.mfn ?? op.srcMfn ?? -1, -1,
        op.linearAddr ?? 0n, rc);
      if (rc !== 0) break;
    }
    return { rc, done: i };
  }

  private extOp(d: XenDomain, v: XenVcpu, pgOwner: number, op: MmuExtOp): number {
    const mfn = op.mfn ?? -1;
    const self = pgOwner === d.id;
    switch (op.cmd) {
      case MmuExtCmd.PIN_L1_TABLE:
      case MmuExtCmd.PIN_L2_TABLE:
      case MmuExtCmd.PIN_L3_TABLE:
      case MmuExtCmd.PIN_L4_TABLE:
        return this.pinPage(pgOwner, mfn, (op.cmd - MmuExtCmd.PIN_L1_TABLE + 1) as PgType);
      case MmuExtCmd.UNPIN_TABLE:
        return this.unpinPage(pgOwner, mfn);
      case MmuExtCmd.NEW_BASEPTR:
        return self ? this.newGuestCr3(d, v, mfn) : -XenErrno.EPERM;
      case MmuExtCmd.NEW_USER_BASEPTR:
        return self ? this.newUserBaseptr(d, v, mfn) : -XenErrno.EPERM;
      case MmuExtCmd.TLB_FLUSH_LOCAL:
        if (!self) return -XenErrno.EPERM;
        v.cpu?.flushTlb(true);
        return 0;
      case MmuExtCmd.INVLPG_LOCAL:
        if (!self) return -XenErrno.EPERM;
        if (op.linearAddr !== undefined && addrOk(op.linearAddr)) v.cpu?.invlpg(op.linearAddr);
        return 0;
      case MmuExtCmd.TLB_FLUSH_MULTI:
      case MmuExtCmd.INVLPG_MULTI: {
        if (!self) return -XenErrno.EPERM;
        const cpus = this.vcpuMaskCpus(d, op.vcpuMask);
        if (!cpus) return -XenErrno.EINVAL;
        for (const c of cpus) {
          if (op.cmd === MmuExtCmd.TLB_FLUSH_MULTI) c.flushTlb(true);
          else if (op.linearAddr !== undefined && addrOk(op.linearAddr)) c.invlpg(op.linearAddr);
        }
        return 0;
      }
      case MmuExtCmd.TLB_FLUSH_ALL:
        if (!self) return -XenErrno.EPERM;
        this.flushDomain(d.id);
        return 0;
      case MmuExtCmd.INVLPG_ALL:
        if (!self) return -XenErrno.EPERM;
        if (op.linearAddr !== undefined && addrOk(op.linearAddr))
          for (const x of d.vcpus) x.cpu?.invlpg(op.linearAddr);
        return 0;
      case MmuExtCmd.FLUSH_CACHE:
      case MmuExtCmd.FLUSH_CACHE_GLOBAL:
        return self ? -XenErrno.EACCES : -XenErrno.EPERM;   // no domain here may flush caches
      case MmuExtCmd.SET_LDT: {
        if (!self) return -XenErrno.EPERM;
        const ents = op.nrEnts ?? 0, ptr = ents ? op.linearAddr ?? 0n : 0n;
        if (!Number.isInteger(ents) || ents < 0 || ents > 8192 || (ents && ((ptr & 0xfffn) !== 0n || !addrOk(ptr))))
          return -XenErrno.EINVAL;                                        // "Bad args to SET_LDT"
        v.ldtBase = ptr;
        v.ldtEnts = ents;
        return 0;
      }
      case MmuExtCmd.CLEAR_PAGE:
        if (!this.mm.getPage(mfn, pgOwner)) return -XenErrno.EINVAL;
        if (this.mm.getPageType(mfn, PgType.Writable) !== 0) { this.mm.putPage(mfn); return -XenErrno.EINVAL; }
        this.phys.fill(mfn * 4096, 4096, 0);
        this.mm.putPageAndType(mfn);
        return 0;
      case MmuExtCmd.COPY_PAGE: {
        const src = op.srcMfn ?? -1;
        if (!this.mm.getPage(src, pgOwner)) return -XenErrno.EINVAL;
        if (!this.mm.getPage(mfn, pgOwner)) { this.mm.putPage(src); return -XenErrno.EINVAL; }
        if (this.mm.getPageType(mfn, PgType.Writable) !== 0) {
          this.mm.putPage(src); this.mm.putPage(mfn); return -XenErrno.EINVAL;
        }
        this.phys.writeBytes(mfn * 4096, this.phys.readBytes(src * 4096, 4096));
        this.mm.putPageAndType(mfn);
        this.mm.putPage(src);
        return 0;
      }
      case MmuExtCmd.MARK_SUPER:
      case MmuExtCmd.UNMARK_SUPER:
        return -XenErrno.EOPNOTSUPP;
      default:
        return -XenErrno.ENOSYS;
    }
  }

  /** MMUEXT_PIN_Ln_TABLE: a typed reference held by the pin; pins do not nest. */
  private pinPage(pgOwner: number, mfn: number, type: PgType): number {
    if (!this.mm.getPage(mfn, pgOwner)) return -XenErrno.EINVAL;
    const rc = this.mm.getPageType(mfn, type);
    if (rc !== 0) { this.mm.putPage(mfn); return rc; }
    if (this.frames.pinned(mfn)) { this.mm.putPageAndType(mfn); return -XenErrno.EINVAL; }  // "already pinned"
    this.frames.setPinned(mfn, true);
    return 0;
  }

  private unpinPage(pgOwner: number, mfn: number): number {
    if (!this.mm.getPage(mfn, pgOwner)) return -XenErrno.EINVAL;    // "bad, or bad owner"
    if (!this.frames.pinned(mfn)) { this.mm.putPage(mfn); return -XenErrno.EINVAL; }  // "not pinned"
    this.frames.setPinned(mfn, false);
    this.mm.putPageAndType(mfn);
    this.mm.putPage(mfn);
    return 0;
  }

  /** new_guest_cr3(): the vCPU's base pointer holds a typed L4 reference. */
  private newGuestCr3(d: XenDomain, v: XenVcpu, mfn: number): number {
    const old = v.guestTable;
    if (old !== mfn) {
      const rc = this.mm.getPageAndType(mfn, PgType.L4, d.id);
      if (rc !== 0) return rc;                  // "Error while installing new baseptr"
      v.guestTable = mfn;
    }
    v.cpu?.writeCr3(BigInt(mfn) << 12n);        // write_ptbase: the CR3 load flushes the TLB
    if (old !== 0 && old !== mfn) this.mm.putPageAndType(old);
    return 0;
  }

  private newUserBaseptr(d: XenDomain, v: XenVcpu, mfn: number): number {
    const old = v.guestTableUser;
    if (old === mfn) return 0;
    if (mfn !== 0) {
      const rc = this.mm.getPageAndType(mfn, PgType.L4, d.id);
      if (rc !== 0) return rc;
    }
    v.guestTableUser = mfn;
    if (old !== 0) this.mm.putPageAndType(old);
    return 0;
  }

  // ── update_va_mapping ──────────────────────────────────────────────────

  /**
   * __do_update_va_mapping(): rewrite the L1 entry that maps `va` in the
   * calling vCPU's current page tables, then flush as `flags` ask
   * (UVMF_NONE / TLB_FLUSH / INVLPG, scope LOCAL / ALL / a vCPU mask).
   */
  updateVaMapping(domid: number, va: bigint, val: bigint, flags: number,
    opts: CallOptions & { vcpuMask?: readonly number[] } = {}): number {
    const d = this.domain(domid), v = this.vcpu(d, opts.vcpu ?? 0);
    const pgOwner = this.pgOwner(d, opts.foreignDom);
    let rc: number, l1 = -1, slot = -1;
    if (pgOwner < 0) rc = pgOwner;
    else {
      l1 = addrOk(va) ? this.guestL1(v, va) : -1;
      slot = tableIndex(XEN_PV_GEOMETRY, depthOf(XEN_PV_GEOMETRY, PgtLevel.Pte), va);
      rc = -XenErrno.EINVAL;
      if (l1 >= 0 && this.mm.getPage(l1, d.id)) {
        if (this.frames.isPageTable(l1) && this.frames.type[l1] === PgType.L1 && this.frames.validated(l1))
          rc = this.mm.modEntry(PgtLevel.Pte, l1, slot, val, false, pgOwner);
        this.mm.putPage(l1);
      }
      if (rc === 0) rc = this.uvmfFlush(d, v, va, flags, opts.vcpuMask);
    }
    this.record("update_va_mapping", d, v, uvmfName(flags), l1, slot, val, rc);
    return rc;
  }

  private uvmfFlush(d: XenDomain, v: XenVcpu, va: bigint, flags: number, mask: readonly number[] | undefined): number {
    const type = flags & Uvmf.FLUSHTYPE_MASK, scope = flags & ~Uvmf.FLUSHTYPE_MASK;
    if (type !== Uvmf.TLB_FLUSH && type !== Uvmf.INVLPG) return 0;
    let cpus: XenCpu[];
    if (scope === Uvmf.LOCAL) cpus = v.cpu ? [v.cpu] : [];
    else if (scope === Uvmf.ALL) cpus = this.domainCpus(d);
    else {
      const c = this.vcpuMaskCpus(d, mask);
      if (!c) return -XenErrno.EFAULT;
      cpus = c;
    }
    for (const c of cpus) {
      if (type === Uvmf.TLB_FLUSH) c.flushTlb(true);
      else c.invlpg(va);
    }
    return 0;
  }

  /**
   * map_guest_l1e(): the L1 frame mapping `va` in the vCPU's kernel tables, or
   * -1 when a table on the way is missing, is a superpage or is not RAM.
   */
  private guestL1(v: XenVcpu, va: bigint): number {
    if (v.guestTable === 0) return -1;
    const ram = x86PageTables(XEN_PV_GEOMETRY, this.mm.tables.readEntry,
      (e) => (this.frames.valid(entryFrame(e)) ? entryFrame(e) * 4096 : null));
    const l = lookupAddress(ram, v.guestTable * 4096, va);
    return l !== null && l.level === PgtLevel.Pte ? Math.floor(l.ptr / 4096) : -1;
  }

  // ── software walk (the hypervisor's view of a translation) ─────────────

  /**
   * Walk `va` through the L4 `root` as the hardware would (no A/D, no
   * permission checks): the machine address, or -1 if not mapped.
   * Tests compare this with what the emulated MMU returns.
   */
  walk(root: number, va: bigint): number {
    const l = lookupAddress(this.noSuperpages, root * 4096, va);
    return l !== null && l.level === PgtLevel.Pte && isPresent(l.val) ? entryFrame(l.val) * 4096 + Number(va & 0xfffn) : -1;
  }

  /** Machine memory as page tables in which PS is not looked at: validation refuses it in every Ln entry. */
  private get noSuperpages(): PageTables {
    return { ...this.mm.tables, huge: () => false };
  }

  // ── helpers ────────────────────────────────────────────────────────────

  private assign(mfn: number, owner: number, pfn: number): void {
    this.frames.owner[mfn] = owner;
    this.frames.count[mfn] = 1;                 // PGC_allocated
    this.frames.m2p[mfn] = pfn;
  }

  private vcpu(d: XenDomain, id: number): XenVcpu {
    const v = d.vcpus[id];
    if (!v) throw new RangeError(`domain ${d.id} has no vCPU ${id}`);
    return v;
  }

  /** get_pg_owner() + the XSM_TARGET check: an unprivileged domain may only act on itself. */
  private pgOwner(d: XenDomain, foreignDom: number | undefined): number {
    if (foreignDom === undefined || foreignDom === DomId.SELF || foreignDom === d.id) return d.id;
    if (foreignDom === DomId.IO || foreignDom === DomId.XEN) return -XenErrno.EPERM;
    if (!this.domains.has(foreignDom)) return -XenErrno.ESRCH;
    return -XenErrno.EPERM;
  }

  private domainCpus(d: XenDomain): XenCpu[] {
    return d.vcpus.flatMap((x) => (x.cpu ? [x.cpu] : []));
  }

  /** vcpumask_to_pcpumask(): ids beyond the domain's vCPUs end the mask. */
  private vcpuMaskCpus(d: XenDomain, mask: readonly number[] | undefined): XenCpu[] | undefined {
    if (!mask) return undefined;                // unreadable guest handle
    const out: XenCpu[] = [];
    for (const id of mask) {
      if (!Number.isInteger(id) || id < 0 || id >= d.vcpus.length) break;
      const c = d.vcpus[id]!.cpu;
      if (c && !out.includes(c)) out.push(c);
    }
    return out;
  }

  private flushDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (d) for (const c of this.domainCpus(d)) c.flushTlb(true);
  }

  private record(call: HypercallLogEntry["call"], d: XenDomain, v: XenVcpu, op: string,
    mfn: number, slot: number, val: bigint, rc: number): void {
    this.log.push({ call, domid: d.id, vcpu: v.id, op, mfn, slot, val, rc });
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function uvmfName(flags: number): string {
  const t = ["UVMF_NONE", "UVMF_TLB_FLUSH", "UVMF_INVLPG", "UVMF_3"][flags & 3]!;
  const s = flags & ~3;
  return s === Uvmf.LOCAL ? t : s === Uvmf.ALL ? `${t}|UVMF_ALL` : `${t}|UVMF_MULTI`;
}

/** One log line, e.g. "mmuext_op PIN_L1_TABLE mfn 0x1a3 → 0". */
export function formatLogEntry(e: HypercallLogEntry): string {
  const where = e.mfn >= 0 ? ` mfn 0x${e.mfn.toString(16)}` + (e.slot >= 0 ? `[${e.slot}]` : "") : "";
  const val = e.call === "mmuext_op" ? "" : ` val 0x${e.val.toString(16)}`;
  return `d${e.domid}v${e.vcpu} ${e.call} ${e.op}${where}${val} → ${xenErrName(e.rc)}`;
}
