import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/main.js";

async function run(...args: string[]): Promise<{ out: string; code: number }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { lines.push(a.join(" ")); });
  process.exitCode = 0;
  try { await buildProgram().exitOverride().parseAsync(["node", "wasmmu", "boot", ...args]); }
  finally { spy.mockRestore(); }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: lines.join("\n"), code };
}

afterEach(() => { process.exitCode = 0; });
const fixture = new URL("../fixtures/linux-boot-public.jsonl", import.meta.url).pathname;

describe("wasmmu boot", () => {
  it("--mem 2G prints the plan, the summary and a passing verification", async () => {
    const { out, code } = await run("--mem", "2G");
    expect(code).toBe(0);
    expect(out).toMatch(/boot plan: strategy linux, x86-64, native/);
    expect(out).toMatch(/init_memory_mapping \[mem\s+0x0-\s+0xfffff\]/);
    expect(out).toMatch(/summary:\n  page-table pages: \d+/);
    expect(out).toMatch(/verify \(wasm engine\): OK/);
  });

  it("--from-record --json prints the record's fields and says it matches", async () => {
    const { out, code } = await run("--from-record", fixture, "--record-id", "x64-pc-max-2G-movable_node", "--json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.id).toBe("x64-pc-max-2G-movable_node");
    expect(j.matches_record).toBe(true);
    expect(j.init_memory_mapping[1]).toEqual(["0x4430000", "0x45fffff"]);
    expect(j.alloc_low_pages).toHaveLength(6);
    expect(j.verify.ok).toBe(true);
  });

  it("--e820 reads a boot-log map; hpa; --no-build plans only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-boot-"));
    const f = join(dir, "map.txt");
    writeFileSync(f, "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\nBIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable\n");
    const { out, code } = await run("--e820", f, "--strategy", "hpa", "--no-build");
    expect(code).toBe(0);
    expect(out).toMatch(/strategy hpa/);
    expect(out).toMatch(/CR3 ← 0x[0-9a-f]+ \(hpa step 4/);
    expect(out).not.toMatch(/verify/);
  });

  it("--kernel moves the image: the brk tables move with it, and the image is reserved", async () => {
    const { out, code } = await run("--mem", "4G", "--kernel", "32M-84M", "--json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.verify.ok).toBe(true);
    // brk sits 0x30000 below _end as in the recorded layout: 0x53d0000; its first table page above the pgt_buf start.
    type Alloc = { source: string; phys: [string, string] };
    const brk = (j.alloc_low_pages as Alloc[]).filter((a) => a.source === "brk").map((a) => parseInt(a.phys[0], 16));
    expect(brk.length).toBeGreaterThan(0);
    for (const pa of brk) { expect(pa).toBeGreaterThanOrEqual(0x53d0000); expect(pa).toBeLessThan(0x5400000); }
    // No table page from memblock inside the image.
    for (const a of j.alloc_low_pages as Alloc[]) {
      const pa = parseInt(a.phys[0], 16);
      if (a.source !== "brk") expect(pa < 32 * 2 ** 20 || pa >= 84 * 2 ** 20).toBe(true);
    }
  });

  it("--kernel rejects bad layouts clearly", async () => {
    await expect(run("--mem", "1G", "--kernel", "0x1100000-0x4430000")).rejects.toThrow(/2 MiB aligned/);
    await expect(run("--mem", "1G", "--kernel", "16M-16M")).rejects.toThrow(/end must be above/);
    await expect(run("--mem", "1G", "--kernel", "0x1000000-0x1020000")).rejects.toThrow(/too small/);
    await expect(run("--mem", "64M", "--kernel", "32M-100M")).rejects.toThrow(/not inside usable RAM/);
    await expect(run("--mem", "1G", "--kernel", "abc")).rejects.toThrow(/expected START-END/);
    await expect(run("--from-record", fixture, "--kernel", "16M-68M")).rejects.toThrow(/own kernel layout/);
  });

  it("bad input is a clear error", async () => {
    await expect(run("--mem", "lots")).rejects.toThrow(/bad size/);
    await expect(run("--mem", "1G", "--mode", "pae", "--page-sizes", "4k,1G")).rejects.toThrow(/1G pages need 64-bit/);
    await expect(run("--mem", "1G", "--e820", "x")).rejects.toThrow(/one of/);
  });
});
