import { describe, expect, it } from "vitest";
import { measurePageTableCost, pageSizesFor } from "../../src/kernel/x86/pgtable-cost.js";

describe("page-table memory per GiB mapped", () => {
  it("page sizes per mode", () => {
    expect(pageSizesFor("2level")).toEqual([4096, 4 << 20]);
    expect(pageSizesFor("pae")).toEqual([4096, 2 << 20]);
    expect(pageSizesFor("4level")).toEqual([4096, 2 << 20, 1 << 30]);
    expect(pageSizesFor("5level")).toEqual([4096, 2 << 20, 1 << 30]);
  });
  it("counts exactly the tables the geometry implies (4-level: 512 pte + 1 pmd + 1 pud for the first GiB)", async () => {
    expect((await measurePageTableCost("4level", 2 << 20)).tables).toBe(2);
    expect((await measurePageTableCost("4level", 1 << 30)).tables).toBe(1);
    expect((await measurePageTableCost("pae", 2 << 20)).tables).toBe(0);   // the pmd is preallocated with the pgd
    const r = await measurePageTableCost("4level", 4096, 2);
    expect(r.tables).toBe(2 * 512 + 2 + 1);
  });
});
