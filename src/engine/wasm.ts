/**
 * The wasm engine: the AssemblyScript core instantiated over a linear memory
 * laid out by src/layout.ts. Guest RAM lives in that memory. Every method is
 * a thin typed wrapper over one core export (hash-wasm's shape); bulk work
 * goes through the batch buffers, never one call per address.
 */
import { X86Methods } from "./x86-methods.js";
import { readStats, resetStats, type TlbStats } from "../tlb/stats.js";
import { checkAccess, checkBool, checkInt, checkS64, badAccess } from "../check.js";
import { Access, Arch, Ctl, FaultKind, Mem } from "../abi.js";
import { computeLayout, type Layout, writeRegionTable } from "../layout.js";
import { PhysMem } from "../phys/phys-mem.js";
import { batchViews, checkInvpcid, checkRange } from "./batch.js";
import type { S390Core } from "./s390.js";
import {
  type BatchViews, type Engine, type EngineOptions, newTranslation, type Translation,
} from "./engine.js";
import { badPaVa, readResult, translatePaVia } from "./result.js";
import { type CoreExports, coreModule } from "./wasm-module.js";
import { setOk, X86Control, type X86Hardware } from "./x86-control.js";

const ARCH = (Mem.CTL_BASE + Ctl.ARCH) >>> 2;

let rawCore: (e: WasmEngineBase) => CoreExports;
/** The raw core exports of a wasm engine: for the project's own tests and
 *  tools, not exported by the package. */
export function coreOf(e: WasmEngineBase): CoreExports { return rawCore(e); }

export class WasmEngineBase extends X86Methods implements Engine {
  readonly name = "wasm" as const;
  readonly phys: PhysMem;
  readonly batch: BatchViews;
  protected readonly x86ctl: X86Control;
  protected readonly m32: Uint32Array;

  /** The core's raw exports. Private at run time, not only to the type
   *  checker: they take no argument checks beyond what the core refuses
   *  itself, so the public surface is the methods below. Tests reach them
   *  through coreOf(). */
  readonly #core: CoreExports;
  static {
    rawCore = (e) => e.#core;
  }

  protected constructor(
    readonly layout: Layout,
    readonly memory: WebAssembly.Memory,
    core: CoreExports,
  ) {
    super();
    this.#core = core;
    this.phys = new PhysMem(memory.buffer, layout);
    this.batch = batchViews(memory.buffer, layout);
    this.s390Init(core as unknown as S390Core);
    this.m32 = new Uint32Array(memory.buffer);
    const hw: X86Hardware = {
      loadPdptes: (cr3, out) => core.x86LoadPdptes(cr3) === FaultKind.None ? setOk(out) : readResult(this.m32, out),
      flushTlb: (g) => core.tlbFlushAll(g ? 1 : 0),
      loadCr3: (pcid) => core.tlbLoadCr3(pcid),
    };
    this.x86ctl = new X86Control(memory.buffer, hw, layout.maxPhyAddr);
  }


  get buffer(): ArrayBufferLike { return this.memory.buffer; }

  /** Prepare memory and instantiate the core. */
  protected static async instantiate(opts: EngineOptions): Promise<{ layout: Layout; memory: WebAssembly.Memory; core: CoreExports }> {
    const layout = computeLayout(opts);
    const pages = layout.totalBytes / Mem.WASM_PAGE;
    let memory = opts.memory;
    if (memory) {
      const have = memory.buffer.byteLength / Mem.WASM_PAGE;
      if (have < pages) memory.grow(pages - have);
    } else {
      memory = new WebAssembly.Memory({ initial: pages });
    }
    writeRegionTable(memory.buffer, layout);
    const inst = await WebAssembly.instantiate(await coreModule(), { env: { memory } });
    const core = inst.exports as unknown as CoreExports;
    core.init();
    return { layout, memory, core };
  }

  // ── x86 context: X86Methods (x86-methods.ts) ──

  // ── translation ──
  // The walker follows setArch (Ctl.ARCH): x86 here, s390 in S390Methods.
  translate(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[ARCH] === Arch.S390) return this.translateS390(va, access, out);
    this.#core.translate(checkS64("translate", "va", va), checkAccess("translate", access));
    return readResult(this.m32, out);
  }
  translatePa(va: number, access: Access): number {
    if (typeof va !== "number" || (Math.floor(va / 4294967296) | 0) * 4294967296 + (va >>> 0) !== va) throw badPaVa(va);
    if (access !== Access.Read && access !== Access.Write && access !== Access.Fetch) throw badAccess("translatePa", access);
    if (this.m32[ARCH] === Arch.S390) return translatePaVia(this, va, access);
    return this.#core.translatePa(va, access);
  }
  probe(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[ARCH] === Arch.S390) return this.probeS390(va, access, out);
    this.#core.probe(checkS64("probe", "va", va), checkAccess("probe", access));
    return readResult(this.m32, out);
  }
  translateBatch(n: number): number {
    if (this.m32[ARCH] === Arch.S390) return this.translateBatchS390(n);
    return this.#core.translateBatch(checkInt("translateBatch", "n", n, 0, this.layout.batchCap));
  }
  translateRange(start: number, end: number): number {
    checkRange(start, end, this.layout.batchCap, this.m32[ARCH]!);
    return this.#core.translateRange(start, end);
  }

  // ── TLB control ──
  invlpg(va: bigint): void { this.#core.tlbFlushPage(checkS64("invlpg", "va", va)); }
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void {
    const a = checkInvpcid(type, pcid, va);
    this.#core.tlbFlushPcid(type, pcid, a);
  }
  flushTlb(includeGlobal = true): void {
    this.#core.tlbFlushAll(checkBool("flushTlb", "includeGlobal", includeGlobal) ? 1 : 0);
    this.purgeTlb();
  }

  // ── statistics ──
  stats(): TlbStats { return readStats(this.buffer); }
  resetStats(): void { resetStats(this.buffer); }
}
