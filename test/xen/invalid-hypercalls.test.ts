/**
 * Every invalid hypercall variant is rejected with Xen's error code and
 * changes nothing: not the frame table, not machine memory, not a vCPU.
 * Each row starts from the same pinned-and-loaded machine (fixture.ts).
 */
import { describe, expect, it } from "vitest";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { XenErrno } from "../../src/paravirt/xen/errno.js";
import { DomId, type MmuExtOp, MmuCmd, MmuExtCmd, Uvmf } from "../../src/paravirt/xen/interface.js";
import { makeEntry } from "../../src/kernel/x86/pgtable.js";
import {
  _PAGE_GLOBAL as PAGE_GLOBAL, _PAGE_PCD as PAGE_PCD, _PAGE_PSE as PAGE_PSE, _PAGE_PWT as PAGE_PWT,
  _PAGE_RW as PAGE_RW, _PAGE_TABLE as PAGE_TABLE,
} from "../../src/kernel/x86/pgtable-types.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO } from "../../src/paravirt/xen/mmu-pv.js";
import { type Machine, machine, pinAndLoad, PGD, PMD, PTE_A, PTE_B, PUD, snapshot } from "./fixture.js";

const E = (e: XenErrno): number => -e;

/** A page that is an ordinary frame of d1 but whose alias in the direct map is RO (a table candidate). */
function roCandidate(m: Machine, pfn: number, entries: [number, bigint][] = []): number {
  const r = m.xen.updateVaMapping(m.d1.id, m.dmVa(pfn), makeEntry(m.mfn(pfn), PAGE_KERNEL_RO), Uvmf.INVLPG);
  if (r !== 0) throw new Error("fixture: could not make the alias read-only");
  for (const [slot, v] of entries) m.phys.write64(m.mfn(pfn) * 4096 + slot * 8, v);
  return m.mfn(pfn);
}

interface Row {
  name: string;
  /** Extra state (runs before the snapshot). Returns anything `call` needs. */
  setup?: (m: Machine) => number;
  call: (m: Machine, x: number) => number;
  rc: number;
}

const upd = (m: Machine, ptr: bigint, val: bigint, opts = {}) => m.xen.mmuUpdate(m.d1.id, [{ ptr, val }], opts).rc;
const ext = (m: Machine, op: MmuExtOp, opts = {}) => m.xen.mmuextOp(m.d1.id, [op], opts).rc;

