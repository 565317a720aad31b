import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { MAX_PAGE_ORDER, PageAllocator, PageAllocError } from "../../src/kernel/page-alloc.js";

const MiB = 1 << 20;
const KiB = 1024;

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof PageAllocError) return e.code; throw e; }
  return "no error";
}

describe("page allocator: buddy over a memory map", () => {
  it("seeds usable ranges with maximal aligned blocks and skips non-usable entries", () => {
    const a = new PageAllocator({
      map: [
        { start: 0, end: 640 * KiB, type: "usable" },
        { start: 640 * KiB, end: MiB, type: "reserved" },
        { start: MiB, end: 9 * MiB + 100, type: "usable" },      // partial last frame dropped
      ],
    });
    expect(a.stats().managedPages).toBe(160 + 2048);
    expect(a.freePagesCount).toBe(160 + 2048);
    // [1 MiB, 9 MiB): 0x100..0x900 → order 8 at 0x100, 9 at 0x200, 10 at 0x400, then 0x800 order 8.
    expect(a.stats().freeBlocks[MAX_PAGE_ORDER]).toBe(1);
    a.checkInvariants();
  });

  it("bottom-up returns the lowest fitting block, top-down the highest", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 16 * MiB }] });
    expect(a.allocPages(0)).toBe(0);
    expect(a.allocPages(2)).toBe(4);
    expect(a.allocPages(0, { placement: "top-down" })).toBe(4095);
    expect(a.allocPages(MAX_PAGE_ORDER, { placement: "top-down" })).toBe(2048);
    a.placement = "top-down";
    expect(a.allocPages(1)).toBe(4092);
    a.checkInvariants();
  });

  it("honours minAddr/maxAddr limits in both directions", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 64 * MiB }] });
    expect(a.allocPages(0, { placement: "top-down", maxAddr: 16 * MiB })).toBe(16 * 256 - 1);
    expect(a.allocPages(3, { minAddr: 5 * MiB + 4096 })).toBe(5 * 256 + 8);
    expect(a.allocPages(0, { minAddr: 60 * MiB, maxAddr: 60 * MiB + 4096 })).toBe(60 * 256);
    expect(a.allocPages(0, { minAddr: 60 * MiB, maxAddr: 60 * MiB + 4096 })).toBeNull();
    a.checkInvariants();
  });

  it("frees merge with buddies back to the original block structure", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 8 * MiB }] });
    const before = a.stats().freeBlocks;
    const got = Array.from({ length: 300 }, (_, i) => ({ order: i % 4, pfn: a.allocPages(i % 4)! }));
    a.checkInvariants();
    for (const g of got.reverse()) a.freePages(g.pfn, g.order);
    expect(a.stats().freeBlocks).toEqual(before);
    expect(a.freePagesCount).toBe(2048);
    a.checkInvariants();
  });

  it("double free, wrong order, never-allocated and reserved frees are reported and change nothing", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 4 * MiB }] });
    a.reserve(0, 64 * KiB);
    const p = a.allocPages(1)!;
    const snap = a.stats();
    expect(codeOf(() => a.freePages(p, 0))).toBe("wrong-order");
    expect(codeOf(() => a.freePages(p + 1, 0))).toBe("not-allocated");
    expect(codeOf(() => a.freePages(3, 0))).toBe("free-reserved");
    expect(codeOf(() => a.freePages(900, 0))).toBe("double-free");
    expect(codeOf(() => a.freePages(1 << 20, 0))).toBe("not-allocated");
    expect(codeOf(() => a.allocPages(11))).toBe("bad-order");
    expect(a.stats()).toEqual(snap);
    a.freePages(p, 1);
    expect(codeOf(() => a.freePages(p, 1))).toBe("double-free");
    a.checkInvariants();
  });

  it("reserve carves frames out (also from inside large blocks); unreserve gives them back", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 8 * MiB }] });
    a.reserve(3 * MiB + 4096, 3 * MiB + 5 * 4096 + 1);      // widened to whole frames: 5 frames
    expect(a.stats().reservedPages).toBe(5);
    expect(a.freePagesCount).toBe(2048 - 5);
    expect(a.isReserved(3 * 256 + 1)).toBe(true);
    expect(a.isReserved(3 * 256 + 6)).toBe(false);
    a.checkInvariants();
    const p = a.allocPages(0, { minAddr: 3 * MiB })!;
    expect(p).toBe(3 * 256);
    expect(codeOf(() => a.reserve(3 * MiB, 3 * MiB + 4096))).toBe("range-busy");
    expect(codeOf(() => a.unreserve(3 * MiB, 4 * MiB))).toBe("not-reserved");
    a.freePage(p);
    a.unreserve(3 * MiB + 4096, 3 * MiB + 6 * 4096);
    expect(a.stats().reservedPages).toBe(0);
    expect(a.stats().freeBlocks[MAX_PAGE_ORDER]).toBe(2);
    a.checkInvariants();
  });

  it("fails exactly the injected allocation attempts", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: MiB }] });
    a.failNth(2);
    a.failNth(4);
    const r = Array.from({ length: 5 }, () => a.allocPage());
    expect(r.map((x) => x === null)).toEqual([false, true, false, true, false]);
    expect(a.stats().failures).toBe(2);
    expect(a.stats().allocations).toBe(3);
    expect(a.allocatedPagesCount).toBe(3);
  });

  it("running out of memory returns null and leaves the state consistent", () => {
    const a = new PageAllocator({ map: [{ start: 0, end: 64 * KiB }] });
    const got: number[] = [];
    for (;;) { const p = a.allocPage(); if (p === null) break; got.push(p); }
    expect(got.length).toBe(16);
    expect(a.allocPages(1)).toBeNull();
    a.checkInvariants();
  });

  it("property: random alloc/free/reserve sequences keep every invariant", () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(
        fc.record({ k: fc.constant("alloc" as const), order: fc.integer({ min: 0, max: 5 }), top: fc.boolean() }),
        fc.record({ k: fc.constant("free" as const), i: fc.nat() }),
        fc.record({ k: fc.constant("reserve" as const), f: fc.integer({ min: 0, max: 2047 }), n: fc.integer({ min: 1, max: 40 }) }),
      ), { maxLength: 120 }),
      (ops) => {
        const a = new PageAllocator({ map: [{ start: 0, end: 3 * MiB }, { start: 5 * MiB, end: 8 * MiB }] });
        const live: { pfn: number; order: number }[] = [];
        for (const op of ops) {
          if (op.k === "alloc") {
            const p = a.allocPages(op.order, { placement: op.top ? "top-down" : "bottom-up" });
            if (p !== null) {
              expect(p % (1 << op.order)).toBe(0);
              live.push({ pfn: p, order: op.order });
            }
          } else if (op.k === "free" && live.length) {
            const [g] = live.splice(op.i % live.length, 1);
            a.freePages(g!.pfn, g!.order);
          } else if (op.k === "reserve") {
            try { a.reserve(op.f * 4096, (op.f + op.n) * 4096); }
            catch (e) { expect((e as PageAllocError).code).toBe("range-busy"); }
          }
          a.checkInvariants();
        }
        for (const g of live) a.freePages(g.pfn, g.order);
        expect(a.allocatedPagesCount).toBe(0);
        a.checkInvariants();
      }), { numRuns: 150 });
  });

  it("zeroes on request over dense and sparse memory, backing no sparse frame for it", async () => {
    for (const backing of ["dense", "sparse"] as const) {
      const e = await createEngine("ts", { backing, physSize: 2 ** 34, poolBytes: 64 * 4096, ...(backing === "dense" ? { physSize: 16 * MiB } : {}) });
      const a = new PageAllocator({ map: [{ start: 0, end: e.phys.size }], phys: e.phys, placement: "top-down" });
      const p = a.allocPage()!;
      expect(p).toBe(e.phys.size / 4096 - 1);
      e.phys.write64(p * 4096 + 8, 0xdeadn);
      a.freePage(p);
      const before = e.phys.framesBacked;
      const q = a.allocPage({ zero: true })!;
      expect(q).toBe(p);
      expect(e.phys.read64(q * 4096 + 8)).toBe(0n);
      expect(e.phys.framesBacked).toBe(before);
    }
  });
});
