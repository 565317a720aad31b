// CRST tables and crst_table_upgrade (arch/s390/mm/pgalloc.c), with the
// upgraded address space translated by both engines.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../../src/abi.js";
import { ENGINE_NAMES } from "../../../src/engine/index.js";
import { crstTableUpgrade } from "../../../src/kernel/s390/crst.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { pgdShiftFromEntry, TASK_SIZE_MAX } from "../../../src/kernel/s390/pgtable-bits.js";
import { leakCheck, machine } from "./machine.js";

const ASCE_TYPE = (asce: bigint): bigint => asce & 0x0cn;

describe("crst_table_upgrade", () => {
  it("a new mm is 3-level: a 16 KiB region-third table of 0x24 entries, asce_limit 2^42, ASCE type 0x04", async () => {
    const { k, read } = await machine();
    const mm = S390Mm.create(k);
    expect(mm.asceLimit).toBe(1n << 42n);
    expect(ASCE_TYPE(mm.asce)).toBe(0x04n);
    expect(mm.asce & 0x1c3n).toBe(0x1c3n);                    // USER bits and TL = 3
    expect(k.ptdescs.get(mm.pgdDesc.pfn)!.order).toBe(2);
    for (const i of [0, 1, 1000, 2047]) expect(read(mm.pgd + 8 * i)).toBe(0x24n);
    expect(k.nrPagetable).toBe(4);
  });

  it("3 → 4 levels: one table, entry 0 → old top, limit 2^53, type 0x08; end ≤ limit changes nothing", async () => {
    const { k, read } = await machine();
    const mm = S390Mm.create(k);
    const old = mm.pgd, frames = k.alloc.allocatedPagesCount;
    expect(crstTableUpgrade(mm, (1n << 42n) + 1n)).toBe(0);
    expect(k.alloc.allocatedPagesCount - frames).toBe(4);
    expect(read(mm.pgd)).toBe(BigInt(old) | 0x0bn);            // _REGION2_ENTRY | pa(old)
    expect(read(mm.pgd + 8)).toBe(0x28n);                      // _REGION2_ENTRY_EMPTY
    expect(mm.asceLimit).toBe(1n << 53n);
    expect(ASCE_TYPE(mm.asce)).toBe(0x08n);
    expect(BigInt(mm.pgd)).toBe(mm.asce & ~0xfffn);
    const asce = mm.asce;
    expect(crstTableUpgrade(mm, 1n << 53n)).toBe(0);
    expect(mm.asce).toBe(asce);
    expect(k.alloc.allocatedPagesCount - frames).toBe(4);
    expect(k.tlbEvents.filter((e) => e.op === "flush_mm")).toHaveLength(1);
  });

  it("3 → 5 levels in one step: two tables, pgd[0] → p4d, p4d[0] → old R3; limit 2^64-4096, type 0x0c", async () => {
    const { k, read } = await machine();
    const mm = S390Mm.create(k);
    const old = mm.pgd, frames = k.alloc.allocatedPagesCount;
    expect(crstTableUpgrade(mm, (1n << 53n) + 1n)).toBe(0);
    expect(k.alloc.allocatedPagesCount - frames).toBe(8);
    expect(mm.asceLimit).toBe(TASK_SIZE_MAX);
    expect(mm.asceLimit).toBe((1n << 64n) - 4096n);
    expect(ASCE_TYPE(mm.asce)).toBe(0x0cn);
    const pgd0 = read(mm.pgd);
    expect(pgd0 & 0xfffn).toBe(0x0fn);                         // _REGION1_ENTRY
    const p4d = Number(pgd0 & ~0xfffn);
    expect(read(p4d)).toBe(BigInt(old) | 0x0bn);
    expect(read(mm.pgd + 8)).toBe(0x2cn);
    expect(k.nrPagetable).toBe(12);
    mm.destroy();
    leakCheck(k);
  });

  it("the second allocation fails: -ENOMEM, the first table freed, pgd and ASCE unchanged", async () => {
    const { k } = await machine();
    const mm = S390Mm.create(k);
    const { pgd, asce, asceLimit } = mm;
    const frames = k.alloc.allocatedPagesCount, pt = k.nrPagetable;
    k.alloc.failNth(2);
    expect(crstTableUpgrade(mm, (1n << 53n) + 1n)).toBe(-12);
    expect([mm.pgd, mm.asce, mm.asceLimit]).toEqual([pgd, asce, asceLimit]);
    expect(k.alloc.allocatedPagesCount).toBe(frames);
    expect(k.nrPagetable).toBe(pt);
    // mmap beyond the limit reports the same failure and leaves no VMA behind.
    k.alloc.failNth(1);
    expect(() => mm.mmap(1n << 50n, 4096, { prot: 3 })).toThrow(/ENOMEM/);
    expect(mm.vmas).toEqual([]);
    mm.destroy();
    leakCheck(k);
  });

  it("pgd_offset_raw takes the top index shift from entry 0's type", () => {
    expect(pgdShiftFromEntry(0x28n)).toBe(42n);
    expect(pgdShiftFromEntry(0x2cn)).toBe(53n);
    expect(pgdShiftFromEntry(0x24n)).toBe(31n);
    expect(pgdShiftFromEntry(0x20n)).toBe(20n);
  });
});

describe.each(ENGINE_NAMES)("growing address space translated by the %s engine", (name) => {
  it("a mapping past 2^42 and past 2^53 upgrades the ASCE; old and new mappings translate", async () => {
    const { k } = await machine(name);
    const mm = S390Mm.create(k);
    const low = 0x7000_0000n, mid = 0x0000_5000_0000_0000n, high = 0x0100_0000_0000_0000n;
    mm.mapRange(low, 8192, { pa: 0x40_0000, prot: 3 });
    const a = mm.access(low + 0x123n, Access.Read);
    expect([a.fault, a.pa]).toEqual([FaultKind.None, 0x40_0123]);
    mm.mapRange(mid, 4096, { pa: 0x41_0000, prot: 1 });
    expect(ASCE_TYPE(mm.asce)).toBe(0x08n);
    mm.mapRange(high, 4096, { pa: 0x42_0000, prot: 1 });
    expect(ASCE_TYPE(mm.asce)).toBe(0x0cn);
    for (const [va, pa] of [[low + 0x1008n, 0x40_1008], [mid + 4n, 0x41_0004], [high + 0xff8n, 0x42_0ff8]] as const) {
      const r = mm.access(va, Access.Read);
      expect([r.fault, r.pa]).toEqual([FaultKind.None, pa]);
    }
    // Through the old 3-level ASCE the high address is an ASCE-type exception (0x38).
    const r = k.translate(mm.asce & ~0xcn | 0x4n, high, Access.Read);
    expect(r.fault).toBe(FaultKind.S390);
    mm.munmap(mid, 4096);
    expect(mm.access(mid, Access.Read).fault).toBe(FaultKind.S390);
    mm.destroy();
    leakCheck(k);
  });
});
