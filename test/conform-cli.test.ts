// `wasmmu conform`: one line per failing case, the summary line, exit status;
// and the runner's schema dispatch.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../src/cli/main.js";
import { parseCases, runConformance } from "../src/conform/runner.js";

const x86 = readFileSync(new URL("./fixtures/x86-public.jsonl", import.meta.url), "utf8").trim().split("\n");
const s390 = readFileSync(new URL("./fixtures/s390x-public.jsonl", import.meta.url), "utf8").trim().split("\n");

async function conform(lines: string[], ...args: string[]): Promise<{ out: string[]; code: number }> {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-conform-"));
  const file = join(dir, "cases.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  const out: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { out.push(a.join(" ")); });
  process.exitCode = undefined;
  try {
    await buildProgram().exitOverride().parseAsync(["node", "wasmmu", "conform", file, ...args]);
  } finally { log.mockRestore(); }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, code };
}

afterEach(() => { process.exitCode = undefined; });

describe("wasmmu conform", () => {
  it("passing vectors: only the summary, exit 0", async () => {
    const r = await conform(x86.slice(0, 20));
    expect(r.out).toEqual(["80 passed, 0 failed"]);           // 20 cases × 2 engines × 2 profiles
    expect(r.code).toBe(0);
  });

  it("a wrong expectation: one line per failing run naming the case and the difference, exit 1", async () => {
    const c = JSON.parse(x86[0]!);
    c.id = "doctored";
    c.expect.pa = "0x1234";                                       // the real answer differs
    const r = await conform([x86[1]!, JSON.stringify(c)], "--engine", "ts", "--profile", "qemu");
    expect(r.out).toEqual(["FAIL doctored [ts/qemu]: pa 0x3fa3a30 != expected 0x1234", "1 passed, 1 failed"]);
    expect(r.code).toBe(1);
  });

  it("--engine and --profile select the runs; the s390x schema is recognised too", async () => {
    const r = await conform([...x86.slice(0, 3), ...s390.slice(0, 2)], "--engine", "wasm", "--profile", "hardware");
    expect(r.out).toEqual(["5 passed, 0 failed"]);
  });

  it("a line of another schema or not JSON is a clear error naming the line", () => {
    expect(() => parseCases(`${x86[0]}\n{"hello":1}\n`, "f.jsonl")).toThrow(/f\.jsonl:2: matches no known vector schema/);
    expect(() => parseCases("{oops\n", "g.jsonl")).toThrow(/g\.jsonl:1: not JSON/);
  });

  it("hardware checks sdm_expect where the SDM disagrees with QEMU", async () => {
    const line = x86.find((l) => JSON.parse(l).sdm_expect?.note === "pdpte-rsvd-gp-at-cr3-load")!;
    const cases = parseCases(line);
    const hw = await runConformance(cases, { engines: ["wasm", "ts"], profiles: ["hardware"] });
    const q = await runConformance(cases, { engines: ["wasm", "ts"], profiles: ["qemu"] });
    expect([hw.passed, q.passed]).toEqual([2, 2]);
    // swapping the expectations makes both fail: the profiles really differ on this case
    const c = JSON.parse(line);
    [c.expect, c.sdm_expect] = [c.sdm_expect, c.expect];
    const swapped = await runConformance(parseCases(JSON.stringify(c)), { engines: ["ts"] });
    expect(swapped.failed).toBe(2);
  });
});
