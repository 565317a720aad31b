// Paging-structure caches (Intel SDM Vol. 3A §4.10.3, invalidation §4.10.4.1)
// on both engines: a TLB miss starts its walk at the longest cached match and
// reads only the entries below it; cached entries are used after software
// changes the paging structures, until an operation the SDM lists drops them;
// each operation drops exactly what the SDM says; statistics count each probe.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, PscData, TlbEnt, TlbHdr, Vector } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import { resolveTlb, type TlbConfig } from "../../src/tlb/config.js";
import {
  A, CR0_PE, CR0_PG, CR0_WP, CR4_PCIDE, CR4_PGE, EFER_LME, EFER_NXE, enterLongMode, MiB, P, RW, Tables4, US,
} from "./tables.js";

const CR4_PAE = 1n << 5n, CR4_LA57 = 1n << 12n;
const ADDR = 0x000f_ffff_ffff_f000n;

/** VAs: two pages under one PDE, one under another PDE of the same PDPT,
 *  one under another PDPTE of the same PML4E, one under another PML4E. */
const V1 = 0x4000_0000n, V2 = 0x4000_1000n, V3 = 0x4000_2000n, V4 = 0x4000_3000n;
const OTHER_PDE = 0x4020_0000n, OTHER_PDPTE = 0x8000_0000n, OTHER_PML4E = 0x80_0000_0000n;

describe("paging-structure-cache configuration", () => {
  it("defaults, per-level geometry, errors that name the level, nothing with the TLB off", () => {
    const d = resolveTlb({ psc: true }).psc;
    expect(d.map((s) => [s.name, s.level, s.sets, s.ways])).toEqual([
      ["psc-pml5", 5, 1, 2], ["psc-pml4", 4, 1, 4], ["psc-pdpt", 3, 2, 4], ["psc-pd", 2, 4, 8]]);
    expect(resolveTlb({ mode: "research", psc: { pd: { sets: 8, ways: 2 } } }).psc[3]).toMatchObject({ sets: 8, ways: 2 });
    expect(() => resolveTlb({ replacement: "plru", psc: { pd: { sets: 4, ways: 3 } } })).toThrow(/psc\.pd.*power-of-two/);
    expect(() => resolveTlb({ psc: { pdpt: { sets: 3, ways: 1 } } })).toThrow(/psc\.pdpt.*sets/);
    expect(resolveTlb({ mode: "off", psc: true }).psc).toEqual([]);
  });
});

