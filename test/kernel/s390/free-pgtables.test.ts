// free_pgtables on s390 (src/kernel/s390/mm.ts freePgtables): a range past
// what the top table covers frees nothing, and a table is freed together with
// every table below it — after a CRST upgrade the old top table hangs under
// the new one, outside any VMA. Both engines translate the result.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../../src/abi.js";
import { ENGINE_NAMES } from "../../../src/engine/index.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import { leakCheck, machine } from "./machine.js";

const MiB = 1 << 20;

describe.each(ENGINE_NAMES)("s390 free_pgtables (%s engine)", (name) => {
  it("munmap of a range wholly above the 3-level limit changes nothing: the tables for [0, 2 GiB) stay", async () => {
    const { engine, k } = await machine(name, {}, 64 * MiB);
    const mm = S390Mm.create(k, {});
    mm.mmap(0x1000n, 0x1000, { prot: 3 });
    k.switchMm(mm);
    const first = mm.access(0x1000n, Access.Write);
    expect(first.fault).toBe(FaultKind.None);
    const tables = mm.nrTables, pages = k.alloc.allocatedPagesCount;
    mm.munmap((1n << 43n) + 0x1000n, 0x1000);
    expect(k.rcuGracePeriod()).toBe(0);                        // nothing was queued for freeing
    expect([mm.nrTables, k.alloc.allocatedPagesCount]).toEqual([tables, pages]);
    const r = engine.translate(0x1000n, Access.Read);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, first.pa]);
    mm.destroy();
    leakCheck(k);
  });

  it("munmap of a range straddling the limit unmaps the part below it and keeps the rest", async () => {
    const { engine, k } = await machine(name, {}, 64 * MiB);
    const mm = S390Mm.create(k, {});
    const limit = 1n << 42n;
    mm.mapRange(0x1000n, 0x1000, { pa: 0x40_0000, prot: 3 });
    mm.mapRange(limit - 0x1000n, 0x1000, { pa: 0x50_0000, prot: 3 });
    k.switchMm(mm);
    mm.munmap(limit - 0x10_0000n, 0x20_0000);
    k.rcuGracePeriod();
    expect(mm.asceLimit).toBe(limit);                           // munmap never grows the address space
    expect(mm.vmas.map((v) => v.start)).toEqual([0x1000n]);
    const low = engine.translate(0x1234n, Access.Read);
    expect([low.fault, low.pa]).toEqual([FaultKind.None, 0x40_0234]);
    expect(engine.translate(limit - 0x1000n, Access.Read).fault).toBe(FaultKind.S390);
    // Tables left: the segment table of [0, 2 GiB) and its PTE table (the top is not counted).
    expect([mm.nrPmds, mm.nrPtes]).toEqual([1, 1]);
    mm.destroy();
    leakCheck(k);
  });

  it("a hole after an upgrade to 5 levels frees the unused region tables with the old top below them; nothing leaks", async () => {
    const { k } = await machine(name, {}, 64 * MiB);
    const mm = S390Mm.create(k, {});
    mm.mmap(1n << 53n, 0x1000, { prot: 3 });                  // 3 → 5 levels
    const hi = mm.access((1n << 53n) + 0x10n, Access.Write);
    expect(hi.fault).toBe(FaultKind.None);
    mm.munmap(1n << 42n, 0x1000);                              // no VMA there
    k.rcuGracePeriod();
    // The region-second table under pgd[0] and the old region-third top below it are gone.
    expect(k.phys.read64(mm.pgd, true)).toBe(0x2cn);                // _REGION1_ENTRY_EMPTY
    const again = mm.access((1n << 53n) + 0x10n, Access.Read);
    expect([again.fault, again.pa]).toEqual([FaultKind.None, hi.pa]);
    // Low memory can be mapped again: the walk allocates fresh region tables.
    mm.mapRange(0x1000n, 0x1000, { pa: 0x40_0000, prot: 1 });
    const low = mm.access(0x1008n, Access.Read);
    expect([low.fault, low.pa]).toEqual([FaultKind.None, 0x40_0008]);
    mm.destroy();
    leakCheck(k);
  });

  it("mmap past 2^53, a hole at 2^42, destroy: exit_mmap accounts no page table", async () => {
    const { k } = await machine(name, {}, 64 * MiB);
    const mm = S390Mm.create(k, {});
    mm.mmap(1n << 53n, 0x1000, { prot: 3 });
    mm.munmap(1n << 42n, 0x1000);
    mm.destroy();
    leakCheck(k);
  });

  it("a table shared with a neighbouring VMA stays; the neighbour's pages still translate", async () => {
    const { k } = await machine(name, { profile: "fullPage" }, 64 * MiB);
    const mm = S390Mm.create(k, { pgste: true });
    mm.mapRange(0x1000n, 0x1000, { pa: 0x40_0000, prot: 1 });
    mm.mmap(1n << 53n, 0x1000, { prot: 3 });
    mm.mapRange(0x2000n, 0x1000, { pa: 0x41_0000, prot: 1 });
    mm.munmap(0x2000n, 0x1000);
    mm.munmap(1n << 42n, 0x1000);
    k.rcuGracePeriod();
    const r = mm.access(0x1ff8n, Access.Read);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, 0x40_0ff8]);
    expect(mm.access(0x2000n, Access.Read).fault).toBe(FaultKind.S390);
    mm.destroy();
    leakCheck(k);
  });
});
