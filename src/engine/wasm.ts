/**
 * The wasm engine: the AssemblyScript core instantiated over a linear memory
 * laid out by src/layout.ts. Guest RAM lives in that memory.
 */
import { Mem } from "../abi.js";
import { computeLayout, type Layout, writeRegionTable } from "../layout.js";
import { PhysMem } from "../phys/phys-mem.js";
import { batchViews } from "./batch.js";
import type { BatchViews, EngineBase, EngineOptions } from "./engine.js";
import { S390Methods, type S390Core } from "./s390.js";
import { type CoreExports, coreModule } from "./wasm-module.js";

export class WasmEngineBase extends S390Methods implements EngineBase {
  readonly name = "wasm" as const;
  readonly phys: PhysMem;
  readonly batch: BatchViews;

  protected constructor(
    readonly layout: Layout,
    readonly memory: WebAssembly.Memory,
    /** The core's raw exports, for tools and tests that probe the core directly. */
    readonly core: CoreExports,
  ) {
    super();
    this.phys = new PhysMem(memory.buffer, layout);
    this.batch = batchViews(memory.buffer, layout);
    this.s390Init();
  }

  protected get s390Core(): S390Core { return this.core as unknown as S390Core; }

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
}
