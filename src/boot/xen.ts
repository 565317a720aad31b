/**
 * Early boot as a Xen PV guest (`boot --xen`): the state init_mem_mapping()
 * starts from, and the build options that run the plan against the Xen
 * hypervisor model (src/paravirt/xen/) through its pv_ops backend.
 *
 * - No large pages: Xen hides PSE/PDPE1GB from PV guests and xen_write_cr4
 *   masks CR4.PSE, so probe_page_size_mask() finds neither (input.ts).
 * - The pseudo-physical map is contiguous RAM (xen_memory_setup) with the
 *   ISA hole; p2m is deliberately not the identity (the model's domain
 *   builder), so every missed pfn→mfn conversion would show.
 * - Start of day, condensed from the domain builder and
 *   xen_setup_kernel_pagetable(): init_top_pgt is already loaded and pinned,
 *   and the direct map covers [0, boot_end) — the kernel image, its brk, the
 *   builder's page tables right after _end and 512 KiB more, rounded to
 *   4 MiB — with 4 KiB pages whose table frames are mapped read-only. Those
 *   tables are reserved in memblock, and the planner sees them as existing
 *   (phys_pte_init reuses such entries: "Xen for example has some special
 *   requirements, like mapping pagetable pages as RO").
 * - The hooks are the early *_init variants: alloc_pte_init makes the frame
 *   read-only through the live direct map and pins it as L1 at once,
 *   alloc_pmd/pud_init make it read-only; set_pmd/pud/p4d are hypercalls,
 *   set_pte into a page not yet pinned is a kernel store through the direct
 *   map — checked by the engine's walker. The hypervisor refuses any entry
 *   that maps a table frame writable, and any table not validated as its
 *   level; a refused hypercall is an exception, so a finished build is the
 *   proof.
 */
import type { Engine } from "../engine/engine.js";
import { MmuExtCmd } from "../paravirt/xen/interface.js";
import { XenHypervisor } from "../paravirt/xen/hypervisor.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO, XenMmuOps } from "../paravirt/xen/mmu-pv.js";
import { P2m, pseudoPhysMem } from "../paravirt/xen/p2m.js";
import { makeEntry } from "../kernel/x86/pgtable.js";
import {
  _KERNPG_TABLE, EFER_LME, EFER_NX, X86_CR0_PE, X86_CR0_PG, X86_CR0_WP, X86_CR4_PAE,
} from "../kernel/x86/pgtable-types.js";
import type { BackendSetup, BuildOptions, MachineParts } from "./build.js";
import { entryIndex, geometry } from "./geometry.js";
import type { BootInput } from "./input.js";
import type { Preexisting } from "./pgtable.js";
import { PgtLevel } from "../kernel/types.js";
import { bootModeName } from "../cli/paging-mode.js";

const PAGE = 4096;
/** Machine frames Xen keeps for I/O and itself below the domain (the model's defaults). */
const XEN_OWN_FRAMES = 256 + 64;

/** Where the builder's tables go and how far its mapping reaches. */
export function xenStartOfDayLayout(input: BootInput): { ptBase: number; nPte: number; bootEnd: number } {
  const ptBase = Math.ceil(Math.max(input.kernel.end, input.kernel.brkEnd) / PAGE) * PAGE;
  let nPte = 1, bootEnd = 0;
  for (;;) {
    bootEnd = Math.ceil((ptBase + (2 + nPte) * PAGE + 512 * 1024) / (4 << 20)) * (4 << 20);
    const need = Math.ceil(bootEnd / (2 << 20));
    if (need <= nPte) break;
    nPte = need;
  }
  if (bootEnd > 2 ** 30) throw new Error("xen start of day: the kernel must sit in the first GiB");
  return { ptBase, nPte, bootEnd };
}

/** The start-of-day tables as the planner sees them (no hypervisor needed: for plan-only runs). */
export function xenStartOfDayTables(input: BootInput): { preexisting: Preexisting; reserve: [number, number][] } {
  const { ptBase, nPte, bootEnd } = xenStartOfDayLayout(input);
  const g = geometry(input.mode);
  const pud = ptBase, pmd = ptBase + PAGE, pte0 = ptBase + 2 * PAGE;
  return {
    preexisting: {
      tables: [{ pa: pud, level: PgtLevel.Pud }, { pa: pmd, level: PgtLevel.Pmd },
        ...Array.from({ length: nPte }, (_, i) => ({ pa: pte0 + i * PAGE, level: PgtLevel.Pte }))],
      links: [{ table: input.pgdPa, index: entryIndex(g, PgtLevel.Pgd, 0), child: pud }, { table: pud, index: 0, child: pmd },
        ...Array.from({ length: nPte }, (_, i) => ({ table: pmd, index: i, child: pte0 + i * PAGE }))],
      leaves: Array.from({ length: nPte }, (_, i) => ({ table: pte0 + i * PAGE, from: 0, to: Math.min(512, bootEnd / PAGE - i * 512), base: i * (2 << 20) })),
    },
    reserve: [[ptBase, ptBase + (2 + nPte) * PAGE]],
  };
}

