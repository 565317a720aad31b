// `info tlb` (QEMU's monitor format) over the tables a run leaves in guest memory.
import { describe, expect, it } from "vitest";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { drive } from "../../src/run/driver.js";
import { infoTlb } from "../../src/run/info-tlb.js";
import { Machine } from "../../src/run/machine.js";
import { openTrace } from "../../src/trace/open.js";

const FIX = (name: string): string => new URL(`../fixtures/traces/${name}`, import.meta.url).pathname;

async function afterRun(engine: "wasm" | "ts", mode: "4level" | "5level" | "pae" | "2level"): Promise<string[]> {
  const m = await Machine.create({ engine, mode, memBytes: 16 << 20 });
  await drive(await openTrace(FIX("small.lackey")), m);
  return infoTlb(m.engine);
}

describe.each(ENGINE_NAMES)("info tlb (%s engine)", (engine) => {
  it("lists user pages with their flags and the kernel's 2 MiB direct map, canonical addresses", async () => {
    const lines = await afterRun(engine, "4level");
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{16}: [0-9a-f]{16} [X-][G-][P-][D-][A-][C-][T-][U-][W-]$/);
    const user = lines.filter((l) => !l.startsWith("ffff"));
    // Fetched code page: zero page, read-only, accessed; written stack page: dirty and writable.
    expect(user).toContain("0000000004022000: 0000000000000000 ----A--U-");
    expect(user.find((l) => l.startsWith("0000001ffefff000:"))).toMatch(/ ---DA--UW$/);
    expect(user).toHaveLength(4);
    const direct = lines.filter((l) => l.startsWith("ffff888"));
    expect(direct).toHaveLength(8);                        // 16 MiB of RAM in 2 MiB pages
    expect(direct[1]).toMatch(/^ffff888000200000: 0000000000200000 X.P.....W$/);
  });

  it("walks 5-level, PAE and 2-level tables too", async () => {
    for (const mode of ["5level", "pae", "2level"] as const) {
      const lines = await afterRun(engine, mode);
      expect(lines.some((l) => l.endsWith("----A--U-"))).toBe(true);
      expect(lines.some((l) => / ...DA..UW$/.test(l))).toBe(true);
    }
  });
});

it("both engines leave identical tables", async () => {
  expect(await afterRun("ts", "4level")).toEqual(await afterRun("wasm", "4level"));
});