const ROWS: Row[] = [
  // ── mmu_update: L1 entries ──
  { name: "L1 entry: writable alias of a page table (pinned pgd)", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(m.mfn(PGD), PAGE_KERNEL)) },
  { name: "L1 entry: writable alias of an L1 in use", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(m.mfn(PTE_A), PAGE_KERNEL)) },
  { name: "L1 entry: turning the pgd's own RO alias writable", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_A, PGD), makeEntry(m.mfn(PGD), PAGE_KERNEL)) },
  { name: "L1 entry: foreign domain's frame, writable", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(m.d2.mfnList[1]!, PAGE_KERNEL)) },
  { name: "L1 entry: foreign domain's frame, read-only", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(m.d2.mfnList[1]!, PAGE_KERNEL_RO)) },
  { name: "L1 entry: a frame of Xen itself", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(256 + 3, PAGE_KERNEL_RO)) },
  { name: "L1 entry: a free frame nobody owns", rc: E(XenErrno.EBUSY),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(1000, PAGE_KERNEL_RO)) },
  { name: "L1 entry: I/O memory (first MiB) without privilege", rc: E(XenErrno.EPERM),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(0xb8, PAGE_KERNEL)) },
  { name: "L1 entry: a frame beyond machine RAM", rc: E(XenErrno.EPERM),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(0x12345, PAGE_KERNEL_RO)) },
  { name: "L1 entry: cache attributes (PCD|PWT) without cache-flush permission", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), makeEntry(m.mfn(60), PAGE_KERNEL_RO | PAGE_PCD | PAGE_PWT)) },
  // ── mmu_update: L2..L4 entries ──
  { name: "L2 entry: PSE superpage", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.mfn(64), PAGE_TABLE | PAGE_PSE)) },
  { name: "L2 entry: global bit", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.mfn(PTE_B), PAGE_TABLE | PAGE_GLOBAL)) },
  { name: "L2 entry: wrong type (target is an L2)", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.mfn(PMD), PAGE_TABLE)) },
  { name: "L2 entry: wrong type (target is the pinned L4)", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.mfn(PGD), PAGE_TABLE)) },
  { name: "L2 entry: target still mapped writable", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.mfn(20), PAGE_TABLE)) },
  { name: "L2 entry: foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PMD, 5), makeEntry(m.d2.mfnList[2]!, PAGE_TABLE)) },
  { name: "L2 entry: candidate L1 whose validation fails deep inside (RW alias of the pud)", rc: E(XenErrno.EBUSY),
    setup: (m) => roCandidate(m, 21, [[0, makeEntry(m.mfn(60), PAGE_KERNEL)], [1, makeEntry(m.mfn(PUD), PAGE_KERNEL)]]),
    call: (m, c) => upd(m, m.entryMa(PMD, 5), makeEntry(c, PAGE_TABLE)) },
  { name: "L3 entry: candidate L2 whose L1 references a foreign frame", rc: E(XenErrno.EBUSY),
    setup: (m) => {
      const l1 = roCandidate(m, 22, [[0, makeEntry(m.d2.mfnList[0]!, PAGE_KERNEL_RO)]]);
      return roCandidate(m, 23, [[0, makeEntry(l1, PAGE_TABLE)]]);
    },
    call: (m, c) => upd(m, m.entryMa(PUD, 4), makeEntry(c, PAGE_TABLE)) },
  { name: "L4 entry: writable self-map (linear page table with write access)", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PGD, 300), makeEntry(m.mfn(PGD), PAGE_TABLE)) },
  { name: "L4 entry: read-only linear map of a root that is not validated", rc: E(XenErrno.EINVAL),
    setup: (m) => roCandidate(m, 28, [[0, makeEntry(m.mfn(PUD), PAGE_TABLE)]]),
    call: (m, c) => upd(m, m.entryMa(PGD, 302), makeEntry(c, PAGE_TABLE & ~PAGE_RW)) },
  { name: "L4 entry: writable linear map of another validated root", rc: E(XenErrno.EINVAL),
    setup: (m) => {
      const c = roCandidate(m, 29, [[0, makeEntry(m.mfn(PUD), PAGE_TABLE)]]);
      if (ext(m, { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: c }) !== 0) throw new Error("fixture: pin");
      return c;
    },
    call: (m, c) => upd(m, m.entryMa(PGD, 303), makeEntry(c, PAGE_TABLE)) },
  { name: "L4 entry: Xen-private slot 256", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PGD, 256), makeEntry(m.mfn(PUD), PAGE_TABLE)) },
  { name: "L4 entry: Xen-private slot 271, even non-present", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, m.entryMa(PGD, 271), 0n) },
  { name: "mmu_update: entry pointer in a foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, BigInt(m.d2.mfnList[0]! * 4096), 0n) },
  { name: "mmu_update: entry pointer in a Xen frame", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, BigInt((256 + 1) * 4096 + 8), 0n) },
  { name: "mmu_update: entry pointer beyond RAM", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, 0x40000000n, 0n) },
  { name: "mmu_update: unknown command 5 in ptr[2:0]", rc: E(XenErrno.ENOSYS),
    call: (m) => upd(m, m.entryMa(PTE_B, 1) | 5n, 0n) },
  { name: "mmu_update: MACHPHYS_UPDATE of a foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => upd(m, BigInt(m.d2.mfnList[0]! * 4096) | BigInt(MmuCmd.MACHPHYS_UPDATE), 5n) },
  { name: "mmu_update: foreigndom = another domain (no privilege)", rc: E(XenErrno.EPERM),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), 0n, { foreignDom: m.d2.id }) },
  { name: "mmu_update: foreigndom = a domain that does not exist", rc: E(XenErrno.ESRCH),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), 0n, { foreignDom: 77 }) },
  { name: "mmu_update: foreigndom = DOMID_IO", rc: E(XenErrno.EPERM),
    call: (m) => upd(m, m.entryMa(PTE_B, 1), 0n, { foreignDom: DomId.IO }) },
  { name: "mmu_update batch: 2 good then a foreign entry (done = 2, first two stay)", rc: E(XenErrno.EBUSY),
    call: (m) => {
      const r = m.xen.mmuUpdate(m.d1.id, [
        { ptr: m.entryMa(PTE_B, 1), val: makeEntry(m.mfn(60), PAGE_KERNEL_RO) },
        { ptr: m.entryMa(PTE_B, 2), val: makeEntry(m.mfn(61), PAGE_KERNEL_RO) },
        { ptr: m.entryMa(PTE_B, 3), val: makeEntry(m.d2.mfnList[0]!, PAGE_KERNEL_RO) },
      ]);
      // Undo the two that succeeded so the "nothing else changed" check applies to the failure.
      if (r.done !== 2) return 0;
      m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_B, 1), val: 0n }, { ptr: m.entryMa(PTE_B, 2), val: 0n }]);
      return r.rc;
    } },
  // ── mmuext_op: pinning ──
  { name: "PIN_L1: frame still mapped writable (type conflict)", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(20) }) },
  { name: "PIN_L4: frame still mapped writable", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: m.mfn(20) }) },
  { name: "PIN_L2: wrong type (frame is an L1 in use)", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L2_TABLE, mfn: m.mfn(PTE_A) }) },
  { name: "PIN_L4: double pin", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: m.mfn(PGD) }) },
  { name: "PIN_L1: double pin of a pinned L1", rc: E(XenErrno.EINVAL),
    setup: (m) => { ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(PTE_B) }); return 0; },
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(PTE_B) }) },
  { name: "PIN_L1: foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.d2.mfnList[0]! }) },
  { name: "PIN_L1: mfn beyond RAM", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: 0x7fffff }) },
  { name: "PIN_L1: candidate maps a page table writable", rc: E(XenErrno.EBUSY),
    setup: (m) => roCandidate(m, 24, [[3, makeEntry(m.mfn(PMD), PAGE_KERNEL)]]),
    call: (m, c) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: c }) },
  { name: "PIN_L1: candidate maps itself writable", rc: E(XenErrno.EBUSY),
    setup: (m) => roCandidate(m, 25, [[0, makeEntry(m.mfn(25), PAGE_KERNEL)]]),
    call: (m, c) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: c }) },
  { name: "PIN_L1: candidate has a disallowed flag (PAT)", rc: E(XenErrno.EINVAL),
    setup: (m) => roCandidate(m, 26, [[0, makeEntry(m.mfn(60), PAGE_KERNEL_RO | PAGE_PSE)]]),
    call: (m, c) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: c }) },
  { name: "PIN_L4: candidate puts a guest table in a Xen slot only (ok) but a bad one in 5", rc: E(XenErrno.EINVAL),
    setup: (m) => roCandidate(m, 27, [[260, makeEntry(m.d2.mfnList[0]!, PAGE_TABLE)], [5, makeEntry(m.mfn(PTE_A), PAGE_TABLE)]]),
    call: (m, c) => ext(m, { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: c }) },
  { name: "UNPIN: frame that is not pinned", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(PUD) }) },
  { name: "UNPIN: ordinary frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(20) }) },
  { name: "UNPIN: foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.d2.mfnList[0]! }) },
  { name: "PIN_L1 with foreigndom = another domain", rc: E(XenErrno.EPERM),
    call: (m) => ext(m, { cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(PTE_B) }, { foreignDom: m.d2.id }) },
  // ── mmuext_op: base pointers ──
  { name: "NEW_BASEPTR: an L1 (not an L4)", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(PTE_A) }) },
  { name: "NEW_BASEPTR: an L3 (not an L4)", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(PUD) }) },
  { name: "NEW_BASEPTR: a writable-mapped frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(20) }) },
  { name: "NEW_BASEPTR: foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.d2.mfnList[0]! }) },
  { name: "NEW_BASEPTR: with foreigndom", rc: E(XenErrno.EPERM),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(PGD) }, { foreignDom: m.d2.id }) },
  { name: "NEW_USER_BASEPTR: an L2 (not an L4)", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.NEW_USER_BASEPTR, mfn: m.mfn(PMD) }) },
  // ── mmuext_op: the rest ──
  { name: "mmuext_op: unknown command 14", rc: E(XenErrno.ENOSYS), call: (m) => ext(m, { cmd: 14 }) },
  { name: "mmuext_op: unknown command 99", rc: E(XenErrno.ENOSYS), call: (m) => ext(m, { cmd: 99 }) },
  { name: "MARK_SUPER", rc: E(XenErrno.EOPNOTSUPP), call: (m) => ext(m, { cmd: MmuExtCmd.MARK_SUPER, mfn: m.mfn(60) }) },
  { name: "FLUSH_CACHE without permission", rc: E(XenErrno.EACCES), call: (m) => ext(m, { cmd: MmuExtCmd.FLUSH_CACHE }) },
  { name: "TLB_FLUSH_LOCAL with foreigndom", rc: E(XenErrno.EPERM),
    call: (m) => ext(m, { cmd: MmuExtCmd.TLB_FLUSH_LOCAL }, { foreignDom: m.d2.id }) },
  { name: "TLB_FLUSH_MULTI without a vCPU mask", rc: E(XenErrno.EINVAL), call: (m) => ext(m, { cmd: MmuExtCmd.TLB_FLUSH_MULTI }) },
  { name: "SET_LDT: 8193 entries", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.SET_LDT, nrEnts: 8193, linearAddr: 0x10000n }) },
  { name: "SET_LDT: misaligned base", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.SET_LDT, nrEnts: 4, linearAddr: 0x10008n }) },
  { name: "SET_LDT: base in Xen's hole", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.SET_LDT, nrEnts: 4, linearAddr: 0xffff800000000000n }) },
  { name: "CLEAR_PAGE: a pinned page table", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.CLEAR_PAGE, mfn: m.mfn(PGD) }) },
  { name: "COPY_PAGE: onto a page table", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.COPY_PAGE, mfn: m.mfn(PTE_A), srcMfn: m.mfn(60) }) },
  { name: "COPY_PAGE: from a foreign frame", rc: E(XenErrno.EINVAL),
    call: (m) => ext(m, { cmd: MmuExtCmd.COPY_PAGE, mfn: m.mfn(60), srcMfn: m.d2.mfnList[0]! }) },
  { name: "mmuext batch: flush, then double pin (done = 1)", rc: E(XenErrno.EINVAL),
    call: (m) => {
      const r = m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.TLB_FLUSH_LOCAL }, { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: m.mfn(PGD) },
        { cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(PGD) }]);
      return r.done === 1 ? r.rc : 0;
    } },
  // ── update_va_mapping ──
  { name: "update_va_mapping: VA with no L1 (unmapped pmd slot)", rc: E(XenErrno.EINVAL),
    call: (m) => m.xen.updateVaMapping(m.d1.id, 0x40000000n, makeEntry(m.mfn(60), PAGE_KERNEL_RO), Uvmf.INVLPG) },
  { name: "update_va_mapping: VA in Xen's hole", rc: E(XenErrno.EINVAL),
    call: (m) => m.xen.updateVaMapping(m.d1.id, 0xffff800000200000n, 0n, Uvmf.NONE) },
  { name: "update_va_mapping: non-canonical VA", rc: E(XenErrno.EINVAL),
    call: (m) => m.xen.updateVaMapping(m.d1.id, 0x0000800000000000n, 0n, Uvmf.NONE) },
  { name: "update_va_mapping: RW mapping of a page table", rc: E(XenErrno.EBUSY),
    call: (m) => m.xen.updateVaMapping(m.d1.id, m.dmVa(60), makeEntry(m.mfn(PMD), PAGE_KERNEL), Uvmf.INVLPG) },
  { name: "update_va_mapping: foreign frame", rc: E(XenErrno.EBUSY),
    call: (m) => m.xen.updateVaMapping(m.d1.id, m.dmVa(60), makeEntry(m.d2.mfnList[4]!, PAGE_KERNEL_RO), Uvmf.NONE) },
  { name: "update_va_mapping: disallowed PCD", rc: E(XenErrno.EINVAL),
    call: (m) => m.xen.updateVaMapping(m.d1.id, m.dmVa(60), makeEntry(m.mfn(60), PAGE_KERNEL | PAGE_PCD), Uvmf.NONE) },
  { name: "update_va_mapping: foreigndom without privilege", rc: E(XenErrno.EPERM),
    call: (m) => m.xen.updateVaMapping(m.d1.id, m.dmVa(60), 0n, Uvmf.NONE, { foreignDom: m.d2.id }) },
  { name: "update_va_mapping: no base pointer loaded on vCPU 1", rc: E(XenErrno.EINVAL),
    call: (m) => m.xen.updateVaMapping(m.d1.id, m.dmVa(60), 0n, Uvmf.NONE, { vcpu: 1 }) },
];

