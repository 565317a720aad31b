// The `wasmmu run` and `wasmmu convert` commands as a user calls them:
// reports in both forms, errors that say what to do, never a stack trace.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { REPORT_SCHEMA, type RunReport } from "../../src/run/report.js";

const FIX = (name: string): string => new URL(`../fixtures/traces/${name}`, import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "wasmmu-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI in-process; returns what it printed. Errors propagate (bin/wasmmu.mjs prints their message). */
async function cli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { lines.push(a.join(" ")); });
  try {
    const program = buildProgram();
    for (const c of [program, ...program.commands])
      c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: (s) => lines.push(s) });
    await program.parseAsync(["node", "wasmmu", ...args]);
  } finally { spy.mockRestore(); }
  return lines.join("\n");
}

describe("wasmmu run", () => {
  it("prints a readable report", async () => {
    const out = await cli("run", FIX("small.lackey"), "--mem", "64M");
    expect(out).toMatch(/^accesses\n\s+total\s+10$/m);
    expect(out).toMatch(/not present \(first touch\)\s+4/);
    expect(out).toMatch(/page tables\s+\d+ pages/);
  });

  it("keeps every line within 100 columns, whatever the length of the path", async () => {
    const deep = join(dir, "a-rather-long-directory-name-for-a-trace".repeat(3));
    mkdirSync(deep, { recursive: true });
    const file = join(deep, "small.lackey");
    copyFileSync(FIX("small.lackey"), file);
    const out = await cli("run", file, "--mem", "64M");
    expect(file.length).toBeGreaterThan(100);
    for (const line of out.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
    // The path is cut into pieces under the value column, nothing dropped.
    const m = /^ {2}file +(\S+)\n((?: {10,}\S+\n)+)/m.exec(out)!;
    expect(m[1]! + m[2]!.split("\n").map((l) => l.trim()).join("")).toBe(file);
  });

  it("--json has the documented field names", async () => {
    const r = JSON.parse(await cli("run", FIX("small.champsimtrace"), "--json", "--mem", "64M", "--engine", "ts")) as RunReport;
    expect(r.schema).toBe(REPORT_SCHEMA);
    expect(Object.keys(r)).toEqual(["schema", "trace", "machine", "accesses", "faults", "memory", "tlb", "contextSwitches", "time", "interrupted"]);
    expect(r.accesses).toEqual({ total: 15, read: 7, write: 3, fetch: 5 });
    expect(r.machine.engine).toBe("ts");
    expect(r.trace.format).toBe("champsim");
    expect(Object.keys(r.faults)).toEqual(["pageFaults", "notPresent", "protection", "unhandled", "unhandledExamples"]);
    expect(Object.keys(r.memory)).toEqual(["pageTablePages", "pageTableBytes", "dataPages", "nrPagetable", "thpCollapses", "premapped"]);
    expect(Object.keys(r.time)).toEqual(["seconds", "accessesPerSecond", "cpuSeconds", "accessesPerCpuSecond"]);
  });

  it("TLB options shape the report's tlb section", async () => {
    const r = JSON.parse(await cli("run", "--synthetic", "uniform", "--count", "20k", "--pages", "512", "--json", "--mem", "64M",
      "--tlb", "research", "--l2", "64x4", "--replacement", "plru")) as RunReport;
    expect(r.tlb.organisation).toBe("research");
    expect(r.tlb.structures.find((s) => s.name === "l2")).toEqual({ name: "l2", level: 2, sets: 64, ways: 4 });
    expect(r.tlb.l1.accesses).toBe(r.accesses.total + r.faults.pageFaults);
    await expect(cli("run", "--synthetic", "uniform", "--l2", "64x4")).rejects.toThrow(/--tlb research/);
    await expect(cli("run", "--synthetic", "uniform", "--tlb", "research", "--l2", "big")).rejects.toThrow(/SETSxWAYS/);
  });

  it("runs a synthetic workload on 2 MiB pages", async () => {
    const r = JSON.parse(await cli("run", "--synthetic", "uniform", "--count", "20k", "--pages", "2048", "--page-size", "2m", "--json", "--mem", "128M")) as RunReport;
    expect(r.accesses.total).toBe(20_000);
    expect(r.machine.pageSize).toBe(2 << 20);
    expect(r.faults.notPresent).toBe(4);            // 8 MiB of working set = four 2 MiB pages
  });

  it("a malformed trace stops with the line number; --lenient counts it", async () => {
    await expect(cli("run", FIX("malformed.lackey"))).rejects.toThrow(/malformed\.lackey: line 4: .*--lenient/);
    const r = JSON.parse(await cli("run", FIX("malformed-lenient.lackey"), "--lenient", "--json", "--mem", "64M")) as RunReport;
    expect(r.trace.skipped).toBe(3);
    expect(r.accesses.total).toBe(4);
  });

  it("bad input gets a message that says what to do", async () => {
    await expect(cli("run", join(dir, "missing.wmt"))).rejects.toThrow(/no such file.*--synthetic/);
    await expect(cli("run", FIX("make-fixtures.py"))).rejects.toThrow(/--format lackey\|champsim\|wmt/);
    await expect(cli("run", FIX("truncated.wmt"))).rejects.toThrow(/truncated at byte offset 144/);
    await expect(cli("run", "--synthetic", "zipf", "--pages", "lots")).rejects.toThrow(/'--pages <n>' argument 'lots' is invalid\. expected a whole number/);
    await expect(cli("run", FIX("small.wmt"), "--synthetic", "zipf")).rejects.toThrow(/either a TRACE file or --synthetic/);
  });
});

describe("wasmmu convert", () => {
  it("converts lackey to WMT (gzip) with a note, and the run reads the same accesses", async () => {
    const out = join(dir, "small.wmt.gz");
    expect(await cli("convert", FIX("small.lackey"), out, "--note", "fixture")).toMatch(/^10 accesses → .*small\.wmt\.gz \(wmt\)/);
    const r = JSON.parse(await cli("run", out, "--json", "--mem", "64M")) as RunReport;
    expect(r.trace.note).toBe("fixture");
    expect(r.accesses).toEqual({ total: 10, read: 3, write: 4, fetch: 3 });
  });

  it("writes a synthetic workload in any format", async () => {
    for (const ext of [".wmt", ".lackey", ".champsimtrace"]) {
      const out = join(dir, `syn${ext}`);
      expect(await cli("convert", "--synthetic", "strided", "--count", "1000", out)).toMatch(/^1,000 accesses/);
      const r = JSON.parse(await cli("run", out, "--json", "--mem", "64M")) as RunReport;
      expect(r.accesses.total).toBe(1000);
    }
  });
});

describe("wasmmu run --ptdump", () => {
  it("lists the process's address space after the report, Linux ptdump style", async () => {
    const out = await cli("run", FIX("small.lackey"), "--ptdump", "--mem", "64M");
    const dump = out.slice(out.indexOf("---[ User Space ]---"));
    expect(dump).toMatch(/^---\[ User Space \]---$/m);
    expect(dump).toMatch(/^0x0000000004022000-0x0000000004023000 +4K USR ro .*pte$/m);
    expect(dump).toMatch(/^0x000000000421e000-0x000000000421f000 +4K USR RW .*pte$/m);
  });
});

describe("wasmmu info tlb", () => {
  it("prints QEMU-style mappings after a run, optionally only the user half", async () => {
    const out = await cli("info", "tlb", FIX("small.lackey"), "--user", "--mem", "64M");
    expect(out.split("\n")).toEqual([
      "0000000004022000: 0000000000000000 ----A--U-",
      "0000000004023000: 0000000000000000 ----A--U-",
      expect.stringMatching(/^000000000421e000: [0-9a-f]{16} ---DA--UW$/),
      expect.stringMatching(/^0000001ffefff000: [0-9a-f]{16} ---DA--UW$/),
    ]);
    expect(await cli("info", "tlb", FIX("small.lackey"), "--max-lines", "2", "--mem", "64M")).toMatch(/… \d+ more \(raise --max-lines\)$/);
  });
});
