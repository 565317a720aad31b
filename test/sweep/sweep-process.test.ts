// `wasmmu sweep` as a process: the same results whatever the number of
// workers, resume, Ctrl-C, the HTML report's values, errors on one line.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CellFile } from "../../src/sweep/cell.js";
import { FIXTURES, wasmmu, wasmmuSignalled } from "../cli/wasmmu-process.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-sweep-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 2 traces × 4 configurations (two TLB sizes × both engines), small enough to take a second.
const SMALL = ["synthetic:zipf:count=20000,pages=1024", "synthetic:uniform:count=20000,pages=512",
  "--grid", "tlb-entries=64,256", "--grid", "engine=wasm,ts"];

const cellFiles = (out: string): string[] => readdirSync(join(out, "cells")).filter((f) => f.endsWith(".json")).sort();
const readCells = (out: string): CellFile[] => cellFiles(out).map((f) => JSON.parse(readFileSync(join(out, "cells", f), "utf8")) as CellFile);
/** The CSV without its last column, the throughput: the one figure that depends on the machine's load. */
const csvWithoutThroughput = (out: string): string =>
  readFileSync(join(out, "summary.csv"), "utf8").trimEnd().split("\n").map((l) => l.replace(/,[^,]*$/, "")).join("\n");

/** One CSV line's fields (RFC 4180 quoting). */
function csvFields(line: string): string[] {
  return [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!));
}

