/**
 * The pinning protocol in action (`wasmmu xen`): a small mm workload run by
 * the kernel side as a Xen PV guest, recorded phase by phase — the paravirt
 * hooks the kernel called and the hypercalls the Xen backend turned them into
 * — with two probes between the phases (a user write translated through the
 * guest's tables, a stray kernel store to a pinned pgd), and the reference
 * counts audited at the end.
 */
import { Access } from "../../abi.js";
import { createEngine, type EngineName } from "../../engine/index.js";
import { Kernel } from "../../kernel/x86/kernel.js";
import { type PvCall, recordingMmuOps } from "../recording.js";
import { auditXen } from "./audit.js";
import { buildXenPvGuest } from "./domain-builder.js";
import type { HypercallLogEntry } from "./hypervisor.js";
import { GuestPageFault } from "./mmu-pv.js";

/** The value conversions (pte_val, make_pte, …): called all the time, interesting never. */
const CONVERSIONS = ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] as const;

const USER_VA = 0x1000_0000n;

export type XenWalkthroughStep =
  | { kind: "phase"; title: string; hooks: PvCall[]; hypercalls: HypercallLogEntry[] }
  /** A user-mode write to USER_VA + 0x10, translated through the guest's tables to a machine address. */
  | { kind: "user-write"; va: bigint; machineAddress: number; pfn: number }
  /** A kernel store to the pinned pgd: the walker must fault (the page is read-only once pinned). */
  | { kind: "stray-store"; pgdPfn: number; errorCode: number | null };

export interface XenWalkthrough {
  domainId: number;
  nrPages: number;
  engine: EngineName;
  /** Machine frames of pseudo-physical frames 0 … 3. */
  firstMfns: number[];
  steps: XenWalkthroughStep[];
  /** Reference counts that do not match the tables (none expected). */
  problems: string[];
}

export async function xenWalkthrough(o: { engine: EngineName; nrPages: number }): Promise<XenWalkthrough> {
  const { nrPages } = o;
  const engine = await createEngine(o.engine, { physSize: Math.max(16 << 20, (nrPages + 2048) * 4096) });
  const g = buildXenPvGuest(engine, { nrPages });
  const ops = recordingMmuOps(g.ops, { ignore: [...CONVERSIONS] });
  const k = new Kernel({ mode: "4level", phys: g.phys, cpu: engine, ops, allocator: g.allocator });
  g.ops.xenSetupKernelPagetable(k.initMm.pgd);
  ops.clear();
  const steps: XenWalkthroughStep[] = [];
  let hooks = 0, calls = g.xen.log.length;
  const phase = (title: string, fn: () => void): void => {
    fn();
    steps.push({ kind: "phase", title, hooks: ops.log.slice(hooks), hypercalls: g.xen.log.slice(calls) });
    hooks = ops.log.length;
    calls = g.xen.log.length;
  };
  let a!: ReturnType<Kernel["mmCreate"]>;
  phase("mm create: pgd_alloc, enter_mmap → xen_pgd_pin", () => { a = k.mmCreate(); });
  phase("mmap + first fault: tables attached to a pinned mm go RO (pte pages pinned) before use", () => {
    a.mmap(USER_VA, 0x4000, { prot: "rw" });
    a.handleFault(USER_VA, 1);
  });
  phase("switch_mm: NEW_BASEPTR + NEW_USER_BASEPTR", () => k.switchMm(a));
  engine.setCpl(3);
  const t = engine.translate(USER_VA + 0x10n, Access.Write);
  engine.setCpl(0);
  steps.push({ kind: "user-write", va: USER_VA + 0x10n, machineAddress: t.pa, pfn: g.p2m.mfnToPfn(Math.floor(t.pa / 4096)) });
  let errorCode: number | null = null;
  try {
    g.ops.kernelStore(a.pgd, 0n);
  } catch (e) {
    if (!(e instanceof GuestPageFault)) throw e;
    errorCode = e.t.errorCode;
  }
  steps.push({ kind: "stray-store", pgdPfn: a.pgd / 4096, errorCode });
  phase("mprotect read-only: ptep_modify_prot_commit → MMU_PT_UPDATE_PRESERVE_AD", () => a.mprotect(USER_VA, 0x4000, "r"));
  phase("exit: switch to init_mm, exit_mmap → UNPIN first, then RW remaps, free_pgtables", () => {
    k.switchMm(k.initMm);
    a.destroy();
  });
  return {
    domainId: g.domain.id, nrPages, engine: o.engine, firstMfns: g.domain.mfnList.slice(0, 4), steps,
    problems: auditXen(g.xen, [g.domain.id]),
  };
}
