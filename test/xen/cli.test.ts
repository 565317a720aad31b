import { describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/main.js";

describe("wasmmu xen", () => {
  it("prints the pinning protocol phase by phase and a clean audit", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { lines.push(a.join(" ")); });
    try { await buildProgram().parseAsync(["node", "wasmmu", "xen", "--engine", "ts", "--pages", "512"]); }
    finally { spy.mockRestore(); }
    const text = lines.join("\n");
    const pin = text.indexOf("PIN_L4_TABLE"), l1 = text.indexOf("PIN_L1_TABLE"), unpin = text.indexOf("UNPIN_TABLE");
    expect(pin).toBeGreaterThan(0);
    expect(l1).toBeGreaterThan(pin);
    expect(unpin).toBeGreaterThan(l1);
    expect(text).toMatch(/stray kernel store to the pinned pgd \(pfn \d+\): #PF error 0x3 from the walker/);
    expect(text).toMatch(/PT_UPDATE_PRESERVE_AD .* → 0/);
    expect(text).not.toMatch(/→ -E/);
    expect(lines.at(-1)).toBe("audit: every reference count matches the tables");
  });

  it("refuses bad options with a clear error", async () => {
    const run = (args: string[]) => buildProgram().exitOverride().parseAsync(["node", "wasmmu", "xen", ...args]);
    await expect(run(["--engine", "qemu"])).rejects.toThrow(/--engine must be wasm or ts/);
    await expect(run(["--pages", "12"])).rejects.toThrow(/--pages must be an integer/);
  });
});