describe("wasmmu sweep", () => {
  it("gives the same cells and summary with 1 and 2 workers, and both engines agree", () => {
    const one = join(dir, "w1"), two = join(dir, "w2");
    const r1 = wasmmu(["sweep", ...SMALL, "--workers", "1", "--out", one]);
    const r2 = wasmmu(["sweep", ...SMALL, "--workers", "2", "--out", two]);
    expect(r1.stderr).toBe("");
    expect(r1.status).toBe(0);
    expect(r2.status).toBe(0);
    expect(r1.stdout).toMatch(/^sweep: 8 cells \(8 run, 0 reused\) → .*w1\/summary\.txt, summary\.csv, report\.html\n$/);
    expect(cellFiles(one)).toHaveLength(8);
    expect(cellFiles(two)).toEqual(cellFiles(one));
    expect(csvWithoutThroughput(two)).toBe(csvWithoutThroughput(one));
    const csv = csvWithoutThroughput(one).split("\n");
    expect(csv).toHaveLength(9);
    expect(csv[0]).toBe("trace,engine,mode,page-size,tlb,tlb-entries,l2,replacement,psc,id,accesses,l1_hit_rate,l2_hit_rate,miss_ratio,walks,refs_per_walk,walk_refs,psc_hits");
    // Everything but the wall and CPU times (of the run, and of the boot planner).
    const untimed = (c: CellFile): unknown => JSON.parse(JSON.stringify(c, (k, v: unknown) => (k === "time" || k === "planMs" ? undefined : v)));
    const cells = readCells(one);
    expect(readCells(two).map(untimed)).toEqual(cells.map(untimed));
    // One engine contract: the wasm and ts cells of a trace and TLB size report the same statistics.
    for (const w of cells.filter((c) => c.config.engine === "wasm")) {
      const t = cells.find((c) => c.trace === w.trace && c.config.engine === "ts" && c.config["tlb-entries"] === w.config["tlb-entries"])!;
      expect(t.report.machine.engine).toBe("ts");
      expect({ ...t.report.tlb }).toEqual({ ...w.report.tlb });
      expect(t.report.accesses).toEqual(w.report.accesses);
    }
    // Every row of the summary is its cell's report.
    const head = csv[0]!.split(",");
    for (const line of csv.slice(1)) {
      const f = Object.fromEntries(csvFields(line).map((v, i) => [head[i]!, v]));
      const c = cells.find((x) => x.id === f.id)!;
      const t = c.report.tlb;
      expect(f.trace).toBe(c.trace);
      expect(Number(f.accesses)).toBe(c.report.accesses.total);
      expect(Number(f.miss_ratio)).toBe(1 - t.l1.hits / t.l1.accesses);   // no L2 in the fast TLB
      expect(f.l2_hit_rate).toBe("");
      expect(Number(f.walks)).toBe(t.walks);
      expect(Number(f.refs_per_walk)).toBe(t.refsPerWalk);
    }
    const txt = readFileSync(join(one, "summary.txt"), "utf8");
    expect(txt).toMatch(/^wasmmu sweep: 8 cells \(2 traces × 4 configurations\)\n/);
    expect(txt).toContain("trace synthetic:zipf:count=20000,pages=1024");
  });

  it("skips the cells a previous run finished, and reports them as reused", () => {
    const out = join(dir, "resume");
    expect(wasmmu(["sweep", ...SMALL.slice(0, 1), "--grid", "tlb-entries=64,256", "--out", out]).status).toBe(0);
    const before = cellFiles(out);
    expect(before).toHaveLength(2);
    const firstCell = readFileSync(join(out, "cells", before[0]!), "utf8");
    // Wider grid, more traces: the two finished cells are reused as they are.
    const r = wasmmu(["sweep", ...SMALL, "--out", out, "--progress"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^sweep: 8 cells, 2 reused from .*, 6 to run on \d+ workers?\n/);
    expect(r.stdout).toMatch(/8 cells \(6 run, 2 reused\)/);
    expect(readFileSync(join(out, "cells", before[0]!), "utf8")).toBe(firstCell);
    expect(cellFiles(out)).toHaveLength(8);
    const again = wasmmu(["sweep", ...SMALL, "--out", out]);
    expect(again.stdout).toMatch(/8 cells \(0 run, 8 reused\)/);
  });

  it("Ctrl-C keeps the finished cells, and a rerun completes the rest", async () => {
    const out = join(dir, "sigint");
    // One worker and cells of a fraction of a second: the signal arrives after the first cell, well before the last.
    const args = ["sweep", "synthetic:uniform:count=300000,pages=4096", "--grid", "tlb-entries=16,32,64,128,256,512,1024,2048",
      "--workers", "1", "--out", out, "--progress"];
    const r = await wasmmuSignalled(args, /\[1\/8\] cell/, "SIGINT");
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/sweep: interrupted: \d of 8 cells done \(kept in .*sigint\/cells\); run the same command again to finish the rest\n$/);
    const kept = cellFiles(out);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(8);
    expect(readdirSync(join(out, "cells")).filter((f) => !f.endsWith(".json"))).toEqual([]);   // nothing half written
    expect(existsSync(join(out, "summary.csv"))).toBe(false);
    const again = wasmmu(args);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`8 cells (${8 - kept.length} run, ${kept.length} reused)`);
    expect(cellFiles(out)).toHaveLength(8);
  });

  it("draws in the HTML report the values of the cell files", () => {
    const out = join(dir, "html");
    const r = wasmmu(["sweep", "synthetic:zipf:count=20000,pages=1024", "--grid", "tlb-entries=64,256,1024", "--grid", "psc=off,on",
      "--config", "tlb=off", "--out", out]);
    expect(r.status).toBe(0);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    // Self-contained: no script, nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=|@import|url\(/i);
    const cells = new Map(readCells(out).map((c) => [c.id, c]));
    expect(cells.size).toBe(7);
    const elems = (tag: string): Record<string, string>[] => [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, "g"))].map((m) =>
      Object.fromEntries([...m[1]!.matchAll(/data-([a-z-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
    const circles = elems("circle");
    // Two plots (miss ratio, references per walk) × 6 cells with a TLB size; the "off" cell has none.
    expect(circles).toHaveLength(12);
    for (const c of circles) {
      const cell = cells.get(c.id!)!, t = cell.report.tlb;
      expect(c.trace).toBe("synthetic:zipf:count=20000,pages=1024");
      expect(Number(c.entries)).toBe(Number(cell.config["tlb-entries"]));
      if ("miss-ratio" in c) expect(Number(c["miss-ratio"])).toBe(1 - (t.l1.hits + t.l2.hits) / t.l1.accesses);
      else expect(Number(c["refs-per-walk"])).toBe(t.walkRefs.reduce((s, n, i) => s + n * i, 0) / t.walks);
    }
    // Labelled by the axes that vary over the sweep; a curve's label leaves out the TLB size, its x axis.
    expect(new Set(circles.map((c) => c.config))).toEqual(new Set(["tlb=fast psc=off", "tlb=fast replacement=lru psc=on"]));
    expect(html).toContain("<p>Every cell: engine=wasm mode=4level page-size=4k.");
    // The caches do not change which lookups miss: the two miss-ratio curves coincide, and the page says so.
    expect(html).toContain('<p class="note">Drawn over one another (the same values): tlb=fast psc=off; tlb=fast replacement=lru psc=on.</p>');
    // Walk references saved by the paging-structure caches: one bar per TLB size, from the pair of cells.
    const refs = (c: CellFile): number => c.report.tlb.walkRefs.reduce((s, n, i) => s + n * i, 0);
    const saved = elems("rect").filter((b) => "saved" in b);
    expect(saved.map((b) => b.config)).toEqual(["64", "256", "1024"].map((n) => `tlb=fast tlb-entries=${n} replacement=lru`));
    for (const b of saved) {
      const n = /tlb-entries=(\d+)/.exec(b.config!)![1];
      const on = [...cells.values()].find((c) => c.config["tlb-entries"] === n && c.config.psc === "on")!;
      const off = [...cells.values()].find((c) => c.config["tlb-entries"] === n && c.config.psc === "off")!;
      expect(Number(b["refs-on"])).toBe(refs(on));
      expect(Number(b["refs-off"])).toBe(refs(off));
      expect(Number(b.saved)).toBe(refs(off) - refs(on));
      expect(refs(off) - refs(on)).toBeGreaterThan(0);
    }
    const speed = elems("rect").filter((b) => "throughput" in b);
    expect(speed).toHaveLength(7);
    for (const b of speed) expect(Number(b.throughput)).toBe(cells.get(b.id!)!.report.time.accessesPerSecond);
  });

  it("runs as a job array: --list-cells, one --cell per task, then --summary-only, the same as a local sweep", () => {
    const local = join(dir, "array-local"), out = join(dir, "array");
    expect(wasmmu(["sweep", ...SMALL, "--out", local]).status).toBe(0);
    const list = wasmmu(["sweep", ...SMALL, "--list-cells"]);
    expect(list.status).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(8);
    const ids = lines.map((l, i) => {
      const m = /^(\d+) {2}([0-9a-f]{16}) {2}(\S+) {2}(engine=.*)$/.exec(l)!;
      expect(Number(m[1])).toBe(i);
      return m[2]!;
    });
    expect([...ids].sort()).toEqual(cellFiles(local).map((f) => f.replace(/\.json$/, "")));
    // Before every cell is there, the summary names the missing ones.
    const early = wasmmu(["sweep", ...SMALL, "--summary-only", "--out", out]);
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(/^wasmmu: --summary-only: 8 of 8 cells are not in .*array\/cells \(--cell 0, 1, 2, 3, 4, 5, 6, 7\)\n$/);
    // The tasks of an array, in any order.
    for (const i of [7, 3, 0, 5, 1, 6, 2, 4]) {
      const r = wasmmu(["sweep", ...SMALL, "--cell", String(i), "--out", out]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`sweep: cell ${i} (${ids[i]}) → ${join(out, "cells", `${ids[i]}.json`)}\n`);
    }
    expect(wasmmu(["sweep", ...SMALL, "--cell", "3", "--out", out]).stdout).toMatch(/^sweep: cell 3 \([0-9a-f]{16}\) is already in /);
    const sum = wasmmu(["sweep", ...SMALL, "--summary-only", "--out", out]);
    expect(sum.status).toBe(0);
    expect(sum.stdout).toMatch(/^sweep: 8 cells \(0 run, 8 reused\) → /);
    const untimed = (c: CellFile): unknown => JSON.parse(JSON.stringify(c, (k, v: unknown) => (k === "time" || k === "planMs" ? undefined : v)));
    expect(readCells(out).map(untimed)).toEqual(readCells(local).map(untimed));
    expect(csvWithoutThroughput(out)).toBe(csvWithoutThroughput(local));
    const bad = wasmmu(["sweep", ...SMALL, "--cell", "8", "--out", out]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("wasmmu: --cell: cell 8 does not exist: the sweep has 8 cells, 0 to 7\n");
    expect(wasmmu(["sweep", ...SMALL, "--cell", "1", "--list-cells"]).stderr).toBe("wasmmu: --list-cells: not with --cell\n");
  });

  it("reads a sweep file", () => {
    const out = join(dir, "file"), spec = join(dir, "sweep.json");
    writeFileSync(spec, JSON.stringify({ traces: ["synthetic:strided:count=5000,pages=64"], grid: { mode: ["4level", "5level"] },
      configs: [], limit: 3000 }));
    const r = wasmmu(["sweep", "--spec", spec, "--out", out]);
    expect(r.status).toBe(0);
    const cells = readCells(out);
    expect(cells.map((c) => [c.config.mode, c.report.accesses.total, c.limit])).toEqual(
      expect.arrayContaining([["4level", 3000, 3000], ["5level", 3000, 3000]]));
  });

  it("stops at a malformed trace record naming the cell, and with --lenient skips and counts it", () => {
    const out = join(dir, "lenient"), trace = join(FIXTURES, "malformed-lenient.lackey");
    const strict = wasmmu(["sweep", trace, "--grid", "tlb-entries=64", "--out", out]);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/^wasmmu: cell [0-9a-f]{16} \(malformed-lenient\.lackey, engine=wasm .*tlb-entries=64 psc=off\): .*malformed-lenient\.lackey: line 4: .* \(use --lenient to skip malformed records and count them\)\n$/);
    expect(cellFiles(out)).toEqual([]);
    const lenient = wasmmu(["sweep", trace, "--grid", "tlb-entries=64", "--out", out, "--lenient"]);
    expect(lenient.status).toBe(0);
    const [cell] = readCells(out);
    expect(cell!.report.trace.skipped).toBeGreaterThan(0);
    expect(cell!.report.accesses.total).toBeGreaterThan(0);
  });

  it.each([
    [["--grid", "tlb-entries=64,100"], /^wasmmu: --grid: axis tlb-entries: bad value "100": expected a power of two from 1 to 4M\n$/],
    [["--grid", "psc=off,sometimes"], /^wasmmu: --grid: axis psc: bad value "sometimes": expected off, on, or LEVEL:SETSxWAYS/],
    [["--grid", "ways=4"], /^wasmmu: --grid: unknown axis "ways" \(axes: /],
    [["--config", "tlb=research,l2=3x8"], /^wasmmu: --config: axis l2: bad value "3x8": the number of sets must be a power of two/],
    [["--grid", "tlb=research", "--grid", "tlb-entries=64"], /^wasmmu: axis tlb-entries applies to no configuration of the sweep/],
    [["no-such-trace.wmt"], /^wasmmu: trace file no-such-trace\.wmt not found\n$/],
    [["--spec", "no-such.json"], /^wasmmu: --spec: cannot read no-such\.json: ENOENT\n$/],
  ])("bad input %j: one line naming it", (args, msg) => {
    const r = wasmmu(["sweep", ...args, "--out", join(dir, "bad")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).toBe("");
  });
});
