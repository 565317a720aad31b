/**
 * The pure-TypeScript engine: an independent implementation of the engine
 * contract over an ArrayBuffer laid out exactly like the wasm memory.
 */
import type { Layout } from "../../layout.js";
import { PhysMem } from "../../phys/phys-mem.js";
import { batchViews } from "../batch.js";
import type { BatchViews, EngineBase, EngineOptions } from "../engine.js";
import { S390Methods } from "../s390.js";
import { createTsMemory } from "./memory.js";
import { TsS390Core } from "./s390/core.js";

export class TsEngineBase extends S390Methods implements EngineBase {
  readonly name = "ts" as const;
  readonly layout: Layout;
  readonly buffer: ArrayBuffer;
  readonly phys: PhysMem;
  readonly batch: BatchViews;
  protected readonly s390Core: TsS390Core;

  protected constructor(opts: EngineOptions) {
    super();
    if (opts.memory) throw new TypeError("the ts engine keeps its own memory; `memory` is a wasm-engine option");
    const { layout, buffer } = createTsMemory(opts);
    this.layout = layout;
    this.buffer = buffer;
    this.phys = new PhysMem(buffer, layout);
    this.batch = batchViews(buffer, layout);
    this.s390Core = new TsS390Core(buffer, layout, this.phys, this.batch);
    this.s390Init();
  }
}
