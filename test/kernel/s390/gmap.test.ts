// gmap: the KVM guest mapping sharing the host's PTE tables
// (arch/s390/mm/gmap.c as of Linux 4.6: docs/SEMANTICS.md), with guest
// accesses translated by both engines through the gmap ASCE.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm } from "../../../src/abi.js";
import { ENGINE_NAMES } from "../../../src/engine/index.js";
import { KernelBugError } from "../../../src/kernel/kernel.js";
import {
  __gmapLink, __gmapSegmentGaddr, __gmapTranslate, gmapCreate, gmapFault, gmapGuestAccess, gmapIpteNotify,
  gmapMapSegment, gmapRemove, gmapUnmapSegment,
} from "../../../src/kernel/s390/gmap.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { pageTableFree, pageTableFreeRcu, pmdPgtable } from "../../../src/kernel/s390/pgalloc.js";
import { ptepClearFlush, ptepXchgDirect, pgsteOf, PGSTE_IN_BIT, PGSTE_GR_BIT, PGSTE_GC_BIT, PGSTE_UC_BIT } from "../../../src/kernel/s390/pgtable.js";
import { leakCheck, machine } from "./machine.js";

const MiB = 1n << 20n;

describe("gmap_create and segment mapping rules", () => {
  it("the ASCE type follows the limit", async () => {
    const { k, read } = await machine();
    const mm = S390Mm.create(k, { pgste: true });
    const cases: [bigint, bigint, bigint, bigint][] = [
      [(1n << 31n) - 1n, 0x00n, (1n << 31n) - 1n, 0x20n],
      [1n << 40n, 0x04n, (1n << 42n) - 1n, 0x24n],
      [1n << 50n, 0x08n, (1n << 53n) - 1n, 0x28n],
      [1n << 60n, 0x0cn, (1n << 64n) - 1n, 0x2cn],
    ];
    const frames = k.alloc.allocatedPagesCount, pt = k.nrPagetable;
    for (const [limit, type, end, empty] of cases) {
      const g = gmapCreate(mm, limit)!;
      expect(g.asce & 0x0cn).toBe(type);
      expect(g.asceEnd).toBe(end);
      expect(read(g.table.pa + 8 * 2047)).toBe(empty);
      gmapRemove(g);
    }
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(k.nrPagetable).toBe(pt);                           // gmap tables are not process page tables
    expect(() => gmapCreate(S390Mm.create(k), 1n << 30n)).toThrow(/PGSTE/);
  });

  it("misaligned or out-of-range segments are -EINVAL and change nothing", async () => {
    const { k } = await machine();
    const mm = S390Mm.create(k, { pgste: true });
    const g = gmapCreate(mm, 1n << 30n)!;                     // asce_end 2^31 - 1
    expect(gmapMapSegment(g, 0n, 0n, 0x80000n)).toBe(-22);
    expect(gmapMapSegment(g, 0x80000n, 0n, MiB)).toBe(-22);
    expect(gmapMapSegment(g, 0n, 0x80000n, MiB)).toBe(-22);
    expect(gmapMapSegment(g, 0n, 0n, 0n)).toBe(-22);
    expect(gmapMapSegment(g, 0n, (1n << 31n) - MiB, 2n * MiB)).toBe(-22);   // to+len-1 beyond asce_end
    expect(gmapMapSegment(g, (1n << 64n) - MiB, 0n, MiB)).toBe(-22);        // beyond TASK_SIZE_MAX
    expect(gmapUnmapSegment(g, 0x80000n, MiB)).toBe(-22);
    expect(g.guestToHost.size).toBe(0);
    expect(gmapMapSegment(g, 0x1_0000_0000n, 0n, 2n * MiB)).toBe(0);
    expect(__gmapTranslate(g, 0x1_2345n)).toBe(0x1_0001_2345n);
    expect(__gmapTranslate(g, 0x10_0000n + 5n)).toBe(0x1_0010_0005n);
    expect(__gmapTranslate(g, 0x20_0000n)).toBe(-14);
    // Remapping a guest segment replaces the old translation.
    expect(gmapMapSegment(g, 0x2_0000_0000n, 0n, MiB)).toBe(0);
    expect(__gmapTranslate(g, 0n)).toBe(0x2_0000_0000n);
    expect(gmapUnmapSegment(g, 0n, 2n * MiB)).toBe(0);
    expect(g.guestToHost.size).toBe(0);
    expect(gmapFault(g, 0n)).toBe(-14);                       // nothing mapped there now
  });
});

