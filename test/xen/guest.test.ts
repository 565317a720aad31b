/**
 * The Linux side of Xen PV (arch/x86/xen/mmu_pv.c) on a guest built by
 * buildXenPvGuest, run on both engines: the read-only protection of pinned
 * tables is enforced by the emulated MMU (a kernel store to one is a #PF from
 * the walker).
 */
import { describe, expect, it } from "vitest";
import { Access, PfErr, Vector } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type EngineName } from "../../src/engine/index.js";
import { recordingMmuOps } from "../../src/paravirt/recording.js";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { buildXenPvGuest, type XenPvGuestOptions } from "../../src/paravirt/xen/domain-builder.js";
import { HypercallError } from "../../src/paravirt/xen/errno.js";
import { PgType } from "../../src/paravirt/xen/frame-table.js";
import type { HypercallLogEntry } from "../../src/paravirt/xen/hypervisor.js";
import { GuestPageFault } from "../../src/paravirt/xen/mmu-pv.js";
import {
  _PAGE_ACCESSED as PAGE_ACCESSED, _PAGE_DIRTY as PAGE_DIRTY, _PAGE_NX as PAGE_NX,
  _PAGE_PRESENT as PAGE_PRESENT, _PAGE_RW as PAGE_RW, _PAGE_USER as PAGE_USER,
} from "../../src/kernel/x86/pgtable-types.js";
import { MiniMm } from "./mini-mm.js";

const USER_RW = PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_ACCESSED | PAGE_DIRTY | PAGE_NX;
const VA1 = 0x400000n, VA2 = 0x600000n;   // same pud and pmd, two pte pages

async function guest(name: EngineName, opts: Partial<XenPvGuestOptions> = {}) {
  const engine = await createEngine(name, { physSize: 16 << 20 });
  const g = buildXenPvGuest(engine, { nrPages: 1024, nrVcpus: 2, ...opts });
  const rec = recordingMmuOps(g.ops, { ignore: ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] });
  const env = { ops: rec, phys: g.phys, alloc: g.allocator, initPgd: g.initPgd };
  const audit = () => auditXen(g.xen, [g.domain.id]);
  /** Hypercall log entries from index `from`. */
  const since = (from: number): HypercallLogEntry[] => g.xen.log.slice(from);
  /** Is pfn's direct-map alias writable for the kernel right now? */
  const aliasWritable = (pfn: number) => engine.probe(g.ops.va(pfn), Access.Write).fault === 0;
  /** Pseudo-physical page a VA maps to through the mm's pgd, via the engine (vCPU 0). */
  return { engine, g, rec, env, audit, since, aliasWritable };
}

/** An unpinned mm with pgd, 1 pud, 1 pmd and 2 pte pages (what xen_pgd_pin is tested on). */
function smallMm(t: Awaited<ReturnType<typeof guest>>) {
  const mm = MiniMm.create(t.env, 1);
  const d1 = t.g.allocator.allocPage({ zero: true })!, d2 = t.g.allocator.allocPage({ zero: true })!;
  mm.map(VA1, d1, USER_RW);
  mm.map(VA2, d2, USER_RW);
  const tables = [...mm.tables.keys()];
  return { mm, d1, d2, tables, ptes: tables.filter((p) => mm.tables.get(p) === 1) };
}

