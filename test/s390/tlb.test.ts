// The s390 TLB (assembly/s390/tlb.ts and its TS twin): architectural effects,
// in both engines. PoP ch. 3 "Translation-Lookaside Buffer"; PoP ch. 10
// IPTE / IDTE / PTLB; C recorded lazily, as assembly/s390/tlb.ts explains.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm, Skey } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES } from "../../src/engine/index.js";
import { S390Tables } from "./tables.js";

const DATA = 0x80_0000;

describe.each(ENGINE_NAMES)("s390 TLB (%s engine)", (name) => {
  async function mapped(entries?: number) {
    const e = await createEngine(name, { physSize: 32 << 20, s390TlbEntries: entries });
    const t = new S390Tables(e, 1);
    const va = 0x1_0000_7000n;
    const pte = t.map(va, DATA);
    e.setS390({ asce: t.asce() });
    return { e, t, va, pte };
  }

  it("uses a cached translation until IPTE, then walks the tables again", async () => {
    const { e, t, va, pte } = await mapped();
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA);
    t.write(pte, BigInt(DATA + 0x1000));                    // changed without IPTE
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA);
    expect(e.probeS390(va, Access.Read).pa).toBe(DATA + 0x1000);   // probe always walks
    e.ipte(pte, va);
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
    t.write(pte, BigInt(DATA + 0x1000));
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA + 0x1000);
  });

  it("counts s390 accesses in the engine statistics: TLB hits/misses, walks and entries read, faults", async () => {
    const { e, va } = await mapped();
    e.resetStats();
    e.translateS390(va, Access.Read);                         // miss, walk of 3 entries (R3, segment, page)
    e.translateS390(va, Access.Read);                         // hit
    e.translateS390(va, Access.Write);                        // miss (C not yet set), walk
    e.translateS390(0x5_0000_0000n, Access.Read);             // miss, walk, region-third translation fault
    e.probeS390(va, Access.Read);                             // not counted
    const s = e.stats();
    expect([s.l1.read.hits, s.l1.read.misses, s.l1.write.misses]).toEqual([1, 2, 1]);
    expect(s.walks).toBe(3);
    expect(s.walkRefs[3]).toBe(2);
    expect(s.walkRefs[1]).toBe(1);
    expect(s.faults.s390).toBe(1);
  });

  it("the engine-wide flushTlb() drops s390 translations too", async () => {
    const { e, t, va, pte } = await mapped();
    e.translateS390(va, Access.Read);
    t.write(pte, 0x400n);
    e.flushTlb();
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
  });

  it("IDTE and PTLB purge everything; without a TLB a change is seen at once", async () => {
    const { e, t, va } = await mapped();
    e.translateS390(va, Access.Read);
    t.set(t.path.get(0)!, 0x20n);
    expect(e.translateS390(va, Access.Read).fault).toBe(FaultKind.None);
    e.purgeTlb();
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.SegmentTranslation);
    const off = await mapped(0);
    off.e.translateS390(off.va, Access.Read);
    off.t.set(off.t.path.get(0)!, 0x20n);
    expect(off.e.translateS390(off.va, Access.Read).vector).toBe(Pgm.SegmentTranslation);
  });

  it("is tagged by ASCE: an entry made in one address space is never used in another", async () => {
    const { e, t, va } = await mapped();
    const other = new S390Tables(e, 1, 0x40_0000);
    other.map(va, DATA + 0x2000);
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA);
    e.setS390({ asce: other.asce() });                      // no purge needed for a switch …
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA + 0x2000);
    e.setS390({ asce: t.asce() });
    expect(e.translateS390(va, Access.Read).pa).toBe(DATA);  // … and no stale cross-space hit
    e.setS390({ asce: t.asce() | 0x100n });                 // same tables, other ASCE value: a miss
    t.set(t.path.get("pt")!, 0x400n);
    expect(e.translateS390(va, Access.Read).vector).toBe(Pgm.PageTranslation);
  });

  it("records C lazily: a read fill withholds write permission, the first store walks and sets C", async () => {
    const { e, t, va, pte } = await mapped();
    e.translateS390(va, Access.Read);
    expect(e.iske(DATA)).toBe(Skey.R);
    t.write(pte, BigInt(DATA) | 0x200n);                     // made read-only without IPTE …
    expect(e.translateS390(va, Access.Write).vector).toBe(Pgm.Protection);   // … the store re-walks
    t.write(pte, BigInt(DATA));
    e.translateS390(va, Access.Write);
    expect(e.iske(DATA)).toBe(Skey.R | Skey.C);
    t.write(pte, BigInt(DATA) | 0x200n);                     // now the writable entry is cached
    expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
  });

  it("storage-key changes purge: RRBE's R and SSKE's C and ACC are seen by the next access", async () => {
    const { e, va } = await mapped();
    e.translateS390(va, Access.Write);
    expect(e.rrbe(DATA)).toBe(3);
    e.translateS390(va, Access.Read);
    expect(e.iske(DATA)).toBe(Skey.R | Skey.C);
    e.sske(DATA, 0x50);
    e.translateS390(va, Access.Write);
    expect(e.iske(DATA)).toBe(0x50 | Skey.R | Skey.C);
    e.setS390({ pswKey: 3 });                                // a PSW change purges too
    expect(e.translateS390(va, Access.Write).vector).toBe(Pgm.Protection);
    e.sske(DATA, 0x30);
    expect(e.translateS390(va, Access.Write).fault).toBe(FaultKind.None);
  });
});
