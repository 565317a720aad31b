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
export * from "./kernel/kernel.js";
export * from "./kernel/mm.js";
export * from "./kernel/ptdesc.js";
export * from "./kernel/ptlock.js";
export * from "./kernel/pgtable-generic.js";
export * from "./kernel/mmu-gather.js";
export * from "./kernel/x86/pgtable.js";
export * from "./kernel/x86/entry.js";
export * from "./kernel/x86/pgalloc.js";
export * from "./kernel/x86/pgd-cache.js";
export * from "./kernel/x86/kernel-mappings.js";
export * from "./kernel/x86/tlb.js";
export * from "./paravirt/xen/index.js";
export * from "./kernel/x86/ptdump.js";
export * from "./kernel/x86/pgtable-cost.js";
export * as s390 from "./kernel/s390/index.js";
// early boot: the direct-mapping plan (linux / hpa strategies), build and verification
export * as boot from "./boot/index.js";
