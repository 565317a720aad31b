import { describe, expect, it } from "vitest";
import { SZ_2M, SZ_4K } from "../../src/kernel/mm.js";
import { ptdump, ptdumpRanges } from "../../src/kernel/x86/ptdump.js";
import { PgtLevel } from "../../src/kernel/types.js";
import { machine } from "./helpers.js";

describe("ptdump", () => {
  it("lists runs of equal protection per level, holes included, like /sys/kernel/debug/page_tables", async () => {
    const { k } = await machine("ts", "4level");
    const mm = k.mmCreate();
    mm.mapRange(0x40_0000n, 2 * SZ_4K, { pa: 0x10_0000, prot: "rw" });
    mm.mapRange(0x40_2000n, SZ_4K, { pa: 0x10_2000, prot: "rx" });
    mm.mapRange(0x60_0000n, SZ_2M, { pa: 0x20_0000, prot: "r", pageSize: SZ_2M });
    mm.mmap(0x80_0000n, SZ_4K, { prot: "rw" });
    mm.handleFault(0x80_0000n, 1);
    mm.mprotect(0x80_0000n, SZ_4K, "none");
    const text = ptdump(k, mm);
    expect(text).toContain("---[ User Space ]---");
    expect(text).toContain("0x0000000000400000-0x0000000000402000           8K USR RW                     NX pte");
    expect(text).toContain("0x0000000000402000-0x0000000000403000           4K USR ro                     x  pte");
    expect(text).toContain("0x0000000000600000-0x0000000000800000           2M USR ro         PSE         NX pmd");
    expect(text).toMatch(/0x0000000000000000-0x0000000000400000           4M {32}pmd/);
    const r = ptdumpRanges(k, mm, 0n, 1n << 30n);
    const prot = r.find((x) => x.start === 0x80_0000n)!;
    expect(prot.present).toBe(false);                            // PROT_NONE: listed as not present
    expect(r.find((x) => x.start === 0x60_0000n)).toMatchObject({ level: PgtLevel.Pmd, pa: 0x20_0000, present: true });
    // Runs tile the range without gaps.
    for (let i = 1; i < r.length; i++) expect(r[i]!.start).toBe(r[i - 1]!.end);
    expect(r[0]!.start).toBe(0n);
    expect(r.at(-1)!.end).toBe(1n << 30n);
  });

  it("shows the kernel half with its markers (vmap'd pages are global, supervisor-only)", async () => {
    for (const mode of ["2level", "pae", "4level", "5level"] as const) {
      const { k } = await machine("ts", mode);
      k.vmap(k.geometry.vmallocStart, 3 * SZ_4K, 0x5000, "rw");
      const mm = k.mmCreate();
      const text = ptdump(k, mm, { kernel: true });
      expect(text).toContain("---[ Kernel Space ]---");
      expect(text).toContain("---[ vmalloc() Area ]---");
      const w = mode === "2level" || mode === "pae" ? 8 : 16;
      const start = "0x" + k.geometry.vmallocStart.toString(16).padStart(w, "0");
      expect(text).toMatch(new RegExp(`${start}-0x[0-9a-f]+ +12K     RW +GLB ${mode === "2level" ? "x " : "NX"} pte`));
    }
  });
});
