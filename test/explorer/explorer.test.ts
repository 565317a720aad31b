// The explorer in a real browser: Debian's Chromium driven by playwright-core
// (never a downloaded browser). `wasmmu explore --port 0` runs as a child
// process; the page builds a 4-level address space on each engine, walks
// addresses, opens the page-table tree and runs random accesses. Without
// Chromium (WASMMU_CHROMIUM overrides /usr/bin/chromium) the file says so
// loudly and the browser tests are reported as skipped.
import { mkdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { hasChromium, reportBrowserTests, withExplorerPage } from "../browser.js";

reportBrowserTests("THE BROWSER TESTS");

describe.runIf(hasChromium)("explorer in Chromium", () => {
  let page: Page;
  withExplorerPage((p) => { page = p; });

  async function buildSpace(engine: string, mode: string): Promise<void> {
    await page.selectOption("#engine", engine);
    await page.selectOption("#mode", mode);
    await page.click("#build");
    await page.waitForSelector(`#status[data-built='${engine}/${mode}']`);
  }

  /** What the page shows after a translation: its walk, the engine's result (data-* attributes), the steps. */
  interface Shown { mine: Record<string, string>; engine: Record<string, string>; agree: Record<string, string>; steps: Record<string, string> }

  async function translate(va: string, access: "0" | "1" | "2", cpl: "0" | "3"): Promise<Shown> {
    await page.fill("#va", va);
    await page.selectOption("#access", access);
    await page.selectOption("#cpl", cpl);
    await page.click("#walk");
    return page.evaluate(() => {
      const data = (id: string): Record<string, string> => ({ ...document.getElementById(id)!.dataset }) as Record<string, string>;
      const steps = Array.from(document.querySelectorAll("#steps tbody tr")).map((tr) => (tr as HTMLElement).dataset);
      return {
        mine: data("page-result"), engine: data("engine-result"), agree: data("agree"),
        steps: Object.fromEntries(steps.map((s, i) => [String(i), `${s.level}[${s.index}]`])),
      };
    });
  }

  for (const engine of ["wasm", "ts"]) {
    it(`${engine}: a 4-level walk shown step by step agrees with the engine's translate()`, async () => {
      await buildSpace(engine, "4level");
      // VA 0x401234: PML4 index 0, PDPT 0, PD 2, PT 1; the text mapping puts
      // 0x400000 at PA 0x200000, so the byte is at 0x201234.
      const r = await translate("0x401234", "0", "3");
      expect(r.steps).toEqual({ 0: "PML4E[0]", 1: "PDPTE[0]", 2: "PDE[2]", 3: "PTE[1]" });
      expect(r.engine).toMatchObject({ fault: "none", pa: "0x201234" });
      expect(r.mine).toMatchObject({ fault: "none", pa: "0x201234", steps: "4" });
      expect(r.agree.agree).toBe("yes");
      // The same page written at CPL 3: text is read-only, #PF with P|W|U = 7.
      const w = await translate("0x401234", "1", "3");
      expect(w.engine).toMatchObject({ fault: "pf", vector: "14", errorCode: "7" });
      expect(w.mine).toMatchObject({ fault: "pf", vector: "14", errorCode: "7" });
      expect(w.agree.agree).toBe("yes");
      // Inside the 2 MiB page at 0x1000000 (PA 0x200000): three levels, PDE is the leaf.
      const h = await translate("0x1012345", "1", "3");
      expect(h.steps).toEqual({ 0: "PML4E[0]", 1: "PDPTE[0]", 2: "PDE[8]" });
      expect(h.engine).toMatchObject({ fault: "none", pa: "0x212345" });
      expect(h.agree.agree).toBe("yes");
      // A non-canonical address: #GP(0) before any table is read.
      const g = await translate("0x800000000000", "0", "0");
      expect(g.engine).toMatchObject({ fault: "gp", vector: "13", errorCode: "0" });
      expect(g.mine).toMatchObject({ fault: "gp", steps: "0" });
      expect(g.agree.agree).toBe("yes");
    }, 60_000);
  }

  // VA 0x401234 is in the text mapping (PA 0x200000) in every mode; the walk
  // has one step per level of the mode: 2, 3 (PDPTE from CR3), 4 or 5.
  for (const [mode, levels] of [["2level", 2], ["pae", 3], ["4level", 4], ["5level", 5]] as const) {
    for (const engine of ["wasm", "ts"]) {
      it(`${engine} ${mode}: the page's walk and translate() agree`, async () => {
        await buildSpace(engine, mode);
        const r = await translate("0x401234", "0", "3");
        expect(Object.keys(r.steps)).toHaveLength(levels);
        expect(r.engine).toMatchObject({ fault: "none", pa: "0x201234" });
        expect(r.mine).toMatchObject({ fault: "none", pa: "0x201234" });
        expect(r.agree.agree).toBe("yes");
        // The kernel's vmalloc pages are supervisor pages: #PF P|U (5) at CPL 3.
        const vmalloc = await page.textContent("#regions tbody tr:first-child td:first-child");
        const s = await translate(vmalloc!, "0", "3");
        expect(s.engine).toMatchObject({ fault: "pf", vector: "14", errorCode: "5" });
        expect(s.agree.agree).toBe("yes");
      }, 60_000);
    }
  }

  it("the page-table tree opens from the root and marks the large page", async () => {
    await buildSpace("wasm", "4level");
    // The root lists the user PML4E 0 and the kernel's vmalloc one; nothing below is read yet.
    const rootEntries = await page.$$eval("#tree > details > details", (ds) => ds.map((d) => (d as HTMLElement).dataset.index));
    expect(rootEntries).toContain("0");
    expect(await page.locator("#tree .large").count()).toBe(0);
    await page.click("#tree > details > details[data-index='0'] > summary");                       // PML4E 0 → PDPT
    await page.click("#tree > details > details[data-index='0'] > details[data-index='0'] > summary");  // PDPTE 0 → PD
    // The tables are read when a <details> opens (its toggle event): wait for that.
    await page.waitForSelector("#tree .large");
    const large = page.locator("#tree .large");
    expect(await large.count()).toBe(1);
    expect(await large.getAttribute("data-index")).toBe("8");
    expect(await large.textContent()).toContain("PS");
  }, 60_000);

  it("the root marks the kernel-half entries every pgd shares with init_mm, and only those", async () => {
    await buildSpace("wasm", "4level");
    const marks = await page.$$eval("#tree > details > details", (ds) =>
      ds.map((d) => [(d as HTMLElement).dataset.index, (d as HTMLElement).dataset.shared ?? "0"]));
    // 4-level: pgd slots 256 and up are the kernel half (KERNEL_PGD_BOUNDARY 273 is the direct map's first slot).
    const shared = marks.filter(([, s]) => s === "1").map(([i]) => Number(i));
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.every((i) => i >= 256)).toBe(true);
    expect(marks.filter(([i]) => Number(i) < 256).every(([, s]) => s === "0")).toBe(true);
    expect(await page.locator("#tree .shared").first().textContent()).toContain("shared with init_mm");
  }, 60_000);

  it("1000 random accesses move the statistics and fill the TLB; a screenshot for the README", async () => {
    await buildSpace("wasm", "4level");
    await translate("0x401234", "0", "3");
    const counter = async (name: string, col: "before" | "after"): Promise<number> =>
      Number(await page.textContent(`#stats tr[data-counter='${name}'] td.${col}`));
    const accessesBefore = await counter("L1 accesses", "after");
    const validBefore = Number(await page.getAttribute("#tlb-summary", "data-valid"));
    await page.click("#random");
    await page.waitForSelector("#random-result[data-runs='1']");
    expect(await counter("L1 accesses", "before")).toBe(accessesBefore);
    // Every access (and each retry after a demand fault) goes through the TLB.
    expect(await counter("L1 accesses", "after")).toBeGreaterThanOrEqual(accessesBefore + 1000);
    expect(await counter("L1 hits", "after")).toBeGreaterThan(await counter("L1 hits", "before"));
    expect(await counter("walks", "after")).toBeGreaterThan(await counter("walks", "before"));
    expect(Number(await page.getAttribute("#tlb-summary", "data-valid"))).toBeGreaterThan(validBefore);
    // The 2 MiB page is cached whole, in the large-page structure.
    const rows = await page.$$eval("#tlb-valid tbody tr", (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent)));
    const hugeRow = rows.find((r) => r[3] === "0x1000000");
    expect(hugeRow).toEqual(["1", hugeRow![1], "2 MiB", "0x1000000", "0x200000", "1", "U:rw- S:rw-", ""]);
    // In a fresh address space, the first user write to the data page walks
    // and sets D in its PTE; its set in the grid is then valid and tagged
    // with the page.
    await buildSpace("wasm", "4level");
    await page.click("#tree > details > details[data-index='0'] > summary");
    await page.click("#tree > details > details[data-index='0'] > details[data-index='0'] > summary");
    await page.waitForSelector("#tree .large");
    const w = await translate("0x404010", "1", "3");
    expect(w.engine).toMatchObject({ fault: "none", pa: "0x300010", tlbHit: "false" });
    expect(w.agree.agree).toBe("yes");
    expect(await page.textContent("#steps tbody tr[data-level='PTE'] td:last-child")).toContain("(+D)");
    // The tree is re-read after the walk (A/D may have changed) with the open tables kept open.
    expect(await page.locator("#tree .large").isVisible()).toBe(true);
    const last = page.locator("#tlb-grid .set.last");
    expect(await last.count()).toBe(1);
    expect(await last.textContent()).toContain("VA 0x404000");
    expect(await last.textContent()).toContain("PA 0x300000");
    mkdirSync("docs/img", { recursive: true });
    await page.screenshot({ path: "docs/img/explorer-walk.png", fullPage: true });
  }, 60_000);

  for (const [width, height] of [[1280, 800], [800, 600]] as const) {
    it(`readable at ${width}×${height}: nothing wider than the window`, async () => {
      await page.setViewportSize({ width, height });
      await buildSpace("ts", "pae");
      await translate("0x401234", "0", "3");
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(scrollWidth).toBeLessThanOrEqual(width);
      await page.setViewportSize({ width: 1280, height: 800 });
    }, 60_000);
  }

  it("works from the keyboard: tab to the build button and press Enter", async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready='1']");
    await page.focus("#engine");
    await page.keyboard.press("Tab");   // paging mode
    await page.keyboard.press("Tab");   // paging-structure caches
    await page.keyboard.press("Tab");   // build
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("build");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#status[data-built='wasm/4level']");
  }, 60_000);
});
