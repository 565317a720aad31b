// The embedding contract: the control block identifies its layout (magic and
// version) and the core refuses any other; the memory an embedder hands in,
// shared or not, and what growing it does; the region reserved for the
// embedder (docs/TLB-ABI.md, "Embedding").
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Access, Ctl, Mem } from "../../src/abi.js";
import { EMBED, abiInitCode, abiInitError } from "../../src/embed.js";
import { createEngine, ENGINE_NAMES, type Engine, WasmEngine } from "../../src/engine/index.js";
import { coreModule } from "../../src/engine/wasm-module.js";
import { computeLayout, writeRegionTable } from "../../src/layout.js";
import { enterLongMode, MiB, Tables4 } from "../tlb/tables.js";

const ctlWord = (buf: ArrayBufferLike, off: number): number => new DataView(buf).getUint32(Mem.CTL_BASE + off, true);

/** 4 KiB pages at 0x40_0000 + i·4 KiB → 0x20_0000 + i·4 KiB (i < 16); the expected PA of each. */
function mapSome(e: Engine): (va: bigint) => number {
  const t = new Tables4(e);
  for (let i = 0; i < 16; i++) t.map4k(0x40_0000n + BigInt(i) * 0x1000n, 0x20_0000 + i * 0x1000);
  enterLongMode(e, t);
  return (va) => 0x20_0000 + Number(va - 0x40_0000n);
}

describe("ABI magic and version", () => {
  it.each(ENGINE_NAMES)("%s: the control block starts its identification with \"WMMU\" and version 1", async (name) => {
    const e = await createEngine(name, { physSize: 4 * MiB });
    const bytes = new Uint8Array(e.buffer, Mem.CTL_BASE + EMBED.ctl.ABI_MAGIC, 4);
    expect(new TextDecoder().decode(bytes)).toBe("WMMU");
    expect(ctlWord(e.buffer, EMBED.ctl.ABI_VERSION)).toBe(1);
    expect(EMBED.ABI_MAGIC).toBe(0x554d4d57);
    expect(EMBED.ABI_VERSION).toBe(1);
  });

  it("the core's init() refuses another magic or version, and the host says which in one line", async () => {
    const layout = computeLayout({ physSize: 4 * MiB });
    const memory = new WebAssembly.Memory({ initial: layout.totalBytes / Mem.WASM_PAGE });
    writeRegionTable(memory.buffer, layout);
    const core = (await WebAssembly.instantiate(await coreModule(), { env: { memory } })).exports as unknown as { init(): number };
    const dv = new DataView(memory.buffer);
    expect(core.init()).toBe(0);
    expect(abiInitCode(memory.buffer)).toBe(0);

    dv.setUint32(Mem.CTL_BASE + Ctl.ABI_MAGIC, 0x12345678, true);
    expect(core.init()).toBe(1);
    expect(abiInitCode(memory.buffer)).toBe(1);
    const bad = abiInitError(1, memory.buffer);
    expect(bad).toContain("ABI magic 0x12345678");
    expect(bad).not.toContain("\n");

    dv.setUint32(Mem.CTL_BASE + Ctl.ABI_MAGIC, 0x554d4d57, true);
    dv.setUint32(Mem.CTL_BASE + Ctl.ABI_VERSION, 7, true);
    expect(core.init()).toBe(2);
    expect(abiInitCode(memory.buffer)).toBe(2);
    expect(abiInitError(2, memory.buffer)).toBe("wasmmu core: control block has ABI version 7, the core speaks 1");
  });
});

