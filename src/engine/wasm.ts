/**
 * The wasm engine: the AssemblyScript core instantiated over a linear memory
 * laid out by src/layout.ts, with guest RAM in that memory. The engine itself
 * is CoreEngine (core-engine.ts); this file only prepares the memory and the
 * instance whose exports are its X86Core and S390Core.
 */
import { type Access, Arch, Ctl, Mem } from "../abi.js";
import { EMBED, abiInitError } from "../embed.js";
import { computeLayout, type Layout, writeRegionTable } from "../layout.js";
import { checkPaArgs, CoreEngine, type EngineParts } from "./core-engine.js";
import type { EngineOptions } from "./engine.js";
import { type CoreExports, coreModule, sharedCoreModule } from "./wasm-module.js";

const ARCH = (Mem.CTL_BASE + Ctl.ARCH) >>> 2;

/**
 * What an emulator's own wasm (or JIT) needs to inline the TLB hit test over
 * this engine's memory and call the core only on a miss (docs/TLB-ABI.md,
 * "Embedding").
 */
export interface Embedding {
  /** The linear memory: the core's regions, guest RAM and the embedder's region (layout). */
  readonly memory: WebAssembly.Memory;
  /** The core's own export, to import into the emulator's module: the VA as an
   *  f64 holding the signed 64-bit address, the PA as an f64 or -1 on a fault
   *  (the result record at ctl.RES_* then says which). No argument checks. */
  readonly translatePa: (va: number, access: number) => number;
  /** The core's `translate(va: i64, access: i32) → FaultKind`, result record at ctl.RES_*. */
  readonly translate: (va: bigint, access: number) => number;
  /** The core's INVLPG, for an emulator that executes it itself. */
  readonly tlbFlushPage: (va: bigint) => void;
  /** Every offset and bit of the contract (src/embed.ts). */
  readonly offsets: typeof EMBED;
  readonly layout: Layout;
}

const raw = new WeakMap<WasmEngine, CoreExports>();
/** The raw core exports of a wasm engine (physLoad and the like): for the
 *  project's own tests and tools, not exported by the package. */
export function coreOf(e: WasmEngine): CoreExports { return raw.get(e)!; }

export class WasmEngine extends CoreEngine {
  readonly #core: CoreExports;
  readonly #m32: Uint32Array;

  private constructor(parts: EngineParts & { x86: CoreExports }, readonly memory: WebAssembly.Memory) {
    super(parts);
    this.#core = parts.x86;
    this.#m32 = new Uint32Array(parts.buffer);
  }

  /** CoreEngine.translatePa with this engine's export called from a call site
   *  of its own: CoreEngine's is shared by every engine's core, and an
   *  emulator's per-access call should not pay for that polymorphism (about
   *  4 ns a call when both engines run in one process, `wasmmu bench`). */
  override translatePa(va: number, access: Access): number {
    checkPaArgs(va, access);
    if (this.#m32[ARCH] === Arch.S390) return super.translatePa(va, access);
    return this.#core.translatePa(va, access);
  }

  /** The memory and the core's miss entry points, for an emulator that inlines
   *  the hit test (docs/TLB-ABI.md, "Embedding"). */
  embedding(): Embedding {
    const c = this.#core;
    return {
      memory: this.memory, translatePa: c.translatePa, translate: c.translate, tlbFlushPage: c.tlbFlushPage,
      offsets: EMBED, layout: this.layout,
    };
  }

  /** Prepare memory (an embedder's `opts.memory`, grown if too small, or a
   *  new one), instantiate the core over it and publish the layout to it. */
  static async create(opts: EngineOptions = {}): Promise<WasmEngine> {
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
    // A shared memory needs the core that declares its import shared.
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const inst = await WebAssembly.instantiate(await (shared ? sharedCoreModule() : coreModule()), { env: { memory } });
    const core = inst.exports as unknown as CoreExports;
    const refused = abiInitError(core.init(), memory.buffer);
    if (refused) throw new Error(refused);
    const e = new WasmEngine({ name: "wasm", layout, buffer: memory.buffer, x86: core, s390: core }, memory);
    raw.set(e, core);
    return e;
  }
}