describe.each(ENGINE_NAMES)("Xen PV guest side (%s engine)", (name) => {
  it("boot: swapper_pg_dir is pinned, its tables are read-only in the direct map, data pages writable", async () => {
    const t = await guest(name);
    expect(t.g.xen.frame(t.g.p2m.pfnToMfn(1))).toMatchObject({ type: PgType.L4, pinned: true });
    for (const pfn of t.g.bootTables) expect(t.aliasWritable(pfn)).toBe(false);
    expect(t.aliasWritable(t.g.bootTables.at(-1)! + 1)).toBe(true);
    expect(t.g.ops.isPagePinned(1)).toBe(true);
    expect(t.audit()).toEqual([]);
  });

  it("xen_pgd_pin pins 5 pages RO; PIN_L1 ×2 precede the PIN_L4, no PIN_L2/L3", async () => {
    const t = await guest(name, { userPgd: false });
    const { mm, tables, ptes } = smallMm(t);
    expect(tables).toHaveLength(5);
    for (const p of tables) expect(t.aliasWritable(p)).toBe(true);
    const from = t.g.xen.log.length;
    t.rec.enterMmap(mm);
    for (const p of tables) {
      expect(t.g.ops.isPagePinned(p)).toBe(true);
      expect(t.aliasWritable(p)).toBe(false);
    }
    const pins = t.since(from).filter((e) => e.op.startsWith("PIN_"));
    expect(pins.map((e) => e.op)).toEqual(["PIN_L1_TABLE", "PIN_L1_TABLE", "PIN_L4_TABLE"]);
    expect(pins.map((e) => e.mfn)).toEqual([...ptes.map((p) => t.g.p2m.pfnToMfn(p)), t.g.p2m.pfnToMfn(mm.pgd / 4096)]);
    expect(pins.every((e) => e.rc === 0)).toBe(true);
    expect(t.audit()).toEqual([]);
  });

  it("x86-64 with a user pgd: xen_pgd_pin makes the user pgd RO and pins it as a second L4", async () => {
    const t = await guest(name);
    const { mm } = smallMm(t);
    const from = t.g.xen.log.length;
    t.rec.enterMmap(mm);
    const user = t.g.ops.userPgd(mm.pgd)!;
    expect(user).not.toBeNull();
    const pins = t.since(from).filter((e) => e.op.startsWith("PIN_")).map((e) => `${e.op}:${e.mfn}`);
    expect(pins.slice(-2)).toEqual([`PIN_L4_TABLE:${t.g.p2m.pfnToMfn(mm.pgd / 4096)}`, `PIN_L4_TABLE:${t.g.p2m.pfnToMfn(user / 4096)}`]);
    expect(t.aliasWritable(user / 4096)).toBe(false);
    // A user-half pgd entry is mirrored into the user pgd.
    expect(t.g.phys.read64(user)).toBe(t.g.phys.read64(mm.pgd));
    expect(t.audit()).toEqual([]);
  });

  it("after pin, a native store to a pte page is a #PF from the walker; xen_set_pte goes through Xen", async () => {
    const t = await guest(name);
    const { mm, ptes } = smallMm(t);
    t.rec.enterMmap(mm);
    const ptep = ptes[0]! * 4096 + 5 * 8;
    const before = t.g.phys.read64(ptep);
    const data = t.g.allocator.allocPage()!;
    const val = t.g.ops.makePte((BigInt(data) << 12n) | USER_RW);
    let fault: unknown;
    try { t.g.ops.kernelStore(ptep, val); } catch (e) { fault = e; }
    expect(fault).toBeInstanceOf(GuestPageFault);
    const pf = fault as GuestPageFault;
    expect(pf.t.vector).toBe(Vector.PF);
    expect(pf.t.errorCode).toBe(PfErr.P | PfErr.W);          // present, write, supervisor
    expect(pf.va).toBe(t.g.ops.va(ptes[0]!) + 40n);
    expect(t.engine.x86().cr2).toBe(pf.va);
    expect(t.g.phys.read64(ptep)).toBe(before);
    const from = t.g.xen.log.length;
    t.rec.setPte(ptep, val);
    expect(t.since(from)).toMatchObject([{ call: "mmu_update", op: "NORMAL_PT_UPDATE", mfn: t.g.p2m.pfnToMfn(ptes[0]!), slot: 5, rc: 0 }]);
    expect(t.g.phys.read64(ptep)).toBe(val);
    expect(t.g.xen.frame(t.g.p2m.pfnToMfn(data))).toMatchObject({ type: PgType.Writable, typeCount: 2 }); // direct map + user
    // And Xen refuses the same hook when the value would map a page table writable.
    expect(() => t.rec.setPte(ptep + 8, t.g.ops.makePte((BigInt(ptes[1]!) << 12n) | USER_RW))).toThrow(HypercallError);
    expect(t.audit()).toEqual([]);
  });

  it("pinned mm: a new pte page is RO and pinned before the pmd entry is written; freeing it unpins, then RW", async () => {
    const t = await guest(name);
    const { mm } = smallMm(t);
    t.rec.enterMmap(mm);
    const va = 0x800000n;                                          // pmd slot 4: a third pte page
    const from = t.g.xen.log.length, hooks = t.rec.log.length;
    mm.map(va, t.g.allocator.allocPage()!, USER_RW);
    const newPte = [...mm.tables.keys()].filter((p) => mm.tables.get(p) === 1).at(-1)!;
    const m = t.g.p2m.pfnToMfn(newPte);
    const log = t.since(from);
    const iRo = log.findIndex((e) => e.call === "update_va_mapping" && e.mfn >= 0 && (e.val & PAGE_RW) === 0n && Number((e.val & 0xffffffffff000n) >> 12n) === m);
    const iPin = log.findIndex((e) => e.op === "PIN_L1_TABLE" && e.mfn === m);
    const iPmd = log.findIndex((e) => e.call === "mmu_update" && Number((e.val & 0xffffffffff000n) >> 12n) === m);
    expect(iRo).toBeGreaterThanOrEqual(0);
    expect(iRo).toBeLessThan(iPin);
    expect(iPin).toBeLessThan(iPmd);
    expect(t.rec.log.slice(hooks).map((c) => c.op)).toEqual(["allocPte", "setPmd", "setPte"]);
    expect(t.aliasWritable(newPte)).toBe(false);
    expect(t.audit()).toEqual([]);

    const from2 = t.g.xen.log.length;
    expect(mm.freePteTable(va)).toBe(true);
    const log2 = t.since(from2);
    const iUnpin = log2.findIndex((e) => e.op === "UNPIN_TABLE" && e.mfn === m);
    const iRw = log2.findIndex((e) => e.call === "update_va_mapping" && (e.val & PAGE_RW) !== 0n && Number((e.val & 0xffffffffff000n) >> 12n) === m);
    expect(iUnpin).toBeGreaterThanOrEqual(0);
    expect(iUnpin).toBeLessThan(iRw);
    expect(log2.every((e) => e.rc === 0)).toBe(true);
    expect(t.aliasWritable(newPte)).toBe(true);
    expect(t.g.ops.isPagePinned(newPte)).toBe(false);
    expect(t.audit()).toEqual([]);
  });

  it("unpinned mm: alloc_pte makes no hypercall and set_pmd is a plain store", async () => {
    const t = await guest(name);
    const mm = MiniMm.create(t.env, 1);
    const from = t.g.xen.log.length;
    mm.map(VA1, t.g.allocator.allocPage()!, USER_RW);
    expect(t.since(from)).toEqual([]);
    expect(t.rec.calls("allocPud", "allocPmd", "allocPte").length).toBe(3);
    for (const p of mm.tables.keys()) expect(t.aliasWritable(p)).toBe(true);
    expect(t.audit()).toEqual([]);
  });

  it("xen_pgd_unpin issues UNPIN of the pgd before any table is made writable again", async () => {
    const t = await guest(name);
    const { mm, tables } = smallMm(t);
    t.rec.enterMmap(mm);
    const from = t.g.xen.log.length;
    t.rec.exitMmap(mm);
    const log = t.since(from);
    const iUnpin = log.findIndex((e) => e.op === "UNPIN_TABLE" && e.mfn === t.g.p2m.pfnToMfn(mm.pgd / 4096));
    const iFirstRw = log.findIndex((e) => e.call === "update_va_mapping" && (e.val & PAGE_RW) !== 0n);
    expect(iUnpin).toBeGreaterThanOrEqual(0);
    expect(iUnpin).toBeLessThan(iFirstRw);
    expect(log.every((e) => e.rc === 0)).toBe(true);
    for (const p of tables) { expect(t.aliasWritable(p)).toBe(true); expect(t.g.ops.isPagePinned(p)).toBe(false); }
    for (const p of tables) expect(t.g.xen.frame(t.g.p2m.pfnToMfn(p))).toMatchObject({ type: PgType.Writable, typeCount: 1 }); // its RW alias
    expect(t.audit()).toEqual([]);
    mm.destroy();
    expect(t.audit()).toEqual([]);
  });

  it("exit_mmap with another vCPU still on this pgd drops that reference before UNPIN", async () => {
    const t = await guest(name);
    const { mm } = smallMm(t);
    t.rec.enterMmap(mm);
    t.g.ops.onVcpu(1, () => t.rec.writeCr3(BigInt(mm.pgd)));
    expect(t.g.xen.domain(t.g.domain.id).vcpus[1]!.guestTable).toBe(t.g.p2m.pfnToMfn(mm.pgd / 4096));
    const from = t.g.xen.log.length;
    t.rec.exitMmap(mm);
    const log = t.since(from);
    const iDrop = log.findIndex((e) => e.vcpu === 1 && e.op === "NEW_BASEPTR" && e.mfn === t.g.p2m.pfnToMfn(t.g.initPgd / 4096));
    const iUnpin = log.findIndex((e) => e.op === "UNPIN_TABLE" && e.mfn === t.g.p2m.pfnToMfn(mm.pgd / 4096));
    expect(iDrop).toBeGreaterThanOrEqual(0);
    expect(iDrop).toBeLessThan(iUnpin);
    expect(log.every((e) => e.rc === 0)).toBe(true);
    expect(t.g.ops.cr3Of(1)).toBe(t.g.initPgd);
    expect(t.audit()).toEqual([]);
  });

  it("why exit_mmap drops it first: unpinning while a vCPU still holds the pgd leaves it validated, and the RW remap is refused", async () => {
    const t = await guest(name);
    const { mm } = smallMm(t);
    t.rec.enterMmap(mm);
    t.g.ops.onVcpu(1, () => t.rec.writeCr3(BigInt(mm.pgd)));
    expect(() => t.g.ops.pgdUnpin(mm)).toThrow(HypercallError);
    expect(t.g.xen.frame(t.g.p2m.pfnToMfn(mm.pgd / 4096))).toMatchObject({ type: PgType.L4, typeCount: 1, pinned: false });
    expect(t.audit()).toEqual([]);
  });

  it("early boot: alloc_pte_init makes the page RO and pins it as L1 at once, with no mm pinned", async () => {
    const t = await guest(name, { early: true });
    expect(t.g.ops.inEarlyBoot).toBe(true);
    const p = t.g.allocator.allocPage({ zero: true })!;
    const init = { id: 0, pgd: t.g.initPgd, isInitMm: true };
    const from = t.g.xen.log.length;
    t.rec.allocPte(init, p);
    expect(t.since(from).map((e) => `${e.call}:${e.op}:${e.rc}`)).toEqual(["update_va_mapping:UVMF_NONE:0", "mmuext_op:PIN_L1_TABLE:0"]);
    expect(t.aliasWritable(p)).toBe(false);
    expect(t.g.xen.frame(t.g.p2m.pfnToMfn(p))).toMatchObject({ type: PgType.L1, pinned: true });
    // alloc_pmd_init: RO only, no pin.
    const q = t.g.allocator.allocPage({ zero: true })!;
    const from2 = t.g.xen.log.length;
    t.rec.allocPmd(init, q);
    expect(t.since(from2).map((e) => e.op)).toEqual(["UVMF_NONE"]);
    expect(t.aliasWritable(q)).toBe(false);
    // release_pte_init: UNPIN, then RW.
    const from3 = t.g.xen.log.length;
    t.rec.releasePte(p);
    expect(t.since(from3).map((e) => e.op)).toEqual(["UNPIN_TABLE", "UVMF_NONE"]);
    expect(t.aliasWritable(p)).toBe(true);
    // Early set_pmd always goes to Xen (no struct pages yet: every page counts as pinned).
    t.rec.releasePmd(q);
    t.g.ops.xenPagetableInit();
    expect(t.g.ops.inEarlyBoot).toBe(false);
    expect(t.g.bootTables.every((b) => t.g.ops.isPagePinned(b))).toBe(true);
    expect(t.audit()).toEqual([]);
  });

  it("xen_mm_pin_all / xen_mm_unpin_all (save/restore) pin and unpin every mm on the list", async () => {
    const t = await guest(name);
    const a = MiniMm.create(t.env, 1), b = MiniMm.create(t.env, 2);
    a.map(VA1, t.g.allocator.allocPage()!, USER_RW);
    b.map(VA2, t.g.allocator.allocPage()!, USER_RW);
    t.g.ops.enterMmap(a);
    const init = { id: 0, pgd: t.g.initPgd, isInitMm: true };
    t.g.ops.mmPinAll([init, a, b]);                     // a already pinned: only b is pinned now
    for (const mm of [a, b]) for (const p of mm.tables.keys()) expect(t.g.ops.isPagePinned(p)).toBe(true);
    t.g.ops.mmUnpinAll([init, a, b]);                   // init_mm stays pinned
    for (const mm of [a, b]) for (const p of mm.tables.keys()) expect(t.aliasWritable(p)).toBe(true);
    expect(t.g.ops.isPagePinned(t.g.initPgd / 4096)).toBe(true);
    expect(t.audit()).toEqual([]);
  });

  it("early boot: set_pte_init masks RW for the page-table buffer (mask_rw_pte), make_pte_init for the initial p2m", async () => {
    const t = await guest(name, { early: true });
    const ptePage = t.g.allocator.allocPage({ zero: true })!;
    const buf = t.g.allocator.allocPages(2, { zero: true })!;      // 4 pages of "pgt_buf"
    t.g.ops.setPgtBuf(buf, buf + 4);
    t.g.ops.setInitialP2mFrames(buf + 10, 2);
    const rw = (pfn: number) => t.g.ops.makePte((BigInt(pfn) << 12n) | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY | PAGE_NX);
    t.rec.setPte(ptePage * 4096, rw(buf + 1));                   // native store: the pte page is not pinned yet
    t.rec.setPte(ptePage * 4096 + 8, rw(buf + 5));
    expect(t.g.phys.read64(ptePage * 4096) & PAGE_RW).toBe(0n);
    expect(t.g.phys.read64(ptePage * 4096 + 8) & PAGE_RW).toBe(PAGE_RW);
    expect(rw(buf + 10) & PAGE_RW).toBe(0n);
    expect(rw(buf + 12) & PAGE_RW).toBe(PAGE_RW);
    // Those buffer pages can now become page tables while mapped from this (soon pinned) pte page.
    const init = { id: 0, pgd: t.g.initPgd, isInitMm: true };
    t.rec.allocPte(init, buf + 1);
    t.rec.allocPte(init, ptePage);
    expect(t.g.xen.frame(t.g.p2m.pfnToMfn(ptePage))).toMatchObject({ type: PgType.L1, pinned: true });
    expect(t.audit()).toEqual([]);
  });

  it("lazy MMU mode batches set_pte into one mmu_update, issued on leave", async () => {
    const t = await guest(name);
    const { mm } = smallMm(t);
    t.rec.enterMmap(mm);
    const pages = [1, 2, 3, 4].map(() => t.g.allocator.allocPage()!);
    const from = t.g.xen.log.length, batches = t.g.ops.mc.stats.batches;
    t.rec.enterLazyMmu();
    pages.forEach((p, i) => mm.map(VA1 + BigInt(i + 1) * 4096n, p, USER_RW));
    expect(t.since(from)).toEqual([]);
    t.rec.leaveLazyMmu();
    expect(t.since(from).map((e) => e.op)).toEqual(Array(4).fill("NORMAL_PT_UPDATE"));
    expect(t.g.ops.mc.stats.batches).toBe(batches + 1);
    expect(t.audit()).toEqual([]);
  });

  it("ptep_modify_prot_commit uses PRESERVE_AD and keeps a D bit the walker set in between", async () => {
    const t = await guest(name);
    const { mm, d1 } = smallMm(t);
    t.rec.enterMmap(mm);
    t.rec.writeCr3(BigInt(mm.pgd));
    const ptep = [...mm.tables].filter(([, l]) => l === 1).map(([p]) => p)[0]! * 4096 + Number((VA1 >> 12n) & 511n) * 8;
    const old = t.rec.ptepModifyProtStart(mm, VA1, ptep);
    t.engine.setCpl(3);
    expect(t.engine.translate(VA1, Access.Write).fault).toBe(0);     // the walker sets A/D meanwhile
    t.engine.setCpl(0);
    const clean = t.g.ops.makePte((BigInt(d1) << 12n) | (USER_RW & ~PAGE_RW & ~PAGE_DIRTY));
    t.rec.ptepModifyProtCommit(mm, VA1, ptep, old, clean);
    expect(t.g.phys.read64(ptep) & PAGE_DIRTY).toBe(PAGE_DIRTY);
    expect(t.g.phys.read64(ptep) & PAGE_RW).toBe(0n);
    expect(t.g.xen.log.at(-1)).toMatchObject({ op: "PT_UPDATE_PRESERVE_AD", rc: 0 });
  });
});
