// Public API of wasmmu.
export * from "./abi.js";
export { computeLayout, type Layout, type MachineConfig } from "./layout.js";
export { BusError, PhysMem, PoolExhaustedError } from "./phys/phys-mem.js";
export * from "./engine/index.js";
