/**
 * Run a strategy against a real machine: plan once without memory to learn
 * how many table pages there will be (so the sparse frame pool can be sized
 * — the planner itself never needs that number), create a sparse-memory
 * engine big enough for the whole physical address space, put the CPU in the
 * paging mode, plan again with a sink that writes every entry through the
 * paravirt hooks, then verify by translating through the engine.
 */
import { createEngine, type Engine, type EngineName } from "../engine/index.js";
import { type Geometry, geometry } from "./geometry.js";
import type { EarlyPvOps, GuestPhys } from "./guest.js";
import { PvSink } from "./guest.js";
import { planHpa } from "./hpa.js";
import { planLinux } from "./init-mapping.js";
import { type BootInput, BootInputError, sizeText } from "./input.js";
import type { BootPlan, Strategy } from "./plan.js";
import type { PgtableSink, Preexisting } from "./pgtable.js";
import { type VerifyReport, verifyTranslations } from "./verify.js";
import type { PhysMem } from "../phys/phys-mem.js";
import { NativeMmuOps } from "../paravirt/native.js";
import {
  EFER_LME, EFER_NX, X86_CR0_PE, X86_CR0_PG, X86_CR0_WP, X86_CR4_LA57, X86_CR4_PAE, X86_CR4_PGE, X86_CR4_PSE,
} from "../kernel/x86/pgtable-types.js";

/**
 * hpa's own top-level table: the first page of the brk reserve (the rest
 * stays the reserve), and no tables before it — the hierarchy is new.
 */
export function hpaOwnPgd(input: BootInput): BootInput {
  const pgdPa = input.pgtBuf.start;
  return { ...input, pgdPa, preexisting: undefined, pgtBuf: { start: pgdPa + 4096, pages: input.pgtBuf.pages - 1 } };
}

/**
 * How much RAM the planner maps with 4k pages only (no PSE, as under Xen).
 * The model keeps every pte it writes — a byte per entry plus its table —
 * about 0.85 GB and 4 s per TiB here, so past 1 TiB a plan would run out of
 * host memory long before it finished; such a request is refused at once.
 */
export const PLAN_4K_LIMIT = 2 ** 40;

export function checkPlanSize(input: BootInput): void {
  if (input.pse) return;
  const end = (geometry(input.mode).is64 ? input.maxPfn : input.maxLowPfn) * 4096;
  let bytes = 0;
  for (const r of input.memblock.memory) bytes += Math.max(0, Math.min(r.end, end) - r.base);
  if (bytes <= PLAN_4K_LIMIT) return;
  throw new BootInputError(`mapping ${(bytes / 2 ** 40).toFixed(1)} TiB of RAM with 4k pages only means ${Math.ceil(bytes / 2 ** 32)} M ptes; ` +
    `the planner keeps each one (about 0.85 GB of host memory per TiB) and stops at ${sizeText(PLAN_4K_LIMIT)}: ` +
    `allow 2M pages (--page-sizes 4k,2M) or give less memory`);
}

export function plan(strategy: Strategy, input: BootInput, sink?: PgtableSink): BootPlan {
  checkPlanSize(input);
  // planning mutates memblock (table pages are reserved): every run gets its own copy
  const own = { ...input, memblock: input.memblock.clone() };
  return strategy === "hpa" ? planHpa(own, sink) : planLinux(own, sink);
}

/** CR0/CR4/EFER for the mode (CR0.PE, WP, PG; PAE/LA57/PSE; LME, NXE). */
export function pagingRegisters(g: Geometry): { cr0: bigint; cr4: bigint; efer: bigint } {
  const cr0 = X86_CR0_PE | X86_CR0_WP | X86_CR0_PG;
  let cr4 = X86_CR4_PSE | X86_CR4_PGE, efer = 0n;
  if (g.mode !== "2level") { cr4 |= X86_CR4_PAE; efer |= EFER_NX; }
  if (g.is64) efer |= EFER_LME;
  if (g.mode === "5level") cr4 |= X86_CR4_LA57;
  return { cr0, cr4, efer };
}

/** What a backend factory gets: the machine's memory and CPU. */
export interface MachineParts { phys: PhysMem; engine: Engine; geometry: Geometry; input: BootInput }

