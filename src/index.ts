// Public API of wasmmu.
export * from "./abi.js";
export { computeLayout, type Layout, type MachineConfig } from "./layout.js";
export { BusError, PhysMem, PoolExhaustedError } from "./phys/phys-mem.js";
export * from "./engine/index.js";
export * from "./kernel/types.js";
export * from "./kernel/page-alloc.js";
export * from "./paravirt/ops.js";
export * from "./paravirt/native.js";
export * from "./paravirt/recording.js";
