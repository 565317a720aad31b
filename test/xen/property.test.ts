/**
 * Property tests: random guest operations and random hypercall sequences.
 * After every step:
 *  - the audit finds no frame that is both a page table and writable-mapped,
 *    and every reference count equals the entries that reference the frame;
 *  - every translation through the wasm engine (TLB included) agrees with
 *    the hypervisor's own walk of the tables, and with the guest's model;
 *  - no page-table frame can be written through any sampled kernel mapping.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access } from "../../src/abi.js";
import { createEngine } from "../../src/engine/index.js";
import { auditXen } from "../../src/paravirt/xen/audit.js";
import { buildXenPvGuest } from "../../src/paravirt/xen/domain-builder.js";
import { MmuCmd, Uvmf } from "../../src/paravirt/xen/interface.js";
import { makeEntry } from "../../src/kernel/x86/pgtable.js";
import {
  _PAGE_ACCESSED as PAGE_ACCESSED, _PAGE_DIRTY as PAGE_DIRTY, _PAGE_NX as PAGE_NX, _PAGE_PCD as PAGE_PCD,
  _PAGE_PRESENT as PAGE_PRESENT, _PAGE_PSE as PAGE_PSE, _PAGE_RW as PAGE_RW, _PAGE_TABLE as PAGE_TABLE,
  _PAGE_USER as PAGE_USER,
} from "../../src/kernel/x86/pgtable-types.js";
import { GuestPageFault, PAGE_KERNEL, PAGE_KERNEL_RO } from "../../src/paravirt/xen/mmu-pv.js";
import { machine, pinAndLoad, PGD, PMD, PTE_A, PTE_B, PUD, snapshot } from "./fixture.js";
import { MiniMm } from "./mini-mm.js";
import { fuzzParams } from "../fuzz.js";

const USER_RO = PAGE_PRESENT | PAGE_USER | PAGE_ACCESSED | PAGE_NX;
const USER_RW = USER_RO | PAGE_RW | PAGE_DIRTY;
const SLOTS = 48;
/** 16 pages in each of 3 pmd slots: several pte tables per mm. */
const slotVa = (s: number): bigint => 0x400000n + BigInt(Math.floor(s / 16)) * 0x200000n + BigInt(s % 16) * 4096n;

type GuestOp =
  | { t: "create" } | { t: "pin"; mm: number } | { t: "switch"; mm: number } | { t: "destroy"; mm: number }
  | { t: "map"; mm: number; slot: number; page: number; rw: boolean }
  | { t: "unmap"; mm: number; slot: number } | { t: "protect"; mm: number; slot: number; rw: boolean }
  | { t: "freePt"; mm: number; slot: number } | { t: "lazyMap"; mm: number; slot: number; pages: number[] }
  | { t: "stray"; mm: number; table: number };

const mmIx = fc.nat(3), slot = fc.nat(SLOTS - 1), page = fc.nat(23);
const guestOp: fc.Arbitrary<GuestOp> = fc.oneof(
  { arbitrary: fc.constant({ t: "create" as const }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("pin" as const), mm: mmIx }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("switch" as const), mm: mmIx }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("destroy" as const), mm: mmIx }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("map" as const), mm: mmIx, slot, page, rw: fc.boolean() }), weight: 8 },
  { arbitrary: fc.record({ t: fc.constant("unmap" as const), mm: mmIx, slot }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant("protect" as const), mm: mmIx, slot, rw: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("freePt" as const), mm: mmIx, slot }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("lazyMap" as const), mm: mmIx, slot, pages: fc.array(page, { minLength: 1, maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("stray" as const), mm: mmIx, table: fc.nat(20) }), weight: 2 },
);

