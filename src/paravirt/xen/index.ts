// The Xen PV model's public surface (re-exported by src/index.ts).
export { auditXen } from "./audit.js";
export { buildXenPvGuest, type XenPvGuest, type XenPvGuestOptions } from "./domain-builder.js";
export { HypercallError, XenErrno, xenErrName } from "./errno.js";
export { type FrameInfo, FrameTable, PgType, PG_TYPE_NAMES } from "./frame-table.js";
export {
  type CallOptions, formatLogEntry, type HypercallLogEntry, type XenCpu, type XenDomain, XenHypervisor,
  type XenOptions, type XenVcpu,
} from "./hypervisor.js";
export {
  type BatchResult, DomId, MMUEXT_NAMES, MmuCmd, type MmuExtOp, MmuExtCmd, type MmuUpdate, Uvmf,
} from "./interface.js";
export { XenMm } from "./mm.js";
export { GuestPageFault, XEN_PAGE_OFFSET, type XenGuestCpu, XenMmuOps, type XenMmuOptions } from "./mmu-pv.js";
export { Multicall } from "./multicall.js";
export { INVALID_MFN, P2m, pseudoPhysMem } from "./p2m.js";
