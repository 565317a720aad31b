/**
 * The public API of wasmmu, by name. What is not listed here is internal
 * (the Linux-modelled helpers the kernel side is built from, the command
 * line, the trace runner, the benchmark) and may change without notice.
 */

// ── The ABI: access kinds, fault decoding, entry and register bits, and the
// linear-memory layout of the TLB and the statistics (docs/TLB-ABI.md).
export {
  Access, FaultKind, Vector, PfErr, Quirk, BatchOut, Leaf, Cr, Pte, Backing,
  Pgm, Teid, Skey, S390Opt, S390Cr0, Dat, Pgste,
  Mem, Ctl, TlbHdr, TlbFlag, TlbStruct, TlbSize, TlbEnt, TlbDeny, PscData, Stat, Abi,
} from "./abi.js";
// The same contract as plain numbers, for an emulator that inlines the TLB hit
// test over the engine's memory (docs/TLB-ABI.md, "Embedding").
export { EMBED, accessMask } from "./embed.js";

// ── Engines: the wasm core and its TypeScript twin, one contract
// (docs/API-CONTRACT.md), and the guest memory they translate into.
export {
  createEngine, ENGINE_NAMES, newTranslation, WasmEngine, TsEngine, S390Methods, S390OpError, S390_DEFAULT_PSW, S390_QEMU_OPTIONS,
  type BatchViews, type Embedding, type Engine, type EngineBase, type EngineName, type EngineOptions, type S390Core, type S390State,
  type S390Update, type Semantics, type Translation, type X86State,
} from "./engine/index.js";
export { computeLayout, type Layout, type MachineConfig } from "./layout.js";
export { BusError, PhysMem, PoolExhaustedError } from "./phys/phys-mem.js";
export type { TlbConfig, TlbGeometry, TlbLevelConfig } from "./tlb/config.js";
export type { TlbKindStats, TlbLevelStats, TlbStats } from "./tlb/stats.js";

// ── The x86 kernel side: a Kernel per machine, an Mm per process, built the way Linux builds them.
export { KernelBugError, KernelOomError } from "./kernel/kernel.js";
export { Kernel, type KernelOptions } from "./kernel/x86/kernel.js";
export type { TlbState } from "./kernel/x86/tlb.js";
export {
  Mm, PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, SZ_4K, SZ_2M, SZ_4M, SZ_1G,
  type FaultResult, type MapOptions, type MmapOptions, type ProtSpec, type Vma,
} from "./kernel/mm.js";
export { PAGE_SHIFT, PAGE_SIZE, PgtLevel, type Pfn, type PhysAddr } from "./kernel/types.js";
export { x86ControlFor } from "./kernel/x86/pgtable.js";
export type { PagingGeometry, PagingMode, TableGeometry } from "./kernel/x86/pgtable-types.js";
export {
  MAX_PAGE_ORDER, PageAllocator, PageAllocError, type AllocOptions, type MemoryMapEntry, type PageAllocatorOptions,
  type PageAllocErrorCode, type PageAllocStats, type PhysRange, type Placement,
} from "./kernel/page-alloc.js";
export { LockdepError, type LockdepMode } from "./kernel/ptlock.js";
export { ptdump, ptdumpRanges, type PtdumpRange } from "./kernel/x86/ptdump.js";

// ── The paravirt hooks (struct pv_mmu_ops) the kernel side writes through, and their backends.
export {
  PV_MMU_OP_NAMES, TLB_FLUSH_ALL, type FlushTlbInfo, type MmuCpu, type PvMm, type PvMmuOpName, type PvMmuOps, type TableGather,
} from "./paravirt/ops.js";
export { NativeMmuOps, type NativeMmuOptions } from "./paravirt/native.js";
export { recordingMmuOps, type PvCall, type RecordingMmuOps, type RecordingOptions } from "./paravirt/recording.js";

// ── Xen PV: the hypervisor's memory management and the guest side.
export {
  auditXen, buildXenPvGuest, HypercallError, XenErrno, xenErrName, FrameTable, PgType, PG_TYPE_NAMES, formatLogEntry, XenHypervisor,
  DomId, MMUEXT_NAMES, MmuCmd, MmuExtCmd, Uvmf, XenMm, GuestPageFault, XEN_PAGE_OFFSET, XenMmuOps, Multicall,
  INVALID_MFN, P2m, pseudoPhysMem,
  type XenPvGuest, type XenPvGuestOptions, type FrameInfo, type CallOptions, type HypercallLogEntry, type XenCpu, type XenDomain,
  type XenOptions, type XenVcpu, type BatchResult, type MmuExtOp, type MmuUpdate, type XenGuestCpu, type XenMmuOptions,
} from "./paravirt/xen/index.js";

// ── s390: the kernel side (fragment allocator, CRST tables, PGSTEs, gmap), Linux names inside.
export * as s390 from "./kernel/s390/index.js";
// ── Early boot: the direct-mapping plan (linux / hpa strategies), build and verification.
export * as boot from "./boot/index.js";