describe("Xen PV: random guest operations keep every invariant (wasm engine)", () => {
  it("audit clean, MMU agrees with the hypervisor and the guest model, tables never writable", async () => {
    const engine = await createEngine("wasm", { physSize: 8 << 20 });
    let runs = 0;
    const seen = { pinnedMaps: 0, strayFaults: 0, switches: 0, lazy: 0, translations: 0 };
    // Every run starts with a live, pinned, loaded mm; the rest is random.
    const start: GuestOp[] = [{ t: "create" }, { t: "pin", mm: 0 }, { t: "switch", mm: 0 }];
    await fc.assert(fc.asyncProperty(fc.array(guestOp, { minLength: 10, maxLength: 40 }), async (rest) => {
      const ops = [...start, ...rest];
      runs++;
      const g = buildXenPvGuest(engine, { nrPages: 640, nrVcpus: 2, ioFrames: 256, xenFrames: 64 });
      // The kernel zeroes new pages through its direct map (clear_page), so the
      // TLB holds writable translations of pages that later become page tables:
      // exactly what Xen's flush on a type change is for.
      const alloc = Object.create(g.allocator) as typeof g.allocator;
      alloc.allocPage = (o?: { zero?: boolean }) => {
        const pfn = g.allocator.allocPage();
        if (pfn !== null && o?.zero) for (let i = 0; i < 4096; i += 8) g.ops.kernelStore(pfn * 4096 + i, 0n);
        return pfn;
      };
      const env = { ops: g.ops, phys: g.phys, alloc, initPgd: g.initPgd };
      const data = Array.from({ length: 24 }, () => g.allocator.allocPage({ zero: true })!);
      const mms: MiniMm[] = [];
      const pinned = new Set<MiniMm>();
      const model = new Map<MiniMm, Map<number, number>>();   // slot → pfn
      let current: MiniMm | null = null, nextId = 1;
      const pick = (i: number): MiniMm | undefined => mms[i % Math.max(1, mms.length)];

      for (const op of ops) {
        const mm = "mm" in op ? pick(op.mm) : undefined;
        switch (op.t) {
          case "create":
            if (mms.length < 4) { const m = MiniMm.create(env, nextId++); mms.push(m); model.set(m, new Map()); }
            break;
          case "pin":
            if (mm && !pinned.has(mm)) { g.ops.enterMmap(mm); pinned.add(mm); }
            break;
          case "switch":
            if (mm && pinned.has(mm)) { g.ops.writeCr3(BigInt(mm.pgd)); current = mm; seen.switches++; }
            break;
          case "destroy":
            if (mm) {
              mm.destroy();
              mms.splice(mms.indexOf(mm), 1); pinned.delete(mm); model.delete(mm);
              if (current === mm) current = null;
            }
            break;
          case "map":
            if (mm) {
              mm.map(slotVa(op.slot), data[op.page]!, op.rw ? USER_RW : USER_RO);
              model.get(mm)!.set(op.slot, data[op.page]!);
              if (pinned.has(mm)) seen.pinnedMaps++;
            }
            break;
          case "unmap":
            if (mm) { mm.unmap(slotVa(op.slot)); model.get(mm)!.delete(op.slot); }
            break;
          case "protect":
            if (mm) mm.protect(slotVa(op.slot), op.rw ? USER_RW & ~(PAGE_DIRTY | PAGE_ACCESSED) : USER_RO);
            break;
          case "freePt":
            if (mm && mm.freePteTable(slotVa(op.slot))) {
              const base = op.slot - (op.slot % 16);
              for (let s = base; s < base + 16; s++) model.get(mm)!.delete(s);
            }
            break;
          case "lazyMap":
            if (mm) {
              op.pages.forEach((_, i) => mm.populate(slotVa((op.slot + i) % SLOTS)));
              g.ops.enterLazyMmu();
              op.pages.forEach((p, i) => {
                const s = (op.slot + i) % SLOTS;
                mm.map(slotVa(s), data[p]!, USER_RW);
                model.get(mm)!.set(s, data[p]!);
              });
              g.ops.leaveLazyMmu();
              seen.lazy++;
            }
            break;
          case "stray": {
            if (!mm) break;
            const tables = [...mm.tables.keys()];
            const t = tables[op.table % tables.length]!;
            const pa = t * 4096 + 8 * 7, v = g.phys.read64(pa);
            if (pinned.has(mm)) { expect(() => g.ops.kernelStore(pa, v)).toThrow(GuestPageFault); seen.strayFaults++; }
            else g.ops.kernelStore(pa, v);              // an unpinned table is ordinary memory
            expect(g.phys.read64(pa)).toBe(v);
            break;
          }
        }

        // ── invariants ──
        expect(auditXen(g.xen, [g.domain.id])).toEqual([]);
        const root = g.xen.domain(g.domain.id).vcpus[0]!.guestTable;
        const expectMm = current;
        for (let s = 0; s < SLOTS; s++) {
          const va = slotVa(s);
          const tr = engine.translate(va, Access.Read);
          const hv = g.xen.walk(root, va);
          expect(tr.fault === 0 ? tr.pa : -1).toBe(hv);
          if (tr.fault === 0) seen.translations++;
          if (expectMm) {
            const want = model.get(expectMm)!.get(s);
            expect(hv === -1 ? null : g.p2m.mfnToPfn(Math.floor(hv / 4096))).toBe(want ?? null);
          }
        }
        for (const m of pinned)
          for (const t of m.tables.keys()) expect(engine.translate(g.ops.va(t), Access.Write).fault).not.toBe(0);
        for (const b of g.bootTables) expect(engine.translate(g.ops.va(b), Access.Write).fault).not.toBe(0);
      }
      for (const m of [...mms]) m.destroy();
      expect(auditXen(g.xen, [g.domain.id])).toEqual([]);
    }), fuzzParams({ numRuns: 30, seed: 0x5eed6 }));
    expect(runs).toBe(30);
    console.log(`random guest operations: ${JSON.stringify(seen)}`);
    expect(seen.pinnedMaps).toBeGreaterThan(50);
    expect(seen.strayFaults).toBeGreaterThan(10);
    expect(seen.translations).toBeGreaterThan(500);
  });
});

