/**
 * The same mm workload under the native and the Xen backend: every
 * translation (page frame, or fault vector and error code) is identical at
 * the guest-physical level, on both engines. Under Xen the physical frames
 * are machine frames, mapped back to guest pfns through the m2p.
 */
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES, type Engine, type EngineName } from "../../src/engine/index.js";
import { PageAllocator } from "../../src/kernel/page-alloc.js";
import { NativeMmuOps } from "../../src/paravirt/native.js";
import type { PvMmuOps } from "../../src/paravirt/ops.js";
import { recordingMmuOps } from "../../src/paravirt/recording.js";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { buildXenPvGuest } from "../../src/paravirt/xen/domain-builder.js";
import { formatLogEntry } from "../../src/paravirt/xen/hypervisor.js";
import {
  _PAGE_ACCESSED as PAGE_ACCESSED, _PAGE_DIRTY as PAGE_DIRTY, _PAGE_NX as PAGE_NX,
  _PAGE_PRESENT as PAGE_PRESENT, _PAGE_RW as PAGE_RW, _PAGE_USER as PAGE_USER,
} from "../../src/kernel/x86/pgtable-types.js";
import { MiniMm, type MiniEnv } from "./mini-mm.js";

const NR_PAGES = 1024;
const USER_RO = PAGE_PRESENT | PAGE_USER | PAGE_ACCESSED | PAGE_NX;
const USER_RW = USER_RO | PAGE_RW | PAGE_DIRTY;
const CONVERSIONS = ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] as const;

/** What one access produced, at guest-physical level. */
type Outcome = string;

interface Run { outcomes: Outcome[]; ops: PvMmuOps & { log: { op: string }[] } }

/**
 * Two address spaces: map 40 pages over three pte tables, make some read-only,
 * unmap some, free one pte table, switch between the mms, and translate a
 * fixed set of accesses at CPL 3 after each phase.
 */
function workload(env: MiniEnv, cpu: Engine, toPfn: (pa: number) => number): Outcome[] {
  const out: Outcome[] = [];
  const data = Array.from({ length: 48 }, () => env.alloc.allocPage({ zero: true })!);
  const va = (i: number): bigint => 0x400000n + BigInt(Math.floor(i / 16)) * 0x200000n + BigInt(i % 16) * 4096n;
  const probe = (tag: string): void => {
    cpu.setCpl(3);
    for (let i = 0; i < 48; i++) {
      for (const access of [Access.Read, Access.Write]) {
        const t = cpu.translate(va(i) + 0x123n, access);
        out.push(`${tag} ${i} ${access}: ` + (t.fault === 0 ? `pfn ${toPfn(t.pa)} +${t.pa % 4096}` : `fault ${t.fault}/${t.vector}/${t.errorCode}`));
      }
    }
    cpu.setCpl(0);
  };
  const a = MiniMm.create(env, 1), b = MiniMm.create(env, 2);
  env.ops.enterMmap(a);
  env.ops.enterMmap(b);
  for (let i = 0; i < 40; i++) a.map(va(i), data[i]!, i % 3 === 0 ? USER_RO : USER_RW);
  for (let i = 0; i < 20; i++) b.map(va(i), data[47 - i]!, USER_RW);
  env.ops.writeCr3(BigInt(a.pgd));
  probe("a");
  for (let i = 0; i < 40; i += 4) a.protect(va(i), USER_RO);
  for (let i = 1; i < 40; i += 5) a.unmap(va(i));
  probe("a2");
  env.ops.writeCr3(BigInt(b.pgd));
  probe("b");
  a.freePteTable(va(33));
  env.ops.writeCr3(BigInt(a.pgd));
  probe("a3");
  env.ops.writeCr3(BigInt(env.initPgd));
  a.destroy();
  b.destroy();
  return out;
}

async function nativeRun(name: EngineName): Promise<Run> {
  const engine = await createEngine(name, { physSize: 16 << 20 });
  const alloc = new PageAllocator({ map: [{ start: 0, end: NR_PAGES * 4096 }], phys: engine.phys });
  // Same reservations as the Xen guest's boot tables, so both allocate the same pfns.
  const xenLike = buildXenPvGuest(await createEngine("ts", { physSize: 16 << 20 }), { nrPages: NR_PAGES });
  alloc.reserve(0, (xenLike.bootTables.at(-1)! + 1) * 4096);
  const swapper = 1 * 4096;
  const t = engine.setX86({ cr0: (1n << 31n) | (1n << 16n) | 1n, cr4: 1n << 5n, efer: (1n << 8n) | (1n << 11n), cr3: BigInt(swapper), cpl: 0 });
  expect(t.fault).toBe(0);
  const ops = recordingMmuOps(new NativeMmuOps({ phys: engine.phys, cpu: engine }), { ignore: [...CONVERSIONS] });
  const outcomes = workload({ ops, phys: engine.phys, alloc, initPgd: swapper }, engine, (pa) => Math.floor(pa / 4096));
  return { outcomes, ops };
}

async function xenRun(name: EngineName) {
  const engine = await createEngine(name, { physSize: 16 << 20 });
  const g = buildXenPvGuest(engine, { nrPages: NR_PAGES });
  const ops = recordingMmuOps(g.ops, { ignore: [...CONVERSIONS] });
  const outcomes = workload({ ops, phys: g.phys, alloc: g.allocator, initPgd: g.initPgd }, engine,
    (pa) => g.p2m.mfnToPfn(Math.floor(pa / 4096)));
  return { outcomes, ops, g };
}

describe.each(ENGINE_NAMES)("the same mm workload, native vs Xen PV (%s engine)", (name) => {
  it("gives identical translations, and the Xen run shows the pinning protocol", async () => {
    const native = await nativeRun(name);
    const xen = await xenRun(name);
    expect(xen.outcomes.length).toBe(4 * 48 * 2);
    expect(xen.outcomes).toEqual(native.outcomes);
    expect(native.outcomes.filter((o) => o.includes("pfn")).length).toBeGreaterThan(150);
    expect(native.outcomes.filter((o) => o.includes("fault")).length).toBeGreaterThan(100);
    // The hook sequence is the same; only what the backend does with it differs.
    expect(xen.ops.log.map((c) => c.op)).toEqual(native.ops.log.map((c) => c.op));
    // Xen side: each mm was pinned (pte pages as L1s, then the pgd and user pgd as L4s) and unpinned again.
    const log = xen.g.xen.log.map(formatLogEntry);
    // swapper_pg_dir (the domain builder), then each mm's pgd and user pgd.
    expect(log.filter((l) => l.includes("PIN_L4_TABLE")).length).toBe(1 + 2 * 2);
    expect(log.filter((l) => l.includes("UNPIN_TABLE")).length).toBeGreaterThanOrEqual(4);
    expect(log.every((l) => l.endsWith("→ 0"))).toBe(true);
    expect(auditXen(xen.g.xen, [xen.g.domain.id])).toEqual([]);
  });
});
