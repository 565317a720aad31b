// `wasmmu boot` input limits, run as a real child process (bin/wasmmu.mjs →
// dist/cli.js): RAM the paging mode cannot address, memory maps that do not
// parse, missing files, the Xen build limit.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { E820Type } from "../../src/boot/e820.js";
import { checkPlanSize } from "../../src/boot/build.js";
import { inputFromE820, inputFromMem } from "../../src/boot/input.js";
import { planLinux } from "../../src/boot/init-mapping.js";

const BIN = new URL("../../bin/wasmmu.mjs", import.meta.url).pathname;

function boot(...args: string[]): { out: string; err: string; code: number | null } {
  const r = spawnSync(process.execPath, [BIN, "boot", ...args], { encoding: "utf8", timeout: 60_000 });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

const TiB = 2 ** 40, GiB = 2 ** 30;

describe("boot: RAM beyond what the paging mode can map is dropped with a warning", () => {
  it("--mem 128T (4-level): max_pfn stops at 64 TiB; the warning names the dropped range", () => {
    const r = boot("--mem", "128T", "--no-build");
    expect(r.code).toBe(0);
    // The QEMU-like map puts 128 TiB − 2 GiB above 4 GiB: RAM ends at 128 TiB + 2 GiB.
    expect(r.err).toContain("wasmmu: warning: RAM above 64 TiB (MAXMEM for 4-level paging, MAX_PHYSMEM_BITS 46) cannot be used: " +
      "dropped [mem 0x400000000000-0x80007fffffff] (64 TiB + 2 GiB); max_pfn 0x400000000");
    expect(r.out).toMatch(/mapped up to 0x400000000000\n/);
  });

  it("--mem 100T --json: the direct map ends at 64 TiB, not 0x640080000000; the warning is in the JSON too", () => {
    const r = boot("--mem", "100T", "--no-build", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.max_pfn_mapped_final).toBe("0x400000000");
    expect(Math.max(...j.init_memory_mapping.map((x: string[]) => parseInt(x[1]!, 16)))).toBe(64 * TiB - 1);
    expect(j.warnings).toEqual([expect.stringContaining("dropped [mem 0x400000000000-0x64007fffffff] (36 TiB + 2 GiB)")]);
    expect(r.err).toMatch(/^wasmmu: warning: RAM above 64 TiB/);
  });

  it("--mode la57 keeps 128 TiB (its limit is 4 PiB) and warns about nothing", () => {
    const r = boot("--mem", "128T", "--mode", "la57", "--no-build");
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/mapped up to 0x800080000000\n/);
  });

  it("--mode la57 --mem 5P: RAM above 4 PiB (MAX_PHYSMEM_BITS 52) is dropped", () => {
    const r = boot("--mem", "5P", "--mode", "la57", "--no-build");
    expect(r.code).toBe(0);
    expect(r.err).toContain("RAM above 4 PiB (MAXMEM for 5-level paging, MAX_PHYSMEM_BITS 52) cannot be used: " +
      "dropped [mem 0x10000000000000-0x1400007fffffff] (1 PiB + 2 GiB)");
    expect(r.out).toMatch(/mapped up to 0x10000000000000\n/);
  });

  it("PAE drops RAM above 64 GiB, 2-level above 4 GiB; both still build and verify", () => {
    const pae = boot("--mem", "80G", "--mode", "pae");
    expect(pae.code).toBe(0);
    expect(pae.err).toContain("RAM above 64 GiB (PAE: 36-bit physical addresses) cannot be used: dropped [mem 0x1000000000-0x147fffffff] (18 GiB)");
    expect(pae.out).toMatch(/verify \(wasm engine\): OK/);
    const two = boot("--mem", "8G", "--mode", "2level");
    expect(two.code).toBe(0);
    expect(two.err).toContain("RAM above 4 GiB (2-level paging: 32-bit physical addresses) cannot be used: dropped [mem 0x100000000-0x27fffffff] (6 GiB)");
    expect(two.out).toMatch(/verify \(wasm engine\): OK/);
  });

  it("an e820 map reaching 2^47: memblock and max_pfn end at 2^46, and the plan maps nothing above", () => {
    const input = inputFromE820([
      { start: 0, end: 0x9fc00, type: E820Type.Ram },
      { start: 0x100000, end: 2 * GiB, type: E820Type.Ram },
      { start: 4 * GiB, end: 2 ** 47, type: E820Type.Ram },
    ]);
    expect(input.maxPfn).toBe(2 ** 34);
    expect(Math.max(...input.memblock.memory.map((m) => m.end))).toBe(2 ** 46);
    expect(input.e820.at(-1)!.end).toBe(2 ** 47);                     // the firmware map itself is kept, as the kernel keeps it
    expect(input.warnings).toEqual([expect.stringContaining("dropped [mem 0x400000000000-0x7fffffffffff] (64 TiB)")]);
    const p = planLinux(input);
    expect(p.maxPfnMapped).toBe(2 ** 34);
    expect(Math.max(...p.initMemoryMapping.map(([, e]) => e))).toBe(2 ** 46);
  });
});

