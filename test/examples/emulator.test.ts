// examples/emulator/: the AssemblyScript emulator module, built by its own
// script, instantiated over a wasm engine's memory with the core's translatePa
// imported, replays a trace over a mapped address space. Every result is
// checked against translate() on a TS engine given the same tables and the
// same accesses in the same order, and its hit count against the 4 KiB inline
// test of docs/TLB-ABI.md evaluated over that engine's (byte-identical) memory.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { Access, FaultKind } from "../../src/abi.js";
import { EMBED, accessMask } from "../../src/embed.js";
import { createEngine, type Engine, type WasmEngine } from "../../src/engine/index.js";
import { D, enterLongMode, MiB, P, RW, Tables4, US, CR4_PCIDE } from "../tlb/tables.js";

const ROOT = join(import.meta.dirname, "../..");
let module: WebAssembly.Module;

beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "wasmmu-emu-")), "emulator.wasm");
  const r = spawnSync(process.execPath, [join(ROOT, "examples/emulator/build.mjs"), "--outFile", out], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  module = new WebAssembly.Module(readFileSync(out));
});

interface Emulator {
  attach(): number;
  replay(vas: number, kinds: number, out: number, n: number, mr: bigint, mw: bigint, mx: bigint): bigint;
  hitCount(): number; missCount(): number; faultCount(): number; resetCounts(): void;
}

/** The same address space in any engine: 4 KiB pages (some read-only, some clean, one supervisor), 2 MiB pages, PCID 5. */
function mapAddressSpace(e: Engine): void {
  const t = new Tables4(e, 48 * MiB);
  for (let i = 0; i < 96; i++)
    t.map4k(0x40_0000n + BigInt(i) * 0x1000n, 0x10_0000 + i * 0x1000, i % 5 === 0 ? P | US : i % 7 === 0 ? P | RW : i % 3 ? P | RW | US | D : P | RW | US);
  for (let i = 0; i < 3; i++) t.map2m(0x4000_0000n + BigInt(i) * 0x20_0000n, 0x80_0000 + i * 0x20_0000, P | RW | US | D);
  enterLongMode(e, t, CR4_PCIDE, 5);
  e.setCpl(3);
}

/** A deterministic trace: mapped 4 KiB pages (most), 2 MiB pages, unmapped addresses. */
function trace(n: number): { va: bigint[]; kind: Access[] } {
  let s = 12345;
  const r = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const va: bigint[] = [], kind: Access[] = [];
  for (let i = 0; i < n; i++) {
    const k = r() % 10;
    va.push(k < 7 ? 0x40_0000n + BigInt(r() % (96 * 0x1000)) : k < 9 ? 0x4000_0000n + BigInt(r() % (6 * MiB)) : 0x9000_0000n + BigInt(r() % MiB));
    kind.push([Access.Read, Access.Read, Access.Write, Access.Fetch][r() % 4]!);
  }
  return { va, kind };
}

/** docs/TLB-ABI.md's 4 KiB hit test over `buf` (PCID from the control block). */
function hits4k(buf: ArrayBufferLike, va: bigint, mask: number): boolean {
  const dv = new DataView(buf), c = EMBED.mem.CTL_BASE;
  const tlb = dv.getUint32(c + EMBED.ctl.TLB_BASE, true);
  const sd = tlb + EMBED.tlbHdr.STRUCTS;
  const pcid = dv.getBigUint64(c + EMBED.ctl.CR3, true) & 0xfffn;
  const h = BigInt(Math.imul(Number(pcid), EMBED.tlbEnt.PCID_HASH) >>> 0);
  const set = Number(((va >> 12n) ^ h) & ((1n << BigInt(dv.getUint32(sd + EMBED.tlbStruct.SETS_LOG2, true))) - 1n));
  const e = tlb + dv.getUint32(sd + EMBED.tlbStruct.ENTRIES, true) + set * EMBED.tlbEnt.SIZE;
  return ((dv.getBigUint64(e, true) ^ ((va & ~0xfffn) | pcid)) | (dv.getBigUint64(e + EMBED.tlbEnt.DATA, true) & BigInt(mask))) === 0n;
}

it("examples/emulator: inline hits and imported-miss results equal translate() on a twin engine", async () => {
  const N = 3000;
  const e = await createEngine("wasm", { physSize: 64 * MiB, embedderBytes: 17 * N }) as WasmEngine;
  const ref = await createEngine("ts", { physSize: 64 * MiB });
  mapAddressSpace(e);
  mapAddressSpace(ref);
  const { va, kind } = trace(N);

  const emb = e.embedding();
  const low = new Uint8Array(e.buffer, 0, EMBED.mem.CTL_BASE).slice();
  const emu = new WebAssembly.Instance(module, { env: { memory: emb.memory }, wasmmu: { translatePa: emb.translatePa } })
    .exports as unknown as Emulator;
  expect(emu.attach()).toBe(0);
  // The module brought no data segments into the core's first 64 KiB.
  expect(Buffer.compare(Buffer.from(new Uint8Array(e.buffer, 0, EMBED.mem.CTL_BASE)), Buffer.from(low))).toBe(0);

  const base = e.layout.embedBase, vasAt = base, outAt = base + 8 * N, kindsAt = base + 16 * N;
  new BigUint64Array(e.buffer, vasAt, N).set(va.map((v) => BigInt.asUintN(64, v)));
  new Uint8Array(e.buffer, kindsAt, N).set(kind);
  const masks = [Access.Read, Access.Write, Access.Fetch].map((k) => BigInt(accessMask(k, 3, false))) as [bigint, bigint, bigint];

  for (const pass of [1, 2]) {
    emu.resetCounts();
    const sum = emu.replay(vasAt, kindsAt, outAt, N, ...masks);
    const out = new BigUint64Array(e.buffer, outAt, N);
    let want = 0n, hits = 0, faults = 0;
    for (let i = 0; i < N; i++) {
      if (hits4k(ref.buffer, va[i]!, accessMask(kind[i]!, 3, false))) hits++;
      const t = ref.translate(va[i]!, kind[i]!);
      if (t.fault !== FaultKind.None) { faults++; expect(out[i], `pass ${pass} access ${i}`).toBe(2n ** 64n - 1n); continue; }
      expect(out[i], `pass ${pass} access ${i}`).toBe(BigInt(t.pa));
      want += BigInt(t.pa);
    }
    expect(sum).toBe(want);
    expect([emu.hitCount(), emu.missCount(), emu.faultCount()]).toEqual([hits, N - hits, faults]);
    // Both kinds of path really ran: inline hits, and misses answered by the core.
    expect(hits).toBeGreaterThan(pass === 1 ? N / 3 : N / 2);
    expect(N - hits - faults).toBeGreaterThan(N / 10);
    expect(faults).toBeGreaterThan(0);
  }
  // The same A/D bits in guest memory.
  const ram = (x: Engine): Buffer => Buffer.from(x.buffer, x.layout.ramBase, x.layout.ramBytes);
  expect(Buffer.compare(ram(e), ram(ref))).toBe(0);
});
