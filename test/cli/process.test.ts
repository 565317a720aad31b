// The command as a process: exit status, stderr, no crash — for what an
// in-process call cannot show (unhandled 'error' events, a process that exits
// while a promise is pending, signals).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, wasmmu, wasmmuSignalled, type ProcessResult } from "./wasmmu-process.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-proc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BUNDLED = new URL("../../traces/gzip-gpl3.wmt.br", import.meta.url).pathname;

/** A copy of `src` with `n` bytes in the middle inverted. */
function damaged(src: string, name: string, n = 8): string {
  const b = Buffer.from(readFileSync(src));
  const mid = b.length >> 1;
  for (let i = mid; i < mid + n; i++) b[i] = b[i]! ^ 0xff;
  const out = join(dir, name);
  writeFileSync(out, b);
  return out;
}

/** `src` Brotli-compressed (as the bundled traces are). */
function brotli(src: string, name: string): string {
  const out = join(dir, name);
  writeFileSync(out, brotliCompressSync(readFileSync(src)));
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
    ["Brotli, bytes flipped", () => damaged(brotli(join(FIXTURES, "small.lackey"), "small.lackey.br"), "flipped.lackey.br"), /corrupt Brotli data/],
    ["Brotli, cut short", () => cut(brotli(join(FIXTURES, "small.lackey"), "small.lackey.br"), "cut.lackey.br"), /truncated at compressed byte \d+: the Brotli stream ends early/],
    ["the bundled Brotli trace, bytes flipped", () => damaged(BUNDLED, "flipped.wmt.br", 64), /corrupt Brotli data/],
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

  it("--premap reads a compressed trace twice, one pass after the other (the bundled Brotli one, an xz one)", () => {
    const r = wasmmu(["run", "--premap", "--limit", "50000", "--mem", "64M"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}total +50,000$/m);
    expect(r.stdout).toMatch(/pre-mapped pages +[1-9]/);
    // xz-decompress decodes one stream at a time: the second pass opens only after the first is closed.
    const x = wasmmu(["run", "--premap", "--mem", "64M", join(FIXTURES, "small.lackey.xz")]);
    expect(x.stderr).toBe("");
    expect(x.status).toBe(0);
    expect(x.stdout).toMatch(/pre-mapped pages +[1-9]/);
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

/** Failed with exit 1 and one line on stderr matching `message`, nothing on stdout. */
function expectOneLineError(r: ProcessResult, message: RegExp): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(/Unhandled|\n\s+at |node:internal/);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^wasmmu: /);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe("");
  expect(r.status).toBe(1);
}

describe("numeric flags: whole numbers in range, errors that name the flag", () => {
  const SMALL = join(FIXTURES, "small.lackey");
  const cases: [string[], RegExp][] = [
    [["run", "--synthetic", "uniform", "--count", "1.5"], /'--count <n>' argument '1\.5' is invalid\. expected a whole number/],
    [["run", "--synthetic", "uniform", "--count", "0"], /'--count <n>' argument '0' is invalid\. expected a whole number from 1 /],
    [["run", "--synthetic", "uniform", "--pages", "2.5"], /'--pages <n>' argument '2\.5'/],
    [["run", "--synthetic", "strided", "--stride", "0"], /'--stride <bytes>' argument '0'/],
    [["run", "--synthetic", "sweep", "--min-pages", "1e40"], /'--min-pages <n>' argument '1e40'/],
    [["run", "--synthetic", "sweep", "--max-pages", "x"], /'--max-pages <n>' argument 'x'/],
    [["run", "--synthetic", "zipf", "--alpha", "0x10"], /'--alpha <a>' argument '0x10' is invalid\. expected a number from 0\.01 to 99/],
    [["run", "--synthetic", "uniform", "--write-ratio", "1.5"], /'--write-ratio <f>' argument '1\.5'/],
    [["run", "--synthetic", "uniform", "--seed", "4294967296"], /'--seed <n>' argument '4294967296' is invalid\. expected an integer from 0 to 0xffffffff/],
    [["run", "--synthetic", "uniform", "--base", "0x1001"], /'--base <va>' argument '0x1001' is invalid\. expected a multiple of 4096/],
    [["run", "--synthetic", "uniform", "--base", "0x800000000000"], /'--base <va>' argument '0x800000000000' is invalid\. expected an integer from 0 to 0x7ffffffff000/],
    [["run", "--synthetic", "uniform", "--base", "0x7ffffffff000"], /--base \+ --pages × 4096 must stay below 2\^47/],
    [["run", "--synthetic", "zipf", "--pages", "8M"], /--pages: a zipf working set is at most 4,194,304 pages/],
    [["run", "--synthetic", "sweep", "--min-pages", "64", "--max-pages", "16"], /--max-pages \(16\) must be at least --min-pages \(64\)/],
    [["run", SMALL, "--thp-threshold", "513"], /'--thp-threshold <pages>' argument '513' is invalid\. expected a whole number from 1 to 512/],
    [["run", SMALL, "--mem", "1000"], /'--mem <bytes>' argument '1000' is invalid\. expected a size .* from 4M to 32T, a multiple of 4K/],
    [["run", SMALL, "--mem", "1.5"], /'--mem <bytes>' argument '1\.5'/],
    [["run", SMALL, "--tlb-entries", "3"], /'--tlb-entries <n>' argument '3' is invalid\. expected a power of two/],
    [["run", SMALL, "--tlb", "research", "--l2", "3x4"], /--l2: the number of sets must be a power of two/],
    [["run", SMALL, "--tlb", "research", "--l2", "64x40"], /--l2: the number of ways must be 1 to 32, got 40/],
    [["run", SMALL, "--tlb", "research", "--l2", "64x6", "--replacement", "plru"], /--l2: --replacement plru needs a power-of-two number of ways/],
    [["run", SMALL, "--limit", "0"], /'--limit <n>' argument '0'/],
    [["info", "tlb", SMALL, "--max-lines", "1.5"], /'--max-lines <n>' argument '1\.5'/],
    [["convert", SMALL, join(dir, "x.wmt"), "--limit", "-1"], /'--limit <n>' argument '-1'/],
    [["s390-pgmem", "--processes", "1.5"], /'-p, --processes <n>' argument '1\.5'/],
    [["s390-pgmem", "--mappings", "0"], /'-m, --mappings <n>' argument '0'/],
    [["pt-cost", "--gib", "4"], /'--gib <n>' argument '4' is invalid\. expected a whole number from 1 to 3/],
    [["boot", "--mem", "1G", "--brk", "1.5"], /'--brk <pages>' argument '1\.5' is invalid\. expected a whole number/],
    [["boot", "--mem", "1G", "--brk", "0"], /'--brk <pages>' argument '0' is invalid\. expected a whole number from 1 to 4,096, got "0"/],
    [["boot", "--mem", "1G", "--steps", "-1"], /'--steps <n>' argument '-1' is invalid/],
    [["xen", "--pages", "255"], /--pages must be an integer in \[256, 65536\], got "255"/],
    [["bench", "--rounds", "0"], /'--rounds <n>' argument '0' is invalid\. expected a whole number from 1 to 100/],
    [["bench", "--workloads", ","], /'--workloads <list>' argument ',' is invalid\. no workload given/],
  ];
  for (const [args, message] of cases)
    it(`wasmmu ${args.map((a) => a.replace(FIXTURES, "")).join(" ")}`, () => expectOneLineError(wasmmu(args), message));
});

describe("--count and the other workload options", () => {
  it("--count with a trace file is an error that points to --limit; --limit takes the first N accesses", () => {
    expectOneLineError(wasmmu(["run", "--count", "5"]), /--count is the length of a --synthetic workload; for the first N accesses of a trace file use --limit N/);
    expectOneLineError(wasmmu(["run", "--pages", "5"]), /--pages applies to --synthetic workloads only/);
    expectOneLineError(wasmmu(["run", "--synthetic", "zipf", "--lenient"]), /--lenient applies to trace files, not to --synthetic workloads/);
    const r = wasmmu(["run", "--limit", "5", "--json", "--mem", "64M"]);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { accesses: { total: number } }).accesses.total).toBe(5);
  });

  it("convert --limit writes the first N accesses", () => {
    const out = join(dir, "first3.lackey");
    const r = wasmmu(["convert", join(FIXTURES, "small.lackey"), out, "--limit", "3"]);
    expect(r.status).toBe(0);
    // small.lackey begins with a fetch at 0x4022ff8 (3 bytes), a load and a store (8 bytes each).
    expect(readFileSync(out, "utf8").split("\n").slice(1)).toEqual(["I  04022ff8,1", " L 1ffefffd38,1", " S 1ffefffd40,1", ""]);
  });

  it("--help shows the options' defaults as a reader writes them (addresses in hex)", () => {
    const help = wasmmu(["run", "--help"]).stdout.replace(/\s+/g, " ");
    expect(help).toContain("(default: 0x7f0000000000)");
    expect(help).toContain("(default: 1G)");
    expect(help).toContain("(default: 10M)");
    expect(help).not.toMatch(/139637976727552|1073741824|10000000/);
  });
});

