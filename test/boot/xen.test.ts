// Early boot as a Xen PV guest, checked by the Xen hypervisor model: every
// hypercall the plan makes must be accepted (a refused one throws), and the
// finished direct map must translate — through the scrambled p2m — and never
// map a table frame writable (SPEC E.6 test 10, D.3 test 10).
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { buildAndVerify, plan } from "../../src/boot/build.js";
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
    const g = geometry("x86-64");
    const tables = r.plan.allocations.map((a) => a.pa);
    expect(tables.length).toBeGreaterThan(400);
    // E.6 test 10: no table frame is writable through the direct map
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

  it("hpa under Xen is planned (4k, deferred hooks, one CR3 switch) but its build is refused with a reason", async () => {
    const input = inputFromMem(2 ** 30, { backend: "xen", pgtBufPages: 40 });
    const p = plan("hpa", input);
    expect(p.pageSizes).toEqual(["4k"]);
    expect(p.steps.filter((s) => s.op === "cr3")).toHaveLength(1);
    await expect(buildAndVerify("hpa", input, xenBuildOptions())).rejects.toThrow(/hpa under Xen/);
  });
});
