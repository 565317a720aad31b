/**
 * Start a Linux PV guest on the Xen model: what the toolstack's domain
 * builder (tools/libs/guest/xg_dom_x86.c) and the first steps of the guest
 * (xen_setup_kernel_pagetable, init_mem_mapping under the *_init hooks) leave
 * behind, condensed:
 *
 *  - a domain with `nrPages` frames and a deliberately scrambled p2m;
 *  - swapper_pg_dir mapping every guest page at PAGE_OFFSET + pfn·4 KiB
 *    (4 KiB pages: PV guests may not use superpages), with the table pages'
 *    own aliases read-only, pinned as L4 and loaded as vCPU 0's base pointer;
 *  - the emulated CPU in long mode at CPL 0 with CR0.WP=1, so that a kernel
 *    store to a read-only alias faults;
 *  - a page allocator over the guest's pfns, the tables reserved;
 *  - the Xen pv_ops backend, past xen_pagetable_init unless `early` is set.
 */
import type { Engine } from "../../engine/engine.js";
import { PageAllocator } from "../../kernel/page-alloc.js";
import { PAGE_SIZE, PgtLevel, type PhysAddr } from "../../kernel/types.js";
import { makeEntry } from "../../kernel/x86/pgtable.js";
import {
  _KERNPG_TABLE, depthOf, EFER_LME, EFER_NX, tableIndex, X86_CR0_PE, X86_CR0_PG, X86_CR0_WP, X86_CR4_PAE,
} from "../../kernel/x86/pgtable-types.js";
import type { PhysMem } from "../../phys/phys-mem.js";
import { HypercallError } from "./errno.js";
import { XenHypervisor, type XenDomain, type XenOptions } from "./hypervisor.js";
import { MmuExtCmd, XEN_PV_GEOMETRY } from "./interface.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO, XEN_PAGE_OFFSET, XenMmuOps } from "./mmu-pv.js";
import { P2m, pseudoPhysMem } from "./p2m.js";

const PTRS_PER_TABLE = XEN_PV_GEOMETRY.tables[0]!.entries;
/** Index of `va` in the table at `level`. */
const indexAt = (level: PgtLevel, va: bigint): number => tableIndex(XEN_PV_GEOMETRY, depthOf(XEN_PV_GEOMETRY, level), va);

export interface XenPvGuest {
  xen: XenHypervisor;
  domain: XenDomain;
  p2m: P2m;
  ops: XenMmuOps;
  /** The guest's pseudo-physical memory (what its kernel side reads and writes). */
  phys: PhysMem;
  engine: Engine;
  allocator: PageAllocator;
  /** Pseudo-physical address of swapper_pg_dir. */
  initPgd: PhysAddr;
  /** pfns holding the boot page tables (reserved in the allocator). */
  bootTables: number[];
}

export interface XenPvGuestOptions extends XenOptions {
  nrPages: number;
  nrVcpus?: number;
  splitPtlocks?: boolean;
  /** Keep a user pgd per mm, as x86-64 PV Linux does (default true). */
  userPgd?: boolean;
  /** Stay in early boot (the *_init hooks) instead of running xen_pagetable_init. */
  early?: boolean;
}

export function buildXenPvGuest(engine: Engine, opts: XenPvGuestOptions): XenPvGuest {
  const xen = new XenHypervisor(engine.phys, opts);
  const domain = xen.createDomain({ nrPages: opts.nrPages, nrVcpus: opts.nrVcpus ?? 1 });
  const p2m = new P2m(domain.mfnList, xen.frames.m2p);
  const n = opts.nrPages;

  // Boot tables: pgd at pfn 1, then the pud, the pmds and the ptes of the direct map.
  const nPte = Math.ceil(n / PTRS_PER_TABLE), nPmd = Math.ceil(nPte / PTRS_PER_TABLE);
  if (nPmd > PTRS_PER_TABLE) throw new RangeError("buildXenPvGuest: at most 512 GiB of guest memory");
  const pgd = 1, pud = 2, pmd0 = 3, pte0 = pmd0 + nPmd, end = pte0 + nPte;
  if (end >= n) throw new RangeError(`buildXenPvGuest: ${n} pages cannot hold their own ${end} boot tables`);
  const bootTables = Array.from({ length: end - pgd }, (_, i) => pgd + i);
  const w = (pfn: number, slot: number, v: bigint): void => engine.phys.write64(p2m.pfnToMfn(pfn) * PAGE_SIZE + slot * 8, v);
  const mfn = (pfn: number): number => p2m.pfnToMfn(pfn);

  w(pgd, indexAt(PgtLevel.Pgd, XEN_PAGE_OFFSET), makeEntry(mfn(pud), _KERNPG_TABLE));
  for (let i = 0; i < nPmd; i++) w(pud, indexAt(PgtLevel.Pud, XEN_PAGE_OFFSET) + i, makeEntry(mfn(pmd0 + i), _KERNPG_TABLE));
  for (let i = 0; i < nPte; i++) w(pmd0 + (i >> 9), i & 511, makeEntry(mfn(pte0 + i), _KERNPG_TABLE));
  for (let pfn = 0; pfn < n; pfn++) {
    const table = pfn >= pgd && pfn < end;
    w(pte0 + (pfn >> 9), pfn & 511, makeEntry(mfn(pfn), table ? PAGE_KERNEL_RO : PAGE_KERNEL));
  }

  const t = engine.setX86({
    cr0: X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, cr4: X86_CR4_PAE, efer: EFER_LME | EFER_NX, cr3: BigInt(mfn(pgd)) << 12n, cpl: 0,
  });
  if (t.fault !== 0) throw new Error(`buildXenPvGuest: the long-mode context was refused (vector ${t.vector})`);
  xen.attachCpu(domain.id, 0, engine);
  const r = xen.mmuextOp(domain.id, [
    { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: mfn(pgd) },
    { cmd: MmuExtCmd.NEW_BASEPTR, mfn: mfn(pgd) },
  ]);
  if (r.rc !== 0) throw new HypercallError("domain builder: pin and load swapper_pg_dir", r.rc, r.done);

  const phys = pseudoPhysMem(engine.phys, engine.buffer, p2m);
  const allocator = new PageAllocator({ map: [{ start: 0, end: n * PAGE_SIZE }], phys });
  allocator.reserve(0, end * PAGE_SIZE);
  const ops = new XenMmuOps({
    xen, domid: domain.id, p2m, cpu: engine, machine: engine.phys, initPgd: pgd * PAGE_SIZE,
    splitPtlocks: opts.splitPtlocks,
    ...(opts.userPgd === false ? {} : {
      allocPage: () => allocator.allocPage(),
      freePage: (pfn: number) => allocator.freePage(pfn),
    }),
  });
  if (!opts.early) ops.xenPagetableInit();
  return { xen, domain, p2m, ops, phys, engine, allocator, initPgd: pgd * PAGE_SIZE, bootTables };
}
