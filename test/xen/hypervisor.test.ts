import { describe, expect, it } from "vitest";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { XenErrno } from "../../src/paravirt/xen/errno.js";
import { PgType } from "../../src/paravirt/xen/frame-table.js";
import { MmuCmd, MmuExtCmd, Uvmf } from "../../src/paravirt/xen/interface.js";
import { makeEntry } from "../../src/kernel/x86/pgtable.js";
import {
  _PAGE_ACCESSED as PAGE_ACCESSED, _PAGE_DIRTY as PAGE_DIRTY, _PAGE_RW as PAGE_RW, _PAGE_TABLE as PAGE_TABLE,
} from "../../src/kernel/x86/pgtable-types.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO } from "../../src/paravirt/xen/mmu-pv.js";
import { machine, pinAndLoad, PGD, PMD, PTE_A, PTE_B, PUD, TABLE_PFNS } from "./fixture.js";

const { EINVAL, EBUSY } = { EINVAL: -XenErrno.EINVAL, EBUSY: -XenErrno.EBUSY };

describe("Xen hypervisor model: validation and pinning", () => {
  it("pinning the pgd validates the whole tree bottom-up and takes exactly the references the entries imply", async () => {
    const m = await machine();
    pinAndLoad(m);
    const f = (pfn: number) => m.xen.frame(m.mfn(pfn));
    expect(f(PGD)).toMatchObject({ type: PgType.L4, typeCount: 2, pinned: true, validated: true }); // pin + base pointer
    expect(f(PUD)).toMatchObject({ type: PgType.L3, typeCount: 1, pinned: false, validated: true });
    expect(f(PMD)).toMatchObject({ type: PgType.L2, typeCount: 1, validated: true });
    expect(f(PTE_A)).toMatchObject({ type: PgType.L1, typeCount: 1, validated: true });
    expect(f(PTE_B)).toMatchObject({ type: PgType.L1, typeCount: 1, validated: true });
    expect(f(10)).toMatchObject({ type: PgType.Writable, typeCount: 1 });       // the RW direct-map alias
    expect(f(PTE_A).count).toBe(1 + 1 + 1);  // allocated + pmd entry + its own RO alias in pte A
    expect(auditXen(m.xen, [m.d1.id, m.d2.id])).toEqual([]);
  });

  it("an L1 frame (count 1) cannot gain a writable mapping; a read-only one is fine", async () => {
    const m = await machine();
    pinAndLoad(m);
    // pte B is an L1 with type count 1. Map it from pte A's slot 100.
    const rw = m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_A, 100), val: makeEntry(m.mfn(PTE_B), PAGE_KERNEL) }]);
    expect(rw).toEqual({ rc: EBUSY, done: 0 });
    expect(m.phys.read64(Number(m.entryMa(PTE_A, 100)))).toBe(0n);
    const ro = m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_A, 100), val: makeEntry(m.mfn(PTE_B), PAGE_KERNEL_RO) }]);
    expect(ro).toEqual({ rc: 0, done: 1 });
    expect(m.phys.read64(Number(m.entryMa(PTE_A, 100)))).toBe(makeEntry(m.mfn(PTE_B), PAGE_KERNEL_RO));
    expect(m.xen.frame(m.mfn(PTE_B))).toMatchObject({ type: PgType.L1, typeCount: 1 });
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("pinning a frame whose alias is writable fails; after update_va_mapping to RO it succeeds; pinning again fails", async () => {
    const m = await machine();
    pinAndLoad(m);
    const t = 20, tm = m.mfn(t);                      // an ordinary page, mapped RW at dmVa(20)
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: tm }])).toEqual({ rc: EINVAL, done: 0 });
    expect(m.xen.frame(tm)).toMatchObject({ type: PgType.Writable, typeCount: 1, pinned: false });
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(t), makeEntry(tm, PAGE_KERNEL_RO), Uvmf.INVLPG)).toBe(0);
    expect(m.xen.frame(tm)).toMatchObject({ typeCount: 0 });
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: tm }])).toEqual({ rc: 0, done: 1 });
    expect(m.xen.frame(tm)).toMatchObject({ type: PgType.L1, typeCount: 1, pinned: true, validated: true });
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: tm }])).toEqual({ rc: EINVAL, done: 0 });
    expect(m.xen.frame(tm)).toMatchObject({ typeCount: 1, pinned: true });
    // And now the alias cannot go back to RW while it is pinned.
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(t), makeEntry(tm, PAGE_KERNEL), Uvmf.INVLPG)).toBe(EBUSY);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("an L1 entry referencing another domain's frame fails validation, by update and by pin", async () => {
    const m = await machine();
    pinAndLoad(m);
    const foreign = m.d2.mfnList[3]!;
    for (const flags of [PAGE_KERNEL, PAGE_KERNEL_RO]) {
      expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_B, 7), val: makeEntry(foreign, flags) }]))
        .toEqual({ rc: EBUSY, done: 0 });
    }
    // A fresh L1 candidate with the foreign entry written while it was an ordinary page.
    const c = 30;
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(c), makeEntry(m.mfn(c), PAGE_KERNEL_RO), Uvmf.INVLPG)).toBe(0);
    m.phys.write64(m.mfn(c) * 4096 + 5 * 8, makeEntry(m.mfn(40), PAGE_KERNEL_RO));
    m.phys.write64(m.mfn(c) * 4096 + 9 * 8, makeEntry(foreign, PAGE_KERNEL_RO));
    const before = m.xen.frame(m.mfn(40)).count;
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(c) }])).toEqual({ rc: EBUSY, done: 0 });
    expect(m.xen.frame(m.mfn(c))).toMatchObject({ typeCount: 0, pinned: false, validated: false });
    expect(m.xen.frame(m.mfn(40)).count).toBe(before);     // slot 5's reference was undone
    expect(auditXen(m.xen, [m.d1.id, m.d2.id])).toEqual([]);
  });

  it("unpinning the unloaded pgd demotes the tree and frees the tables for writable use again", async () => {
    const m = await machine();
    pinAndLoad(m);
    // Load a different L4 so the pgd's only typed reference is the pin.
    const other = 50;
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(other), makeEntry(m.mfn(other), PAGE_KERNEL_RO), Uvmf.INVLPG)).toBe(0);
    m.phys.write64(m.mfn(other) * 4096, makeEntry(m.mfn(PUD), PAGE_TABLE));
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(other) }]).rc).toBe(0);
    expect(m.xen.frame(m.mfn(PUD)).typeCount).toBe(2);   // referenced by both roots
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(PGD) }]).rc).toBe(0);
    expect(m.xen.frame(m.mfn(PGD))).toMatchObject({ typeCount: 0, validated: false, pinned: false });
    expect(m.xen.frame(m.mfn(PUD)).typeCount).toBe(1);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
    // The old pgd is an ordinary frame now: a writable mapping of it is accepted.
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(PGD), makeEntry(m.mfn(PGD), PAGE_KERNEL), Uvmf.INVLPG)).toBe(0);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("a batch stops at the first failure and reports how many succeeded; the failed entry and the rest change nothing", async () => {
    const m = await machine();
    pinAndLoad(m);
    const good = (slot: number, pfn: number) => ({ ptr: m.entryMa(PTE_B, slot), val: makeEntry(m.mfn(pfn), PAGE_KERNEL_RO) });
    const bad = { ptr: m.entryMa(PTE_B, 3), val: makeEntry(m.d2.mfnList[0]!, PAGE_KERNEL_RO) };
    const r = m.xen.mmuUpdate(m.d1.id, [good(1, 60), good(2, 61), bad, good(4, 62)]);
    expect(r).toEqual({ rc: EBUSY, done: 2 });
    const slot = (s: number) => m.phys.read64(Number(m.entryMa(PTE_B, s)));
    expect([slot(1), slot(2), slot(3), slot(4)]).toEqual([makeEntry(m.mfn(60), PAGE_KERNEL_RO), makeEntry(m.mfn(61), PAGE_KERNEL_RO), 0n, 0n]);
    const ext = m.xen.mmuextOp(m.d1.id, [
      { cmd: MmuExtCmd.TLB_FLUSH_LOCAL }, { cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(PTE_A) }, { cmd: MmuExtCmd.TLB_FLUSH_ALL },
    ]);
    expect(ext).toEqual({ rc: EINVAL, done: 1 });
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("MMU_PT_UPDATE_PRESERVE_AD keeps the A/D bits the hardware set; NORMAL does not", async () => {
    const m = await machine();
    pinAndLoad(m);
    const ma = Number(m.entryMa(PTE_A, 33));
    m.phys.write64(ma, m.phys.read64(ma) | PAGE_ACCESSED | PAGE_DIRTY);    // as the walker would
    const nv = makeEntry(m.mfn(33), PAGE_KERNEL_RO & ~PAGE_ACCESSED);
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_A, 33) | BigInt(MmuCmd.PT_UPDATE_PRESERVE_AD), val: nv }]).rc).toBe(0);
    expect(m.phys.read64(ma)).toBe(nv | PAGE_ACCESSED | PAGE_DIRTY);
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_A, 33), val: nv }]).rc).toBe(0);
    expect(m.phys.read64(ma)).toBe(nv);
  });

  it("MMU_MACHPHYS_UPDATE sets the m2p of an own frame", async () => {
    const m = await machine();
    const r = m.xen.mmuUpdate(m.d1.id, [{ ptr: BigInt(m.mfn(70) * 4096) | BigInt(MmuCmd.MACHPHYS_UPDATE), val: 99n }]);
    expect(r).toEqual({ rc: 0, done: 1 });
    expect(m.xen.frame(m.mfn(70)).m2p).toBe(99);
  });

  it("the p2m is not the identity, and the m2p inverts it", async () => {
    const m = await machine();
    const moved = m.d1.mfnList.filter((mfn, pfn) => mfn !== pfn + m.d1.mfnList.reduce((a, b) => Math.min(a, b))).length;
    expect(moved).toBeGreaterThan(100);
    expect(new Set(m.d1.mfnList).size).toBe(128);
    m.d1.mfnList.forEach((mfn, pfn) => expect(m.xen.frame(mfn).m2p).toBe(pfn));
  });

  it("base pointers: NEW_BASEPTR moves the typed reference; vCPU 1 may hold the same pgd", async () => {
    const m = await machine();
    pinAndLoad(m);
    const cr3s: bigint[] = [];
    m.xen.attachCpu(m.d1.id, 1, { writeCr3: (v) => cr3s.push(v), flushTlb: () => {}, invlpg: () => {} });
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(PGD) }], { vcpu: 1 }).rc).toBe(0);
    expect(cr3s).toEqual([BigInt(m.mfn(PGD)) << 12n]);
    expect(m.xen.frame(m.mfn(PGD)).typeCount).toBe(3);
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.NEW_USER_BASEPTR, mfn: m.mfn(PGD) }]).rc).toBe(0);
    expect(m.xen.frame(m.mfn(PGD)).typeCount).toBe(4);
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.NEW_USER_BASEPTR, mfn: 0 }]).rc).toBe(0);
    expect(m.xen.frame(m.mfn(PGD)).typeCount).toBe(3);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("TLB flush requests reach the vCPUs they name", async () => {
    const m = await machine();
    pinAndLoad(m);
    const seen: string[] = [];
    const cpu = (n: number) => ({ writeCr3: () => {}, flushTlb: () => { seen.push(`flush${n}`); }, invlpg: (va: bigint) => { seen.push(`invlpg${n}:${va.toString(16)}`); } });
    m.xen.attachCpu(m.d1.id, 0, cpu(0));
    m.xen.attachCpu(m.d1.id, 1, cpu(1));
    m.xen.mmuextOp(m.d1.id, [
      { cmd: MmuExtCmd.TLB_FLUSH_LOCAL }, { cmd: MmuExtCmd.INVLPG_LOCAL, linearAddr: 0x1000n },
      { cmd: MmuExtCmd.TLB_FLUSH_MULTI, vcpuMask: [1] }, { cmd: MmuExtCmd.INVLPG_MULTI, vcpuMask: [0, 1], linearAddr: 0x2000n },
      { cmd: MmuExtCmd.TLB_FLUSH_ALL }, { cmd: MmuExtCmd.INVLPG_ALL, linearAddr: 0x3000n },
    ]);
    expect(seen).toEqual(["flush0", "invlpg0:1000", "flush1", "invlpg0:2000", "invlpg1:2000", "flush0", "flush1", "invlpg0:3000", "invlpg1:3000"]);
    seen.length = 0;
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(40), makeEntry(m.mfn(40), PAGE_KERNEL_RO), Uvmf.INVLPG | Uvmf.ALL)).toBe(0);
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(41), makeEntry(m.mfn(41), PAGE_KERNEL_RO), Uvmf.TLB_FLUSH)).toBe(0);
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(42), makeEntry(m.mfn(42), PAGE_KERNEL_RO), Uvmf.NONE)).toBe(0);
    expect(seen).toEqual([`invlpg0:${m.dmVa(40).toString(16)}`, `invlpg1:${m.dmVa(40).toString(16)}`, "flush0"]);
  });

  it("a frame that becomes a page table while it may still be cached writable flushes every vCPU's TLB (type change)", async () => {
    const m = await machine();
    pinAndLoad(m);
    const flushes: number[] = [];
    for (const v of [0, 1]) m.xen.attachCpu(m.d1.id, v, { writeCr3: () => {}, flushTlb: () => { flushes.push(v); }, invlpg: () => {} });
    const c = 44;
    // Drop the RW alias without a flush: the TLB may still hold it.
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(c), makeEntry(m.mfn(c), PAGE_KERNEL_RO), Uvmf.NONE)).toBe(0);
    expect(flushes).toEqual([]);
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(c) }]).rc).toBe(0);
    expect(flushes).toEqual([0, 1]);
    // Pinning a second time as the same type changes no type: no flush.
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.UNPIN_TABLE, mfn: m.mfn(c) }]).rc).toBe(0);
    flushes.length = 0;
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L1_TABLE, mfn: m.mfn(c) }]).rc).toBe(0);
    expect(flushes).toEqual([]);
  });

  it("an L2+ update flushes every vCPU (flush_linear_pt); an L1 update leaves flushing to the guest", async () => {
    const m = await machine();
    pinAndLoad(m);
    let flushes = 0;
    m.xen.attachCpu(m.d1.id, 0, { writeCr3: () => {}, flushTlb: () => { flushes++; }, invlpg: () => {} });
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_B, 9), val: makeEntry(m.mfn(60), PAGE_KERNEL_RO) }]).rc).toBe(0);
    expect(flushes).toBe(0);
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PMD, 2), val: 0n }]).rc).toBe(0);
    expect(flushes).toBe(1);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("MMU_PT_UPDATE_NO_TRANSLATE behaves as NORMAL for a PV guest; a plain frame takes an unchecked write", async () => {
    const m = await machine();
    pinAndLoad(m);
    const v = makeEntry(m.mfn(61), PAGE_KERNEL_RO);
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PTE_B, 3) | BigInt(MmuCmd.PT_UPDATE_NO_TRANSLATE), val: v }]).rc).toBe(0);
    expect(m.phys.read64(Number(m.entryMa(PTE_B, 3)))).toBe(v);
    // Frame 62 is no page table: whatever is written there is just data.
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: BigInt(m.mfn(62) * 4096 + 16), val: 0xdeadn }]).rc).toBe(0);
    expect(m.phys.read64(m.mfn(62) * 4096 + 16)).toBe(0xdeadn);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("SET_LDT, CLEAR_PAGE and COPY_PAGE on ordinary frames", async () => {
    const m = await machine();
    pinAndLoad(m);
    m.phys.write64(m.mfn(63) * 4096 + 8, 0x1234n);
    const r = m.xen.mmuextOp(m.d1.id, [
      { cmd: MmuExtCmd.SET_LDT, linearAddr: 0x10000n, nrEnts: 16 },
      { cmd: MmuExtCmd.COPY_PAGE, mfn: m.mfn(62), srcMfn: m.mfn(63) },
      { cmd: MmuExtCmd.CLEAR_PAGE, mfn: m.mfn(63) },
    ]);
    expect(r).toEqual({ rc: 0, done: 3 });
    expect(m.d1.vcpus[0]).toMatchObject({ ldtBase: 0x10000n, ldtEnts: 16 });
    expect(m.phys.read64(m.mfn(62) * 4096 + 8)).toBe(0x1234n);
    expect(m.phys.read64(m.mfn(63) * 4096 + 8)).toBe(0n);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("linear page tables: a read-only self-map holds nothing; a read-only map of another validated root holds a typed reference; no chains", async () => {
    const m = await machine();
    pinAndLoad(m);
    const pgd = m.mfn(PGD), ro = PAGE_TABLE & ~PAGE_RW;
    const before = m.xen.frame(pgd).typeCount;
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PGD, 300), val: makeEntry(pgd, ro) }]).rc).toBe(0);
    expect(m.xen.frame(pgd)).toMatchObject({ typeCount: before, linear: 0 });
    // A second root B, validated by a pin.
    const b = 50, bm = m.mfn(b);
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(b), makeEntry(bm, PAGE_KERNEL_RO), Uvmf.INVLPG)).toBe(0);
    m.phys.write64(bm * 4096, makeEntry(m.mfn(PUD), PAGE_TABLE));
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.PIN_L4_TABLE, mfn: bm }]).rc).toBe(0);
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PGD, 301), val: makeEntry(bm, PAGE_TABLE) }]).rc).toBe(EINVAL);   // RW
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PGD, 301), val: makeEntry(bm, ro) }]).rc).toBe(0);
    expect(m.xen.frame(bm)).toMatchObject({ typeCount: 2, linear: -1 });
    expect(m.xen.frame(pgd).linear).toBe(1);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
    // No chains: B (a linear target) may not hold linear entries, and the pgd (which holds one) may not be a target.
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: BigInt(bm * 4096 + 8 * 5), val: makeEntry(pgd, ro) }]).rc).toBe(EINVAL);
    // A root that is not validated cannot be mapped linearly either.
    const c = 51;
    expect(m.xen.updateVaMapping(m.d1.id, m.dmVa(c), makeEntry(m.mfn(c), PAGE_KERNEL_RO), Uvmf.INVLPG)).toBe(0);
    m.phys.write64(m.mfn(c) * 4096, makeEntry(m.mfn(PUD), PAGE_TABLE));
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PGD, 302), val: makeEntry(m.mfn(c), ro) }]).rc).toBe(EINVAL);
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
    // Clearing the linear entry gives everything back; B can then be unpinned and demoted.
    expect(m.xen.mmuUpdate(m.d1.id, [{ ptr: m.entryMa(PGD, 301), val: 0n }]).rc).toBe(0);
    expect(m.xen.frame(bm)).toMatchObject({ typeCount: 1, linear: 0 });
    expect(m.xen.frame(pgd).linear).toBe(0);
    expect(m.xen.mmuextOp(m.d1.id, [{ cmd: MmuExtCmd.UNPIN_TABLE, mfn: bm }]).rc).toBe(0);
    expect(m.xen.frame(bm)).toMatchObject({ typeCount: 0, validated: false });
    expect(auditXen(m.xen, [m.d1.id])).toEqual([]);
  });

  it("the log records every executed operation with its result", async () => {
    const m = await machine();
    pinAndLoad(m);
    expect(m.xen.log.map((e) => `${e.op}:${e.rc}`)).toEqual(["PIN_L4_TABLE:0", "NEW_BASEPTR:0"]);
    expect(TABLE_PFNS.every((p) => m.xen.frame(m.mfn(p)).validated)).toBe(true);
  });
});