describe.each(ENGINE_NAMES)("guest and host share the PTE table (%s engine)", (name) => {
  async function vm() {
    const m = await machine(name);
    const mm = S390Mm.create(m.k, { pgste: true, skeys: true });
    mm.mmap(0x1_0000_0000n, 4 << 20, { prot: 3 });            // the guest's memory in the host process
    const g = gmapCreate(mm, 1n << 40n)!;
    expect(gmapMapSegment(g, 0x1_0000_0000n, 0n, 4n * MiB)).toBe(0);
    return { ...m, mm, g };
  }

  it("after gmap_fault the radix trees and the gmap segment entry point at the host's PTE table", async () => {
    const { k, mm, g, read } = await vm();
    expect(gmapFault(g, 0x1234n)).toBe(0);
    expect(g.guestToHost.get(0n)).toBe(0x1_0000_0000n);
    expect([...g.hostToGuest.keys()]).toEqual([0x1000n]);
    const entry = g.hostToGuest.get(0x1000n)!;
    const hostPmd = read(mm.pmdOffset(0x1_0000_1234n, false)!);
    expect(read(entry)).toBe(hostPmd);
    expect(pmdPgtable(read(entry))).toEqual(pmdPgtable(hostPmd));
    expect(__gmapSegmentGaddr(g, entry)).toBe(0n);
    // The guest access walks the gmap tables into the host's table and frame.
    const host = mm.access(0x1_0000_1234n, Access.Read);
    const guest = gmapGuestAccess(g, 0x1234n, Access.Read);
    expect(guest.fault).toBe(FaultKind.None);
    expect(guest.pa).toBe(host.pa);
    expect(guest.rc).toBe(0);
    // Linking again is a no-op (rc 0, no change).
    expect(__gmapLink(g, 0x1234n, 0x1_0000_1234n)).toBe(0);
    expect(g.hostToGuest.size).toBe(1);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    gmapRemove(g);
    mm.destroy();
    leakCheck(k);
  });

  it("-ENOMEM from a radix-tree insert: gmap_map_segment leaves the range unmapped, __gmap_link leaves the entry invalid", async () => {
    const { k, mm, g, read } = await vm();
    // map_segment: the third insert of four fails; nothing of the range stays mapped, the rest is untouched.
    expect(gmapMapSegment(g, 0x1_0000_0000n, 16n * MiB, MiB)).toBe(0);
    g.radixFailNth = 3;
    expect(gmapMapSegment(g, 0x1_0000_0000n, 4n * MiB, 4n * MiB)).toBe(-12);
    for (let s = 4n; s < 8n; s++) expect(__gmapTranslate(g, s * MiB)).toBe(-14);
    expect(__gmapTranslate(g, 16n * MiB)).toBe(0x1_0000_0000n);           // another range: untouched
    expect(__gmapTranslate(g, MiB)).toBe(0x1_0010_0000n);                 // the vm()'s own mapping too
    // Remapping over a live translation that then fails drops the old one as well (as the kernel does).
    g.radixFailNth = 1;
    expect(gmapMapSegment(g, 0x1_0020_0000n, 0n, MiB)).toBe(-12);
    expect(__gmapTranslate(g, 0n)).toBe(-14);
    expect(gmapMapSegment(g, 0x1_0000_0000n, 0n, MiB)).toBe(0);           // and it works again
    // __gmap_link: the preload fails after the host page is in; the gmap segment entry stays invalid.
    g.radixFailNth = 1;
    expect(gmapFault(g, 0x1234n)).toBe(-12);
    expect(g.hostToGuest.size).toBe(0);
    const link = mm.lookupPtep(0x1_0000_1000n);
    expect(link).not.toBeNull();                                         // the host side did fault in
    const r = gmapGuestAccess(g, 0x1234n, Access.Read);                  // the next fault links it
    expect([r.fault, r.rc]).toEqual([FaultKind.None, 0]);
    expect(g.hostToGuest.size).toBe(1);
    expect(read(g.hostToGuest.get(0x1000n)!)).toBe(read(mm.pmdOffset(0x1_0000_1234n, false)!));
    mm.munmap(0x1_0000_0000n, 4 << 20);
    gmapRemove(g);
    mm.destroy();
    leakCheck(k);
  });

  it("gmap_alloc_table race: another CPU links a table in the unlocked window; ours is freed, one table stays", async () => {
    const { k, mm, g } = await vm();
    const frames = k.alloc.allocatedPagesCount;
    // The first link in this 1 TiB gmap needs a segment table under the region-third entry.
    g.allocTableWindow = () => { expect(gmapFault(g, 0x10_0000n)).toBe(0); };   // the other CPU wins
    expect(gmapFault(g, 0x1234n)).toBe(0);
    expect(g.allocTableWindow).toBeUndefined();
    expect(g.crstList.size).toBe(2);                                     // the top table + one segment table
    // Both guest segments translate through the one segment table.
    for (const ga of [0x1234n, 0x10_0042n]) {
      const r = gmapGuestAccess(g, ga, Access.Read);
      expect([r.fault, r.rc]).toEqual([FaultKind.None, 0]);
    }
    // Ours went back: the same frames are in use as after the two faults without a race.
    const calm = await vm();
    const calmFrames = calm.k.alloc.allocatedPagesCount;
    expect(gmapFault(calm.g, 0x10_0000n)).toBe(0);
    expect(gmapFault(calm.g, 0x1234n)).toBe(0);
    expect(k.alloc.allocatedPagesCount - frames).toBe(calm.k.alloc.allocatedPagesCount - calmFrames);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    gmapRemove(g);
    mm.destroy();
    leakCheck(k);
  });

  it("a guest store faults the host page in and leaves R/C in the key, UC in the PGSTE; the host's unmap saves GR/GC", async () => {
    const { k, mm, g, engine } = await vm();
    const r = gmapGuestAccess(g, 0x20_5678n, Access.Write);   // nothing there yet: gmap_fault does it all
    expect([r.fault, r.rc]).toEqual([FaultKind.None, 0]);
    const ptep = mm.lookupPtep(0x1_0020_5000n)!;
    expect(r.pa & ~0xfff).toBe(Number(engine.phys.read64(ptep, true) & ~0xfffn));
    expect(engine.iske(r.pa) & 0x06).toBe(0x06);
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(PGSTE_UC_BIT);
    const old = ptepClearFlush(mm, 0x1_0020_5000n, ptep);     // the host takes the page away (reclaim)
    k.alloc.freePage(Number(old & ~0xfffn) / 4096);
    expect(pgsteOf(mm, ptep) & (PGSTE_GR_BIT | PGSTE_GC_BIT)).toBe(PGSTE_GR_BIT | PGSTE_GC_BIT);
    const again = gmapGuestAccess(g, 0x20_5678n, Access.Read);
    expect(again.fault).toBe(FaultKind.None);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    gmapRemove(g);
    mm.destroy();
    leakCheck(k);
  });

  it("freeing the host table through page_table_free_rcu invalidates the gmap entry before queueing", async () => {
    const { k, mm, g } = await vm();
    expect(gmapGuestAccess(g, 0x1234n, Access.Write).fault).toBe(FaultKind.None);
    const entry = g.hostToGuest.get(0x1000n)!;
    mm.munmap(0x1_0000_0000n, 1 << 20);                       // the VMA goes: free_pgtables frees the table
    expect(k.phys.read64(entry, true)).toBe(0x20n);
    expect(g.hostToGuest.has(0x1000n)).toBe(false);
    expect(k.pendingTablePointers().some((p) => (p & 3) === 3)).toBe(true);
    // The guest now faults, and gmap_fault cannot bring it back (no host VMA).
    const r = gmapGuestAccess(g, 0x1234n, Access.Read);
    expect([r.fault, r.vector, r.rc]).toEqual([FaultKind.S390, Pgm.SegmentTranslation, -14]);
    k.rcuGracePeriod();
    gmapRemove(g);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    mm.destroy();
    leakCheck(k);
  });

  it("freeing a table still linked into a gmap (immediately, without unlink) is a BUG and changes nothing", async () => {
    const { k, mm, g } = await vm();
    expect(gmapFault(g, 0x30_0000n)).toBe(0);
    const table = pmdPgtable(k.phys.read64(mm.pmdOffset(0x1_0030_0000n, false)!, true));
    const frames = k.alloc.allocatedPagesCount;
    expect(() => pageTableFree(mm, table)).toThrow(KernelBugError);
    expect(() => pageTableFree(mm, table)).toThrow(/still linked into gmap/);
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(gmapGuestAccess(g, 0x30_0000n, Access.Read).fault).toBe(FaultKind.None);
    // Destroying the mm while the gmap exists is refused too.
    expect(() => mm.destroy()).toThrow(/gmap .* still attached/);
    gmapRemove(g);
    expect(() => gmapRemove(g)).toThrow(/removed already/);
    mm.destroy();
    leakCheck(k);
  });

  it("IN set by gmap_ipte_notify; an exchange clears it and calls each notifier once per linked gmap", async () => {
    const { k, mm, g } = await vm();
    const g2 = gmapCreate(mm, 1n << 40n)!;
    expect(gmapMapSegment(g2, 0x1_0000_0000n, 0x40_0000_0000n - 4n * MiB, 4n * MiB)).toBe(0);
    const seen: [number, bigint, bigint][] = [];
    const n1 = (gm: { id: number }, s: bigint, e: bigint) => seen.push([gm.id, s, e]);
    k.gmapNotifiers.add(n1);
    k.gmapNotifiers.add((gm, s) => seen.push([-gm.id, s, 0n]));
    expect(gmapIpteNotify(g, 0x10_3000n, 0x1000n)).toBe(0);
    expect(gmapIpteNotify(g, 0x10_3001n, 0x1000n)).toBe(-22);
    expect(gmapFault(g2, 0x40_0000_0000n - 3n * MiB)).toBe(0);    // g2 links the same host segment
    const ptep = mm.lookupPtep(0x1_0010_3000n)!;
    expect(pgsteOf(mm, ptep) & PGSTE_IN_BIT).toBe(PGSTE_IN_BIT);
    const old = ptepXchgDirect(mm, 0x1_0010_3000n, ptep, 0x400n);
    k.alloc.freePage(Number(old & ~0xfffn) / 4096);            // as reclaim would
    expect(pgsteOf(mm, ptep) & PGSTE_IN_BIT).toBe(0n);
    const g2base = 0x40_0000_0000n - 3n * MiB;
    expect(seen).toEqual([
      [g.id, 0x10_3000n, 0x10_3fffn], [-g.id, 0x10_3000n, 0n],
      [g2.id, g2base + 0x3000n, g2base + 0x3fffn], [-g2.id, g2base + 0x3000n, 0n],
    ]);
    ptepXchgDirect(mm, 0x1_0010_3000n, ptep, 0x400n);             // IN gone: no second call
    expect(seen).toHaveLength(4);
    gmapRemove(g); gmapRemove(g2);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    mm.destroy();
    leakCheck(k);
  });

  it("a guest address beyond the gmap's segment-table ASCE is an ASCE-type exception; unmapped segments fault", async () => {
    const { k, mm } = await vm();
    const small = gmapCreate(mm, 1n << 20n)!;
    expect(gmapMapSegment(small, 0x1_0000_0000n, 0n, MiB)).toBe(0);
    expect(gmapGuestAccess(small, 0x8000n, Access.Read).fault).toBe(FaultKind.None);
    const far = gmapGuestAccess(small, 1n << 31n, Access.Read);
    expect([far.fault, far.vector]).toEqual([FaultKind.S390, Pgm.AsceType]);
    const hole = gmapGuestAccess(small, 5n * MiB, Access.Read);
    expect([hole.fault, hole.vector, hole.rc]).toEqual([FaultKind.S390, Pgm.SegmentTranslation, -14]);
    gmapRemove(small);
    mm.munmap(0x1_0000_0000n, 4 << 20);
    for (const g of [...mm.gmaps]) gmapRemove(g);
    mm.destroy();
    leakCheck(k);
  });
});

