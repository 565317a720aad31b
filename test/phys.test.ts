import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BusError, PoolExhaustedError } from "../src/phys/phys-mem.js";
import { createEngine, ENGINE_NAMES, WasmEngine } from "../src/engine/index.js";
import { coreOf } from "../src/engine/wasm.js";

const MiB = 1 << 20;

describe.each(ENGINE_NAMES)("physical memory (%s engine)", (name) => {
  it("dense: reads back what was written, little- and big-endian", async () => {
    const e = await createEngine(name, { physSize: 4 * MiB });
    e.phys.write64(0x1000, 0x0123456789abcdefn);
    expect(e.phys.read64(0x1000)).toBe(0x0123456789abcdefn);
    expect(e.phys.read8(0x1000)).toBe(0xef);               // little-endian
    expect(e.phys.read64(0x1000, true)).toBe(0xefcdab8967452301n);
    e.phys.write32(0x2000, 0x11223344, true);
    expect(e.phys.read8(0x2000)).toBe(0x11);               // big-endian
  });

  it("dense: an address at or beyond the RAM size is a BusError, never metadata", async () => {
    const e = await createEngine(name, { physSize: 4 * MiB });
    expect(() => e.phys.read64(4 * MiB)).toThrow(BusError);
    expect(() => e.phys.write8(4 * MiB + 7, 1)).toThrow(BusError);
    expect(() => e.phys.read64(4 * MiB - 4)).toThrow(BusError);  // straddles the end
    expect(() => e.phys.read8(-1)).toThrow(BusError);
  });

  it("sparse: a 1 TiB address space backed by a small pool; unwritten frames read zero", async () => {
    const e = await createEngine(name, { backing: "sparse", physSize: 2 ** 40, poolBytes: 16 * 4096 });
    expect(e.phys.read64(2 ** 40 - 8)).toBe(0n);
    expect(e.phys.framesBacked).toBe(0);
    e.phys.write64(2 ** 40 - 8, 42n);
    e.phys.write64(0x12_3456_7000, 7n);
    expect(e.phys.read64(2 ** 40 - 8)).toBe(42n);
    expect(e.phys.read64(0x12_3456_7000)).toBe(7n);
    expect(e.phys.framesBacked).toBe(2);
    expect(() => e.phys.read8(2 ** 40)).toThrow(BusError);
  });

  it("sparse: pool exhaustion is a clear error and loses nothing", async () => {
    const e = await createEngine(name, { backing: "sparse", physSize: 2 ** 36, poolBytes: 4 * 4096 });
    for (let i = 0; i < 4; i++) e.phys.write32(i * 2 ** 30, i + 1);
    expect(() => e.phys.write32(5 * 2 ** 30, 9)).toThrow(PoolExhaustedError);
    for (let i = 0; i < 4; i++) expect(e.phys.read32(i * 2 ** 30)).toBe(i + 1);
    expect(e.phys.read32(5 * 2 ** 30)).toBe(0);
  });
});

describe("the core and the host agree on the sparse frame table", () => {
  it("frames backed by either side are found by the other", async () => {
    const e = (await createEngine("wasm", { backing: "sparse", physSize: 2 ** 44, poolBytes: 1024 * 4096 })) as WasmEngine;
    // 50 runs of at most 20 writes back at most 1000 frames: the pool never runs out.
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 41 - 1 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.boolean()), { maxLength: 20 }),
      async (writes) => {
        for (const [slot, v, byCore] of writes) {
          const pa = slot * 8;
          if (byCore) expect(coreOf(e).physStore(BigInt(pa), 8, 0, v)).toBe(0);
          else e.phys.write64(pa, v);
          expect(e.phys.read64(pa)).toBe(v);
          expect(BigInt.asUintN(64, coreOf(e).physLoad(BigInt(pa), 8, 0))).toBe(v);
        }
      }), { numRuns: 50 });
    expect(BigInt.asUintN(64, coreOf(e).physLoad(2n ** 44n, 8, 0))).toBe(2n ** 64n - 1n);
    expect(coreOf(e).physStatus()).toBe(1);
  });
});
