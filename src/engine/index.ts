import type { Engine, EngineName, EngineOptions } from "./engine.js";
import type { S390Methods } from "./s390.js";
import { TsEngineBase } from "./ts/engine.js";
import { WasmEngineBase } from "./wasm.js";

export * from "./engine.js";
export { S390Methods, S390OpError, S390_DEFAULT_PSW, S390_QEMU_OPTIONS, type S390Core, type S390State, type S390Update } from "./s390.js";

class WasmEngine extends WasmEngineBase {
  static async create(opts: EngineOptions): Promise<WasmEngine> {
    const { layout, memory, core } = await WasmEngineBase.instantiate(opts);
    return new WasmEngine(layout, memory, core);
  }
}
class TsEngine extends TsEngineBase {
  static create(opts: EngineOptions): TsEngine { return new TsEngine(opts); }
}

/** Create an engine: "wasm" (the product's hot path) or "ts" (the reference twin). */
export async function createEngine(name: EngineName, opts: EngineOptions = {}): Promise<Engine & S390Methods> {
  if (name === "wasm") return WasmEngine.create(opts);
  if (name === "ts") return TsEngine.create(opts);
  throw new TypeError(`unknown engine "${name as string}" (expected "wasm" or "ts")`);
}
export { WasmEngine, TsEngine };
