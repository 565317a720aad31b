// Model test: random map / mmap / munmap / mprotect / fault / switch sequences
// on several mms, checked after every step against a plain reference model by
// translating sampled addresses through the wasm engine (and by the shadow TLB:
// no cached translation may outlive the entry it came from), and at the end
// by the leak check. CI runs WASMMU_MODEL_RUNS (default 100) sequences of 100
// operations; for a long local run: WASMMU_MODEL_RUNS=3000 npx vitest run test/kernel/mm-model.test.ts
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Access, FaultKind, PfErr } from "../../src/abi.js";
import { KernelOomError } from "../../src/kernel/kernel.js";
import { PROT_NONE, PROT_WRITE, SZ_2M, SZ_4K, SZ_4M } from "../../src/kernel/mm.js";
import type { X86Mm as Mm } from "../../src/kernel/x86/mm.js";
import { machine, MODES } from "./helpers.js";

const RUNS = Number(process.env.WASMMU_MODEL_RUNS ?? 100);
const OPS_PER_RUN = 100;
const NMM = 3;

type Op =
  | { k: "map"; mm: number; w: number; page: number; n: number; prot: number; pfn: number }
  | { k: "mmap"; mm: number; w: number; page: number; n: number; prot: number }
  | { k: "munmap"; mm: number; w: number; page: number; n: number }
  | { k: "mprotect"; mm: number; w: number; page: number; n: number; prot: number }
  | { k: "fault"; mm: number; w: number; page: number; write: boolean; oom: boolean }
  | { k: "huge"; mm: number; page: number; n: number; prot: number; anon: boolean }
  | { k: "hugeUnmap"; mm: number; page: number; n: number }
  | { k: "hugeProtect"; mm: number; page: number; n: number; prot: number }
  | { k: "switch"; mm: number }
  | { k: "oomMap"; mm: number; w: number; page: number; n: number; nth: number };

const WINDOW_PAGES = 40;
const protArb = fc.constantFrom(0, 1, 3, 5, 7);
const win = { mm: fc.nat(NMM - 1), w: fc.nat(1), page: fc.nat(WINDOW_PAGES - 1), n: fc.integer({ min: 1, max: 8 }) };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant("map" as const), ...win, prot: protArb, pfn: fc.nat(255) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("mmap" as const), ...win, prot: protArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("munmap" as const), ...win }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("mprotect" as const), ...win, prot: protArb }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("fault" as const), mm: win.mm, w: win.w, page: win.page, write: fc.boolean(), oom: fc.nat(9).map((x) => x === 0) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("huge" as const), mm: win.mm, page: fc.nat(3), n: fc.integer({ min: 1, max: 2 }), prot: protArb, anon: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("hugeUnmap" as const), mm: win.mm, page: fc.nat(3), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("hugeProtect" as const), mm: win.mm, page: fc.nat(3), n: fc.integer({ min: 1, max: 2 }), prot: protArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("switch" as const), mm: win.mm }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("oomMap" as const), ...win, nth: fc.integer({ min: 1, max: 4 }) }) },
);

/** Reference: VMAs and the frame behind each 4 KiB page, per mm. */
interface RefVma { start: bigint; end: bigint; prot: number; anon: boolean; pa: number; huge: boolean }
interface RefMm { vmas: RefVma[]; pages: Map<bigint, number> }

let opsRun = 0, translationsChecked = 0;

function covering(r: RefMm, va: bigint): RefVma | undefined { return r.vmas.find((v) => v.start <= va && va < v.end); }
function overlaps(r: RefMm, s: bigint, e: bigint): boolean { return r.vmas.some((v) => v.start < e && s < v.end); }

function refUnmap(r: RefMm, s: bigint, e: bigint): void {
  const next: RefVma[] = [];
  for (const v of r.vmas) {
    if (v.end <= s || v.start >= e) { next.push(v); continue; }
    if (v.start < s) next.push({ ...v, end: s });
    if (v.end > e) next.push({ ...v, start: e, pa: v.anon ? 0 : v.pa + Number(e - v.start) });
  }
  r.vmas = next.sort((a, b) => (a.start < b.start ? -1 : 1));
  for (const vpn of [...r.pages.keys()]) if (vpn << 12n >= s && vpn << 12n < e) r.pages.delete(vpn);
}

function refProtect(r: RefMm, s: bigint, e: bigint, prot: number): void {
  const next: RefVma[] = [];
  for (const v of r.vmas) {
    if (v.end <= s || v.start >= e) { next.push(v); continue; }
    const lo = v.start < s ? s : v.start, hi = v.end > e ? e : v.end;
    if (v.start < s) next.push({ ...v, end: s });
    next.push({ ...v, start: lo, end: hi, prot, pa: v.anon ? 0 : v.pa + Number(lo - v.start) });
    if (v.end > e) next.push({ ...v, start: e, pa: v.anon ? 0 : v.pa + Number(e - v.start) });
  }
  r.vmas = next.sort((a, b) => (a.start < b.start ? -1 : 1));
}

