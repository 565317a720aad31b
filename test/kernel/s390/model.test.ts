// Model test of the s390 kernel side (issue 5): random process and guest
// operations — map/unmap in two processes (one plain, one KVM host with
// PGSTEs and a gmap), page aging, gmap segment map/unmap, guest accesses
// through gmap_fault, RCU grace periods — checked after every step against
// a reference model by translating through the process ASCE and the gmap
// ASCE in the wasm engine, with the fragment invariants checked inside
// every allocator call (debug mode) and a leak check at the end.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../../src/abi.js";
import { gmapCreate, gmapGuestAccess, gmapMapSegment, gmapRemove, gmapUnmapSegment, type Gmap } from "../../../src/kernel/s390/gmap.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { checkFragmentInvariants } from "../../../src/kernel/s390/pgalloc.js";
import { ptepGet, ptepTestAndClearYoung } from "../../../src/kernel/s390/pgtable.js";
import type { PgtableProfile } from "../../../src/kernel/s390/kernel.js";
import { leakCheck, machine } from "./machine.js";

const MiB = 1 << 20;
const SLOTS = 12;                                  // 1 MiB slots per process
const HOST_BASE = 0x1_0000_0000n;                  // above 2^32: the process's slots
const GSLOTS = 8;                                  // 1 MiB guest segments
const POOL = 56 * MiB;                             // frames for pfn mappings, reserved from the allocator

