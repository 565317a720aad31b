// The explorer's bundled scenarios in Chromium (the harness of
// explorer.test.ts): what the page shows is checked against the library run
// in this process — the Xen hypervisor's frame table, the s390 kernel side's
// own PTE lookups and PGSTEs, the engine's statistics.
import { mkdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { hasChromium, reportBrowserTests, withExplorerPage } from "../browser.js";
import * as lib from "../../src/index.js";
import { S390_GUEST_BASE, s390Host, x86Run } from "../../explorer/scenarios.js";
import { accessStream, buildSpace } from "../../explorer/space.js";

reportBrowserTests("THE SCENARIO BROWSER TESTS");
const hex = (v: bigint | number): string => "0x" + BigInt(v).toString(16);

describe.runIf(hasChromium)("explorer scenarios in Chromium", () => {
  let page: Page;
  withExplorerPage((p) => { page = p; });

  async function load(engine: string, scenario: string): Promise<void> {
    await page.selectOption("#engine", engine);
    await page.selectOption("#scenario", scenario);
    await page.click("#load");
    await page.waitForSelector(`#status[data-built='${engine}/${scenario}']`);
  }

  // The boot plan needs no engine: the planner only. Without large pages a
  // 1 GiB machine outgrows the brk reserve and takes table pages from memblock
  // (hpa needs 32 brk pages then, for the kernel image alone).
  for (const [size, pse, brk] of [["4G", true, 16], ["1G", false, 32]] as const) {
    it(`the boot plan of ${size}${pse ? "" : " without large pages"}: steps and table pages are the planner's, both strategies`, async () => {
      await page.fill("#boot-size", size);
      await page.fill("#boot-brk", String(brk));
      await page.setChecked("#boot-pse", pse);
      await page.click("#boot-plan");
      await page.waitForSelector(`#boot-form[data-planned='${size}']`);
      const bytes = lib.boot.parseSize(size);
      const e820 = lib.boot.inputFromMem(bytes, { pse, gbpages: pse, pgtBufPages: brk }).e820;
      expect(await page.locator("#e820 tbody tr").count()).toBe(e820.length);
      expect(await page.textContent("#e820 tbody tr:last-child td:nth-child(2)")).toBe(hex(e820.at(-1)!.end));
      for (const strategy of ["linux", "hpa"] as const) {
        const plan = lib.boot.plan(strategy, lib.boot.inputFromMem(bytes, { pse, gbpages: pse, pgtBufPages: brk }));
        const box = `#boot-${strategy}`;
        const summary = await page.$eval(`${box} .summary`, (p) => ({ ...(p as HTMLElement).dataset }));
        expect(summary).toEqual({
          steps: String(plan.steps.length), tables: String(plan.summary.totalTablePages),
          brk: String(plan.summary.brkPages), memblock: String(plan.summary.memblockPages),
        });
        expect(await page.locator(`${box} tbody tr`).count()).toBe(plan.steps.length);
        const allocs = plan.steps.flatMap((st) => st.op === "alloc" ? [{ pa: hex(st.pa), source: st.source, level: st.level }] : []);
        const shown = await page.$$eval(`${box} tr[data-op='alloc']`, (trs) => trs.map((tr) => {
          const d = (tr as HTMLElement).dataset;
          return { pa: d.pa, source: d.source, level: d.level };
        }));
        expect(shown).toEqual(allocs);
        expect(await page.locator(`${box} svg rect.pgt`).count()).toBe(allocs.length);
        expect(await page.locator(`${box} svg rect.range`).count()).toBe(plan.steps.filter((st) => st.op === "range").length);
      }
      if (!pse) expect(Number(await page.getAttribute("#boot-linux .summary", "data-memblock"))).toBeGreaterThan(0);
      if (pse) {
        mkdirSync("docs/img", { recursive: true });
        await page.locator("section[aria-labelledby='h-boot']").screenshot({ path: "docs/img/explorer-boot.png" });
      }
    }, 60_000);
  }

  it("a bad RAM size is a one-line error naming the field; a plan that fails says why in its own column", async () => {
    await page.fill("#boot-size", "lots");
    await page.click("#boot-plan");
    expect(await page.textContent("#boot-error")).toMatch(/^RAM size: bad size "lots"/);
    await page.fill("#boot-size", "1G");
    await page.fill("#boot-brk", "16");
    await page.setChecked("#boot-pse", false);
    await page.click("#boot-plan");
    await page.waitForSelector("#boot-form[data-planned='1G']");
    expect(() => lib.boot.plan("hpa", lib.boot.inputFromMem(2 ** 30, { pse: false, gbpages: false, pgtBufPages: 16 }))).toThrow(/brk reserve too small/);
    expect(await page.textContent("#boot-hpa .plan-error")).toMatch(/^brk reserve too small for the kernel image/);
    expect(Number(await page.getAttribute("#boot-linux .summary", "data-steps")))
      .toBe(lib.boot.plan("linux", lib.boot.inputFromMem(2 ** 30, { pse: false, gbpages: false, pgtBufPages: 16 })).steps.length);
  }, 60_000);

  for (const engine of lib.ENGINE_NAMES) {
    it(`${engine}: the TLB animates under a running trace; the plots and the paging-structure caches show the engine's counts`, async () => {
      await page.selectOption("#engine", engine);
      await page.selectOption("#mode", "4level");
      await page.setChecked("#psc", true);
      await page.click("#build");
      await page.waitForSelector(`#status[data-built='${engine}/4level']`);
      await page.fill("#anim-n", "200");
      await page.fill("#anim-per-frame", "7");
      await page.selectOption("#cpl", "3");
      await page.click("#animate");
      await page.waitForSelector("#anim-result[data-done='1']");
      const shown = await page.$eval("#anim-result", (p) => ({ ...(p as HTMLElement).dataset }));
      // The same trace here, access by access.
      const space = await buildSpace(lib, engine, "4level", { psc: true });
      space.cpu.setCpl(3);
      const step = accessStream(space, Number(shown.seed));
      let hits = 0;
      for (let i = 0; i < 200; i++) if (step().hit) hits++;
      expect(shown).toMatchObject({ n: "200", hits: String(hits), misses: String(200 - hits) });
      expect(hits).toBeGreaterThan(0);
      const s = space.cpu.stats();
      const after = async (name: string) => Number(await page.textContent(`#stats tr[data-counter='${name}'] td.after`));
      expect(await after("L1 hits")).toBe(s.l1.hits);
      expect(await after("walks")).toBe(s.walks);
      const bars = Object.fromEntries(await page.$$eval("#plots rect.bar", (rs) => rs.map((r) => [r.getAttribute("data-key"), Number(r.getAttribute("data-value"))])));
      expect(bars).toMatchObject({
        "l1-read-hits": s.l1.read.hits, "l1-read-misses": s.l1.read.misses, "l1-write-hits": s.l1.write.hits,
        "l1-fetch-misses": s.l1.fetch.misses, "l2-read-hits": s.l2.read.hits,
        "psc-pd-hits": s.psc.pd.hits, "psc-pd-misses": s.psc.pd.misses, "psc-pml4-hits": s.psc.pml4.hits,
        ...Object.fromEntries(s.walkRefs.map((v, i) => [`walk-${i}`, v])),
      });
      expect(s.psc.pd.hits + s.psc.pdpt.hits + s.psc.pml4.hits).toBeGreaterThan(0);
      // The caches hold entries, the PDE cache among them; the last frame's sets are marked.
      expect(Number(await page.getAttribute("#psc-list", "data-valid"))).toBeGreaterThan(0);
      expect(await page.locator("#psc-list tr[data-psc='PDE']").count()).toBeGreaterThan(0);
      expect(await page.locator("#tlb-grid .set.hit, #tlb-grid .set.miss").count()).toBeGreaterThan(0);
      mkdirSync("docs/img", { recursive: true });
      await page.locator("#h-tlb").scrollIntoViewIfNeeded();
      await page.locator("section[aria-labelledby='h-tlb']").screenshot({ path: "docs/img/explorer-tlb.png" });
      await page.setChecked("#psc", false);
    }, 60_000);

    it(`${engine}: the x86 process after a run shows the statistics the same run gives here`, async () => {
      await load(engine, "x86-run");
      const here = await x86Run(lib, engine);
      const s = here.cpu.stats();
      const after = async (name: string) => Number(await page.textContent(`#stats tr[data-counter='${name}'] td.after`));
      expect(s.l1.accesses).toBeGreaterThanOrEqual(3000);
      expect(await after("L1 accesses")).toBe(s.l1.accesses);
      expect(await after("L1 hits")).toBe(s.l1.hits);
      expect(await after("walks")).toBe(s.walks);
      expect(await after("#PF")).toBe(s.faults.pageFault);
      expect(await page.textContent("#status")).toContain(`${here.run.demand} demand faults`);
      if (engine === "wasm") {
        // The tree down to the process's page tables, for the README.
        await page.click("#tree > details > details[data-index='0'] > summary");
        await page.click("#tree > details > details[data-index='0'] > details[data-index='0'] > summary");
        await page.click("#tree > details > details[data-index='0'] > details[data-index='0'] > details[data-index='2'] > summary");
        await page.waitForSelector("#tree .large");
        mkdirSync("docs/img", { recursive: true });
        await page.locator("section[aria-labelledby='h-tree']").screenshot({ path: "docs/img/explorer-tree.png" });
      }
    }, 60_000);

    it(`${engine}: the Xen PV guest's tree marks exactly the pinned frames and shows every table read-only`, async () => {
      await load(engine, "xen");
      const shown = await page.$$eval("#tree details", (ds) => ds.map((d) => ({ ...(d as HTMLElement).dataset })));
      const tables = shown.filter((d) => d.mfn !== undefined);
      // The same guest built here with the library.
      const cpu = await lib.createEngine(engine, { physSize: 16 << 20 });
      const g = lib.buildXenPvGuest(cpu, { nrPages: 1024, nrVcpus: 1 });
      const bootMfns = g.bootTables.map((pfn) => g.p2m.pfnToMfn(pfn)).sort((a, b) => a - b);
      expect(tables.map((t) => Number(t.mfn)).sort((a, b) => a - b)).toEqual(bootMfns);
      const pinned = bootMfns.filter((m) => g.xen.frame(m).pinned);
      expect(pinned).toEqual([g.p2m.pfnToMfn(1)]);                  // swapper_pg_dir, pinned as an L4
      expect(tables.filter((t) => t.pinned === "1").map((t) => Number(t.mfn))).toEqual(pinned);
      for (const t of tables) {
        const f = g.xen.frame(Number(t.mfn));
        expect(t.xenType).toBe(lib.PG_TYPE_NAMES[f.type]);
        expect(Number(t.pfn)).toBe(f.m2p);
        expect(t.ro).toBe(cpu.probe(g.ops.va(f.m2p), lib.Access.Write).fault !== 0 ? "1" : "0");
        expect(t.ro).toBe("1");
      }
      expect(new Set(tables.map((t) => t.xenType))).toEqual(new Set(["l4", "l3", "l2", "l1"]));
      expect(await page.locator("#tree details.pinned").count()).toBe(1);
      // A translation through the guest's direct map still works in the walk view (CPL 0).
      await page.fill("#va", hex(lib.XEN_PAGE_OFFSET + 0x5123n));
      await page.selectOption("#access", "0");
      await page.selectOption("#cpl", "0");
      await page.click("#walk");
      expect(await page.getAttribute("#agree", "data-agree")).toBe("yes");
      expect(await page.getAttribute("#engine-result", "data-pa")).toBe(hex(g.p2m.pfnToMfn(5) * 4096 + 0x123));
    }, 60_000);

    it(`${engine}: the s390 host's PTEs and PGSTEs and the gmap's segment links are the kernel side's`, async () => {
      await load(engine, "s390");
      const h = await s390Host(lib, engine);
      const read = (pa: number) => h.engine.phys.read64(pa, true);
      // Every PTE the kernel side has (pte_none with a clear PGSTE left out), by its address.
      const expected = new Map<string, { entry: string; pgste: string; invalid: string; protect: string }>();
      for (let va = S390_GUEST_BASE; va < S390_GUEST_BASE + (4n << 20n); va += 4096n) {
        const ptep = h.mm.lookupPtep(va);
        if (ptep === null) continue;
        const pte = read(ptep), pgste = lib.s390.pgsteOf(h.mm, ptep);
        if (pte === lib.s390._PAGE_INVALID && pgste === 0n) continue;
        expected.set(hex(ptep), {
          entry: hex(pte), pgste: hex(pgste),
          invalid: pte & lib.s390._PAGE_INVALID ? "1" : "0", protect: pte & lib.s390._PAGE_PROTECT ? "1" : "0",
        });
      }
      expect(expected.size).toBe(5);           // 3 guest pages, 1 host page, 1 page with only a storage key
      const rows = await page.$$eval("#s390-host .pte", (ds) => ds.map((d) => ({ ...(d as HTMLElement).dataset })));
      expect(new Map(rows.map((r) => [r.pa!, { entry: r.entry!, pgste: r.pgste!, invalid: r.invalid!, protect: r.protect! }]))).toEqual(expected);
      // The storage key the guest set on an untouched page lives in the PGSTE's ACC field.
      const keyed = rows.find((r) => r.pa === hex(h.mm.lookupPtep(S390_GUEST_BASE + 0x7000n)!))!;
      expect(await page.textContent(`#s390-host .pte[data-pa='${keyed.pa}'] .pgste`)).toContain("ACC=3");
      // gmap: the linked segment entries are the host's segment entries (the shared page tables).
      const gmapSeg = await page.$$eval("#s390-gmap details[data-kind='page']", (ds) =>
        ds.map((d) => ({ ...(d as HTMLElement).dataset })));
      const links = [...h.gmap.hostToGuest.values()].map((entryPa) => ({ entryPa: hex(entryPa), entry: hex(read(entryPa)) }));
      expect(links).toHaveLength(2);
      expect(gmapSeg.map((d) => ({ entryPa: d.entryPa, entry: d.entry })).sort((a, b) => a.entryPa!.localeCompare(b.entryPa!)))
        .toEqual(links.sort((a, b) => a.entryPa.localeCompare(b.entryPa)));
      for (const l of links) {
        const vmaddr = h.gmap.guestToHost.get(lib.s390.__gmapSegmentGaddr(h.gmap, Number(l.entryPa)) >> 20n)!;
        expect(l.entry).toBe(hex(read(h.mm.pmdOffset(vmaddr, false)!)));
      }
      if (engine === "wasm") {
        mkdirSync("docs/img", { recursive: true });
        await page.locator("#s390").screenshot({ path: "docs/img/explorer-s390.png" });
      }
    }, 60_000);
  }
});
