import type { Engine, EngineName, EngineOptions } from "./engine.js";
import type { S390Methods } from "./s390.js";
import { TsEngine } from "./ts/engine.js";
import { WasmEngine } from "./wasm.js";

export * from "./engine.js";
export { S390Methods, S390OpError, S390_DEFAULT_PSW, S390_QEMU_OPTIONS, type S390Core, type S390State, type S390Update } from "./s390.js";
export { CoreEngine } from "./core-engine.js";

/** Create an engine: "wasm" (the product's hot path) or "ts" (the reference twin). */
export async function createEngine(name: EngineName, opts: EngineOptions = {}): Promise<Engine & S390Methods> {
  if (name === "wasm") return WasmEngine.create(opts);
  if (name === "ts") return TsEngine.create(opts);
  throw new TypeError(`createEngine: unknown engine ${JSON.stringify(name)} (expected "wasm" or "ts")`);
}
export { WasmEngine, TsEngine };
export type { Embedding } from "./wasm.js";