type Op =
  | { op: "mmap"; p: number; slot: number; kind: "anon" | "pfn"; prot: 1 | 3 }
  | { op: "munmap"; p: number; slot: number }
  | { op: "touch"; p: number; slot: number; page: number; write: boolean }
  | { op: "age"; p: number; slot: number; page: number }
  | { op: "gmap"; gslot: number; slot: number }
  | { op: "gunmap"; gslot: number }
  | { op: "guest"; gslot: number; page: number; write: boolean }
  | { op: "grace" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("mmap" as const), p: fc.integer({ min: 0, max: 1 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }),
    kind: fc.constantFrom("anon" as const, "pfn" as const), prot: fc.constantFrom(1 as const, 3 as const) }),
  fc.record({ op: fc.constant("munmap" as const), p: fc.integer({ min: 0, max: 1 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }),
  fc.record({ op: fc.constant("touch" as const), p: fc.integer({ min: 0, max: 1 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }),
    page: fc.integer({ min: 0, max: 255 }), write: fc.boolean() }),
  fc.record({ op: fc.constant("age" as const), p: fc.integer({ min: 0, max: 1 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }),
    page: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("gmap" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }),
  fc.record({ op: fc.constant("gunmap" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }) }),
  fc.record({ op: fc.constant("guest" as const), gslot: fc.integer({ min: 0, max: GSLOTS - 1 }), page: fc.integer({ min: 0, max: 255 }),
    write: fc.boolean() }),
  fc.constant({ op: "grace" as const }),
);

interface SlotModel { kind: "anon" | "pfn"; prot: 1 | 3; pa: number }

async function run(profile: PgtableProfile, ops: Op[]): Promise<void> {
  const { k } = await machine("wasm", { profile }, 64 * MiB);
  k.alloc.reserve(POOL, 64 * MiB);
  const mms = [S390Mm.create(k), S390Mm.create(k, { pgste: true, skeys: true })];
  const gmap: Gmap = gmapCreate(mms[1]!, 1n << 40n)!;
  const slots: (SlotModel | undefined)[][] = [[], []];
  /** Anonymous pages by process and page address → frame. */
  const anon: Map<bigint, number>[] = [new Map(), new Map()];
  const guestSlots = new Map<number, number>();      // gslot → host slot of process 1
  const va = (slot: number, page = 0): bigint => HOST_BASE + BigInt(slot * MiB + page * 4096);

  /** What an access must produce: a frame, or a fault. Records a new anonymous page. */
  const expectAccess = (p: number, slot: number, page: number, write: boolean, r: { fault: number; pa: number }): void => {
    const s = slots[p]![slot];
    const off = 0x18 + page;                          // a byte offset inside the page
    if (!s || (write && s.prot !== 3)) { expect(r.fault).toBe(FaultKind.S390); return; }
    expect(r.fault).toBe(FaultKind.None);
    if (s.kind === "pfn") { expect(r.pa).toBe(s.pa + page * 4096 + off); return; }
    const key = va(slot, page);
    const known = anon[p]!.get(key);
    if (known !== undefined) { expect(r.pa).toBe(known + off); return; }
    const frame = r.pa - off;
    expect(frame % 4096).toBe(0);
    expect(frame < POOL && k.alloc.allocatedOrder(frame / 4096) === 0).toBe(true);
    for (const m of anon) for (const f of m.values()) expect(f).not.toBe(frame);
    anon[p]!.set(key, frame);
  };

  for (const o of ops) {
    switch (o.op) {
      case "mmap": {
        if (slots[o.p]![o.slot]) break;
        const pa = POOL + (o.slot % 8) * MiB;
        if (o.kind === "pfn") mms[o.p]!.mapRange(va(o.slot), MiB, { pa, prot: o.prot });
        else mms[o.p]!.mmap(va(o.slot), MiB, { prot: o.prot });
        slots[o.p]![o.slot] = { kind: o.kind, prot: o.prot, pa };
        break;
      }
      case "munmap":
        mms[o.p]!.munmap(va(o.slot), MiB);
        slots[o.p]![o.slot] = undefined;
        for (const key of [...anon[o.p]!.keys()]) if (key >= va(o.slot) && key < va(o.slot + 1)) anon[o.p]!.delete(key);
        break;
      case "touch": {
        const r = mms[o.p]!.access(va(o.slot, o.page) + BigInt(0x18 + o.page), o.write ? Access.Write : Access.Read);
        expectAccess(o.p, o.slot, o.page, o.write, r);
        break;
      }
      case "age": {
        const mm = mms[o.p]!;
        const ptep = mm.lookupPtep(va(o.slot, o.page));
        if (ptep !== null && (ptepGet(mm, ptep) & 0x401n) === 0x001n) expect(ptepTestAndClearYoung(mm, va(o.slot, o.page), ptep)).toBe(true);
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
        const g = gmapGuestAccess(gmap, BigInt(o.gslot * MiB + o.page * 4096 + 0x18 + o.page), o.write ? Access.Write : Access.Read);
        const slot = guestSlots.get(o.gslot);
        if (slot === undefined) { expect([g.fault, g.rc]).toEqual([FaultKind.S390, -14]); break; }
        expectAccess(1, slot, o.page, o.write, g);
        if (g.fault === FaultKind.None) {
          // The host process sees the very same frame through its own ASCE.
          const h = k.translate(mms[1]!.asce, va(slot, o.page) + BigInt(0x18 + o.page), Access.Read);
          if (h.fault === FaultKind.None) expect(h.pa).toBe(g.pa);
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
  for (const p of [0, 1]) for (const [key, frame] of anon[p]!) {
    const r = mms[p]!.access(key, Access.Read);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, frame]);
  }
  for (const [gslot, slot] of guestSlots) for (const [key, frame] of anon[1]!) {
    if (key < va(slot) || key >= va(slot + 1)) continue;
    const g = gmapGuestAccess(gmap, BigInt(gslot * MiB) + (key - va(slot)), Access.Read);
    expect([g.fault, g.pa]).toEqual([FaultKind.None, frame]);
  }
  gmapRemove(gmap);
  for (const mm of mms) mm.destroy();
  leakCheck(k);
}

describe("s390 kernel model test (wasm engine, random process and guest operations)", () => {
  for (const profile of ["fragref", "refcount", "fullPage"] as const)
    it(`${profile}: results match the model after every step; nothing leaks`, async () => {
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 70 }), (ops) => run(profile, ops)),
        { numRuns: 40 });
    });
});
