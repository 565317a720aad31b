// The sweep's OUT/report.html in a real browser: Debian's Chromium driven by
// playwright-core (never a downloaded browser), opened from its file:// URL
// as a person would open it. The plots must be drawn: every point and bar is
// an SVG element the browser lays out at a non-zero size, at a place that
// follows its value, carrying the values of its cell file. Without Chromium
// (WASMMU_CHROMIUM overrides /usr/bin/chromium) the file says so and the
// browser tests are reported as skipped.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { hasChromium, launchChromium, reportBrowserTests } from "../browser.js";
import type { CellFile } from "../../src/sweep/cell.js";
import { wasmmu } from "../cli/wasmmu-process.js";

reportBrowserTests("THE SWEEP REPORT BROWSER TESTS");

/** What the browser made of one SVG element: its data-* attributes and its laid-out box. */
interface Drawn { tag: string; data: Record<string, string>; box: { x: number; y: number; width: number; height: number } }

describe.runIf(hasChromium)("sweep report.html in Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-report-"));
  let browser: Browser;
  let drawn: Drawn[];
  let cells: Map<string, CellFile>;

  beforeAll(async () => {
    const out = join(dir, "out");
    const r = wasmmu(["sweep", "synthetic:zipf:count=20000,pages=1024", "synthetic:uniform:count=20000,pages=512",
      "--grid", "tlb-entries=64,256,1024", "--grid", "psc=off,on", "--out", out]);
    expect(r.status).toBe(0);
    cells = new Map(readdirSync(join(out, "cells")).map((f) => JSON.parse(readFileSync(join(out, "cells", f), "utf8")) as CellFile)
      .map((c) => [c.id, c]));
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(out, "report.html")).href);
    drawn = await page.evaluate(() => Array.from(document.querySelectorAll("svg circle, svg rect")).map((e) => {
      const b = e.getBoundingClientRect();
      return { tag: e.tagName, data: { ...(e as SVGElement).dataset } as Record<string, string>,
        box: { x: b.x, y: b.y, width: b.width, height: b.height } };
    }));
    expect(errors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const walkRefs = (c: CellFile): number => c.report.tlb.walkRefs.reduce((s, n, i) => s + n * i, 0);

  it("draws every cell's miss ratio and references per walk as points carrying the cell file's values", () => {
    const points = drawn.filter((d) => d.tag === "circle");
    // 2 traces × 6 cells × 2 plots.
    expect(points).toHaveLength(24);
    for (const p of points) {
      const c = cells.get(p.data.id!)!, t = c.report.tlb;
      expect(p.box.width).toBeGreaterThan(0);
      expect(p.box.height).toBeGreaterThan(0);
      expect(p.data.trace).toBe(c.trace);
      expect(Number(p.data.entries)).toBe(Number(c.config["tlb-entries"]));
      if ("missRatio" in p.data) expect(Number(p.data.missRatio)).toBe(1 - (t.l1.hits + t.l2.hits) / t.l1.accesses);
      else expect(Number(p.data.refsPerWalk)).toBe(walkRefs(c) / t.walks);
    }
    // On one curve, a bigger TLB is further right, and a higher value is higher up (smaller y on the screen).
    const curves = new Map<string, Drawn[]>();
    for (const p of points) {
      const k = `${p.data.trace} ${p.data.config} ${"missRatio" in p.data ? "miss" : "refs"}`;
      curves.set(k, [...(curves.get(k) ?? []), p]);
    }
    expect(curves.size).toBe(8);
    const value = (p: Drawn): number => Number(p.data.missRatio ?? p.data.refsPerWalk);
    for (const ps of curves.values()) {
      // Values closer than 1 % of the chart's height may share a pixel row (coordinates are written to 0.1 px).
      const chart = points.filter((p) => p.data.trace === ps[0]!.data.trace && ("missRatio" in p.data) === ("missRatio" in ps[0]!.data));
      const apart = 0.01 * Math.max(...chart.map(value));
      const byEntries = [...ps].sort((a, b) => Number(a.data.entries) - Number(b.data.entries));
      for (let i = 1; i < byEntries.length; i++) {
        expect(byEntries[i]!.box.x).toBeGreaterThan(byEntries[i - 1]!.box.x);
        const [a, b] = [byEntries[i - 1]!, byEntries[i]!];
        if (value(a) > value(b) + apart) expect(a.box.y).toBeLessThan(b.box.y);
        if (value(a) < value(b) - apart) expect(a.box.y).toBeGreaterThan(b.box.y);
      }
    }
  });

  it("draws the walk references saved by paging-structure caches as bars as long as their values", () => {
    const bars = drawn.filter((d) => d.tag === "rect" && "saved" in d.data);
    expect(bars).toHaveLength(6);
    for (const b of bars) {
      const n = /tlb-entries=(\d+)/.exec(b.data.config!)![1];
      const of = (psc: string): CellFile => [...cells.values()].find((c) => c.trace === b.data.trace &&
        c.config["tlb-entries"] === n && c.config.psc === psc)!;
      expect(Number(b.data.refsOff)).toBe(walkRefs(of("off")));
      expect(Number(b.data.refsOn)).toBe(walkRefs(of("on")));
      expect(Number(b.data.saved)).toBe(walkRefs(of("off")) - walkRefs(of("on")));
      expect(b.box.width).toBeGreaterThan(0);
      expect(b.box.height).toBeGreaterThan(0);
    }
    // Within a trace's chart, lengths are in proportion to the values.
    for (const trace of new Set(bars.map((b) => b.data.trace))) {
      const mine = bars.filter((b) => b.data.trace === trace);
      const [big] = [...mine].sort((a, b) => Number(b.data.saved) - Number(a.data.saved));
      for (const b of mine) expect(b.box.width / big!.box.width).toBeCloseTo(Number(b.data.saved) / Number(big!.data.saved), 2);
    }
  });

  it("draws one throughput bar per cell, carrying its measured rate", () => {
    const bars = drawn.filter((d) => d.tag === "rect" && "throughput" in d.data);
    expect(bars.map((b) => b.data.id).sort()).toEqual([...cells.keys()].sort());
    for (const b of bars) {
      expect(Number(b.data.throughput)).toBe(cells.get(b.data.id!)!.report.time.accessesPerSecond);
      expect(b.box.width).toBeGreaterThan(0);
      expect(b.box.height).toBeGreaterThan(0);
    }
  });
});