describe("the published offsets", () => {
  // docs/TLB-ABI.md lists each constant as a table row "| `group.NAME` | value |".
  const doc = readFileSync(join(import.meta.dirname, "../../docs/TLB-ABI.md"), "utf8");
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Za-z]+\.[A-Z0-9_]+|[A-Z_]+)` \| (0x[0-9a-f_]+|\d+) \|/gm))
    documented.set(m[1]!, Number(m[2]!.replaceAll("_", "")));

  const flat: [string, number][] = [];
  for (const [k, v] of Object.entries(EMBED)) {
    if (typeof v === "number") flat.push([k, v]);
    else for (const [k2, v2] of Object.entries(v)) flat.push([`${k}.${k2}`, v2 as number]);
  }

  it("every EMBED constant is listed in docs/TLB-ABI.md with its value", () => {
    expect(flat.length).toBeGreaterThan(80);
    for (const [name, v] of flat) expect(documented.get(name), name).toBe(v);
    expect(documented.size).toBe(flat.length);
  });

  it("are frozen plain numbers", () => {
    expect(Object.isFrozen(EMBED)).toBe(true);
    expect(Object.isFrozen(EMBED.tlbEnt)).toBe(true);
    for (const [, v] of flat) expect(typeof v).toBe("number");
  });
});

describe("an embedder's memory", () => {
  it.each([
    ["shared", { initial: 1, maximum: 1024, shared: true }],
    ["not shared", { initial: 1 }],
  ] as const)("%s: createEngine(\"wasm\", { memory }) grows it to the layout, lays it out and translates in it", async (_, desc) => {
    const memory = new WebAssembly.Memory(desc);
    const e = await createEngine("wasm", { memory, physSize: 16 * MiB });
    expect(memory.buffer.byteLength).toBe(e.layout.totalBytes);
    expect(ctlWord(memory.buffer, Ctl.RAM_BASE)).toBe(e.layout.ramBase);
    const pa = mapSome(e);
    for (const va of [0x40_0000n, 0x40_5123n, 0x40_fff8n]) expect(e.translatePa(Number(va), Access.Read)).toBe(pa(va));
    // The core and the embedder see the same bytes: guest RAM at ramBase.
    e.phys.write64(0x20_5000, 0x1122_3344_5566_7788n);
    expect(new DataView(memory.buffer).getBigUint64(e.layout.ramBase + 0x20_5000, true)).toBe(0x1122_3344_5566_7788n);
  });

  it("a shared memory may grow under an engine: its views keep their bytes and the core keeps working", async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2048, shared: true });
    const e = await createEngine("wasm", { memory, physSize: 16 * MiB });
    const pa = mapSome(e);
    expect(e.translatePa(0x40_3000, Access.Read)).toBe(pa(0x40_3000n));
    memory.grow(16);
    expect(memory.buffer.byteLength).toBe(e.layout.totalBytes + 16 * Mem.WASM_PAGE);
    expect(e.buffer.byteLength).toBe(e.layout.totalBytes);
    expect(e.translate(0x40_7010n, Access.Write).pa).toBe(pa(0x40_7010n));
    e.phys.write64(0x20_7010, 42n);
    expect(new DataView(memory.buffer).getBigUint64(e.layout.ramBase + 0x20_7010, true)).toBe(42n);
  });

  it("growing an unshared memory detaches every view the engine holds (the documented rule: do not)", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const e = await createEngine("wasm", { memory, physSize: 16 * MiB });
    memory.grow(1);
    expect(e.buffer.byteLength).toBe(0);
    expect(e.batch.va.length).toBe(0);
  });

  it("the ts engine refuses `memory` with a one-line error naming it", async () => {
    await expect(createEngine("ts", { memory: new WebAssembly.Memory({ initial: 1 }) })).rejects.toThrow(/`memory` is a wasm-engine option/);
  });
});

describe("the embedder's region (embedderBytes)", () => {
  it("sits after guest RAM, 64 KiB aligned and rounded, published in the layout and the control block", () => {
    const plain = computeLayout({ physSize: 4 * MiB });
    const l = computeLayout({ physSize: 4 * MiB, embedderBytes: 100_000 });
    expect(plain.embedBase).toBe(0);
    expect(plain.embedBytes).toBe(0);
    expect(l.ramBase).toBe(plain.ramBase);
    expect(l.embedBase).toBe(plain.ramBase + 4 * MiB);
    expect(l.embedBytes).toBe(2 * 65536);
    expect(l.totalBytes).toBe(plain.totalBytes + 2 * 65536);
    const buf = new ArrayBuffer(l.totalBytes);
    writeRegionTable(buf, l);
    expect(ctlWord(buf, Ctl.EMBED_BASE)).toBe(l.embedBase);
    expect(ctlWord(buf, Ctl.EMBED_BYTES)).toBe(l.embedBytes);
  });

  it.each(ENGINE_NAMES)("%s: translations, faults and flushes leave the embedder's bytes alone", async (name) => {
    const e = await createEngine(name, { physSize: 16 * MiB, embedderBytes: 65536 });
    const region = new Uint8Array(e.buffer, e.layout.embedBase, e.layout.embedBytes);
    for (let i = 0; i < region.length; i++) region[i] = (i * 131 + 7) & 0xff;
    const pa = mapSome(e);
    for (let i = 0; i < 200; i++) {
      const va = 0x40_0000n + BigInt((i * 0x3a8) % 0x10000);
      expect(e.translate(va, i % 2 ? Access.Write : Access.Read).pa).toBe(pa(va));
    }
    expect(e.translate(0x7000_0000n, Access.Read).fault).not.toBe(0);
    e.invlpg(0x40_0000n);
    e.flushTlb(true);
    e.phys.fill(15 * MiB, 4096, 0xff);
    for (let i = 0; i < region.length; i++) if (region[i] !== ((i * 131 + 7) & 0xff)) throw new Error(`byte ${i} changed`);
    expect(e.buffer.byteLength).toBe(e.layout.embedBase + e.layout.embedBytes);
  });

  it("a bad embedderBytes is a one-line error naming it", async () => {
    for (const bad of [-1, 1.5, "4096"]) {
      await expect(createEngine("wasm", { embedderBytes: bad as number })).rejects.toThrow(/embedderBytes/);
    }
  });

  it("engine.embedding() hands out the memory, the core's miss entry points and the offsets", async () => {
    const e = await createEngine("wasm", { physSize: 16 * MiB }) as WasmEngine;
    const emb = e.embedding();
    expect(emb.memory.buffer).toBe(e.buffer);
    expect(emb.offsets).toBe(EMBED);
    expect(emb.layout).toBe(e.layout);
    const pa = mapSome(e);
    expect(emb.translatePa(0x40_2345, Access.Read)).toBe(pa(0x40_2345n));
    expect(emb.translatePa(0x7000_0000, Access.Read)).toBe(-1);
    expect(emb.translate(0x40_3456n, Access.Write)).toBe(0);
    expect(Number(new DataView(e.buffer).getBigUint64(Mem.CTL_BASE + EMBED.ctl.RES_PA, true))).toBe(pa(0x40_3456n));
  });
});
