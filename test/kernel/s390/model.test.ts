// Model test of the s390 kernel side: random process and guest operations —
// map/unmap in two processes (one plain, one KVM host with PGSTEs and a
// gmap), page aging, gmap segment map/unmap, guest accesses through
// gmap_fault, RCU grace periods — checked against a reference model by
// translating through the process ASCE and the gmap ASCE, with the fragment
// invariants checked inside every allocator call (debug mode) and a leak
// check at the end.
//
// The address slots sit at every level of a growing address space: low
// memory, the last MiB under the 3-level limit, and past 2^42, 2^53 and
// 2^60, where a mapping upgrades the mm (crst_table_upgrade). munmap ranges
// are page-granular, may cross slots, may cover holes left after an upgrade
// and may lie (partly) above the mm's current limit; the "far" unmap bases
// share their low index bits with mapped slots, so a walk that wraps past
// the top table lands on live tables. After every munmap and its grace
// period every page the model knows to be mapped must translate as before.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm } from "../../../src/abi.js";
import { ENGINE_NAMES, type EngineName } from "../../../src/engine/index.js";
import { gmapCreate, gmapGuestAccess, gmapMapSegment, gmapRemove, gmapUnmapSegment, type Gmap } from "../../../src/kernel/s390/gmap.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { checkFragmentInvariants } from "../../../src/kernel/s390/pgalloc.js";
import { ptepGet, ptepTestAndClearYoung } from "../../../src/kernel/s390/pgtable.js";
import type { PgtableProfile } from "../../../src/kernel/s390/kernel.js";
import { leakCheck, machine } from "./machine.js";

const MiB = 1 << 20;
const HOST_BASE = 0x1_0000_0000n;                  // 4 GiB: region-third index 2
const POOL = 56 * MiB;                             // frames for pfn mappings, reserved from the allocator
const GSLOTS = 8;                                  // 1 MiB guest segments

/** 1 MiB slots a process maps into. */
const SLOTS: readonly bigint[] = [
  HOST_BASE, HOST_BASE + 1n * BigInt(MiB), HOST_BASE + 2n * BigInt(MiB), HOST_BASE + 3n * BigInt(MiB),
  (1n << 42n) - BigInt(MiB),                       // the last MiB of a 3-level space
  (1n << 42n) + HOST_BASE,                         // 4 levels
  (1n << 53n) + HOST_BASE,                         // 5 levels
  (1n << 60n) + HOST_BASE,
];
/** Where munmap ranges start: the slots, plus addresses never mapped whose
 *  lower index bits equal slot 0's (above the limit of a 3- or 4-level mm). */
const UNMAP_BASES: readonly bigint[] = [...SLOTS, (1n << 43n) + HOST_BASE, (1n << 54n) + HOST_BASE, (1n << 63n) + HOST_BASE];

type Op =
  | { op: "mmap"; p: number; slot: number; pages: number; kind: "anon" | "pfn"; prot: 1 | 3 }
  | { op: "munmap"; p: number; base: number; first: number; pages: number }
  | { op: "touch"; p: number; slot: number; page: number; write: boolean }
  | { op: "age"; p: number; slot: number; page: number }
  | { op: "gmap"; gslot: number; slot: number }
  | { op: "gunmap"; gslot: number }
  | { op: "guest"; gslot: number; page: number; write: boolean }
  | { op: "grace" };

const p = fc.integer({ min: 0, max: 1 });
const slot = fc.integer({ min: 0, max: SLOTS.length - 1 });
const page = fc.integer({ min: 0, max: 255 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("mmap" as const), p, slot, pages: fc.constantFrom(1, 16, 255, 256),
    kind: fc.constantFrom("anon" as const, "pfn" as const), prot: fc.constantFrom(1 as const, 3 as const) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("munmap" as const), p, base: fc.integer({ min: 0, max: UNMAP_BASES.length - 1 }),
    first: page, pages: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(256)) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("touch" as const), p, slot, page, write: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("age" as const), p, slot, page }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("gmap" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }), slot }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("gunmap" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("guest" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }), page,
    write: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ op: "grace" as const }), weight: 1 },
);