describe("mm model test (wasm engine, all paging modes)", () => {
  it(`${RUNS} random sequences of ${OPS_PER_RUN} operations agree with the reference after every step`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...MODES), fc.array(opArb, { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), fc.integer(), async (mode, ops, seed) => {
      const m = await machine("wasm", mode, { physSize: 24 << 20 });
      const { k, engine, cpu } = m;
      const huge = mode === "2level" ? SZ_4M : SZ_2M;
      const windows = [0x3f_c000n, mode === "4level" || mode === "5level" ? 0x80_0000_0000n : 0x8000_0000n];
      const hugeBase = 0x4000_0000n;
      const base = { nr: k.nrPagetable, free: k.alloc.freePagesCount };
      const mms: Mm[] = [];
      for (let i = 0; i < NMM; i++) mms.push(k.mmCreate());
      const refs: RefMm[] = mms.map(() => ({ vmas: [], pages: new Map() }));
      let cur = 0;
      k.switchMm(mms[0]!);
      engine.setCpl(3);
      let rng = seed >>> 0;
      const rand = (n: number): number => { rng = (Math.imul(rng, 1103515245) + 12345) >>> 0; return rng % n; };
      const anonFrames = (): Set<number> => {
        const s = new Set<number>();
        for (const r of refs) for (const [vpn, pa] of r.pages) { const v = covering(r, vpn << 12n); if (v?.anon && pa !== k.zeroPagePa) s.add(pa); }
        return s;
      };

      const check = (extra: bigint[]): void => {
        const r = refs[cur]!;
        const samples = [...extra];
        for (let i = 0; i < 6; i++) samples.push(windows[rand(2)]! + BigInt(rand(WINDOW_PAGES)) * 0x1000n);
        samples.push(hugeBase + BigInt(rand(4 * huge / SZ_4K)) * 0x1000n);
        for (const va of samples) {
          const v = covering(r, va);
          const pa = r.pages.get(va >> 12n);
          const readable = v !== undefined && pa !== undefined && v.prot !== PROT_NONE;
          const writable = readable && (v!.prot & PROT_WRITE) !== 0 && !(v!.anon && pa === k.zeroPagePa);
          const off = 0x123n;
          const tr = cpu.translate(va + off, Access.Read);
          if (readable) expect([tr.fault, tr.pa], `read ${va.toString(16)} (${mode})`).toEqual([FaultKind.None, pa! + 0x123]);
          else expect([tr.fault, tr.errorCode & ~PfErr.P], `read ${va.toString(16)} should fault (${mode})`).toEqual([FaultKind.X86, PfErr.U]);
          const tw = cpu.translate(va + off, Access.Write);
          if (writable) expect([tw.fault, tw.pa], `write ${va.toString(16)} (${mode})`).toEqual([FaultKind.None, pa! + 0x123]);
          else expect(tw.fault, `write ${va.toString(16)} should fault (${mode})`).toBe(FaultKind.X86);
          translationsChecked += 2;
        }
        expect(cpu.stale(), `stale TLB entries (${mode})`).toEqual([]);
      };

      for (const op of ops) {
        opsRun++;
        if (op.k === "switch") {
          cur = op.mm;
          k.switchMm(mms[cur]!);
          check([]);
          continue;
        }
        const mm = mms[op.mm]!, r = refs[op.mm]!;
        const isHuge = op.k === "huge" || op.k === "hugeUnmap" || op.k === "hugeProtect";
        const s = isHuge ? hugeBase + BigInt(op.page * huge) : windows[(op as { w: number }).w]! + BigInt((op as { page: number }).page) * 0x1000n;
        const n = op.k === "fault" ? 1 : (op as { n: number }).n;
        const e = s + BigInt(n * (isHuge ? huge : SZ_4K));
        const touched: bigint[] = [];
        for (let va = s; va < e && touched.length < 16; va += 0x1000n) touched.push(va);
        const cutsHuge = (a: bigint): boolean => r.vmas.some((v) => v.huge && a > v.start && a < v.end && (a - v.start) % BigInt(huge) !== 0n);

        switch (op.k) {
          case "map": case "huge": case "oomMap": {
            const prot = op.k === "oomMap" ? 3 : op.prot;
            const anon = op.k === "huge" && op.anon;
            const pa = op.k === "huge" ? (op.page % 2) * huge : 0x80_0000 + (op.k === "map" ? op.pfn : 0) * SZ_4K;
            const expectErr = overlaps(r, s, e);
            if (op.k === "oomMap") k.alloc.failNth(op.nth);
            let err: unknown = null;
            try {
              if (anon) mm.mmap(s, Number(e - s), { prot, pageSize: huge });
              else mm.mapRange(s, Number(e - s), { pa, prot, pageSize: isHuge ? huge : SZ_4K });
            } catch (x) { err = x; }
            k.alloc.clearFailures();
            if (expectErr) { expect(String(err)).toMatch(/EEXIST/); break; }
            if (err) { expect(op.k).toBe("oomMap"); expect(err).toBeInstanceOf(KernelOomError); break; }
            r.vmas.push({ start: s, end: e, prot, anon, pa, huge: isHuge });
            r.vmas.sort((a, b) => (a.start < b.start ? -1 : 1));
            if (!anon) for (let va = s; va < e; va += 0x1000n) r.pages.set(va >> 12n, pa + Number(va - s));
            break;
          }
          case "mmap": {
            let err: unknown = null;
            try { mm.mmap(s, Number(e - s), { prot: op.prot }); } catch (x) { err = x; }
            if (overlaps(r, s, e)) { expect(String(err)).toMatch(/EEXIST/); break; }
            expect(err).toBeNull();
            r.vmas.push({ start: s, end: e, prot: op.prot, anon: true, pa: 0, huge: false });
            r.vmas.sort((a, b) => (a.start < b.start ? -1 : 1));
            break;
          }
          case "munmap": case "hugeUnmap": {
            let err: unknown = null;
            try { mm.munmap(s, Number(e - s)); } catch (x) { err = x; }
            if (cutsHuge(s) || cutsHuge(e)) { expect(String(err)).toMatch(/EINVAL/); break; }
            expect(err).toBeNull();
            refUnmap(r, s, e);
            break;
          }
          case "mprotect": case "hugeProtect": {
            let err: unknown = null;
            try { mm.mprotect(s, Number(e - s), op.prot); } catch (x) { err = x; }
            let covered = true;
            for (let va = s; va < e; va += 0x1000n) if (!covering(r, va)) covered = false;
            if (!covered) { expect(String(err)).toMatch(/ENOMEM/); break; }
            if (cutsHuge(s) || cutsHuge(e)) { expect(String(err)).toMatch(/EINVAL/); break; }
            expect(err).toBeNull();
            refProtect(r, s, e, op.prot);
            break;
          }
          case "fault": {
            const v = covering(r, s);
            if (op.oom) k.alloc.failNth(1);
            const res = mm.handleFault(s + 0x10n, op.write ? 1 : 0);
            k.alloc.clearFailures();
            if (!v || v.prot === PROT_NONE || (op.write && !(v.prot & PROT_WRITE))) { expect(res).toEqual({ ok: false, error: "segv" }); break; }
            const pageSz = BigInt(v.huge ? huge : SZ_4K);
            const pageVa = s & ~(pageSz - 1n);
            const have = r.pages.get(s >> 12n);
            const needsFrame = v.anon && (have === undefined ? (op.write || v.huge) : op.write && have === k.zeroPagePa);
            // OOM only when we injected it (a frame or a missing page table could not be allocated).
            if (!res.ok) { expect(res.error).toBe("oom"); expect(op.oom).toBe(true); break; }
            const got = res.pa - 0x10;
            if (!v.anon) expect(got).toBe(v.pa + Number(s - v.start));
            else if (!needsFrame) expect(got).toBe(have ?? k.zeroPagePa);
            else expect(anonFrames().has(got)).toBe(false);   // a fresh frame, nobody else's
            for (let va = pageVa; va < pageVa + pageSz; va += 0x1000n) {
              const frame = needsFrame || have === undefined ? got - Number(s - pageVa) + Number(va - pageVa) : r.pages.get(va >> 12n)!;
              if (have === undefined || needsFrame) r.pages.set(va >> 12n, v.anon && !needsFrame ? k.zeroPagePa : frame);
            }
            break;
          }
        }
        if (op.mm === cur) check(touched);
      }
      for (const mm of mms) mm.destroy();
      expect(k.nrPagetable).toBe(base.nr);
      expect(k.alloc.freePagesCount).toBe(base.free);
      expect(k.ptdescs.ptlocksAllocated).toBe(0);
      expect(k.lockdep.reports).toEqual([]);
      k.alloc.checkInvariants();
    }), { numRuns: RUNS });
  }, Math.max(120_000, RUNS * 2_000));

  afterAll(() => {
    // Enough operations to mean something: at least 10,000 whenever RUNS is
    // its default of 100 or more.
    console.log(`mm model: ${opsRun} operations, ${translationsChecked} translations checked`);
    if (RUNS >= 100) expect(opsRun).toBeGreaterThanOrEqual(10_000);
  });
});