/** What a backend sets up before planning starts. */
export interface BackendSetup {
  ops: EarlyPvOps;
  /** The guest's view of physical memory (Xen: pseudo-physical); default the machine's. */
  guestPhys?: GuestPhys;
  /** Machine address of a guest physical address (Xen: through the p2m); default identity. */
  toMachine?: (pa: number) => number;
  /** Tables already in memory (and in CR3) when init_mem_mapping starts. */
  preexisting?: Preexisting;
  /** Ranges memblock must treat as reserved (the backend's own tables). */
  reserve?: [number, number][];
  /** The hypervisor model, if any (for reports and tests). */
  hypervisor?: unknown;
  describe?: string;
  /** Frames whose new direct-map PTEs must be read-only (Xen: page tables that exist already). */
  readOnly?: (pa: number) => boolean;
  /** Switch the kernel to a freshly built top-level table (Xen: pin it, then load it — hpa step 4). */
  switchPgd?: (pgd: number) => void;
  /** The first `n` pages of the brk reserve are page tables too (Xen: mask_rw_pte over pgt_buf). */
  pgtBuf?: (startPfn: number, topPfn: number) => void;
}

export interface BuildOptions {
  engine?: EngineName;
  /** Machine memory to create (default: enough for the map's highest RAM address). */
  machineBytes?: (input: BootInput) => number;
  /** The paravirt backend and its start-of-day state; default: native (plain stores, no-op hooks). */
  backend?: (m: MachineParts) => BackendSetup;
}

export interface BuildResult { plan: BootPlan; engine: Engine; verify: VerifyReport; setup: BackendSetup; buildMs: number }

export async function buildAndVerify(strategy: Strategy, input: BootInput, opts: BuildOptions = {}): Promise<BuildResult> {
  const g = geometry(input.mode);
  // hpa under Xen PV builds a new hierarchy beside the pinned, live one (a
  // top-level table from the brk reserve) and switches to it at step 4 —
  // pinned first, through the backend's switchPgd; see xenBuildOptions.
  const newPgd = strategy === "hpa" && input.backend === "xen";
  const dry = plan(strategy, newPgd ? hpaOwnPgd(input) : input);
  const top = opts.machineBytes?.(input) ?? Math.max(...input.memblock.memory.map((r) => r.end), input.pgdPa + 4 * 4096);
  const physSize = Math.max(2 ** 32, 2 ** Math.ceil(Math.log2(top)));
  const frames = dry.summary.totalTablePages + 64;
  const poolBytes = Math.max(1 << 20, Math.ceil(frames * 1.25) * 4096);
  const engine = (await createEngine(opts.engine ?? "wasm", { backing: "sparse", physSize, poolBytes })) as Engine;
  engine.setX86({ ...pagingRegisters(g), cr3: 0n });
  const parts: MachineParts = { phys: engine.phys, engine, geometry: g, input };
  const setup: BackendSetup = opts.backend?.(parts)
    ?? { ops: new NativeMmuOps({ phys: engine.phys, cpu: engine, entryBytes: g.entryBytes }) };
  let own: BootInput = { ...input, memblock: input.memblock.clone(), preexisting: setup.preexisting };
  for (const [s, e] of setup.reserve ?? []) own.memblock.reserve(s, e);
  if (newPgd) {
    own = hpaOwnPgd(own);
    setup.pgtBuf?.(input.pgtBuf.start / 4096, input.pgtBuf.start / 4096 + input.pgtBuf.pages);
  }
  const livePgd = input.pgdPa;
  const sink = new PvSink(g, setup.ops, setup.guestPhys ?? engine.phys, own.pgdPa, {
    kernelText: [input.kernel.text, input.kernel.end],
    ...(setup.readOnly ? { readOnly: setup.readOnly } : {}),
    ...(setup.switchPgd ? { switchPgd: (pgd: number) => (pgd === livePgd ? setup.ops.writeCr3(BigInt(pgd)) : setup.switchPgd!(pgd)) } : {}),
  });
  if (newPgd) sink.tableAlloc(own.pgdPa);
  const t0 = performance.now();
  const p = plan(strategy, own, sink);
  const buildMs = performance.now() - t0;
  const verify = verifyTranslations(engine, g, p, { toMachine: setup.toMachine });
  return { plan: p, engine, verify, setup, buildMs };
}
