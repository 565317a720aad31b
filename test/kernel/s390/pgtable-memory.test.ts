// Page-table memory per allocator profile (measurePgtableMemory, behind
// `wasmmu s390-pgmem`) and the README's
// guest-mapping example, run as written.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../../src/abi.js";
import { createEngine } from "../../../src/engine/index.js";
import { s390 } from "../../../src/index.js";
import { measurePgtableMemory } from "../../../src/kernel/s390/pgtable-memory.js";

describe("page-table memory: fragments vs full pages vs PGSTEs", () => {
  it("2 KiB fragments need half the PTE-table pages; PGSTE and fullPage need one page per table", async () => {
    const o = { processes: 6, mappings: 7, engine: "ts" as const };
    const frag = await measurePgtableMemory({ ...o, profile: "fragref" });
    const full = await measurePgtableMemory({ ...o, profile: "fullPage" });
    const pgste = await measurePgtableMemory({ ...o, profile: "fragref", pgste: true });
    expect(frag.pteTables).toBe(42);
    expect(frag.ptePages).toBe(6 * 4);                  // ceil(7 / 2) pages per process: fragments are per mm
    expect(full.ptePages).toBe(42);
    expect(pgste.ptePages).toBe(42);
    // CRST part (R3 top + one segment table, 4 pages each) is the same everywhere.
    for (const r of [frag, full, pgste]) expect(r.totalPages - r.ptePages).toBe(6 * 8);
    // 31-bit: 1 KiB tables four to a page, and an 8 KiB segment table as the whole upper level.
    const esa = await measurePgtableMemory({ ...o, profile: "flags", esa390: true });
    expect(esa.pteTables).toBe(42);
    expect(esa.ptePages).toBe(6 * 2);                   // ceil(7 / 4) pages per process
    expect(esa.totalPages - esa.ptePages).toBe(6 * 2);
  });
});

describe("README: a gmap, a guest access, and the PGSTE bits it left", () => {
  it("runs as written", async () => {
    const engine = await createEngine("wasm", { physSize: 64 << 20 });
    const k = new s390.S390Kernel({ engine });
    const host = s390.S390Mm.create(k, { pgste: true, skeys: true });
    host.mmap(0x1_0000_0000n, 16 << 20, { prot: 3 });
    const gmap = s390.gmapCreate(host, 1n << 30n)!;
    expect(s390.gmapMapSegment(gmap, 0x1_0000_0000n, 0n, 16n << 20n)).toBe(0);
    const r = s390.gmapGuestAccess(gmap, 0x34_5678n, Access.Write);
    const ptep = host.lookupPtep(0x1_0034_5000n)!;
    expect([r.fault, r.rc, r.pa & 0xfff, engine.iske(r.pa)]).toEqual([FaultKind.None, 0, 0x678, 0x6]);
    expect(s390.pgsteOf(host, ptep)).toBe(0x0000_8000_0000_0000n);
    s390.ptepClearFlush(host, 0x1_0034_5000n, ptep);
    expect(s390.pgsteOf(host, ptep)).toBe(0x0006_8000_0000_0000n);
  });
});
