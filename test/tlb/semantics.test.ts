// Architectural TLB behaviour (Intel SDM Vol. 3A §4.10; docs/SEMANTICS.md),
// on both engines: what is cached is used until it is invalidated,
// and every invalidation the architecture defines removes exactly what it
// must — for every page size, for PCIDs and global pages.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, PfErr, Vector } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import type { MachineConfig } from "../../src/layout.js";
import {
  A, CR0_PE, CR0_PG, CR0_WP, CR4_PCIDE, CR4_PGE, CR4_PKE, CR4_PSE, CR4_SMAP, D, enterLongMode, G, MiB, P, RW, Tables4, US,
} from "./tables.js";

const RAM = 64 * MiB;

describe.each(ENGINE_NAMES)("TLB semantics (%s engine)", (name) => {
  async function machine(cfg: MachineConfig = {}, cr4 = 0n, pcid = 0): Promise<{ e: Engine; t: Tables4 }> {
    const e = await createEngine(name, { physSize: RAM, ...cfg });
    const t = new Tables4(e);
    enterLongMode(e, t, cr4, pcid);
    return { e, t };
  }
  const read = (e: Engine, va: bigint) => e.translate(va, Access.Read);
  const write = (e: Engine, va: bigint) => e.translate(va, Access.Write);

  it("uses a cached translation after the entry changed in memory, until INVLPG", async () => {
    const { e, t } = await machine();
    const va = 0x4000_1000n;
    const ep = t.map4k(va, 0x10_0000);
    expect(read(e, va + 0x123n).pa).toBe(0x10_0123);
    t.write(ep, 0x20_0000n | P | RW | US);
    expect(read(e, va + 0x123n).pa).toBe(0x10_0123);      // stale, as on hardware
    e.invlpg(va + 0xfffn);                                  // any byte of the page
    expect(read(e, va + 0x123n).pa).toBe(0x20_0123);
    // A non-present entry in memory does not fault while the TLB holds the page.
    t.write(ep, 0n);
    expect(read(e, va).fault).toBe(FaultKind.None);
    e.invlpg(va);
    expect(read(e, va).fault).toBe(FaultKind.X86);
  });

  it("PTE.A cleared without INVLPG stays clear on a TLB hit; after INVLPG a read sets it", async () => {
    const { e, t } = await machine();
    const va = 0x7000_0000n;
    const ep = t.map4k(va, 0x30_0000);
    read(e, va);
    expect(t.read(ep) & A).toBe(A);
    t.write(ep, t.read(ep) & ~A);
    expect(read(e, va).pa).toBe(0x30_0000);
    expect(t.read(ep) & A).toBe(0n);
    e.invlpg(va);
    read(e, va);
    expect(t.read(ep) & A).toBe(A);
  });

  it("a read caches the clean page without write permission; the write walks again and sets D", async () => {
    const { e, t } = await machine();
    const va = 0x7100_0000n;
    const ep = t.map4k(va, 0x31_0000);
    e.resetStats();
    expect(read(e, va).leaf & 8).toBe(0);                   // Leaf.D clear
    expect(t.read(ep) & D).toBe(0n);
    expect(read(e, va).fault).toBe(FaultKind.None);         // a hit
    expect(e.stats().walks).toBe(1);
    const w = write(e, va + 8n);
    expect(w.fault).toBe(FaultKind.None);
    expect(w.pa).toBe(0x31_0008);
    expect(t.read(ep) & D).toBe(D);                         // the re-walk set D in memory
    expect(e.stats().walks).toBe(2);
    expect(e.stats().dWrites).toBe(1);
    // Now dirty: writes hit without walking, and clearing D in memory is not seen (stale, as on hardware).
    t.write(ep, t.read(ep) & ~D);
    expect(write(e, va).fault).toBe(FaultKind.None);
    expect(e.stats().walks).toBe(2);
    expect(t.read(ep) & D).toBe(0n);
  });

  it("a read-filled entry of a read-only page makes the write fault (not hit) and drops the entry (#PF invalidation)", async () => {
    const { e, t } = await machine();
    const va = 0x7200_0000n;
    const ep = t.map4k(va, 0x32_0000, P | US);              // read-only
    expect(read(e, va).fault).toBe(FaultKind.None);
    t.write(ep, BigInt(0x33_0000) | P | US | A);            // remap without INVLPG
    const w = write(e, va);
    expect(w.fault).toBe(FaultKind.X86);
    expect(w.vector).toBe(Vector.PF);
    expect(w.errorCode).toBe(PfErr.P | PfErr.W);
    // SDM §4.10.4.1: the #PF invalidated the stale entry, so the next read sees the new mapping.
    expect(read(e, va).pa).toBe(0x33_0000);
  });

  it.each([
    ["2 MiB", 21], ["1 GiB", 30],
  ] as const)("INVLPG of any address inside a %s page removes the whole large-page entry", async (_n, shift) => {
    const { e, t } = await machine();
    const size = 2 ** shift;
    const va = BigInt(size) * 3n;
    const ep = shift === 21 ? t.map2m(va, 4 * MiB) : t.map1g(va, 0);
    const off = BigInt(size) - 0x2345n;
    expect(read(e, va + off).pa).toBe((shift === 21 ? 4 * MiB : 0) + Number(off));
    expect(read(e, va).shift).toBe(shift);
    t.write(ep, (shift === 21 ? BigInt(8 * MiB) : BigInt(2 ** 30)) | P | RW | US | 128n);
    expect(read(e, va + off).pa).toBe((shift === 21 ? 4 * MiB : 0) + Number(off));   // stale
    e.invlpg(va + BigInt(size / 2) + 0x1000n);                 // a different 4 KiB piece of the page
    // The data PA may lie beyond RAM: translation does not access it.
    expect(read(e, va + off).pa).toBe((shift === 21 ? 8 * MiB : 2 ** 30) + Number(off));
  });

  it("INVLPG inside a 4 MiB page (32-bit paging, CR4.PSE) removes it", async () => {
    const e = await createEngine(name, { physSize: RAM });
    const pd = 1 * MiB;
    e.phys.fill(pd, 4096, 0);
    const va = 0x0800_0000;                                   // PDE index 32
    e.phys.write32(pd + (va >>> 22) * 4, (8 * MiB) | 0x87);   // P RW US PS
    expect(e.setX86({ cr0: CR0_PG | CR0_PE, cr4: CR4_PSE, efer: 0n, cr3: BigInt(pd), cpl: 0 }).fault).toBe(FaultKind.None);
    expect(read(e, BigInt(va + 0x3f_f000)).pa).toBe(8 * MiB + 0x3f_f000);
    expect(read(e, BigInt(va)).shift).toBe(22);
    e.phys.write32(pd + (va >>> 22) * 4, (12 * MiB) | 0x87);
    expect(read(e, BigInt(va + 0x3f_f000)).pa).toBe(8 * MiB + 0x3f_f000);
    e.invlpg(BigInt(va + 0x20_0000));
    expect(read(e, BigInt(va + 0x3f_f000)).pa).toBe(12 * MiB + 0x3f_f000);
  });

  it("a MOV to CR3 drops non-global entries and keeps global ones (CR4.PGE); toggling PGE drops all", async () => {
    const { e, t } = await machine({}, CR4_PGE);
    const vg = 0xffff_8000_0000_0000n, vu = 0x40_0000n;
    const eg = t.map4k(vg, 0x40_0000, P | RW | G), eu = t.map4k(vu, 0x41_0000);
    read(e, vg); read(e, vu);
    t.write(eg, BigInt(0x50_0000) | P | RW | G);
    t.write(eu, BigInt(0x51_0000) | P | RW | US);
    e.writeCr3(BigInt(t.pml4));
    expect(read(e, vg).pa).toBe(0x40_0000);                  // global survives
    expect(read(e, vu).pa).toBe(0x51_0000);                  // non-global re-walked
    const cr4 = e.x86().cr4;
    e.writeCr4(cr4 & ~CR4_PGE);
    e.writeCr4(cr4);
    expect(read(e, vg).pa).toBe(0x50_0000);
    expect(e.stats().flushes.cr3).toBe(1);
  });

  it("tags entries with the PCID: a CR3 load keeps other PCIDs' entries, bit 63 skips the flush, globals serve every PCID", async () => {
    const { e, t } = await machine({}, CR4_PCIDE | CR4_PGE, 1);
    const t2 = new Tables4(e, 16 * MiB);
    const va = 0x1234_5000n, vg = 0xffff_9000_0000_0000n;
    const ep1 = t.map4k(va, 0x60_0000);
    t2.map4k(va, 0x61_0000);
    const eg = t.map4k(vg, 0x62_0000, P | RW | G);           // global, only in PCID 1's tables
    expect(read(e, va).pa).toBe(0x60_0000);
    expect(read(e, vg).pa).toBe(0x62_0000);
    // PCID 2, other tables: its own translation, the global one from the TLB.
    e.writeCr3(BigInt(t2.pml4) | 2n);
    expect(read(e, va).pa).toBe(0x61_0000);
    expect(read(e, vg).pa).toBe(0x62_0000);
    // Back to PCID 1 with bit 63: no flush, PCID 1's entry is still cached (stale if changed).
    t.write(ep1, BigInt(0x63_0000) | P | RW | US);
    e.writeCr3((1n << 63n) | BigInt(t.pml4) | 1n);
    expect(e.x86().cr3 >> 63n).toBe(0n);                    // bit 63 is not stored
    expect(read(e, va).pa).toBe(0x60_0000);
    // Without bit 63 the load flushes PCID 1 (non-global).
    e.writeCr3(BigInt(t.pml4) | 1n);
    expect(read(e, va).pa).toBe(0x63_0000);
    // Global still cached although its entry changed.
    t.write(eg, BigInt(0x64_0000) | P | RW | G);
    expect(read(e, vg).pa).toBe(0x62_0000);
  });

  it("INVPCID types 0-3 invalidate exactly their scope", async () => {
    const { e, t } = await machine({}, CR4_PCIDE | CR4_PGE, 1);
    const va = 0x2000_0000n, vb = 0x2000_1000n, vg = 0xffff_a000_0000_0000n;
    const ea = t.map4k(va, 0x70_0000), eb = t.map4k(vb, 0x71_0000);
    const eg = t.map4k(vg, 0x72_0000, P | RW | G);
    const load = (pcid: number): void => { e.writeCr3((1n << 63n) | BigInt(t.pml4) | BigInt(pcid)); };
    const fillAll = (): void => { for (const p of [1, 2]) { load(p); read(e, va); read(e, vb); read(e, vg); } };
    const moveAll = (k: number): void => {
      t.write(ea, BigInt(0x70_0000 + k * 0x10_000) | P | RW | US);
      t.write(eb, BigInt(0x71_0000 + k * 0x10_000) | P | RW | US);
      t.write(eg, BigInt(0x72_0000 + k * 0x10_000) | P | RW | G);
    };
    /** Which of (va, vb, vg) in PCID `p` are re-walked (see the moved mapping). */
    const fresh = (p: number, k: number): boolean[] => {
      load(p);
      return [read(e, va).pa === 0x70_0000 + k * 0x10_000, read(e, vb).pa === 0x71_0000 + k * 0x10_000,
        read(e, vg).pa === 0x72_0000 + k * 0x10_000];
    };
    e.flushTlb(); fillAll(); moveAll(1);
    e.invpcid(0, 1, va);                                   // one address, one PCID, not globals
    expect(fresh(1, 1)).toEqual([true, false, false]);
    expect(fresh(2, 1)).toEqual([false, false, false]);
    e.flushTlb(); moveAll(0); fillAll(); moveAll(2);
    e.invpcid(1, 2, 0n);                                   // one PCID, not globals
    expect(fresh(1, 2)).toEqual([false, false, false]);
    expect(fresh(2, 2)).toEqual([true, true, false]);
    e.flushTlb(); moveAll(0); fillAll(); moveAll(3);
    e.invpcid(3, 0, 0n);                                   // all PCIDs, not globals
    expect(fresh(1, 3)).toEqual([true, true, false]);
    expect(fresh(2, 3)).toEqual([true, true, false]);
    e.flushTlb(); moveAll(0); fillAll(); moveAll(4);
    e.invpcid(2, 0, 0n);                                   // everything
    expect(fresh(1, 4)).toEqual([true, true, true]);
    expect(e.stats().flushes.invpcid).toBe(4);
  });

  it("INVLPG drops the current PCID's entry and global entries, not other PCIDs' entries", async () => {
    const { e, t } = await machine({}, CR4_PCIDE | CR4_PGE, 1);
    const va = 0x3000_0000n;
    const ep = t.map4k(va, 0x80_0000);
    for (const p of [1n, 2n]) { e.writeCr3((1n << 63n) | BigInt(t.pml4) | p); read(e, va); }
    t.write(ep, BigInt(0x81_0000) | P | RW | US);
    e.invlpg(va);                                           // current PCID is 2
    expect(read(e, va).pa).toBe(0x81_0000);
    e.writeCr3((1n << 63n) | BigInt(t.pml4) | 1n);
    expect(read(e, va).pa).toBe(0x80_0000);
  });

  it("control-register changes flush: CR0.WP, CR4.SMAP/PKE; CPL, EFLAGS.AC and PKRU are checked on every hit", async () => {
    const { e, t } = await machine({}, CR4_SMAP | CR4_PKE);
    const vs = 0x5000_0000n, vu = 0x5000_1000n;
    t.map4k(vs, 0x90_0000, P | A | D);                      // supervisor, read-only, dirty
    const eu = t.map4k(vu, 0x91_0000, P | RW | US | A | D | (1n << 59n));   // user page, pkey 1
    // CR0.WP=1: supervisor write to the read-only page faults; WP=0 lets it through.
    expect(write(e, vs).fault).toBe(FaultKind.X86);
    e.writeCr0(CR0_PG | CR0_PE);
    expect(write(e, vs).fault).toBe(FaultKind.None);
    expect(write(e, vs).fault).toBe(FaultKind.None);        // a hit now
    e.writeCr0(CR0_PG | CR0_PE | CR0_WP);                   // flushes: the folded WP=0 permission must go
    expect(write(e, vs).fault).toBe(FaultKind.X86);
    // CPL: a supervisor page cached for CPL 0 is not usable at CPL 3.
    expect(read(e, vs).fault).toBe(FaultKind.None);
    e.setCpl(3);
    expect(read(e, vs).errorCode).toBe(PfErr.P | PfErr.U);
    // User page: CPL 3 reads hit; PKRU denies access for key 1 without any flush.
    expect(read(e, vu).pa).toBe(0x91_0000);
    e.setPkru(0b0100);                                     // AD for key 1
    expect(read(e, vu).errorCode).toBe(PfErr.P | PfErr.U | PfErr.PK);
    e.setPkru(0);
    // SMAP: supervisor data access to a user page only with EFLAGS.AC.
    e.setCpl(0);
    expect(read(e, vu).fault).toBe(FaultKind.X86);
    e.setEflags(1n << 18n);
    expect(read(e, vu).fault).toBe(FaultKind.None);
    expect(read(e, vu).fault).toBe(FaultKind.None);
    e.setEflags(0n);
    expect(read(e, vu).fault).toBe(FaultKind.X86);
    t.write(eu, 0n);
  });

  it("has no capacity cliff: a full TLB replaces entries and keeps the most recent ones", async () => {
    const { e, t } = await machine({ tlb: { entries4k: 16, entriesLarge: 2, entries1g: 1 } });
    const base = 0x1_0000_0000n;
    for (let i = 0; i < 256; i++) t.map4k(base + BigInt(i) * 0x1000n, 0x100_0000 + i * 0x1000);
    for (let i = 0; i < 256; i++) expect(read(e, base + BigInt(i) * 0x1000n).pa).toBe(0x100_0000 + i * 0x1000);
    e.resetStats();
    for (let i = 240; i < 256; i++) read(e, base + BigInt(i) * 0x1000n);   // the last 16 pages are all cached
    expect(e.stats().walks).toBe(0);
    expect(e.stats().l1.hits).toBe(16);
    for (let i = 0; i < 16; i++) read(e, base + BigInt(i) * 0x1000n);      // each evicts one, never all
    expect(e.stats().walks).toBe(16);
    expect(e.stats().evictions).toBe(16);
    for (let i = 0; i < 16; i++) read(e, base + BigInt(i) * 0x1000n);
    expect(e.stats().walks).toBe(16);
  });

  it("flushes touch only the filled entries and count what they dropped", async () => {
    const { e, t } = await machine();
    for (let i = 0; i < 10; i++) { t.map4k(BigInt(i) << 12n, 0x200_0000 + i * 0x1000); read(e, BigInt(i) << 12n); }
    e.resetStats();
    e.flushTlb();
    expect(e.stats().invalidated).toBe(10);
    expect(e.stats().flushes.full).toBe(1);
    e.flushTlb();
    expect(e.stats().invalidated).toBe(10);
  });

  it("probe neither fills nor uses the TLB", async () => {
    const { e, t } = await machine();
    const va = 0x6000_0000n;
    const ep = t.map4k(va, 0xa0_0000);
    expect(e.probe(va, Access.Read).pa).toBe(0xa0_0000);
    expect(t.read(ep) & A).toBe(0n);
    read(e, va);
    t.write(ep, BigInt(0xa1_0000) | P | RW | US);
    expect(e.probe(va, Access.Read).pa).toBe(0xa1_0000);    // memory, not the cached entry
    expect(read(e, va).pa).toBe(0xa0_0000);
  });

  it("works with the TLB off (every access walks)", async () => {
    const { e, t } = await machine({ tlb: { mode: "off" } });
    const va = 0x6100_0000n;
    const ep = t.map4k(va, 0xb0_0000);
    read(e, va);
    t.write(ep, BigInt(0xb1_0000) | P | RW | US);
    expect(read(e, va).pa).toBe(0xb1_0000);
    expect(e.stats().l1.accesses).toBe(0);
    expect(e.stats().walks).toBe(2);
  });
});
