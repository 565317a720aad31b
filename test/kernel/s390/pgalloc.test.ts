// The s390 PTE-table allocator (arch/s390/mm/pgalloc.c; its profiles and the
// kernel versions they reproduce: docs/SEMANTICS.md), the pgtable_t contract,
// ctor/dtor pairing and NR_PAGETABLE per page.
import { describe, expect, it } from "vitest";
import { KernelBugError } from "../../../src/kernel/kernel.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import {
  fragBits, pageTableAlloc, pageTableFree, pageTableFreeRcu, PgTable, pmdPgtable, pmdPopulate, checkFragmentInvariants,
} from "../../../src/kernel/s390/pgalloc.js";
import { gmapCreate, gmapMapSegment, gmapFault } from "../../../src/kernel/s390/gmap.js";
import { leakCheck, machine } from "./machine.js";

describe.each(["refcount", "fragref"] as const)("fragment allocator, %s profile", (profile) => {
  async function setup() {
    const m = await machine("ts", { profile });
    const mm = S390Mm.create(m.k);
    return { ...m, mm, base: m.k.nrPagetable, frames: m.k.alloc.allocatedPagesCount };
  }

  it("two allocations share one page: P+0 (bits 0x01, listed), then P+2048 (bits 0x03, unlisted)", async () => {
    const { k, mm, base, frames, read } = await setup();
    const t1 = pageTableAlloc(mm)!;
    expect(t1.offset).toBe(0);
    const p = k.ptdescs.get(t1.pfn)!;
    expect(fragBits(k, p)).toBe(0x01);
    expect(mm.pgtableList).toEqual([p]);
    expect(k.alloc.allocatedPagesCount).toBe(frames + 1);
    const t2 = pageTableAlloc(mm)!;
    expect(t2).toEqual(new PgTable(t1.pfn, 2048));
    expect(fragBits(k, p)).toBe(0x03);
    expect(mm.pgtableList).toEqual([]);
    expect(k.alloc.allocatedPagesCount).toBe(frames + 1);              // no new frame for T2
    expect(k.nrPagetable).toBe(base + 1);                               // accounted per page
    for (let i = 0; i < 512; i++) expect(read(p.pa + 8 * i)).toBe(0x400n);
    if (profile === "refcount") expect(k.pageRefcount.get(p.pfn)).toBe(1 + (0x03 << 24));
    else expect(p.fragCount).toBe(0x03);
  });

  it("freeing T1 puts P back at the list head; the next alloc returns P+0", async () => {
    const { k, mm } = await setup();
    const t1 = pageTableAlloc(mm)!;
    pageTableAlloc(mm);
    pageTableFree(mm, t1);
    const p = k.ptdescs.get(t1.pfn)!;
    expect(fragBits(k, p)).toBe(0x02);
    expect(mm.pgtableList[0]).toBe(p);
    expect(pageTableAlloc(mm)).toEqual(t1);
    expect(fragBits(k, p)).toBe(0x03);
  });

  it("freeing both halves frees the frame once, runs the dtor once, NR_PAGETABLE back", async () => {
    const { k, mm, base, frames } = await setup();
    const dtors = k.ptdescs.dtors;
    const t1 = pageTableAlloc(mm)!, t2 = pageTableAlloc(mm)!;
    pageTableFree(mm, t1);
    expect(k.alloc.allocatedPagesCount).toBe(frames + 1);
    pageTableFree(mm, t2);
    expect(mm.pgtableList).toEqual([]);
    expect(k.ptdescs.get(t1.pfn)).toBeUndefined();
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(k.ptdescs.dtors - dtors).toBe(1);
    expect(k.nrPagetable).toBe(base);
  });

  it("free_rcu leaves the half pending (0x12, list tail, P|1 queued); alloc skips P; the grace period clears PP", async () => {
    const { k, mm, frames } = await setup();
    const t1 = pageTableAlloc(mm)!;
    pageTableAlloc(mm);
    const p = k.ptdescs.get(t1.pfn)!;
    const other = pageTableAlloc(mm)!;                    // a second page, lower half, at the list head
    const q = k.ptdescs.get(other.pfn)!;
    pageTableFreeRcu(mm, t1, 0x100000n);
    expect(fragBits(k, p)).toBe(0x12);
    expect(mm.pgtableList).toEqual([q, p]);              // added at the tail
    expect(k.pendingTablePointers()).toEqual([p.pa | 1]);
    // With P alone on the list, alloc looks at P only, finds m == 3 and takes a new frame.
    pageTableAlloc(mm);                                    // takes q's upper half, q leaves the list
    expect(mm.pgtableList).toEqual([p]);
    const fresh = pageTableAlloc(mm)!;
    expect(fresh.pfn).not.toBe(p.pfn);
    expect(fresh.offset).toBe(0);
    expect(k.alloc.allocatedPagesCount).toBe(frames + 3);
    expect(k.rcuGracePeriod()).toBe(1);
    expect(fragBits(k, p)).toBe(0x02);
    expect(k.ptdescs.get(p.pfn)).toBe(p);                  // not freed: the upper half is in use
  });

  it("the invariants hold after every step of a random-ish sequence; a planted AA+PP is caught", async () => {
    const { k, mm } = await setup();
    const live: PgTable[] = [];
    for (let i = 0; i < 200; i++) {
      const r = (i * 7919) % 10;
      if (r < 5 || live.length === 0) live.push(pageTableAlloc(mm)!);
      else if (r < 8) pageTableFree(mm, live.splice((i * 31) % live.length, 1)[0]!);
      else if (r < 9) pageTableFreeRcu(mm, live.splice((i * 17) % live.length, 1)[0]!, BigInt(i) << 20n);
      else k.rcuGracePeriod();
      checkFragmentInvariants(k);                          // (debug mode also ran it inside every call)
    }
    const pt = k.ptdescs.get(live[0]!.pfn)!;
    if (profile === "fragref") pt.fragCount |= live[0]!.offset ? 0x20 : 0x10;
    else k.pageRefcount.set(pt.pfn, (k.pageRefcount.get(pt.pfn)! | ((live[0]!.offset ? 0x20 : 0x10) << 24)) >>> 0);
    expect(() => checkFragmentInvariants(k)).toThrow(/I1/);
  });

  it("a failing ctor (ptlock allocation) returns null and gives the frame back", async () => {
    const { k, mm, frames, base } = await setup();
    k.ptdescs.failPtlockNth(1);
    expect(pageTableAlloc(mm)).toBeNull();
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(k.nrPagetable).toBe(base);
    k.alloc.failNth(1);
    expect(pageTableAlloc(mm)).toBeNull();
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(pageTableAlloc(mm)).not.toBeNull();
  });

  it("double free of a half is a kernel BUG and changes nothing", async () => {
    const { k, mm } = await setup();
    const t1 = pageTableAlloc(mm)!, t2 = pageTableAlloc(mm)!;
    pageTableFree(mm, t1);
    const p = k.ptdescs.get(t1.pfn)!;
    expect(() => pageTableFree(mm, t1)).toThrow(KernelBugError);
    expect(() => pageTableFreeRcu(mm, t1, 0n)).toThrow(/double free/);
    expect(fragBits(k, p)).toBe(0x02);
    expect(mm.pgtableList).toEqual([p]);
    expect(() => pageTableFree(mm, new PgTable(t1.pfn, 1024))).toThrow(/not the start/);
    pageTableFree(mm, t2);
    expect(() => pageTableFree(mm, t2)).toThrow(/not a page-table page/);
    mm.destroy();
    leakCheck(k);
  });
});

