/**
 * Run a strategy against a real machine: plan once without memory to learn
 * how many table pages there will be (so the sparse frame pool can be sized
 * — the planner itself never needs that number), create a sparse-memory
 * engine big enough for the whole physical address space, put the CPU in the
 * paging mode, plan again with a sink that writes every entry through the
 * paravirt hooks, then verify by translating through the engine.
 */
import { Cr } from "../abi.js";
import { createEngine, type Engine, type EngineName } from "../engine/index.js";
import { type Geometry, geometry } from "./geometry.js";
import type { EarlyPvOps, PvSinkOptions } from "./guest.js";
import { PvSink } from "./guest.js";
import { planHpa } from "./hpa.js";
import { planLinux } from "./init-mapping.js";
import type { BootInput } from "./input.js";
import type { BootPlan, Strategy } from "./plan.js";
import type { PgtableSink } from "./pgtable.js";
import { type VerifyReport, verifyTranslations } from "./verify.js";
import type { PhysMem } from "../phys/phys-mem.js";
import { NativeMmuOps } from "../paravirt/native.js";

export function plan(strategy: Strategy, input: BootInput, sink?: PgtableSink): BootPlan {
  // planning mutates memblock (table pages are reserved): every run gets its own copy
  const own = { ...input, memblock: input.memblock.clone() };
  return strategy === "hpa" ? planHpa(own, sink) : planLinux(own, sink);
}

const bit = (n: number): bigint => 1n << BigInt(n);

/** CR0/CR4/EFER for the mode (CR0.PE, WP, PG; PAE/LA57/PSE; LME, NXE). */
export function pagingRegisters(g: Geometry): { cr0: bigint; cr4: bigint; efer: bigint } {
  const cr0 = 1n | bit(Cr.CR0_WP) | bit(Cr.CR0_PG);
  let cr4 = bit(Cr.CR4_PSE) | bit(Cr.CR4_PGE), efer = 0n;
  if (g.mode !== "2level") { cr4 |= bit(Cr.CR4_PAE); efer |= bit(Cr.EFER_NXE); }
  if (g.is64) efer |= bit(Cr.EFER_LME);
  if (g.mode === "la57") cr4 |= bit(Cr.CR4_LA57);
  return { cr0, cr4, efer };
}

/** What a backend factory gets: the machine's memory and CPU. */
export interface MachineParts { phys: PhysMem; engine: Engine; geometry: Geometry; input: BootInput }

export interface BuildOptions {
  engine?: EngineName;
  /** The paravirt backend; default: the native one (plain stores, no-op hooks). */
  ops?: (m: MachineParts) => EarlyPvOps;
  /** Extra frames for the backend's own use (Xen's start-of-day tables, …). */
  extraPoolPages?: number;
  sinkOptions?: (m: MachineParts) => PvSinkOptions;
  /** Called after the engine exists and before planning (e.g. Xen start-of-day setup). */
  prepare?: (m: MachineParts, ops: EarlyPvOps) => void;
}

export interface BuildResult { plan: BootPlan; engine: Engine; verify: VerifyReport; ops: EarlyPvOps; buildMs: number }

export async function buildAndVerify(strategy: Strategy, input: BootInput, opts: BuildOptions = {}): Promise<BuildResult> {
  const g = geometry(input.mode);
  const dry = plan(strategy, input);
  const top = Math.max(...input.memblock.memory.map((r) => r.end), input.pgdPa + 4 * 4096);
  const physSize = Math.max(2 ** 32, 2 ** Math.ceil(Math.log2(top)));
  const frames = dry.summary.totalTablePages + 16 + (opts.extraPoolPages ?? 0);
  const poolBytes = Math.max(1 << 20, Math.ceil(frames * 1.25) * 4096);
  const engine = (await createEngine(opts.engine ?? "wasm", { backing: "sparse", physSize, poolBytes })) as Engine;
  engine.setX86({ ...pagingRegisters(g), cr3: 0n });
  const parts: MachineParts = { phys: engine.phys, engine, geometry: g, input };
  const ops = opts.ops ? opts.ops(parts) : new NativeMmuOps({ phys: engine.phys, cpu: engine, entryBytes: g.entryBytes });
  opts.prepare?.(parts, ops);
  const sink = new PvSink(g, ops, engine.phys, input.pgdPa,
    { kernelText: [input.kernel.text, input.kernel.end], ...opts.sinkOptions?.(parts) });
  const t0 = performance.now();
  const p = plan(strategy, input, sink);
  const buildMs = performance.now() - t0;
  const verify = verifyTranslations(engine, g, p);
  return { plan: p, engine, verify, ops, buildMs };
}
