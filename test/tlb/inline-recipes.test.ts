// docs/TLB-ABI.md's inline recipes, implemented literally over an engine's
// memory with nothing but the published numbers (EMBED), agree with
// translate(): every inline hit is the translation translate() returns, for
// 4 KiB, 2 MiB, 1 GiB and 4 MiB pages, global entries under a non-zero PCID,
// user and supervisor accesses. Misses are always allowed (the export then
// answers); the test also checks that each recipe does hit.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../../src/abi.js";
import { EMBED, accessMask } from "../../src/embed.js";
import { createEngine, ENGINE_NAMES, type Engine } from "../../src/engine/index.js";
import { CR0_PE, CR0_PG, CR0_WP, CR4_PCIDE, CR4_PGE, CR4_PSE, D, enterLongMode, G, MiB, P, PS, RW, Tables4, US } from "./tables.js";

type Hit = { pa: number; via: "own" | "global"; shift: number } | null;

/** The recipe of docs/TLB-ABI.md "Inline recipes for every structure of the fast organisation". */
function inlineProbe(buf: ArrayBufferLike, va: bigint, mask: number): Hit {
  const { mem, ctl, tlbHdr, tlbStruct, tlbSize, tlbEnt, tlbFlag, mode } = EMBED;
  const dv = new DataView(buf);
  const u32 = (a: number): number => dv.getUint32(a, true);
  const u64 = (a: number): bigint => dv.getBigUint64(a, true);
  if (u32(mem.CTL_BASE + ctl.ABI_MAGIC) !== EMBED.ABI_MAGIC || u32(mem.CTL_BASE + ctl.ABI_VERSION) !== EMBED.ABI_VERSION)
    throw new Error("not a wasmmu memory");
  const tlb = u32(mem.CTL_BASE + ctl.TLB_BASE);
  if (!(u32(tlb + tlbHdr.FLAGS) & tlbFlag.FAST)) return null;
  const m = u32(mem.CTL_BASE + ctl.MODE);
  const wide = m === mode.IA32E4 || m === mode.IA32E5;
  if (!wide) va &= 0xffff_ffffn;
  const pcidOn = (u64(mem.CTL_BASE + ctl.CR4) >> 17n) & 1n;
  const pcid = pcidOn ? u64(mem.CTL_BASE + ctl.CR3) & BigInt(tlbEnt.PCID_MASK) : 0n;
  const h = BigInt(Math.imul(Number(pcid), tlbEnt.PCID_HASH) >>> 0);
  for (let i = 0; i < u32(tlb + tlbHdr.COUNT); i++) {
    const sd = tlb + tlbHdr.STRUCTS + i * tlbHdr.STRUCT_SIZE;
    const sizes = u32(sd + tlbStruct.SIZES);
    const sh = sizes === tlbSize.S4K ? 12 : sizes === tlbSize.S1G ? 30 : m === mode.LEGACY32 ? 22 : 21;
    const smask = (1n << BigInt(u32(sd + tlbStruct.SETS_LOG2))) - 1n;
    const ents = tlb + u32(sd + tlbStruct.ENTRIES);
    const base = va & ~((1n << BigInt(sh)) - 1n);
    let e = ents + Number(((va >> BigInt(sh)) ^ h) & smask) * tlbEnt.SIZE;
    const own = u64(e + tlbEnt.KEY) === (base | pcid);
    let glob = false;
    if (!own) {
      const g = ents + Number((va >> BigInt(sh)) & smask) * tlbEnt.SIZE;
      glob = (u32(g + tlbEnt.LEAF) & tlbEnt.GLOBAL) !== 0 && (u64(g + tlbEnt.KEY) & ~0xfffn) === base &&
        (u64(g + tlbEnt.DATA) & BigInt(EMBED.tlbDeny.INVALID)) === 0n;
      if (glob) e = g;
    }
    if (!own && !glob) continue;
    const data = u64(e + tlbEnt.DATA);
    if (data & BigInt(mask)) return null;
    return { pa: Number(va ^ (data & ~0xfffn)), via: own ? "own" : "global", shift: sh };
  }
  return null;
}

/** A deterministic generator (xorshift32), so that a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

/** Probe inline, then translate: an inline hit must be translate()'s answer. Returns the hit, if any. */
function check(e: Engine, va: bigint, access: Access, stats: Map<string, number>): void {
  const x = e.x86();
  const hit = inlineProbe(e.buffer, va, accessMask(access, x.cpl, ((x.eflags >> 18n) & 1n) === 1n));
  const t = e.translate(va, access);
  if (hit) {
    expect(t.fault, `va ${va.toString(16)}`).toBe(FaultKind.None);
    expect(hit.pa, `va ${va.toString(16)}`).toBe(t.pa);
    expect(hit.shift).toBe(t.shift);
    const k = `${hit.via}:${hit.shift}`;
    stats.set(k, (stats.get(k) ?? 0) + 1);
  }
}