describe("files that are missing, empty or hold no accesses", () => {
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "");
  const blank = join(dir, "blank.jsonl");
  writeFileSync(blank, "\n\n");
  const garbage = join(dir, "garbage.lackey");
  writeFileSync(garbage, "garbage\nmore garbage\n\n");
  const banner = join(dir, "banner.lackey");
  writeFileSync(banner, "==77== Lackey, an example Valgrind tool\n==77== Command: true\n");

  it("conform: a missing file, an empty one, one with only blank lines", () => {
    expectOneLineError(wasmmu(["conform", join(dir, "nope.jsonl")]), /^wasmmu: cannot open \S+nope\.jsonl: no such file$/m);
    expectOneLineError(wasmmu(["conform", empty]), /empty\.txt: no conformance vectors \(the file is empty\)$/m);
    expectOneLineError(wasmmu(["conform", blank]), /blank\.jsonl: no conformance vectors \(the file has only blank lines\)$/m);
  });

  it("run and convert: a missing input, a missing output directory, a missing --json directory", () => {
    expectOneLineError(wasmmu(["run", join(dir, "nope.wmt")]), /cannot open \S+nope\.wmt: no such file \(give the path of a trace file/);
    expectOneLineError(wasmmu(["convert", join(dir, "nope.wmt"), join(dir, "out.wmt")]), /cannot open \S+nope\.wmt: no such file/);
    expectOneLineError(wasmmu(["convert", join(FIXTURES, "small.lackey"), join(dir, "no-dir", "out.wmt")]), /cannot create \S+no-dir\/out\.wmt: no such directory$/m);
    expectOneLineError(wasmmu(["run", dir]), /cannot open \S+: is a directory$/m);
    expectOneLineError(wasmmu(["bench", "--json", join(dir, "no-dir", "b.json")]), /--json: cannot create \S+b\.json: no such directory$/m);
  });

  it("an empty trace is the same error with or without --format", () => {
    for (const extra of [[], ["--format", "lackey"], ["--format", "wmt"]])
      expectOneLineError(wasmmu(["run", empty, ...extra]), /empty\.txt: the file is empty$/m);
  });

  it("a trace of no accesses is an error; with --lenient it says how many lines were skipped", () => {
    expectOneLineError(wasmmu(["run", banner]), /banner\.lackey: the trace has no accesses$/m);
    expectOneLineError(wasmmu(["run", garbage]), /garbage\.lackey: line 1: not a lackey trace line/);
    expectOneLineError(wasmmu(["run", garbage, "--lenient"]),
      /garbage\.lackey: the trace has no accesses \(all 2 malformed lines were skipped by --lenient; first: line 1: "garbage"\)$/m);
  });
});

