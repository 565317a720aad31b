// Early boot as a Xen PV guest, checked by the Xen hypervisor model: every
// hypercall the plan makes must be accepted (a refused one throws), and the
// finished direct map must translate — through the scrambled p2m — and never
// map a table frame writable (Xen's rule: a frame is a page table or mapped
// writable, never both — xen/arch/x86/mm.c).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { buildAndVerify } from "../../src/boot/build.js";
import { directVa, geometry } from "../../src/boot/geometry.js";
import { inputFromMem } from "../../src/boot/input.js";
import { xenBuildOptions } from "../../src/boot/xen.js";
import type { XenHypervisor } from "../../src/paravirt/xen/hypervisor.js";

describe("linux strategy under Xen PV", () => {
  it("4k pages only; every table hooked (RO + pinned L1 for pte pages) before it is linked; translations go to the p2m's frames", async () => {
    const input = inputFromMem(2 ** 30, { backend: "xen" });
    expect(input.pse).toBe(false);
    const r = await buildAndVerify("linux", input, xenBuildOptions());
    expect(r.verify.ok).toBe(true);
    expect(r.verify.mismatches).toEqual([]);
    expect(r.plan.directPages[2]).toBe(0);                       // no 2M mappings
    const g = geometry("4level");
    const tables = r.plan.allocations.map((a) => a.pa);
    expect(tables.length).toBeGreaterThan(400);
    // No table frame is writable through the direct map
    for (const pa of tables) {
      const t = r.engine.probe(directVa(g, pa), Access.Write);
      expect(t.fault, `table 0x${pa.toString(16)} writable`).not.toBe(0);
      expect(r.engine.probe(directVa(g, pa), Access.Read).fault).toBe(0);
    }
    // ordinary RAM stays writable
    expect(r.engine.probe(directVa(g, 0x30000000), Access.Write).fault).toBe(0);
    // the hypervisor saw PIN_L1 for every pte page and refused nothing
    const xen = r.setup.hypervisor as XenHypervisor;
    const pins = xen.log.filter((e) => e.op === "PIN_L1_TABLE");
    expect(pins.length).toBe(r.plan.summary.tablePages.pte);
    expect(xen.log.filter((e) => e.rc !== 0)).toEqual([]);
  });
});

describe("hpa strategy under Xen PV", () => {
  it("builds its own hierarchy from brk, hooks it, pins and loads it (step 4), then hooks each batch before linking it", async () => {
    const input = inputFromMem(2 ** 30, { backend: "xen", pgtBufPages: 40 });
    const r = await buildAndVerify("hpa", input, xenBuildOptions());
    expect(r.verify.ok).toBe(true);
    expect(r.verify.mismatches).toEqual([]);
    expect(r.plan.pageSizes).toEqual(["4k"]);
    expect(r.plan.steps.filter((s) => s.op === "cr3")).toHaveLength(1);
    // The new top-level table is the first brk page, not init_top_pgt; the CPU runs on it.
    expect(r.plan.pgd).toBe(input.pgtBuf.start);
    expect(r.plan.pgd).not.toBe(input.pgdPa);
    const xen = r.setup.hypervisor as XenHypervisor;
    expect(xen.log.filter((e) => e.rc !== 0)).toEqual([]);            // Xen refused nothing
    const l4 = xen.log.filter((e) => e.op === "PIN_L4_TABLE");
    expect(l4).toHaveLength(2);                                       // start of day, then the new pgd
    expect(xen.log.some((e) => e.op === "UNPIN_TABLE")).toBe(true);   // the builder's pgd let go
    // Every table: read-only through the new direct map, and every pte page pinned.
    const g = geometry("4level");
    for (const pa of [r.plan.pgd, ...r.plan.allocations.map((a) => a.pa)]) {
      expect(r.engine.probe(directVa(g, pa), Access.Write).fault, `table 0x${pa.toString(16)} writable`).not.toBe(0);
      expect(r.engine.probe(directVa(g, pa), Access.Read).fault).toBe(0);
    }
    expect(xen.log.filter((e) => e.op === "PIN_L1_TABLE").length).toBe(r.plan.summary.tablePages.pte);
    expect(r.engine.probe(directVa(g, 0x30000000), Access.Write).fault).toBe(0);
  });

  it("the Xen model, not the planner, catches a plan that links tables it never hooked", async () => {
    const input = inputFromMem(2 ** 30, { backend: "xen", pgtBufPages: 40 });
    const base = xenBuildOptions();
    // A broken backend: the paravirt_alloc_* hooks do nothing, so nothing is made read-only or pinned.
    let xen: XenHypervisor | undefined;
    const broken = {
      ...base,
      backend: (m: Parameters<NonNullable<typeof base.backend>>[0]) => {
        const s = base.backend!(m);
        xen = s.hypervisor as XenHypervisor;
        const noop = { value: (): void => {} };
        s.ops = Object.create(s.ops, { allocPte: noop, allocPmd: noop, allocPud: noop, allocP4d: noop });
        return s;
      },
    };
    await expect(buildAndVerify("hpa", input, broken)).rejects.toThrow(/mmuext_op .*failed with -EINVAL/);
    // Refused at step 4: pinning the new pgd, whose tables are still writable.
    expect(xen!.log.filter((e) => e.rc !== 0).map((e) => e.op)).toEqual(["PIN_L4_TABLE"]);
  });
});

describe("both strategies under Xen PV over random machines (property)", () => {
  it("build, verify and pass every Xen check; the two strategies map the same pages", async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 160, max: 1536 }), fc.integer({ min: 31, max: 47 }), async (mib, brk) => {
      const input = inputFromMem(mib * 2 ** 20, { backend: "xen", pgtBufPages: brk });
      const seen: number[][] = [];
      for (const strategy of ["linux", "hpa"] as const) {
        const r = await buildAndVerify(strategy, input, xenBuildOptions());
        expect(r.verify.ok, `${strategy} ${mib} MiB brk ${brk}`).toBe(true);
        expect((r.setup.hypervisor as XenHypervisor).log.filter((e) => e.rc !== 0)).toEqual([]);
        seen.push(r.plan.pfnMapped.flat());
      }
      expect(seen[1]).toEqual(seen[0]);
    }), { numRuns: 4 });
  });
});