export function xenBuildOptions(): BuildOptions {
  return {
    machineBytes: (input) => (input.maxPfn + XEN_OWN_FRAMES) * PAGE,
    backend: (m) => xenStartOfDay(m),
  };
}

function xenStartOfDay(m: MachineParts): BackendSetup {
  const { engine, input } = m;
  if (input.mode !== "4level") throw new Error(`the Xen PV model is 4-level x86-64 (use --mode ${bootModeName("4level")} with --xen)`);
  const nrPages = input.maxPfn;
  const xen = new XenHypervisor(engine.phys, { nrFrames: nrPages + XEN_OWN_FRAMES });
  const domain = xen.createDomain({ nrPages });
  const p2m = new P2m(domain.mfnList, xen.frames.m2p);
  const { ptBase, nPte, bootEnd } = xenStartOfDayLayout(input);
  const pgd = input.pgdPa, pud = ptBase, pmd = ptBase + PAGE, pte0 = ptBase + 2 * PAGE;
  const g = m.geometry;
  const w = (pa: number, v: bigint): void => engine.phys.write64(p2m.physToMachine(pa), v);
  const mfn = (pa: number): number => p2m.pfnToMfn(pa / PAGE);
  const tables = new Set([pgd, pud, pmd, ...Array.from({ length: nPte }, (_, i) => pte0 + i * PAGE)]);

  w(pgd + entryIndex(g, PgtLevel.Pgd, 0) * 8, makeEntry(mfn(pud), _KERNPG_TABLE));
  w(pud, makeEntry(mfn(pmd), _KERNPG_TABLE));
  for (let i = 0; i < nPte; i++) w(pmd + i * 8, makeEntry(mfn(pte0 + i * PAGE), _KERNPG_TABLE));
  for (let pa = 0; pa < bootEnd; pa += PAGE)
    w(pte0 + Math.floor(pa / (2 << 20)) * PAGE + ((pa / PAGE) % 512) * 8, makeEntry(mfn(pa), tables.has(pa) ? PAGE_KERNEL_RO : PAGE_KERNEL));

  const cr0 = X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, cr4 = X86_CR4_PAE, efer = EFER_LME | EFER_NX;
  const t = (engine as Engine).setX86({ cr0, cr4, efer, cr3: BigInt(mfn(pgd)) << 12n, cpl: 0 });
  if (t.fault) throw new Error(`xen start of day: long mode refused (vector ${t.vector})`);
  xen.attachCpu(domain.id, 0, engine);
  const r = xen.mmuextOp(domain.id, [{ cmd: MmuExtCmd.PIN_L4_TABLE, mfn: mfn(pgd) }, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: mfn(pgd) }]);
  if (r.rc !== 0) throw new Error(`xen start of day: pinning init_top_pgt failed (rc ${r.rc})`);

  const ops = new XenMmuOps({ xen, domid: domain.id, p2m, cpu: engine, machine: engine.phys, initPgd: pgd, splitPtlocks: true });
  const { preexisting: pre, reserve } = xenStartOfDayTables(input);
  const builderEnd = ptBase + (2 + nPte) * PAGE;
  return {
    // A new hierarchy (hpa) must map the live tables — init_top_pgt and the
    // builder's — read-only, or Xen refuses to validate it.
    readOnly: (pa) => pa === pgd || (pa >= ptBase && pa < builderEnd),
    // hpa step 4: xen_setup_kernel_pagetable on the new pgd — pin it (Xen
    // validates everything below it), load it, unpin the old one.
    switchPgd: (newPgd) => ops.xenSetupKernelPagetable(newPgd),
    // mask_rw_pte: new ptes that map the brk page-table buffer are read-only.
    pgtBuf: (start, top) => ops.setPgtBuf(start, top),
    ops, guestPhys: pseudoPhysMem(engine.phys, engine.buffer, p2m),
    toMachine: (pa) => p2m.physToMachine(pa),
    preexisting: pre,
    reserve,
    hypervisor: xen,
    describe: `Xen PV start of day: init_top_pgt pinned and loaded, direct map of [0, 0x${bootEnd.toString(16)}) in 4k pages ` +
      `from ${2 + nPte} builder tables at 0x${ptBase.toString(16)} (read-only), p2m scrambled`,
  };
}
