import { describe, expect, it } from "vitest";
import { plan } from "../../src/boot/build.js";
import { inputFromMem } from "../../src/boot/input.js";

const GiB = 2 ** 30;

describe("hpa strategy: the seven steps", () => {
  it("kernel image first from brk, then top-down from brk, one hook step for all of them, CR3, then batches from mapped memory, ISA last", () => {
    const input = inputFromMem(16 * GiB, { pse: false, pgtBufPages: 32 });   // 4k only: the reserve runs out
    const p = plan("hpa", input);
    const ops = p.steps.map((s) => s.op);
    const firstRange = p.steps.find((s) => s.op === "range")!;
    expect(firstRange).toMatchObject({ start: input.kernel.text, phase: expect.stringContaining("kernel image") });
    const cr3 = ops.indexOf("cr3");
    const hook3 = p.steps.findIndex((s) => s.op === "hook" && s.why.includes("step 3"));
    expect(hook3).toBeGreaterThan(0);
    expect(hook3).toBe(cr3 - 1);                                  // step 3 right before step 4
    expect(ops.filter((o) => o === "cr3")).toHaveLength(1);
    // everything before CR3 came from brk; everything after from memblock
    const before = p.steps.slice(0, cr3).filter((s) => s.op === "alloc");
    const after = p.steps.slice(cr3).filter((s) => s.op === "alloc");
    expect(before.every((s) => s.op === "alloc" && s.source === "brk")).toBe(true);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((s) => s.op === "alloc" && s.source === "memblock")).toBe(true);
    // the step-3 hook covers exactly the brk tables, lowest level first
    const h = p.steps[hook3]!;
    if (h.op !== "hook") throw new Error("unreachable");
    expect(h.frames.length).toBe(before.length);
    expect(h.frames[0]!.level).toBe("pte");
    // step 2 went top-down: the first range after the kernel ends at the top of RAM
    const ranges = p.steps.filter((s) => s.op === "range");
    expect(ranges[1]!.op === "range" && ranges[1]!.end).toBe(input.maxPfn * 4096);
    // ISA last
    expect(ranges[ranges.length - 1]).toMatchObject({ start: 0, end: 0x100000 });
    // brk never beyond its size
    expect(p.summary.brkPages).toBeLessThanOrEqual(32);
    expect(p.summary.brkPages).toBeGreaterThan(28);
  });

  it("after CR3, each batch's tables come from the highest mapped memory, each hooked before it is linked", () => {
    const p = plan("hpa", inputFromMem(8 * GiB, { pse: false, pgtBufPages: 32 }));
    const cr3 = p.steps.findIndex((s) => s.op === "cr3");
    const firstBatchAlloc = p.steps.slice(cr3).find((s) => s.op === "alloc");
    expect(firstBatchAlloc).toMatchObject({ source: "memblock", pa: 10 * GiB - 4096 });   // RAM [4G, 10G): the highest page
    const hooks = p.steps.slice(cr3).filter((s) => s.op === "hook").length;
    expect(hooks).toBe(p.steps.slice(cr3).filter((s) => s.op === "alloc").length);
  });

  it("a brk reserve too small for the kernel image is a clear error", () => {
    expect(() => plan("hpa", inputFromMem(GiB, { pse: false, pgtBufPages: 16 }))).toThrow(/brk reserve too small for the kernel image: mapping it needs 29/);
  });

  it("with 2M/1G pages a small reserve maps everything before CR3", () => {
    const p = plan("hpa", inputFromMem(64 * GiB));
    expect(p.summary.memblockPages).toBe(0);
    expect(p.summary.brkPages).toBeLessThanOrEqual(16);
  });
});
