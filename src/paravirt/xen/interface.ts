/**
 * The Xen PV memory-management hypercall ABI as the guest sees it
 * (xen/include/public/xen.h; Linux mirrors it in include/xen/interface/xen.h).
 * Numbers are the real ones so that a hypercall log reads like Xen's.
 *
 * Host-side only (the wasm core knows nothing about Xen), so these live here
 * and not in src/abi.ts.
 */
import { GEOMETRY } from "../../kernel/x86/pgtable-types.js";

/** The paging of the PV guests modelled here: x86-64, 4 levels (pgd → pud → pmd → pte). */
export const XEN_PV_GEOMETRY = GEOMETRY["4level"];

/** mmu_update: the command is in the low 2 bits of `ptr` (xen.h "ptr[1:0]"). */
export const enum MmuCmd {
  /** Checked `*ptr = val`; ptr is the machine address of an entry. */
  NORMAL_PT_UPDATE = 0,
  /** ptr = machine address of a frame; val = its new guest pfn (the m2p). */
  MACHPHYS_UPDATE = 1,
  /** As NORMAL, but the A/D bits already in the entry are ORed into val. */
  PT_UPDATE_PRESERVE_AD = 2,
  /** As NORMAL, val not translated through the foreign domain (PV: same as NORMAL). */
  PT_UPDATE_NO_TRANSLATE = 3,
}

/** mmuext_op commands (xen.h MMUEXT_*). */
export const enum MmuExtCmd {
  PIN_L1_TABLE = 0,
  PIN_L2_TABLE = 1,
  PIN_L3_TABLE = 2,
  PIN_L4_TABLE = 3,
  UNPIN_TABLE = 4,
  NEW_BASEPTR = 5,
  TLB_FLUSH_LOCAL = 6,
  INVLPG_LOCAL = 7,
  TLB_FLUSH_MULTI = 8,
  INVLPG_MULTI = 9,
  TLB_FLUSH_ALL = 10,
  INVLPG_ALL = 11,
  FLUSH_CACHE = 12,
  SET_LDT = 13,
  NEW_USER_BASEPTR = 15,
  CLEAR_PAGE = 16,
  COPY_PAGE = 17,
  FLUSH_CACHE_GLOBAL = 18,
  MARK_SUPER = 19,
  UNMARK_SUPER = 20,
}

export const MMUEXT_NAMES: Readonly<Record<number, string>> = {
  0: "PIN_L1_TABLE", 1: "PIN_L2_TABLE", 2: "PIN_L3_TABLE", 3: "PIN_L4_TABLE",
  4: "UNPIN_TABLE", 5: "NEW_BASEPTR", 6: "TLB_FLUSH_LOCAL", 7: "INVLPG_LOCAL",
  8: "TLB_FLUSH_MULTI", 9: "INVLPG_MULTI", 10: "TLB_FLUSH_ALL", 11: "INVLPG_ALL",
  12: "FLUSH_CACHE", 13: "SET_LDT", 15: "NEW_USER_BASEPTR", 16: "CLEAR_PAGE",
  17: "COPY_PAGE", 18: "FLUSH_CACHE_GLOBAL", 19: "MARK_SUPER", 20: "UNMARK_SUPER",
};

/**
 * update_va_mapping flags (xen.h UVMF_*): the flush type in bits 0..1, the
 * scope in the rest: UVMF_LOCAL (0), UVMF_ALL (4), or else a pointer to a
 * vCPU bitmap (UVMF_MULTI); here the bitmap is passed as a number array.
 */
export const enum Uvmf {
  NONE = 0,
  TLB_FLUSH = 1,
  INVLPG = 2,
  FLUSHTYPE_MASK = 3,
  LOCAL = 0,
  ALL = 4,
}

/** Domain ids with a meaning (xen.h DOMID_*). */
export const enum DomId {
  FIRST_RESERVED = 0x7ff0,
  SELF = 0x7ff0,
  IO = 0x7ff1,
  XEN = 0x7ff2,
  COW = 0x7ff3,
  INVALID = 0x7ff4,
}

/** One mmu_update request (struct mmu_update). */
export interface MmuUpdate {
  /** Machine address of the entry (or frame, for MACHPHYS) | command in bits 0..1. */
  ptr: bigint;
  /** New entry value (or guest pfn, for MACHPHYS). */
  val: bigint;
}

/** One mmuext_op (struct mmuext_op): `cmd` plus the argument the command uses. */
export interface MmuExtOp {
  cmd: number;
  /** arg1.mfn: PIN_*, UNPIN_TABLE, NEW_BASEPTR, NEW_USER_BASEPTR, CLEAR_PAGE, COPY_PAGE (dst). */
  mfn?: number;
  /** arg1.linear_addr: INVLPG_*, SET_LDT. */
  linearAddr?: bigint;
  /** arg2.nr_ents: SET_LDT. */
  nrEnts?: number;
  /** arg2.vcpumask: *_MULTI (vCPU ids). */
  vcpuMask?: readonly number[];
  /** arg2.src_mfn: COPY_PAGE. */
  srcMfn?: number;
}

/** Result of a batched hypercall: `rc` (0 or −errno) and how many entries
 *  completed before the first failure (Xen's `*pdone`). */
export interface BatchResult {
  rc: number;
  done: number;
}
