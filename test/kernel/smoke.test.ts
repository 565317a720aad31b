import { expect, it } from "vitest";
import { createEngine } from "../../src/engine/index.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { x86ControlFor } from "../../src/kernel/x86/pgtable.js";
import { Access, FaultKind } from "../../src/abi.js";

for (const mode of ["2level", "pae", "4level", "5level"] as const)
it("smoke " + mode, async () => {
  const e = await createEngine("wasm", { physSize: 64 << 20 });
  const k = new Kernel({ mode, cpu: e });
  e.setX86({ ...x86ControlFor(mode, { pcid: true }), cr3: BigInt(k.initMm.pgd) });
  const base = k.nrPagetable, free = k.alloc.freePagesCount;
  const mm = k.mmCreate();
  k.switchMm(mm);
  mm.mapRange(0x400000n, 0x3000, { pa: 0x10000, prot: "rw" });
  e.setCpl(3);
  let t = e.translate(0x401123n, Access.Write);
  expect(t.fault).toBe(FaultKind.None);
  expect(t.pa).toBe(0x11123);
  mm.mprotect(0x401000n, 0x1000, "r");
  t = e.translate(0x401123n, Access.Write);
  expect(t.fault).toBe(FaultKind.X86);
  mm.mmap(0x800000n, 0x10000, { prot: "rw" });
  const r = mm.handleFault(0x800010n, 0);
  expect(r.ok).toBe(true);
  t = e.translate(0x800010n, Access.Read);
  expect(t.pa).toBe(k.zeroPagePa + 0x10);
  const w = mm.handleFault(0x800010n, 1);
  t = e.translate(0x800010n, Access.Write);
  expect(t.fault).toBe(FaultKind.None);
  expect(w.ok && t.pa).toBe(w.ok && w.pa);
  mm.munmap(0x400000n, 0x3000);
  t = e.translate(0x401123n, Access.Read);
  expect(t.fault).toBe(FaultKind.X86);
  mm.destroy();
  expect(k.nrPagetable).toBe(base);
  expect(k.alloc.freePagesCount).toBe(free);
});
