// Accessed/Dirty recording (Intel SDM Vol. 3A §4.8, with the ordering chosen in
// docs/SEMANTICS.md), on both engines.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Leaf, PfErr, Quirk } from "../../src/abi.js";
import { armWalkRace, walkRacePending } from "../../src/engine/debug.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import { A, D, MODE_NAMES, MODES, P, RW, sampleVa, Tables, US } from "./tables.js";

const mode = MODES.ia32e4;
const va = sampleVa(mode);

async function machine(name: "wasm" | "ts", leafFlags = RW | US, shift = 12): Promise<{ e: Engine; t: Tables; path: number[] }> {
  const e = await createEngine(name, { physSize: 4 << 20, maxPhyAddr: 40 });
  const t = new Tables(e, mode);
  const path = t.map(va, shift === 12 ? 0x20_0000n : shift === 21 ? 0x40_0000n : 0x4000_0000n, leafFlags, shift);
  t.load();
  return { e, t, path };
}
const bits = (t: Tables, path: number[], mask: bigint): bigint[] => path.map((pa) => t.entry(pa) & mask);

describe.each(ENGINE_NAMES)("accessed and dirty bits (%s engine)", (name) => {
  it("a read through a 4K mapping sets A at every level and D nowhere", async () => {
    const { e, t, path } = await machine(name);
    expect(bits(t, path, A | D)).toEqual([0n, 0n, 0n, 0n]);
    expect(e.translate(va, Access.Read).fault).toBe(FaultKind.None);
    expect(bits(t, path, A | D)).toEqual([A, A, A, A]);
  });

  it("a write through a 2M page sets A on PML4E, PDPTE, PDE and D on the PDE only", async () => {
    const { e, t, path } = await machine(name, RW | US, 21);
    expect(path).toHaveLength(3);
    const r = e.translate(va, Access.Write);
    expect(r.fault).toBe(FaultKind.None);
    expect(bits(t, path, A | D)).toEqual([A, A, A | D]);
    expect(r.leaf & Leaf.D).toBe(Leaf.D);
  });

  it("a write fault at CPL3 sets A on the upper entries only; adOnFault none sets nothing", async () => {
    const { e, t, path } = await machine(name, US);
    e.setCpl(3);
    const r = e.translate(va, Access.Write);
    expect(r.errorCode).toBe(PfErr.P | PfErr.W | PfErr.U);
    expect(bits(t, path, A | D)).toEqual([A, A, A, 0n]);

    const m = await machine(name, US);
    m.e.setSemantics({ adOnFault: "none" });
    m.e.setCpl(3);
    expect(m.e.translate(va, Access.Write).errorCode).toBe(0x7);
    expect(bits(m.t, m.path, A | D)).toEqual([0n, 0n, 0n, 0n]);
    m.e.setCpl(0);
    expect(m.e.translate(va, Access.Read).fault).toBe(FaultKind.None);   // success still sets A
    expect(bits(m.t, m.path, A | D)).toEqual([A, A, A, A]);
  });

  it("after software clears A and INVLPG, a read sets A again", async () => {
    const { e, t, path } = await machine(name);
    e.translate(va, Access.Read);
    t.clear(path[3]!, A);
    const again = e.translate(va, Access.Read);                 // may hit a TLB (A stays 0) or walk
    expect(again.pa).toBe(0x20_0123);
    e.invlpg(va);
    expect(e.translate(va, Access.Read).pa).toBe(0x20_0123);
    expect(t.entry(path[3]!) & A).toBe(A);
  });

  it("a page first read (D=0) and then written gets D=1 in memory", async () => {
    const { e, t, path } = await machine(name);
    e.translate(va, Access.Read);
    expect(t.entry(path[3]!) & D).toBe(0n);
    expect(e.translate(va, Access.Write).leaf & Leaf.D).toBe(Leaf.D);
    expect(t.entry(path[3]!) & D).toBe(D);
  });

  it("PAE walks never read the PDPT after the CR3 load (see walk-modes for the reload)", async () => {
    const e = await createEngine(name, { physSize: 4 << 20, maxPhyAddr: 40 });
    const t = new Tables(e, MODES.pae);
    const pva = 0x8000_0000n;
    const [pdpte] = t.map(pva, 0x20_0000n, RW);
    t.load();
    e.phys.write64(pdpte!, 0n);                          // the PDPT in memory is now empty
    expect(e.translate(pva, Access.Write).pa).toBe(0x20_0000);
    expect(e.phys.read64(pdpte!)).toBe(0n);              // and nothing was written there
  });

  describe("a concurrent cmpxchg against the walker's A update", () => {
    it("clearing P on a non-leaf entry: the CAS fails, the level is re-read and the walk faults", async () => {
      const { e, t, path } = await machine(name);
      const pde = path[2]!;
      const cleared = t.entry(pde) & ~P;
      armWalkRace(e, pde, cleared);
      const r = e.translate(va, Access.Read);
      expect(walkRacePending(e)).toBe(false);
      expect([r.fault, r.errorCode]).toEqual([FaultKind.X86, 0]);
      expect(t.entry(pde)).toBe(cleared);                // no A set on the non-present entry
      expect(bits(t, path.slice(0, 2), A)).toEqual([A, A]);
      expect(t.entry(path[3]!) & A).toBe(0n);
    });

    it("another CPU setting A first: the CAS fails, the re-read sees A, the walk goes on", async () => {
      const { e, t, path } = await machine(name);
      armWalkRace(e, path[1]!, t.entry(path[1]!) | A);
      expect(e.translate(va, Access.Read).pa).toBe(0x20_0123);
      expect(bits(t, path, A)).toEqual([A, A, A, A]);
    });

    it("write-protecting the leaf before the D update: the walk restarts and the write faults", async () => {
      const { e, t, path } = await machine(name);
      const pte = path[3]!;
      const ro = t.entry(pte) & ~RW;
      armWalkRace(e, pte, ro);
      const r = e.translate(va, Access.Write);
      expect([r.fault, r.errorCode]).toEqual([FaultKind.X86, PfErr.P | PfErr.W]);
      expect(t.entry(pte)).toBe(ro);                     // neither A nor D from the failed attempt
    });

    it("a race on an entry the walk does not update never fires", async () => {
      const { e, t, path } = await machine(name);
      e.translate(va, Access.Read);                      // all A set: no cmpxchg on a read
      armWalkRace(e, path[2]!, 0n);
      expect(e.translate(va, Access.Read).pa).toBe(0x20_0123);
      expect(walkRacePending(e)).toBe(true);
      expect(t.entry(path[2]!) & P).toBe(P);
    });
  });

  it("D is never set on a non-leaf entry, in any mode", async () => {
    for (const m of MODE_NAMES) {
      const e = await createEngine(name, { physSize: 4 << 20, maxPhyAddr: 40 });
      const t = new Tables(e, MODES[m]);
      const v = sampleVa(MODES[m]);
      const path = t.map(v, 0x20_0000n, RW | US);
      t.load();
      e.translate(v, Access.Write);
      const upper = m === "pae" ? path.slice(1, -1) : path.slice(0, -1);
      for (const pa of upper) expect(t.entry(pa) & (A | D), `${m} 0x${pa.toString(16)}`).toBe(A);
      expect(t.entry(path.at(-1)!) & (A | D)).toBe(A | D);
    }
  });

  it("1 GiB leaves: A only on success (hardware); QEMU's 1g-A-early marks it on a fault too", async () => {
    for (const [quirks, want] of [[0, 0n], [Quirk.OneGAEarly, A]] as const) {
      const { e, t, path } = await machine(name, US, 30);
      e.setSemantics({ quirks });
      e.setCpl(3);
      expect(e.translate(va, Access.Write).errorCode).toBe(0x7);
      expect(t.entry(path[1]!) & A).toBe(want);
    }
  });

  it("probe walks like translate but writes nothing: no A/D, no CR2", async () => {
    const { e, t, path } = await machine(name);
    const before = path.map((pa) => t.entry(pa));
    const r = e.probe(va, Access.Write);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, 0x20_0123]);
    expect(path.map((pa) => t.entry(pa))).toEqual(before);
    e.setX86({ cr2: 0x55n });
    const miss = e.probe(va ^ (1n << 30n), Access.Read);
    expect([miss.fault, miss.addr]).toEqual([FaultKind.X86, va ^ (1n << 30n)]);
    expect(e.x86().cr2).toBe(0x55n);
  });
});