/** A mapped range of the reference model (pa: the frame of `start` for pfn mappings). */
interface Region { start: bigint; end: bigint; kind: "anon" | "pfn"; prot: 1 | 3; pa: number }

async function run(engine: EngineName, profile: PgtableProfile, ops: Op[]): Promise<void> {
  const { k } = await machine(engine, { profile }, 64 * MiB);
  k.alloc.reserve(POOL, 64 * MiB);
  const mms = [S390Mm.create(k), S390Mm.create(k, { pgste: true, skeys: true })];
  const gmap: Gmap = gmapCreate(mms[1]!, 1n << 40n)!;
  const regions: Region[][] = [[], []];
  /** Anonymous pages by process and page address → frame. */
  const anon: Map<bigint, number>[] = [new Map(), new Map()];
  /** Pages made old (their PTE invalid until the next access). */
  const aged: Set<bigint>[] = [new Set(), new Set()];
  const guestSlots = new Map<number, number>();      // gslot → host slot of process 1
  const va = (s: number, pg = 0): bigint => SLOTS[s]! + BigInt(pg * 4096);
  const regionAt = (q: number, a: bigint): Region | undefined => regions[q]!.find((r) => r.start <= a && a < r.end);

  /** What an access must produce: a frame, or a fault. Records a new anonymous page. */
  const expectAccess = (q: number, pageVa: bigint, off: number, write: boolean, r: { fault: number; pa: number }): void => {
    const s = regionAt(q, pageVa);
    if (!s || (write && s.prot !== 3)) { expect(r.fault).toBe(FaultKind.S390); return; }
    expect(r.fault).toBe(FaultKind.None);
    aged[q]!.delete(pageVa);
    if (s.kind === "pfn") { expect(r.pa).toBe(s.pa + Number(pageVa - s.start) + off); return; }
    const known = anon[q]!.get(pageVa);
    if (known !== undefined) { expect(r.pa).toBe(known + off); return; }
    const frame = r.pa - off;
    expect(frame % 4096).toBe(0);
    expect(frame < POOL && k.alloc.allocatedOrder(frame / 4096) === 0).toBe(true);
    for (const m of anon) for (const f of m.values()) expect(f).not.toBe(frame);
    anon[q]!.set(pageVa, frame);
  };

  /** A page the model knows is mapped translates, without any fault
   *  handling, to its frame — or, if it was made old, faults at the page
   *  level (a missing table would be a segment or region exception). */
  const expectMapped = (q: number, pageVa: bigint, frame: number): void => {
    const r = k.translate(mms[q]!.asce, pageVa + 0x28n, Access.Read);
    if (aged[q]!.has(pageVa) && r.fault !== FaultKind.None) expect([r.fault, r.vector]).toEqual([FaultKind.S390, Pgm.PageTranslation]);
    else expect([r.fault, r.pa], `process ${q} page ${pageVa.toString(16)}`).toEqual([FaultKind.None, frame + 0x28]);
  };
  const sweep = (): void => {
    for (const q of [0, 1]) {
      for (const [key, frame] of anon[q]!) expectMapped(q, key, frame);
      for (const r of regions[q]!) {
        if (r.kind !== "pfn") continue;
        const last = r.end - 4096n;
        for (const a of new Set([r.start, r.start + ((last - r.start) / 8192n) * 4096n, last]))
          expectMapped(q, a, r.pa + Number(a - r.start));
      }
    }
  };

  for (const o of ops) {
    switch (o.op) {
      case "mmap": {
        const mm = mms[o.p]!, start = va(o.slot), size = o.pages * 4096;
        const pa = POOL + (o.slot % 8) * MiB;
        if (regions[o.p]!.some((r) => r.start < start + BigInt(size) && start < r.end)) {
          expect(() => mm.mmap(start, size, { prot: o.prot })).toThrow(/EEXIST/);
          break;
        }
        if (o.kind === "pfn") mm.mapRange(start, size, { pa, prot: o.prot });
        else mm.mmap(start, size, { prot: o.prot });
        regions[o.p]!.push({ start, end: start + BigInt(size), kind: o.kind, prot: o.prot, pa });
        break;
      }
      case "munmap": {
        const s = UNMAP_BASES[o.base]! + BigInt(o.first * 4096), e = s + BigInt(o.pages * 4096);
        mms[o.p]!.munmap(s, o.pages * 4096);
        const kept: Region[] = [];
        for (const r of regions[o.p]!) {
          if (r.end <= s || e <= r.start) { kept.push(r); continue; }
          if (r.start < s) kept.push({ ...r, end: s });
          if (e < r.end) kept.push({ ...r, start: e, pa: r.pa + Number(e - r.start) });
        }
        regions[o.p] = kept;
        for (const key of [...anon[o.p]!.keys()]) if (key >= s && key < e) anon[o.p]!.delete(key);
        for (const key of [...aged[o.p]!]) if (key >= s && key < e) aged[o.p]!.delete(key);
        k.rcuGracePeriod();
        sweep();
        break;
      }
      case "touch": {
        const off = 0x18 + o.page;                    // a byte offset inside the page
        const r = mms[o.p]!.access(va(o.slot, o.page) + BigInt(off), o.write ? Access.Write : Access.Read);
        expectAccess(o.p, va(o.slot, o.page), off, o.write, r);
        break;
      }
      case "age": {
        const mm = mms[o.p]!, a = va(o.slot, o.page);
        const ptep = mm.lookupPtep(a);
        if (ptep !== null && (ptepGet(mm, ptep) & 0x401n) === 0x001n) {
          expect(ptepTestAndClearYoung(mm, a, ptep)).toBe(true);
          aged[o.p]!.add(a);
        }
        break;
      }
      case "gmap":
        expect(gmapMapSegment(gmap, va(o.slot), BigInt(o.gslot * MiB), BigInt(MiB))).toBe(0);
        guestSlots.set(o.gslot, o.slot);
        break;
      case "gunmap":
        expect(gmapUnmapSegment(gmap, BigInt(o.gslot * MiB), BigInt(MiB))).toBe(0);
        guestSlots.delete(o.gslot);
        break;
      case "guest": {
        const off = 0x18 + o.page;
        const g = gmapGuestAccess(gmap, BigInt(o.gslot * MiB + o.page * 4096 + off), o.write ? Access.Write : Access.Read);
        const s = guestSlots.get(o.gslot);
        if (s === undefined) { expect([g.fault, g.rc]).toEqual([FaultKind.S390, -14]); break; }
        const wasAged = aged[1]!.has(va(s, o.page));
        expectAccess(1, va(s, o.page), off, o.write, g);
        if (g.fault === FaultKind.None) {
          // The host process sees the very same frame through its own ASCE.
          const h = k.translate(mms[1]!.asce, va(s, o.page) + BigInt(off), Access.Read);
          if (h.fault === FaultKind.None) expect(h.pa).toBe(g.pa);
          else if (wasAged) aged[1]!.add(va(s, o.page));       // the guest's access need not make the host PTE young
        }
        break;
      }
      case "grace": k.rcuGracePeriod(); break;
    }
    checkFragmentInvariants(k);
    // NR_PAGETABLE counts exactly the pages of constructed tables.
    expect(k.nrPagetable).toBe([...k.ptdescs.all()].filter((d) => d.pgtable).reduce((n, d) => n + d.pages, 0));
  }
  // Final sweep: every known page translates to its frame through the process, and through the gmap where linked.
  for (const q of [0, 1]) for (const [key, frame] of anon[q]!) {
    const r = mms[q]!.access(key, Access.Read);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, frame]);
  }
  for (const [gslot, s] of guestSlots) for (const [key, frame] of anon[1]!) {
    if (key < va(s) || key >= va(s) + BigInt(MiB)) continue;
    const g = gmapGuestAccess(gmap, BigInt(gslot * MiB) + (key - va(s)), Access.Read);
    expect([g.fault, g.pa]).toEqual([FaultKind.None, frame]);
  }
  gmapRemove(gmap);
  for (const mm of mms) mm.destroy();
  leakCheck(k);
}

describe.each(ENGINE_NAMES)("s390 kernel model test (%s engine, random process and guest operations)", (engine) => {
  for (const profile of ["fragref", "refcount", "fullPage"] as const)
    it(`${profile}: results match the model after every step; unmaps keep every other page; nothing leaks`, async () => {
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 80 }), (ops) => run(engine, profile, ops)),
        { numRuns: 100 });
    });
});
