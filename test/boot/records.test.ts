// The eight recorded Debian 6.1 boots (test/fixtures/linux-boot-public.jsonl):
// the `linux` strategy must reproduce what the kernel did, from the record's inputs.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { E820Type } from "../../src/boot/e820.js";
import { planLinux } from "../../src/boot/init-mapping.js";
import { inputFromE820 } from "../../src/boot/input.js";
import { planToJson } from "../../src/boot/plan.js";
import { compareWithRecord, inputFromRecord, parseRecords } from "../../src/boot/record.js";

const records = parseRecords(readFileSync(new URL("../fixtures/linux-boot-public.jsonl", import.meta.url), "utf8"));

describe("recorded real boots (linux strategy)", () => {
  it("there are eight records, covering 4-level, 5-level, 1G pages, holes, bottom-up, brk exhaustion and PAE", () => {
    expect(records).toHaveLength(8);
    const ids = records.map((r) => r.id);
    expect(ids).toContain("x64-q35-qemu64-64G");
    expect(ids).toContain("x64-pc-max-2G-movable_node");
    expect(ids).toContain("i386pae-pc-max-1G");
  });

  it.each(records.map((r) => [r.id, r] as const))("%s: ranges, pieces, steps, and every page-table page (count, source, address, caller) as the kernel", (_id, r) => {
    const plan = planLinux(inputFromRecord(r));
    expect(compareWithRecord(plan, r)).toEqual([]);
    // and field by field, so a failure shows what differs
    const j = planToJson(plan, { steps: false });
    expect(j.init_memory_mapping).toEqual(r.init_memory_mapping);
    expect(j.map_ranges).toEqual(r.map_ranges);
    expect(j.brk_pgtable_pages).toBe(r.brk_pgtable_pages);
    expect(j.memblock_pgtable).toEqual(r.memblock_pgtable);
    expect(j.direct_pages_count_at_paging_init).toEqual(r.direct_pages_count_at_paging_init);
  });

  it("the 64 GiB qemu64 boot exhausts all 16 brk pages and then takes 51 pages from memblock, top-down from the top of mapped memory", () => {
    const r = records.find((x) => x.id === "x64-q35-qemu64-64G")!;
    const plan = planLinux(inputFromRecord(r));
    expect(plan.summary.brkPages).toBe(16);
    expect(plan.summary.memblockPages).toBe(51);
    const mb = plan.allocations.filter((a) => a.source === "memblock").map((a) => a.pa);
    for (let i = 1; i < mb.length; i++) expect(mb[i]).toBe(mb[i - 1]! - 4096);
    expect(mb[0]).toBe(0x107ffff000);
  });

  it("every page-table page was inside already-mapped memory when allocated, except brk pages", () => {
    for (const r of records) {
      const plan = planLinux(inputFromRecord(r));
      for (const a of plan.allocations) if (a.source === "memblock") expect(a.mapped, `${r.id} ${a.pa.toString(16)}`).toBe(true);
    }
  });

  it("a perturbed model is caught: the v3.9 step rule does not reproduce the 2 GiB boot", () => {
    const r = records.find((x) => x.id === "x64-pc-qemu64-2G")!;
    const plan = planLinux({ ...inputFromRecord(r), stepRule: "v39" });
    expect(compareWithRecord(plan, r).some((d) => d.startsWith("init_memory_mapping"))).toBe(true);
  });

  it("from the firmware map alone (e820 + the kernel layout), setup_arch's edits give the record's memblock and the same plan", () => {
    for (const r of records) {
      const viaRecord = inputFromRecord(r);
      const raw = (r.e820 as [string, string, string][]).map(([s, e, t]) => ({
        start: Number(s), end: Number(e) + 1,
        type: t === "usable" ? E820Type.Ram : t === "reserved" ? E820Type.Reserved : E820Type.Acpi,
      }));
      const viaMap = inputFromE820(raw, { mode: viaRecord.mode, kernel: viaRecord.kernel, pgtBufPages: viaRecord.pgtBuf.pages,
        gbpages: viaRecord.gbpages, bottomUp: viaRecord.bottomUp });
      expect(viaMap.memblock.memory.map((m) => [m.base, m.end]), r.id).toEqual(viaRecord.memblock.memory.map((m) => [m.base, m.end]));
      expect(viaMap.memblock.reserved.map((m) => [m.base, m.end]), r.id).toEqual(viaRecord.memblock.reserved.map((m) => [m.base, m.end]));
      expect(viaMap.maxPfn, r.id).toBe(viaRecord.maxPfn);
      expect(viaMap.maxLowPfn, r.id).toBe(viaRecord.maxLowPfn);
      expect(compareWithRecord(planLinux(viaMap), r), r.id).toEqual([]);
    }
  });
});