describe("the default command", () => {
  it("an unknown word is an unknown command, a path is a missing file, an existing file runs", () => {
    expectOneLineError(wasmmu(["foo"]), /^wasmmu: unknown command "foo", and no trace file of that name either \(commands: .*\brun\b/);
    expectOneLineError(wasmmu(["foo.wmt"]), /cannot open foo\.wmt: no such file/);
    const r = wasmmu([join(FIXTURES, "small.lackey"), "--mem", "64M"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}total +10$/m);
  });
});

describe("ptdump --kernel", () => {
  // PAGE_OFFSET: 0xffff888000000000 (4-level), 0xff11000000000000 (5-level),
  // 0xc0000000 (32-bit, 3G/1G split); the example machine has 64 MiB of RAM,
  // mapped with 2 MiB pages (4 MiB on 2-level paging), global, NX where the mode has NX.
  const cases: [string, RegExp][] = [
    ["4level", /^0xffff888000000000-0xffff888004000000 +64M +RW +PSE +GLB NX pmd$/m],
    ["5level", /^0xff11000000000000-0xff11000004000000 +64M +RW +PSE +GLB NX pmd$/m],
    ["pae", /^0xc0000000-0xc4000000 +64M +RW +PSE +GLB NX pmd$/m],
    ["2level", /^0xc0000000-0xc4000000 +64M +RW +PSE +GLB x +pmd$/m],
  ];
  for (const [mode, directMap] of cases) {
    it(`${mode}: the kernel half shows the direct map of RAM`, () => {
      const r = wasmmu(["ptdump", "--kernel", "--mode", mode]);
      expect(r.status).toBe(0);
      const kernel = r.stdout.slice(r.stdout.indexOf("---[ Kernel Space ]---"));
      expect(kernel.slice(0, kernel.indexOf("---[ vmalloc() Area ]---"))).toMatch(directMap);
    });
  }
});

describe("the report of `npm start` (wasmmu with no arguments: the bundled trace)", () => {
  let r: ProcessResult, lines: string[];
  /** Rows by label, continuation lines (deeper than any label) joined to their row. */
  const rows = new Map<string, string>();
  beforeAll(() => {
    r = wasmmu([]);
    lines = r.stdout.trimEnd().split("\n");
    let last = "";
    for (const line of lines) {
      if (/^ {10,}\S/.test(line)) { rows.set(last, `${rows.get(last)} ${line.trim()}`); continue; }
      const m = /^ {2,4}(\S.*?) {2,}(\S.*)$/.exec(line);
      if (m) rows.set((last = m[1]!), m[2]!);
    }
  });
  const n = (s: string): number => Number(s.replaceAll(",", ""));
  const row = (label: string): string => { expect(rows.has(label), label).toBe(true); return rows.get(label)!; };

  it("runs, and every line fits 100 columns", () => {
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(row("recorded")).toMatch(/^valgrind-3\.19\.0 --tool=lackey .* x86-64$/);   // wrapped, not cut
  });

  it("says why TLB lookups exceed the accesses: faulting accesses are looked up again", () => {
    const total = n(row("total")), faults = n(/^([\d,]+)/.exec(row("handled"))![1]!);
    const [, lookups, acc, retried] = /^([\d,]+) = ([\d,]+) accesses \+ ([\d,]+) retried after a page fault$/.exec(row("L1 lookups"))!;
    expect([n(acc!), n(retried!)]).toEqual([total, faults]);
    const [, hits, misses] = /^([\d,]+) \/ ([\d,]+) /.exec(row("L1 hits / misses"))!;
    expect(n(hits!) + n(misses!)).toBe(n(lookups!));
    expect(n(lookups!)).toBe(total + faults);
  });

  it("says what NR_PAGETABLE counts beyond the process's page tables", () => {
    const tables = n(/^([\d,]+) pages \([\d.]+ KiB\), all levels, of the process$/.exec(row("page tables"))![1]!);
    const bootTables = n(/: (\d+) table pages \(/.exec(row("kernel mapping"))![1]!);
    const [, nr, proc, kernel, boot] = /^([\d,]+) = ([\d,]+) of the process \+ ([\d,]+) of the kernel \(init_mm\); the ([\d,]+) boot-time tables from brk\/memblock are not counted$/
      .exec(row("NR_PAGETABLE (machine)"))!;
    expect(n(proc!)).toBe(tables);
    expect(n(nr!)).toBe(tables + n(kernel!));
    expect(n(boot!)).toBe(bootTables);
  });

  it("spells out the walk histogram and why A/D writes are 0", () => {
    const walks = n(/^([\d,]+) /.exec(row("page walks"))![1]!);
    const hist = row("walks by length");
    expect(hist).toMatch(/^[\d,]+ read 4 entries(, [\d,]+ read [1-3])*  \(a complete 4level walk reads 4; fewer: it stopped at a not-present entry or a large page\)$/);
    const counts = [...hist.matchAll(/([\d,]+) read \d/g)].map((m) => n(m[1]!));
    expect(counts.reduce((s, c) => s + c, 0)).toBe(walks);
    expect(row("A / D bits written")).toBe("0 / 0  (set by the walker; PTEs made by the fault handler have A, and D for a write, already)");
  });
});