describe("boot: huge maps with 4k pages only finish or fail at once", () => {
  it("--mem 16T --xen: a PV guest uses 512 GiB (xen_512gb_limit); the rest is named as dropped and the plan finishes", () => {
    const r = boot("--mem", "16T", "--xen");
    expect(r.code).toBe(0);
    expect(r.err).toBe("wasmmu: warning: RAM above 512 GiB (a Xen PV guest's limit: xen_512gb_limit, CONFIG_XEN_512GB) cannot be used: " +
      "dropped [mem 0x8000000000-0xfffffffffff] (15 TiB + 512 GiB); max_pfn 0x8000000\n");
    expect(r.out).toMatch(/^\(planning only: building 512 GiB through the Xen model/);
    // 4k pages only: one pte per page of [0, 512 GiB) (the ISA range is mapped whole).
    expect(r.out).toMatch(new RegExp(`direct map: ${2 ** 27} x 4k, 0 x 2M, 0 x 1G; mapped up to 0x8000000000\\n`));
  });

  it("inputFromMem under Xen: max_pfn and memblock end at 512 GiB", () => {
    const input = inputFromMem(16 * TiB, { backend: "xen" });
    expect(input.maxPfn).toBe(2 ** 27);
    expect(Math.max(...input.memblock.memory.map((m) => m.end))).toBe(512 * GiB);
    const small = inputFromMem(512 * GiB, { backend: "xen" });
    expect([small.maxPfn, small.warnings]).toEqual([2 ** 27, undefined]);
  });

  it("more than 1 TiB with 4k pages only is refused before planning, with a one-line error naming the way out", () => {
    const r = boot("--mem", "16T", "--page-sizes", "4k", "--no-build");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe("wasmmu: mapping 16.0 TiB of RAM with 4k pages only means 4096 M ptes; " +
      "the planner keeps each one (about 0.85 GB of host memory per TiB) and stops at 1 TiB: allow 2M pages (--page-sizes 4k,2M) or give less memory\n");
    expect(() => checkPlanSize(inputFromMem(2 * TiB, { pse: false, gbpages: false }))).toThrow(/stops at 1 TiB/);
    expect(() => checkPlanSize(inputFromMem(2 * TiB))).not.toThrow();
  });
});

describe("boot: memory-map and record files", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-boot-input-"));
  const file = (name: string, text: string): string => { const f = join(dir, name); writeFileSync(f, text); return f; };

  it("a malformed e820 line is a one-line error naming the file, the line number and the text", () => {
    const f = file("bad-line.txt", "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" +
      "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffffzzzz] usable\n");
    const r = boot("--e820", f, "--no-build");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(`wasmmu: --e820 ${f}: line 2: not an e820 entry of the form \`[mem 0xSTART-0xEND] TYPE\`: ` +
      "\"BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffffzzzz] usable\"\n");
  });

  it("a file of only bad lines says that none parses, not that there is no usable RAM", () => {
    const f = file("all-bad.txt", "BIOS-e820: [mem 0x0000000000000000 0x000000000009fbff] usable\n" +
      "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usabel\n");
    const r = boot("--e820", f, "--no-build");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^wasmmu: --e820 \S+: none of its 2 e820 lines parses; line 1: not an e820 entry .* \(and 1 more: line 2\)\n$/);
    expect(r.err).not.toMatch(/usable RAM/);
  });

  it("a missing --e820 or --from-record file is a one-line error naming the flag and the file", () => {
    const missing = join(dir, "no-such-map.txt");
    expect(boot("--e820", missing)).toEqual({ out: "", err: `wasmmu: --e820 ${missing}: no such file\n`, code: 1 });
    expect(boot("--from-record", missing)).toEqual({ out: "", err: `wasmmu: --from-record ${missing}: no such file\n`, code: 1 });
    expect(boot("--e820", dir)).toEqual({ out: "", err: `wasmmu: --e820 ${dir}: is a directory\n`, code: 1 });
  });

  it("the README's --e820 example names the shipped sample map, and runs as written", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const line = readme.split("\n").find((l) => /^npx wasmmu boot --e820 /.test(l));
    expect(line).toBeDefined();
    const args = line!.replace(/#.*$/, "").trim().split(/\s+/).slice(3);       // after "npx wasmmu boot"
    expect(args.slice(0, 2)).toEqual(["--e820", "examples/e820-qemu-64g.txt"]);
    const r = spawnSync(process.execPath, [BIN, "boot", ...args], { encoding: "utf8", cwd: new URL("../..", import.meta.url).pathname });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    // The sample is the recorded 64 GiB q35 boot: RAM to 0x107fffffff, mapped to 0x1080000000.
    expect(r.stdout).toMatch(/mapped up to 0x1080000000\n/);
    expect(r.stdout).toMatch(/verify \(wasm engine\): OK/);
  });
});
