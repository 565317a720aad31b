// The package exports its public API by name: the engines, the ABI names the
// README and docs/TLB-ABI.md use, the kernel side's entry points, the paravirt
// backends, Xen, and the s390 and boot namespaces — not the Linux-modelled
// helpers the kernel side is built from.
import { describe, expect, it } from "vitest";
import * as api from "../../src/index.js";

const PUBLIC = [
  // ABI
  "Access", "FaultKind", "Vector", "PfErr", "Quirk", "BatchOut", "Leaf", "Cr", "Pte", "Backing",
  "Pgm", "Teid", "Skey", "S390Opt", "S390Cr0", "Dat", "Pgste",
  "Mem", "Ctl", "TlbHdr", "TlbFlag", "TlbStruct", "TlbSize", "TlbEnt", "TlbDeny", "PscData", "Stat", "Abi",
  "EMBED", "accessMask",
  // engines and guest memory
  "createEngine", "ENGINE_NAMES", "newTranslation", "WasmEngine", "TsEngine", "S390Methods", "S390OpError",
  "S390_DEFAULT_PSW", "S390_QEMU_OPTIONS", "computeLayout", "BusError", "PhysMem", "PoolExhaustedError",
  // x86 kernel side
  "Kernel", "KernelBugError", "KernelOomError", "Mm", "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
  "SZ_4K", "SZ_2M", "SZ_4M", "SZ_1G", "PAGE_SHIFT", "PAGE_SIZE", "PgtLevel", "x86ControlFor",
  "MAX_PAGE_ORDER", "PageAllocator", "PageAllocError", "LockdepError", "ptdump", "ptdumpRanges",
  // paravirt hooks
  "PV_MMU_OP_NAMES", "TLB_FLUSH_ALL", "NativeMmuOps", "recordingMmuOps",
  // Xen PV
  "auditXen", "buildXenPvGuest", "HypercallError", "XenErrno", "xenErrName", "FrameTable", "PgType", "PG_TYPE_NAMES",
  "formatLogEntry", "XenHypervisor", "DomId", "MMUEXT_NAMES", "MmuCmd", "MmuExtCmd", "Uvmf", "XenMm", "GuestPageFault",
  "XEN_PAGE_OFFSET", "XenMmuOps", "Multicall", "INVALID_MFN", "P2m", "pseudoPhysMem",
  // namespaces
  "s390", "boot",
];

describe("the package's exports", () => {
  it("are exactly the public API", () => {
    expect(Object.keys(api).sort()).toEqual([...PUBLIC].sort());
  });

  it("leave out the kernel side's Linux-modelled helpers", () => {
    for (const name of ["__pteAlloc", "pteOffsetMapLock", "pgdAlloc", "switchMm", "GEOMETRY", "_PAGE_PRESENT", "MmuGather", "SpinLock", "Opt", "Arch"])
      expect(Object.keys(api), name).not.toContain(name);
  });

  it("keep the s390 and boot namespaces whole", () => {
    expect(typeof api.s390.S390Kernel).toBe("function");
    expect(typeof api.s390.gmapCreate).toBe("function");
    expect(typeof api.boot.plan).toBe("function");
    expect(typeof api.boot.buildAndVerify).toBe("function");
  });
});
