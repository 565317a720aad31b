// The ABI's offsets are derived from sizes and counts (src/abi.ts); this pins
// the results to the values docs/TLB-ABI.md publishes, so a derivation that
// moved a field is caught here rather than by an embedder.
import { describe, expect, it } from "vitest";
import { Mem, Stat, TlbHdr } from "../src/abi.js";

describe("derived ABI offsets", () => {
  it("statistics: the published offsets", () => {
    expect([Stat.ACCESS, Stat.LEVEL_STRIDE, Stat.KIND_STRIDE, Stat.COUNTER]).toEqual([0, 48, 16, 8]);
    expect([Stat.WALKS, Stat.WALK_REFS, Stat.PSC_HIT, Stat.PSC_MISS]).toEqual([96, 104, 168, 200]);
    expect([Stat.A_WRITES, Stat.D_WRITES, Stat.FAULT_PF, Stat.FAULT_GP, Stat.FAULT_BUS, Stat.FAULT_S390])
      .toEqual([232, 240, 248, 256, 264, 272]);
    expect([Stat.FLUSH_CR3, Stat.FLUSH_INVLPG, Stat.FLUSH_INVPCID, Stat.FLUSH_FULL, Stat.EVICTIONS, Stat.INVALIDATED, Stat.END])
      .toEqual([280, 288, 296, 304, 312, 320, 328]);
    expect(Stat.END).toBeLessThanOrEqual(Mem.STATS_SIZE);
  });
  it("TLB header: descriptors, then the caches' descriptors, then entries", () => {
    expect(TlbHdr.PSC).toBe(400);
    expect(TlbHdr.PSC + TlbHdr.MAX_PSC * TlbHdr.STRUCT_SIZE).toBeLessThanOrEqual(TlbHdr.SIZE);
  });
});
