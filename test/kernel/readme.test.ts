import { it, expect } from "vitest";
import { createEngine, Kernel, x86ControlFor, Access } from "../../src/index.js";
it("the README example (Building an address space) runs as written", async () => {
const cpu = await createEngine("wasm", { physSize: 64 << 20 });
const k = new Kernel({ mode: "4level", cpu });              // init_mm, swapper_pg_dir, native pv_ops
cpu.setX86({ ...x86ControlFor("4level", { pcid: true }), cr3: BigInt(k.initMm.pgd) });
const mm = k.mmCreate();                                    // pgd_alloc
mm.mapRange(0x40_0000n, 0x2000, { pa: 0x10_0000, prot: "rw" });
mm.mmap(0x1000_0000n, 1 << 21, { prot: "rw", pageSize: 1 << 21 });   // demand-paged 2 MiB page
k.switchMm(mm);                                             // CR3 load with a PCID
cpu.setCpl(3);
expect(cpu.translate(0x40_1234n, Access.Write).pa).toBe(0x101234);                 // 0x101234
expect(mm.handleFault(0x1000_0042n, 1).ok).toBe(true);                            // first touch: a zeroed 2 MiB page
mm.mprotect(0x40_0000n, 0x1000, "r");                       // flushes the TLB for that page
mm.destroy();
});