describe("PGSTE tables", () => {
  it("a PGSTE mm gets whole pages: PTEs 0x400, PGSTEs 0, bits 0x03, never listed; free_rcu unlinks from gmaps then queues ptr|3", async () => {
    const { k, read } = await machine("ts", { profile: "refcount" });
    const mm = S390Mm.create(k, { pgste: true });
    const t = pageTableAlloc(mm)!;
    const t2 = pageTableAlloc(mm)!;
    expect(t.offset).toBe(0);
    expect(t2.pfn).not.toBe(t.pfn);
    for (let i = 0; i < 256; i++) {
      expect(read(t.pa + 8 * i)).toBe(0x400n);
      expect(read(t.pa + 2048 + 8 * i)).toBe(0n);
    }
    expect(fragBits(k, k.ptdescs.get(t.pfn)!)).toBe(0x03);
    expect(mm.pgtableList).toEqual([]);
    // Order: gmap_unlink happens before the table is queued.
    mm.mmap(0x100000n, 0x100000, { prot: 3 });
    const g = gmapCreate(mm, 1n << 30n)!;
    expect(gmapMapSegment(g, 0x100000n, 0n, 0x100000n)).toBe(0);
    expect(gmapFault(g, 0x10n)).toBe(0);
    const linked = mm.lookupPtep(0x100000n)! - 0;
    const table = PgTable.at(linked);
    expect(g.hostToGuest.size).toBe(1);
    const order: string[] = [];
    const realPush = k.rcuPending.push.bind(k.rcuPending);
    k.rcuPending.push = (...xs) => { order.push(g.hostToGuest.size === 0 ? "queued after unlink" : "queued before unlink"); return realPush(...xs); };
    // Detach the host table by hand (as free_pgtables does), then free it through RCU.
    const pmdp = mm.pmdOffset(0x100000n, false)!;
    k.phys.write64(pmdp, 0x20n, true);
    mm.nrPtes--;
    pageTableFreeRcu(mm, table, 0x100000n);
    expect(order).toEqual(["queued after unlink"]);
    expect(k.pendingTablePointers()).toEqual([table.pa | 3]);
    k.rcuPending.push = realPush;
    k.rcuGracePeriod();
    expect(k.ptdescs.get(table.pfn)).toBeUndefined();
    pageTableFree(mm, t); pageTableFree(mm, t2);
  });
});