// ── random hypercalls against the hand-built machine ──────────────────────

type RawOp =
  | { t: "upd"; table: number; slot: number; target: number; flags: number; cmd: number }
  | { t: "ext"; cmd: number; frame: number }
  | { t: "uvm"; page: number; target: number; rw: boolean; flags: number };

const FLAG_SETS = [PAGE_KERNEL, PAGE_KERNEL_RO, PAGE_TABLE, PAGE_TABLE & ~PAGE_RW, 0n, PAGE_KERNEL | PAGE_PCD, PAGE_TABLE | PAGE_PSE];
const rawOp: fc.Arbitrary<RawOp> = fc.oneof(
  fc.record({ t: fc.constant("upd" as const), table: fc.nat(9), slot: fc.oneof(fc.nat(7), fc.integer({ min: 250, max: 300 })), target: fc.nat(40), flags: fc.nat(FLAG_SETS.length - 1), cmd: fc.constantFrom(0, 0, 0, 2, 1, 5) }),
  fc.record({ t: fc.constant("ext" as const), cmd: fc.constantFrom(0, 1, 2, 3, 4, 4, 5, 15, 6, 10, 16, 14), frame: fc.nat(40) }),
  fc.record({ t: fc.constant("uvm" as const), page: fc.nat(63), target: fc.nat(40), rw: fc.boolean(), flags: fc.constantFrom(Uvmf.NONE, Uvmf.INVLPG, Uvmf.TLB_FLUSH | Uvmf.ALL) }),
);

describe("Xen hypervisor: random hypercall sequences (wasm engine)", () => {
  it("rejected calls change nothing; accepted ones keep the audit clean; the MMU agrees with Xen", async () => {
    let tried = 0, rejected = 0;
    await fc.assert(fc.asyncProperty(fc.array(rawOp, { minLength: 10, maxLength: 30 }), async (ops) => {
      const m = await machine("wasm");
      pinAndLoad(m);
      const cpu = m.engine!;
      // Frames the calls may name: d1's first 30 pages (tables among them), foreign, Xen's, I/O, beyond RAM.
      const frames = [...Array.from({ length: 30 }, (_, i) => m.mfn(i)), m.d2.mfnList[0]!, m.d2.mfnList[1]!, 300, 0xa0, 0x12345,
        m.mfn(PGD), m.mfn(PUD), m.mfn(PMD), m.mfn(PTE_A), m.mfn(PTE_B), 0];
      const tables = [PGD, PUD, PMD, PTE_A, PTE_B, 20, 21, 22, 23, 24].map(m.mfn);
      for (const op of ops) {
        const before = snapshot(m);
        let rc: number;
        if (op.t === "upd") {
          const val = makeEntry(frames[op.target]!, FLAG_SETS[op.flags]!);
          const ptr = BigInt(tables[op.table]! * 4096 + op.slot * 8) | BigInt(op.cmd);
          rc = m.xen.mmuUpdate(m.d1.id, [{ ptr, val: op.cmd === MmuCmd.MACHPHYS_UPDATE ? BigInt(op.slot) : val }]).rc;
        } else if (op.t === "ext") {
          rc = m.xen.mmuextOp(m.d1.id, [{ cmd: op.cmd, mfn: frames[op.frame]! }]).rc;
        } else {
          rc = m.xen.updateVaMapping(m.d1.id, m.dmVa(op.page), makeEntry(frames[op.target]!, op.rw ? PAGE_KERNEL : PAGE_KERNEL_RO), op.flags);
        }
        tried++;
        if (rc !== 0) { rejected++; expect(snapshot(m) === before).toBe(true); }
        expect(auditXen(m.xen, [m.d1.id, m.d2.id])).toEqual([]);
        // The MMU (after the guest's own flush: Xen does not flush for L1 updates) agrees with Xen's walk.
        const root = m.xen.domain(m.d1.id).vcpus[0]!.guestTable;
        if (root === 0) continue;
        cpu.flushTlb(true);
        for (let p = 0; p < 64; p += 3) {
          const va = m.dmVa(p), tr = cpu.probe(va, Access.Read), hv = m.xen.walk(root, va);
          expect(tr.fault === 0 ? tr.pa : -1).toBe(hv);
          const w = cpu.probe(va, Access.Write);
          if (w.fault === 0) expect(m.xen.frames.isPageTable(Math.floor(w.pa / 4096))).toBe(false);
        }
      }
    }), fuzzParams({ numRuns: 20, seed: 0xc0ffee }));
    // Every op is counted: 20 runs of at least 10 (npm run fuzz may draw fewer than the 400-odd of the fixed inputs).
    expect(tried).toBeGreaterThanOrEqual(200);
    expect(rejected).toBeGreaterThan(50);
    console.log(`random hypercalls: ${tried} tried, ${rejected} rejected (each verified to change nothing)`);
  });
});
