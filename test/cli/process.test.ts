// The command as a process: exit status, stderr, no crash — for what an
// in-process call cannot show (unhandled 'error' events, a process that exits
// while a promise is pending, signals).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES, wasmmu, wasmmuSignalled, type ProcessResult } from "./wasmmu-process.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-proc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BUNDLED = new URL("../../traces/gzip-gpl3.wmt.xz", import.meta.url).pathname;

/** A copy of `src` with `n` bytes in the middle inverted. */
function damaged(src: string, name: string, n = 8): string {
  const b = Buffer.from(readFileSync(src));
  const mid = b.length >> 1;
  for (let i = mid; i < mid + n; i++) b[i] = b[i]! ^ 0xff;
  const out = join(dir, name);
  writeFileSync(out, b);
  return out;
}

/** A copy of the first `fraction` of `src`. */
function cut(src: string, name: string, fraction = 0.5): string {
  const b = readFileSync(src);
  const out = join(dir, name);
  writeFileSync(out, b.subarray(0, Math.floor(b.length * fraction)));
  return out;
}

/** Failed cleanly: exit 1 and one line on stderr that names `file`, no stack trace. */
function expectCleanError(r: ProcessResult, file: string, message: RegExp): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(/Unhandled|\n\s+at |node:internal/);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(message);
  expect(r.status).toBe(1);
}

describe("damaged compressed traces", () => {
  const cases: [string, () => string, RegExp][] = [
    ["gzip, bytes flipped", () => damaged(join(FIXTURES, "small.lackey.gz"), "flipped.lackey.gz"), /corrupt gzip data/],
    ["gzip, cut short", () => cut(join(FIXTURES, "small.lackey.gz"), "cut.lackey.gz"), /truncated at compressed byte \d+/],
    ["xz, bytes flipped", () => damaged(join(FIXTURES, "small.lackey.xz"), "flipped.lackey.xz"), /corrupt xz data \(the compressed data is damaged/],
    ["xz, cut short", () => cut(join(FIXTURES, "small.lackey.xz"), "cut.lackey.xz"), /truncated at compressed byte \d+: the xz stream ends early/],
    ["the bundled xz trace, bytes flipped", () => damaged(BUNDLED, "flipped.wmt.xz", 64), /corrupt xz data/],
  ];
  for (const [what, make, message] of cases) {
    for (const premap of [false, true]) {
      it(`${what}${premap ? ", --premap" : ""}: exit 1, one line naming the file`, () => {
        const file = make();
        const r = wasmmu(["run", file, "--mem", "64M", ...(premap ? ["--premap"] : [])]);
        expectCleanError(r, file, message);
      });
    }
  }

  it("--premap reads an xz trace twice, one pass after the other", () => {
    const r = wasmmu(["run", "--premap", "--limit", "50000", "--mem", "64M"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}total +50,000$/m);
    expect(r.stdout).toMatch(/pre-mapped pages +[1-9]/);
  });
});

describe("Ctrl-C", () => {
  /** Total accesses in a text report. */
  const total = (out: string): number => Number(/^ {2}total +([\d,]+)$/m.exec(out)![1]!.replaceAll(",", ""));

  // Ctrl-C stops the run between chunks: the report of what ran, marked
  // INTERRUPTED, and exit status 130 (128 + SIGINT) like a shell's.
  const runs: [string, string[], number][] = [
    // --engine ts --tlb off makes the 8.7 M-access bundled trace take seconds, long after the first progress line.
    ["a file trace", ["--engine", "ts", "--tlb", "off"], 8_763_622],
    ["a synthetic workload", ["--synthetic", "uniform", "--count", "1e12", "--pages", "1024"], 1e12],
  ];
  for (const [what, args, whole] of runs) {
    it(`stops ${what} and prints the statistics so far, exit 130`, async () => {
      const r = await wasmmuSignalled(["run", ...args, "--progress", "--mem", "64M"], /^progress: /m, "SIGINT");
      expect(r.signal).toBeNull();
      expect(r.status).toBe(130);
      expect(r.stderr).toMatch(/^(progress: .*\n)+$/);
      expect(r.stdout).toMatch(/^ {2}status +INTERRUPTED: statistics so far$/m);
      expect(total(r.stdout)).toBeGreaterThan(0);
      expect(total(r.stdout)).toBeLessThan(whole);
    });
  }
});

describe("--progress", () => {
  it("writes plain progress lines when stderr is not a terminal; nothing without it", () => {
    const withLines = wasmmu(["run", "--synthetic", "strided", "--count", "100000", "--mem", "64M", "--progress"]);
    expect(withLines.status).toBe(0);
    expect(withLines.stderr).toMatch(/^progress: 65,536 accesses, 65\.5 %, [\d.]+ M\/s\n(progress: .*\n)*$/);
    const quiet = wasmmu(["run", "--synthetic", "strided", "--count", "100000", "--mem", "64M"]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe("");
  });
});