describe("other profiles", () => {
  it("S390_FLAGS 31-bit packs four 1 KiB tables per page; the fifth takes a new page", async () => {
    const { k, engine } = await machine("ts", { profile: "flags", esa390: true });
    const mm = S390Mm.create(k);
    const ts = [0, 1, 2, 3, 4].map(() => pageTableAlloc(mm)!);
    expect(ts.slice(0, 4).map((t) => t.offset)).toEqual([0, 1024, 2048, 3072]);
    expect(new Set(ts.slice(0, 4).map((t) => t.pfn)).size).toBe(1);
    expect(ts[4]!.pfn).not.toBe(ts[0]!.pfn);
    expect(ts[4]!.offset).toBe(0);
    for (let i = 0; i < 256; i++) expect(engine.phys.read32(ts[1]!.pa + 4 * i, true)).toBe(0x400);
    // Full pages go to the tail, pages with room to the head (only the head is looked at).
    expect(mm.pgtableList.map((p) => p.pfn)).toEqual([ts[4]!.pfn, ts[0]!.pfn]);
    pageTableFree(mm, ts[2]!);
    expect(mm.pgtableList.map((p) => p.pfn)).toEqual([ts[0]!.pfn, ts[4]!.pfn]);
    expect(pageTableAlloc(mm)).toEqual(ts[2]);
    expect(() => pageTableFree(mm, new PgTable(ts[4]!.pfn, 1024))).toThrow(/double free/);
    for (const t of ts) pageTableFree(mm, t);
    mm.destroy();
    leakCheck(k);
  });

  it("S390_FLAGS 64-bit: two 2 KiB tables per page; a PGSTE mm takes both slots (bits 3)", async () => {
    const { k } = await machine("ts", { profile: "flags" });
    const mm = S390Mm.create(k);
    const a = pageTableAlloc(mm)!, b = pageTableAlloc(mm)!;
    expect([a.offset, b.offset, a.pfn === b.pfn]).toEqual([0, 2048, true]);
    const pg = S390Mm.create(k, { pgste: true });
    const c = pageTableAlloc(pg)!, d = pageTableAlloc(pg)!;
    expect([c.offset, d.offset, c.pfn !== d.pfn]).toEqual([0, 0, true]);
    expect(k.pageFlags.get(c.pfn)).toBe(3);
    // 2.6.2x had no RCU-deferred table freeing: the whole table waits for the grace period.
    pageTableFreeRcu(mm, a, 0n);
    expect(() => pageTableFreeRcu(mm, a, 0n)).toThrow(/double free/);
    expect(k.pageFlags.get(a.pfn)).toBe(3);
    k.rcuGracePeriod();
    expect(k.pageFlags.get(a.pfn)).toBe(2);
    for (const [m, t] of [[mm, b], [pg, c], [pg, d]] as const) pageTableFree(m, t);
    mm.destroy(); pg.destroy();
    leakCheck(k);
  });

  it("S390_FULLPAGE gives every table its own frame, bytes 2048..4095 zero", async () => {
    const { k, engine } = await machine("ts", { profile: "fullPage" });
    const mm = S390Mm.create(k);
    const a = pageTableAlloc(mm)!, b = pageTableAlloc(mm)!;
    expect(a.pfn).not.toBe(b.pfn);
    expect([a.offset, b.offset]).toEqual([0, 0]);
    for (const t of [a, b]) {
      expect(engine.phys.read64(t.pa, true)).toBe(0x400n);
      expect([...engine.phys.readBytes(t.pa + 2048, 2048)].every((x) => x === 0)).toBe(true);
    }
    pageTableFreeRcu(mm, a, 0n);
    expect(k.pendingTablePointers()).toEqual([a.pa | 3]);
    pageTableFree(mm, b);
    mm.destroy();
    leakCheck(k);
  });
});

describe("pgtable_t contract", () => {
  it("pmd_pgtable clears the low 11 bits of the segment entry; pmd_populate stores the handle", async () => {
    expect(pmdPgtable(0x12345800n | 0x1n)).toEqual(PgTable.at(0x12345800));
    expect(pmdPgtable(0x12345800n | 0x1n).pa).toBe(0x12345800);
    const { k, read } = await machine("ts");
    const mm = S390Mm.create(k);
    const t1 = pageTableAlloc(mm)!, t2 = pageTableAlloc(mm)!;
    pmdPopulate(mm, 0x8000, t2);
    expect(read(0x8000)).toBe(BigInt(t1.pa + 2048));
    expect(pmdPgtable(read(0x8000))).toEqual(t2);
  });
});