describe("Xen hypervisor model: invalid hypercalls are rejected and change nothing", () => {
  it.each(ROWS.map((r) => [r.name, r] as const))("%s", async (_name, row) => {
    const m = await machine();
    pinAndLoad(m);
    const x = row.setup?.(m) ?? 0;
    expect(auditXen(m.xen, [m.d1.id, m.d2.id])).toEqual([]);
    const before = snapshot(m);
    const logLen = m.xen.log.length;
    expect(row.call(m, x)).toBe(row.rc);
    expect(snapshot(m) === before).toBe(true);
    expect(auditXen(m.xen, [m.d1.id, m.d2.id])).toEqual([]);
    expect(m.xen.log.slice(logLen).some((e) => e.rc === row.rc) || row.rc === E(XenErrno.ESRCH) || row.rc === E(XenErrno.EPERM)).toBe(true);
  });

  it(`covers every category of misuse: wrong type, foreign frame, writable alias, double pin, unpinned, bad base pointer (${ROWS.length} variants)`, () => {
    const names = ROWS.map((r) => r.name).join("\n");
    for (const want of [/wrong type/, /foreign/, /writable alias/, /double pin/, /not pinned/, /NEW_BASEPTR: an L1/])
      expect(names).toMatch(want);
    expect(ROWS.length).toBeGreaterThanOrEqual(60);
  });
});

export const INVALID_HYPERCALL_ROWS = ROWS.length;