describe("page_table_free_rcu of a PGSTE table calls gmap_unlink for every gmap", () => {
  it("unlinks in all gmaps, flushing each once", async () => {
    const { k } = await machine();
    const mm = S390Mm.create(k, { pgste: true });
    mm.mmap(0x1_0000_0000n, 1 << 20, { prot: 3 });
    const a = gmapCreate(mm, 1n << 31n)!, b = gmapCreate(mm, 1n << 31n)!;
    for (const g of [a, b]) { expect(gmapMapSegment(g, 0x1_0000_0000n, 0n, MiB)).toBe(0); expect(gmapFault(g, 0n)).toBe(0); }
    const pmdp = mm.pmdOffset(0x1_0000_0000n, false)!;
    const table = pmdPgtable(k.phys.read64(pmdp, true));
    const old = ptepClearFlush(mm, 0x1_0000_0000n, table.pa);  // the one page the faults mapped
    k.alloc.freePage(Number(old & ~0xfffn) / 4096);
    k.phys.write64(pmdp, 0x20n, true);
    mm.nrPtes--;
    const flushes = k.tlbEvents.length;
    pageTableFreeRcu(mm, table, 0x1_0000_0000n);
    expect(k.tlbEvents.slice(flushes).map((e) => e.op === "flush_mm" && e.asce)).toEqual([a.asce, b.asce]);
    expect(a.hostToGuest.size + b.hostToGuest.size).toBe(0);
    k.rcuGracePeriod();
    gmapRemove(a); gmapRemove(b);
    mm.munmap(0x1_0000_0000n, 1 << 20);
    mm.destroy();
    leakCheck(k);
  });
});