describe.each(ENGINE_NAMES)("%s: the inline recipes agree with translate()", (name) => {
  it("IA-32e: 4 KiB, 2 MiB and 1 GiB pages, user and supervisor, global pages under PCIDs 1..3", async () => {
    const e = await createEngine(name, { physSize: 64 * MiB });
    const t = new Tables4(e, 48 * MiB);
    const user = P | RW | US | D, sup = P | RW | D;
    for (let i = 0; i < 64; i++) t.map4k(0x40_0000n + BigInt(i) * 0x1000n, 0x10_0000 + i * 0x1000, i % 3 ? user : sup);
    for (let i = 0; i < 4; i++) t.map4k(0x7f00_0000n + BigInt(i) * 0x1000n, 0x20_0000 + i * 0x1000, (i % 2 ? RW : 0n) | P | US);   // clean: writes re-walk
    for (let i = 0; i < 4; i++) t.map2m(0x8000_0000n + BigInt(i) * 0x20_0000n, 0x40_0000 + i * 0x20_0000, i % 2 ? user : sup);
    t.map1g(0x40_0000_0000n, 0, user);
    const kernel = 0xffff_8880_0000_0000n;   // the direct map: global supervisor pages
    for (let i = 0; i < 16; i++) t.map4k(kernel + BigInt(i) * 0x1000n, 0x30_0000 + i * 0x1000, sup | G);
    t.map2m(kernel + 0x20_0000n, 0x40_0000, sup | G);
    enterLongMode(e, t, CR4_PCIDE | CR4_PGE, 1);

    const vas: bigint[] = [];
    const r = rng(name === "wasm" ? 7 : 11);
    const pick = (): bigint => {
      const k = r() % 7, off = BigInt(r() % 0x1000);
      if (k === 0) return 0x40_0000n + BigInt(r() % 64) * 0x1000n + off;
      if (k === 1) return 0x7f00_0000n + BigInt(r() % 4) * 0x1000n + off;
      if (k === 2) return 0x8000_0000n + BigInt(r() % (8 * MiB));
      if (k === 3) return 0x40_0000_0000n + BigInt(r() % (32 * MiB));
      if (k === 4) return kernel + BigInt(r() % 16) * 0x1000n + off;
      if (k === 5) return kernel + 0x20_0000n + BigInt(r() % (2 * MiB));
      return BigInt(r()) * 0x1000n + off;   // mostly unmapped
    };
    for (let i = 0; i < 3000; i++) vas.push(pick());
    const stats = new Map<string, number>();
    for (const [j, va] of vas.entries()) {
      if (j % 500 === 0) {
        // Another process: PCID 1..3, CPL 0 or 3, EFLAGS.AC on or off.
        const pcid = 1 + (j / 500) % 3;
        expect(e.writeCr3(BigInt(t.pml4) | BigInt(pcid)).fault).toBe(0);
        e.setCpl(j % 1000 ? 3 : 0);
        e.setEflags(j % 1500 ? 0n : 1n << 18n);
      }
      check(e, va, [Access.Read, Access.Write, Access.Fetch][r() % 3]!, stats);
    }
    // Every recipe hit: own slots of every page size, and global entries found for another PCID.
    for (const k of ["own:12", "own:21", "own:30", "global:12", "global:21"]) expect(stats.get(k) ?? 0, k).toBeGreaterThan(20);
  });

  it("32-bit paging: 4 KiB and 4 MiB pages (CR4.PSE), without PCIDs", async () => {
    const e = await createEngine(name, { physSize: 64 * MiB });
    const pd = 40 * MiB, pt = pd + 0x1000;
    e.phys.fill(pd, 0x2000, 0);
    e.phys.write32(pd + 1 * 4, pt | Number(P | RW | US));
    for (let i = 0; i < 32; i++) e.phys.write32(pt + i * 4, 0x10_0000 + i * 0x1000 | Number(P | RW | US | D));
    for (let i = 2; i < 6; i++) e.phys.write32(pd + i * 4, i * 0x40_0000 | Number(P | RW | US | PS | D));
    const r0 = e.setX86({ cr0: CR0_PG | CR0_PE | CR0_WP, cr4: CR4_PSE, efer: 0n, cr3: BigInt(pd), cpl: 3, eflags: 0n, pkru: 0 });
    expect(r0.fault).toBe(0);
    const r = rng(3), stats = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const va = r() % 2 ? 0x40_0000n + BigInt(r() % (32 * 0x1000)) : 0x80_0000n + BigInt(r() % (16 * MiB));
      check(e, va | (BigInt(r() % 2) << 40n), [Access.Read, Access.Write, Access.Fetch][r() % 3]!, stats);
    }
    expect(stats.get("own:12") ?? 0).toBeGreaterThan(100);
    expect(stats.get("own:22") ?? 0).toBeGreaterThan(100);
  });
});
