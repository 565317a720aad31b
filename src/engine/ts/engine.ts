/**
 * The pure-TypeScript engine: CoreEngine (../core-engine.ts) over an
 * ArrayBuffer laid out exactly like the wasm memory, with the TS twins of the
 * core (core.ts for x86, s390/core.ts for s390), so that results and memory
 * side effects compare byte for byte with the wasm engine's.
 */
import { abiInitCode, abiInitError } from "../../embed.js";
import { computeLayout, writeRegionTable } from "../../layout.js";
import { batchViews } from "../batch.js";
import { CoreEngine } from "../core-engine.js";
import type { EngineOptions } from "../engine.js";
import { PhysMem } from "../../phys/phys-mem.js";
import { TsX86Core } from "./core.js";
import { TsS390Core } from "./s390/core.js";

export class TsEngine extends CoreEngine {
  static create(opts: EngineOptions = {}): TsEngine {
    if (opts.memory) throw new TypeError("createEngine: the ts engine keeps its own memory; `memory` is a wasm-engine option");
    const layout = computeLayout(opts);
    const buffer = new ArrayBuffer(layout.totalBytes);
    writeRegionTable(buffer, layout);
    // The wasm core's init() check, so that both engines accept the same control blocks.
    const refused = abiInitError(abiInitCode(buffer), buffer);
    if (refused) throw new Error(refused);
    const batch = batchViews(buffer, layout);
    return new TsEngine({
      name: "ts", layout, buffer,
      x86: new TsX86Core(buffer, layout, batch),
      s390: new TsS390Core(buffer, layout, new PhysMem(buffer, layout), batch),
    });
  }
}
