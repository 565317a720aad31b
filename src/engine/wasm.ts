/**
 * The wasm engine: the AssemblyScript core instantiated over a linear memory
 * laid out by src/layout.ts, with guest RAM in that memory. The engine itself
 * is CoreEngine (core-engine.ts); this file only prepares the memory and the
 * instance whose exports are its X86Core and S390Core.
 */
import { Mem } from "../abi.js";
import { computeLayout, writeRegionTable } from "../layout.js";
import { CoreEngine, type EngineParts } from "./core-engine.js";
import type { EngineOptions } from "./engine.js";
import { type CoreExports, coreModule } from "./wasm-module.js";

const raw = new WeakMap<WasmEngine, CoreExports>();
/** The raw core exports of a wasm engine (physLoad and the like): for the
 *  project's own tests and tools, not exported by the package. */
export function coreOf(e: WasmEngine): CoreExports { return raw.get(e)!; }

export class WasmEngine extends CoreEngine {
  private constructor(parts: EngineParts, readonly memory: WebAssembly.Memory) {
    super(parts);
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
    const inst = await WebAssembly.instantiate(await coreModule(), { env: { memory } });
    const core = inst.exports as unknown as CoreExports;
    core.init();
    const e = new WasmEngine({ name: "wasm", layout, buffer: memory.buffer, x86: core, s390: core }, memory);
    raw.set(e, core);
    return e;
  }
}
