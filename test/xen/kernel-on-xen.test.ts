/**
 * The kernel side (src/kernel: pgd_alloc, mm, faults, mprotect, munmap with
 * free_pgtables, mm switches) run unchanged on the native and on the Xen PV
 * backend: the same workload gives the same translations at guest-physical
 * level, the same hook sequence, and on Xen the pinning protocol with every
 * hypercall accepted and every reference accounted for.
 */
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine, type EngineName } from "../../src/engine/index.js";
import { Kernel } from "../../src/kernel/x86/kernel.js";
import { PageAllocator } from "../../src/kernel/page-alloc.js";
import { NativeMmuOps } from "../../src/paravirt/native.js";
import { recordingMmuOps, type RecordingMmuOps } from "../../src/paravirt/recording.js";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { buildXenPvGuest } from "../../src/paravirt/xen/domain-builder.js";
import { formatLogEntry } from "../../src/paravirt/xen/hypervisor.js";

const NR_PAGES = 2048;
const CONVERSIONS = ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] as const;
const LONG_MODE = { cr0: (1n << 31n) | (1n << 16n) | 1n, cr4: 1n << 5n, efer: (1n << 8n) | (1n << 11n), cpl: 0 };

/** Two processes: a pfn mapping, anonymous memory faulted in, mprotect, munmap, switches. */
function workload(k: Kernel, cpu: Engine, toPfn: (pa: number) => number): string[] {
  const out: string[] = [];
  const data = k.alloc.allocPages(4, { zero: true })!;          // 16 ordinary pages for the pfn mapping
  const vas = [...Array.from({ length: 16 }, (_, i) => 0x40_0000n + BigInt(i) * 4096n),
    ...Array.from({ length: 24 }, (_, i) => 0x1000_0000n + BigInt(i) * 4096n)];
  const probe = (tag: string): void => {
    cpu.setCpl(3);
    for (const va of vas) for (const access of [Access.Read, Access.Write]) {
      const t = cpu.translate(va + 0x10n, access);
      out.push(`${tag} ${va.toString(16)} ${access}: ` + (t.fault === 0 ? `pfn ${toPfn(t.pa)}` : `fault ${t.vector}/${t.errorCode}`));
    }
    cpu.setCpl(0);
  };
  const a = k.mmCreate(), b = k.mmCreate();
  expect(k.pgdList.map((pt) => pt.pa)).toEqual(expect.arrayContaining([a.pgd, b.pgd]));
  a.mapRange(0x40_0000n, 16 * 4096, { pa: data * 4096, prot: "rw" });
  a.mmap(0x1000_0000n, 24 * 4096, { prot: "rw" });
  for (let i = 0; i < 24; i += 2) a.handleFault(0x1000_0000n + BigInt(i) * 4096n, i % 4 === 0 ? 1 : 0);
  b.mmap(0x1000_0000n, 24 * 4096, { prot: "r" });
  for (let i = 0; i < 24; i += 3) b.handleFault(0x1000_0000n + BigInt(i) * 4096n, 0);
  k.switchMm(a);
  probe("a");
  a.mprotect(0x40_0000n, 8 * 4096, "r");
  a.munmap(0x1000_0000n + 8n * 4096n, 8 * 4096);
  probe("a2");
  k.switchMm(b);
  probe("b");
  k.switchMm(a);
  a.munmap(0x40_0000n, 16 * 4096);
  probe("a3");
  k.switchMm(k.initMm);
  a.destroy();
  b.destroy();
  return out;
}

async function nativeRun(name: EngineName, reserveEnd: number) {
  const engine = await createEngine(name, { physSize: 16 << 20 });
  expect(engine.setX86(LONG_MODE).fault).toBe(0);
  const alloc = new PageAllocator({ map: [{ start: 0, end: NR_PAGES * 4096 }], phys: engine.phys });
  alloc.reserve(0, reserveEnd);                      // the same frames the Xen guest's boot tables hold
  const ops = recordingMmuOps(new NativeMmuOps({ phys: engine.phys, cpu: engine }), { ignore: [...CONVERSIONS] });
  const k = new Kernel({ mode: "4level", phys: engine.phys, cpu: engine, ops, allocator: alloc });
  ops.clear();
  return { outcomes: workload(k, engine, (pa) => Math.floor(pa / 4096)), ops };
}

async function xenRun(name: EngineName, userPgd: boolean) {
  const engine = await createEngine(name, { physSize: 16 << 20 });
  const g = buildXenPvGuest(engine, { nrPages: NR_PAGES, userPgd });
  const ops: RecordingMmuOps = recordingMmuOps(g.ops, { ignore: [...CONVERSIONS] });
  const k = new Kernel({ mode: "4level", phys: g.phys, cpu: engine, ops, allocator: g.allocator });
  g.ops.xenSetupKernelPagetable(k.initMm.pgd);       // Linux moves off the builder's tables
  ops.clear();
  // Seed 001: the Xen backend forbids a shared kernel PMD, so every pgd is a page on pgd_list.
  expect(g.ops.sharedKernelPmd).toBe(false);
  expect(k.sharedKernelPmd).toBe(false);
  const from = g.xen.log.length;
  const outcomes = workload(k, engine, (pa) => g.p2m.mfnToPfn(Math.floor(pa / 4096)));
  return { outcomes, ops, g, log: g.xen.log.slice(from) };
}

/** Name each frame by its first appearance: the same sharing pattern, whatever pfns the allocator chose. */
function relabel(outcomes: string[]): string[] {
  const ids = new Map<string, number>();
  return outcomes.map((o) => o.replace(/pfn (\d+)/, (_, p: string) => {
    if (!ids.has(p)) ids.set(p, ids.size);
    return `frame #${ids.get(p)}`;
  }));
}

describe.each(ENGINE_NAMES)("src/kernel on native and on Xen PV (%s engine)", (name) => {
  it.each([false, true])("the same workload gives identical translations and hooks; Xen accepts every hypercall (user pgd: %s)", async (userPgd) => {
    const xen = await xenRun(name, userPgd);
    const native = await nativeRun(name, (xen.g.bootTables.at(-1)! + 1) * 4096);
    // Without user pgds both allocate the very same pfns; with them (x86-64 Xen PV allocates
    // one per mm) the anonymous pages land elsewhere, so compare the mapping structure.
    if (!userPgd) expect(xen.outcomes).toEqual(native.outcomes);
    expect(relabel(xen.outcomes)).toEqual(relabel(native.outcomes));
    expect(native.outcomes.filter((o) => o.includes("pfn")).length).toBeGreaterThan(60);
    expect(native.outcomes.filter((o) => o.includes("fault")).length).toBeGreaterThan(60);
    expect(xen.ops.log.map((c) => c.op)).toEqual(native.ops.log.map((c) => c.op));

    const lines = xen.log.map(formatLogEntry);
    expect(lines.filter((l) => !l.endsWith("→ 0"))).toEqual([]);
    // Both mms were pinned at creation (enter_mmap) and unpinned at exit_mmap.
    expect(lines.filter((l) => l.includes(" PIN_L4_TABLE")).length).toBe(userPgd ? 4 : 2);   // (pgd + user pgd) per mm
    expect(lines.filter((l) => l.includes(" UNPIN_TABLE")).length).toBeGreaterThanOrEqual(4);
    // Tables attached while pinned were made read-only and (pte pages) pinned as L1.
    expect(lines.filter((l) => l.includes(" PIN_L1_TABLE")).length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes("mmu_update")).length).toBeGreaterThan(20);
    expect(auditXen(xen.g.xen, [xen.g.domain.id])).toEqual([]);
  });
});
