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

  it("bad input is a clear error", async () => {
    await expect(run("--mem", "lots")).rejects.toThrow(/bad size/);
    await expect(run("--mem", "1G", "--mode", "pae", "--page-sizes", "4k,1G")).rejects.toThrow(/1G pages need 64-bit/);
    await expect(run("--mem", "1G", "--e820", "x")).rejects.toThrow(/one of/);
  });
});