describe.each(ENGINE_NAMES)("paging-structure caches (%s engine)", (name) => {
  async function machine(tlb: TlbConfig = { psc: true }, cr4 = 0n, pcid = 0): Promise<{ e: Engine; t: Tables4 }> {
    const e = await createEngine(name, { physSize: 32 * MiB, tlb });
    const t = new Tables4(e);
    [V1, V2, V3, OTHER_PDE, OTHER_PDPTE, OTHER_PML4E, V4].forEach((va, i) => t.map4k(va, 0x100_0000 + i * 0x1000));
    enterLongMode(e, t, cr4, pcid);
    return { e, t };
  }
  const read = (e: Engine, va: bigint) => e.translate(va, Access.Read);
  /** Translate and return how many paging-structure entries the walk read (0: a TLB hit). */
  function refs(e: Engine, va: bigint, access = Access.Read): number {
    const before = e.stats().walkRefs;
    const r = e.translate(va, access);
    expect(r.fault, `translate ${va.toString(16)}`).toBe(FaultKind.None);
    const after = e.stats().walkRefs;
    const n = after.findIndex((c, i) => c !== before[i]);
    return n < 0 ? 0 : n;
  }

  it("a TLB miss starts at the longest match: PDE hit reads 1 entry, PDPTE 2, PML4E 3, none 4", async () => {
    const { e } = await machine();
    expect(refs(e, V1)).toBe(4);                 // cold: PML4E, PDPTE, PDE, PTE
    expect(refs(e, V1)).toBe(0);                 // TLB hit
    expect(refs(e, V2)).toBe(1);                 // PDE cache: only the PTE
    expect(refs(e, OTHER_PDE)).toBe(2);          // PDPTE cache: PDE, PTE
    expect(refs(e, OTHER_PDPTE)).toBe(3);        // PML4E cache: PDPTE, PDE, PTE
    expect(refs(e, OTHER_PML4E)).toBe(4);        // nothing cached for it
    expect(read(e, V2).pa).toBe(0x100_1000);
    expect(read(e, OTHER_PML4E + 0x10n).pa).toBe(0x100_5010);
  });

  it("statistics: each walk probes PDE, PDPTE, PML4E in that order until a hit, one count per probe", async () => {
    const { e } = await machine();
    read(e, V1);                                 // 3 misses
    read(e, V1);                                 // TLB hit: no probe
    read(e, V2);                                 // PDE hit
    read(e, OTHER_PDE);                          // PDE miss, PDPTE hit
    read(e, OTHER_PDPTE);                        // PDE, PDPTE miss, PML4E hit
    e.probe(V3, Access.Read);                    // probe: no probe of the caches
    const s = e.stats();
    expect(s.psc).toEqual({
      pml5: { hits: 0, misses: 0 },              // 4-level paging has no PML5E cache
      pml4: { hits: 1, misses: 1 },
      pdpt: { hits: 1, misses: 2 },
      pd: { hits: 1, misses: 3 },
    });
    expect(s.walks).toBe(4);
    expect(s.walkRefs.slice(0, 5)).toEqual([0, 1, 1, 1, 1]);
    // Evictions and invalidated entries are the TLB's own statistics.
    // (V1 and OTHER_PDPTE share a set of the direct-mapped 4 KiB array.)
    expect(s.evictions).toBe(1);
    e.flushTlb(true);
    expect(e.stats().invalidated).toBe(3);       // three TLB entries; the six PSC entries are not counted
  });

  it("a PSC entry in memory: tag | PCID, next table | folded permissions, the entry's PA (TLB-ABI.md)", async () => {
    const { e, t } = await machine({ psc: true }, CR4_PCIDE, 5);
    const pde = t.entryPa(V1, 2);
    t.write(pde, t.read(pde) & ~RW);             // a read-only PDE over a writable PTE
    read(e, V1);
    const pd = e.layout.tlb.psc.find((s) => s.level === 2)!;
    const dv = new DataView(e.buffer, e.layout.tlbBase + pd.entriesOff, pd.sets * pd.ways * TlbEnt.SIZE);
    const slots = Array.from({ length: pd.sets * pd.ways }, (_, i) => i * TlbEnt.SIZE)
      .filter((o) => !(dv.getUint32(o + TlbEnt.DATA, true) & PscData.INVALID));
    expect(slots.length).toBe(1);
    const o = slots[0]!;
    expect(dv.getBigUint64(o + TlbEnt.KEY, true)).toBe((V1 & ~0x1f_ffffn) | 5n);
    expect(dv.getBigUint64(o + TlbEnt.DATA, true)).toBe((t.read(pde) & ADDR) | BigInt(PscData.US));
    expect(dv.getBigUint64(o + TlbEnt.PTE_PA, true)).toBe(BigInt(pde));
    expect((dv.getUint32(o + TlbEnt.LEAF, true) >>> TlbEnt.SHIFT_SHIFT) & 0xff).toBe(21);
    expect(dv.getUint32(o + TlbEnt.LEAF, true) & TlbEnt.GLOBAL).toBe(0);
    // The folded R/W = 0 applies to a page whose walk starts below the PDE.
    expect(read(e, V2).leaf & 1).toBe(0);        // Leaf.W clear
    expect(e.translate(V2, Access.Write).vector).toBe(Vector.PF);
  });

  it("a cached PDE is used after software changes it, until INVLPG (any address) drops the PCID's PSC entries", async () => {
    const { e, t } = await machine();
    read(e, V1);
    // Point the PDE at a new page table that maps V2/V3 elsewhere.
    const pde = t.entryPa(V1, 2), pt2 = t.alloc();
    t.write(pt2 + 8, 0x200_1000n | P | RW | US);
    t.write(pt2 + 16, 0x200_2000n | P | RW | US);
    t.write(pde, BigInt(pt2) | P | RW | US | A);
    expect(read(e, V2).pa).toBe(0x100_1000);     // stale PDE-cache entry: the old table, as on hardware
    expect(e.probe(V3, Access.Read).pa).toBe(0x200_2000);   // probe walks from CR3
    e.invlpg(OTHER_PML4E);                        // an unrelated address
    expect(refs(e, V3)).toBe(4);                  // every PSC entry of the PCID went
    expect(read(e, V3).pa).toBe(0x200_2000);
    expect(read(e, V2).pa).toBe(0x100_1000);     // V2's TLB entry is another matter: still stale
    e.invlpg(V2);
    expect(read(e, V2).pa).toBe(0x200_1000);
  });

  it("MOV CR3 drops the new PCID's PSC entries; with bit 63 set (PCIDE) it keeps them", async () => {
    const { e, t } = await machine({ psc: true }, CR4_PCIDE, 1);
    read(e, V1);
    e.writeCr3((1n << 63n) | BigInt(t.pml4) | 1n);
    expect(refs(e, V2)).toBe(1);                  // kept
    e.writeCr3(BigInt(t.pml4) | 1n);
    expect(refs(e, V3)).toBe(4);                  // dropped
    // Without PCIDE a CR3 load drops everything (PCID 000H).
    const m = await machine();
    read(m.e, V1);
    m.e.writeCr3(BigInt(m.t.pml4));
    expect(refs(m.e, V2)).toBe(4);
  });

  it("PSC entries are tagged by PCID: INVLPG and a CR3 load touch only their own PCID", async () => {
    const { e, t } = await machine({ psc: true }, CR4_PCIDE | CR4_PGE, 1);
    const cr3 = (pcid: number, keep: boolean) => e.writeCr3((keep ? 1n << 63n : 0n) | BigInt(t.pml4) | BigInt(pcid));
    read(e, V1);                                  // PCID 1's entries
    cr3(2, true);
    expect(refs(e, V2)).toBe(4);                  // PCID 2 sees none of PCID 1's
    e.invlpg(OTHER_PML4E);                        // drops PCID 2's …
    expect(refs(e, V3)).toBe(4);
    cr3(1, true);
    expect(refs(e, V3)).toBe(1);                  // … only: PCID 1's survived
    cr3(1, false);                                // drops PCID 1's …
    expect(refs(e, V4)).toBe(4);
    cr3(2, true);
    expect(refs(e, V4)).toBe(1);                  // … only: PCID 2's survived
    // Global pages do not make PSC entries global: a CR3 load drops them all the same.
    const pte = t.entryPa(OTHER_PDE, 1);
    t.write(pte, t.read(pte) | 0x100n);
    e.invlpg(OTHER_PDE);
    read(e, OTHER_PDE);
    cr3(2, false);
    expect(refs(e, OTHER_PDE)).toBe(0);           // the global TLB entry stays
    expect(refs(e, V2)).toBe(4);                  // the PSC entries filled on its walk did not
  });

  it("INVPCID: types 0 and 1 drop the PSC entries of that PCID whatever the address; 2 and 3 of every PCID", async () => {
    for (const type of [0, 1, 2, 3] as const) {
      const { e, t } = await machine({ psc: true }, CR4_PCIDE, 1);
      const cr3 = (pcid: number) => e.writeCr3((1n << 63n) | BigInt(t.pml4) | BigInt(pcid));
      read(e, V1);
      cr3(2);
      read(e, V1);
      e.invpcid(type, 2, OTHER_PML4E);            // address unrelated to V1..V3
      expect(refs(e, V2), `type ${type}, PCID 2`).toBe(4);
      cr3(1);
      expect(refs(e, V2), `type ${type}, PCID 1`).toBe(type >= 2 ? 4 : 1);
    }
  });

  it("full flushes drop every PSC entry: flushTlb, CR4.PGE toggle, CR0.WP change, EFER.NXE change", async () => {
    const ops: ((e: Engine) => void)[] = [
      (e) => e.flushTlb(false),
      (e) => { const c = e.x86().cr4; e.writeCr4(c ^ CR4_PGE); e.writeCr4(c); },
      (e) => { const c = e.x86().cr0; e.writeCr0(c ^ CR0_WP); e.writeCr0(c); },
      (e) => { const f = e.x86().efer; e.writeEfer(f ^ EFER_NXE); e.writeEfer(f); },
    ];
    for (const [i, op] of ops.entries()) {
      const { e } = await machine();
      read(e, V1);
      op(e);
      expect(refs(e, V2), `op ${i}`).toBe(4);
    }
  });

  it("a #PF drops the PSC entries that would translate the faulting address, and no others", async () => {
    const { e, t } = await machine();
    const hole = 0x4000_5000n;                    // under V1's PDE, PTE not present
    read(e, V1);
    read(e, OTHER_PML4E);                         // a path in another PML4E
    const f = read(e, hole);
    expect(f.fault).toBe(FaultKind.X86);
    expect(f.vector).toBe(Vector.PF);
    expect(refs(e, V2)).toBe(4);                  // V1's PDE, PDPTE, PML4E entries are gone
    expect(refs(e, OTHER_PML4E)).toBe(0);         // a TLB hit
    t.map4k(OTHER_PML4E + 0x1000n, 0x180_0000);
    expect(refs(e, OTHER_PML4E + 0x1000n)).toBe(1);   // the other path's PDE entry stayed
    // A faulting walk leaves nothing for its address: the entries it filled are dropped.
    const { e: e2 } = await machine();
    expect(read(e2, hole).fault).toBe(FaultKind.X86);
    expect(refs(e2, V1)).toBe(4);
  });

  it("a #PF at a non-present PDE caches the PML4E and PDPTE on the way, then drops them", async () => {
    const { e, t } = await machine();
    const far = 0x4060_0000n;                     // same PDPTE as V1, PDE not present
    expect(t.read(t.entryPa(far, 2)) & P).toBe(0n);
    expect(read(e, far).fault).toBe(FaultKind.X86);
    expect(e.stats().walkRefs[3]).toBe(1);       // PML4E, PDPTE, PDE
    expect(refs(e, V1)).toBe(4);
  });

  it("adOnFault none: the side-effect-free pre-walk reads the caches too; one count per translation", async () => {
    const { e } = await machine();
    e.setSemantics({ adOnFault: "none" });
    read(e, V1);
    read(e, V2);
    const s = e.stats();
    expect(s.psc.pd).toEqual({ hits: 1, misses: 1 });
    expect(s.psc.pdpt).toEqual({ hits: 0, misses: 1 });
    expect(s.walkRefs.slice(0, 5)).toEqual([0, 1, 0, 0, 1]);
  });

  it("the probe neither reads nor fills the caches", async () => {
    const { e } = await machine();
    const region = () => new Uint8Array(e.buffer, e.layout.tlbBase, e.layout.tlb.bytes).slice();
    const before = region();
    expect(e.probe(V1, Access.Read).fault).toBe(FaultKind.None);
    expect(Buffer.compare(region(), before)).toBe(0);
    expect(refs(e, V1)).toBe(4);
  });

  it("LA57: the PML5E cache lets a miss in another PML4E of the same PML5E read 4 entries", async () => {
    const e = await createEngine(name, { physSize: 32 * MiB, tlb: { psc: true } });
    const t = new Tables4(e);
    const pml5 = t.alloc();
    t.write(pml5, BigInt(t.pml4) | P | RW | US);  // PML5E 0 → the 4-level tree (VA bits 56:48 = 0)
    t.map4k(V1, 0x100_0000);
    t.map4k(OTHER_PML4E, 0x100_1000);
    const r = e.setX86({
      cr0: CR0_PG | CR0_PE | CR0_WP, cr4: CR4_PAE | CR4_LA57, efer: EFER_LME | EFER_NXE, cr3: BigInt(pml5), cpl: 0, eflags: 0n, pkru: 0,
    });
    expect(r.fault).toBe(FaultKind.None);
    expect(refs(e, V1)).toBe(5);
    expect(refs(e, V1)).toBe(0);
    t.map4k(V2, 0x100_2000);
    expect(refs(e, V2)).toBe(1);                  // PDE cache
    expect(refs(e, OTHER_PML4E)).toBe(4);         // PML5E cache: PML4E, PDPTE, PDE, PTE
    expect(read(e, OTHER_PML4E).pa).toBe(0x100_1000);
    expect(e.stats().psc).toEqual({
      pml5: { hits: 1, misses: 1 }, pml4: { hits: 0, misses: 2 }, pdpt: { hits: 0, misses: 2 }, pd: { hits: 1, misses: 2 },
    });
    // A stale PML5E: repoint it at an empty PML4; still used until INVLPG.
    const empty = t.alloc();
    t.write(pml5, BigInt(empty) | P | RW | US | A);
    const far = OTHER_PML4E + 0x80_0000_0000n;     // yet another PML4E, in the old tree only
    t.map4k(far, 0x100_3000);
    t.map4k(far + 0x1000n, 0x100_4000);
    expect(read(e, far).pa).toBe(0x100_3000);
    e.invlpg(V1);                                 // drops the PML5E entry too
    expect(read(e, far + 0x1000n).fault).toBe(FaultKind.X86);
  });

  it("without paging-structure caches configured, nothing is laid out or counted", async () => {
    const { e } = await machine({});
    read(e, V1);
    read(e, V2);
    expect(e.stats().psc.pd).toEqual({ hits: 0, misses: 0 });
    expect(e.layout.tlb.psc.length).toBe(0);
    expect(new DataView(e.buffer).getUint32(e.layout.tlbBase + TlbHdr.PSC_COUNT, true)).toBe(0);
  });
});
