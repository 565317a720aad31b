// s390 PTE software bits (software young/dirty: arch/s390/include/asm/pgtable.h)
// and the PGSTE-aware PTE operations of the kernel (arch/s390/mm/pgtable.c),
// through both engines' DAT walker and PGSTE/storage-key core operations.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access, FaultKind, Pgm, S390Opt } from "../../../src/abi.js";
import { ENGINE_NAMES } from "../../../src/engine/index.js";
import { S390Mm } from "../../../src/kernel/s390/mm.js";
import * as B from "../../../src/kernel/s390/pgtable-bits.js";
import {
  condSetGuestStorageKey, Essa, getGuestStorageKey, pgsteOf, pgstePerformEssa, ptepClearFlush, ptepGet, ptepTestAndClearUc,
  ptepTestAndClearYoung, ptepXchgDirect, ptepXchgLazy, ptepZapKey, resetGuestReferenceBit, setGuestStorageKey,
  PGSTE_GC_BIT, PGSTE_GR_BIT, PGSTE_UC_BIT, _PGSTE_GPS_ZERO, _PGSTE_GPS_NODAT, _PGSTE_GPS_USAGE_UNUSED,
} from "../../../src/kernel/s390/pgtable.js";
import { leakCheck, machine } from "./machine.js";

const ACC = (a: number): bigint => BigInt(a) << 60n;

describe("PTE software young/dirty", () => {
  const ops = ["mkold", "mkyoung", "mkclean", "mkdirty", "wrprotect", "mkwrite", "modify"] as const;
  const prots = [B.PAGE_NONE, B.PAGE_RO, B.PAGE_RX, B.PAGE_RW, B.PAGE_RWX];
  it("I = !(YOUNG && READ) and P = !(DIRTY && WRITE) after any sequence of operations", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 4 }), fc.boolean(),
      fc.array(fc.record({ op: fc.constantFrom(...ops), prot: fc.integer({ min: 0, max: 4 }) }), { maxLength: 30 }),
      (p0, young, seq) => {
        let pte = B.mkPtePhys(0x12_3000, prots[p0]!);
        if (!young) pte = B.pteMkold(pte);
        expect(B.pteInvariantHolds(pte)).toBe(true);
        for (const { op, prot } of seq) {
          switch (op) {
            case "mkold": pte = B.pteMkold(pte); break;
            case "mkyoung": pte = B.pteMkyoung(pte); break;
            case "mkclean": pte = B.pteMkclean(pte); break;
            case "mkdirty": pte = B.pteMkdirty(pte); break;
            case "wrprotect": pte = B.pteWrprotect(pte); break;
            case "mkwrite": pte = B.pteMkwrite(pte); break;
            case "modify": pte = B.pteModify(pte, prots[prot]!); break;
          }
          expect(B.pteInvariantHolds(pte)).toBe(true);
          expect(B.pteAddr(pte)).toBe(0x12_3000);
        }
      }), { numRuns: 300 });
  });

  it("mkold of a young read-only PTE sets 0x400; prot-none stays I=1, P=1", () => {
    const ro = B.mkPtePhys(0x5000, B.PAGE_RO);
    expect(ro & 0x400n).toBe(0n);
    expect(B.pteMkold(ro) & 0x400n).toBe(0x400n);
    const none = B.mkPtePhys(0x5000, B.PAGE_NONE);
    expect(none & 0x600n).toBe(0x600n);
    expect(B.pteNone(0x400n) && !B.pteNone(ro) && B.pteSwap(0x200n) && !B.pteSwap(ro)).toBe(true);
  });
});

describe.each(ENGINE_NAMES)("access emulation through the %s engine", (name) => {
  it("store through P=1 and load through I=1 fault; the fault handler's mkdirty / mkyoung let the retry through", async () => {
    const { k } = await machine(name);
    const mm = S390Mm.create(k);
    const va = 0x1234_5000n;
    mm.mapRange(va, 4096, { pa: 0x60_0000, prot: 3 });
    const ptep = mm.lookupPtep(va)!;
    expect(ptepGet(mm, ptep) & 0x600n).toBe(0x200n);           // young, clean: valid but protected
    const w = k.translate(mm.asce, va + 8n, Access.Write);
    expect([w.fault, w.vector]).toEqual([FaultKind.S390, Pgm.Protection]);
    expect(k.engine.iske(0x60_0000) & 0x02).toBe(0);           // suppressed: C not set
    expect(mm.handleFault(va + 8n, Access.Write)).toEqual({ ok: true, pa: 0x60_0008 });
    expect(ptepGet(mm, ptep) & (0x600n | B._PAGE_DIRTY)).toBe(B._PAGE_DIRTY);
    expect(k.translate(mm.asce, va + 8n, Access.Write).fault).toBe(FaultKind.None);
    expect(k.engine.iske(0x60_0000) & 0x06).toBe(0x06);        // R and C in the storage key
    // Make it old: the next load is a page-translation exception.
    const before = k.iptesFor(va);
    expect(ptepTestAndClearYoung(mm, va, ptep)).toBe(true);
    expect(k.iptesFor(va) - before).toBe(1);                      // exactly one IPTE for that address
    expect(ptepGet(mm, ptep) & 0x400n).toBe(0x400n);
    const r = k.translate(mm.asce, va, Access.Read);
    expect([r.fault, r.vector]).toEqual([FaultKind.S390, Pgm.PageTranslation]);
    expect(ptepTestAndClearYoung(mm, va, ptep)).toBe(false);    // already old: no IPTE (I set)
    expect(k.iptesFor(va) - before).toBe(1);
    expect(mm.handleFault(va, Access.Read).ok).toBe(true);
    expect(k.translate(mm.asce, va, Access.Read)).toMatchObject({ fault: FaultKind.None, pa: 0x60_0000 });
    // The helper loop does the same in one call.
    ptepTestAndClearYoung(mm, va, ptep);
    expect(mm.access(va + 0x10n, Access.Write)).toMatchObject({ fault: FaultKind.None, pa: 0x60_0010 });
    // A read-only mapping cannot be made writable by a fault: the fault stays.
    mm.mapRange(va + 0x10_0000n, 4096, { pa: 0x61_0000, prot: 1 });
    expect(mm.access(va + 0x10_0000n, Access.Write)).toMatchObject({ fault: FaultKind.S390, vector: Pgm.Protection });
    mm.destroy();
    leakCheck(k);
  });

  it("lazy exchange on an mm attached only here sets I and defers the flush to flush_mm; otherwise IPTE", async () => {
    const { k } = await machine(name);
    const mm = S390Mm.create(k);
    mm.mapRange(0x10_0000n, 8192, { pa: 0x60_0000, prot: 3 });
    const p0 = mm.lookupPtep(0x10_0000n)!, p1 = mm.lookupPtep(0x10_1000n)!;
    ptepXchgLazy(mm, 0x10_0000n, p0, B._PAGE_INVALID);        // not attached anywhere: IPTE
    expect(k.iptesFor(0x10_0000n)).toBe(1);
    k.switchMm(mm);
    ptepXchgLazy(mm, 0x10_1000n, p1, B._PAGE_INVALID);
    expect(k.iptesFor(0x10_1000n)).toBe(0);
    expect(mm.flushMmPending).toBe(true);
    expect(k.translate(mm.asce, 0x10_1000n, Access.Read).vector).toBe(Pgm.PageTranslation);
    mm.munmap(0x10_0000n, 8192);
    expect(mm.flushMmPending).toBe(false);
    mm.destroy();
    leakCheck(k);
  });
});

describe.each(ENGINE_NAMES)("PGSTE-aware PTE operations, %s engine", (name) => {
  async function kvmMm(esop = true) {
    const m = await machine(name);
    if (!esop) m.engine.setS390({ options: S390Opt.Hardware & ~S390Opt.Esop });
    const mm = S390Mm.create(m.k, { pgste: true, skeys: true });
    const va = 0x2000_0000n;
    mm.mapRange(va, 0x2000, { pa: 0x70_0000, prot: 3 });
    return { ...m, mm, va, ptep: mm.lookupPtep(va)! };
  }

  it("a valid → invalid exchange saves the real key in the PGSTE; invalid → valid writes it back", async () => {
    const { k, mm, va, ptep, engine } = await kvmMm();
    engine.sske(0x70_0000, 0x36);                               // ACC 3, R, C
    const old = ptepClearFlush(mm, va, ptep);
    expect(B.pteAddr(old)).toBe(0x70_0000);
    expect(pgsteOf(mm, ptep)).toBe(ACC(3) | PGSTE_GR_BIT | PGSTE_GC_BIT);
    expect(engine.iske(0x70_0000)).toBe(0x36);                  // real key unchanged
    engine.sske(0x70_0000, 0);                                  // the frame went away and came back clean
    ptepXchgDirect(mm, va, ptep, B.mkPtePhys(0x70_0000, B.PAGE_RO));
    expect(engine.iske(0x70_0000)).toBe(0x36);
    expect(k.iptesFor(va)).toBe(1);                             // only the valid → invalid exchange needed one
  });

  it("a writable dirty PTE set with set_pte_at marks UC; a clean one (PROTECT) does not, with ESOP", async () => {
    const { mm, va, ptep } = await kvmMm();
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(0n);         // mapRange: young but clean (PROTECT)
    expect(mm.handleFault(va, Access.Write).ok).toBe(true);    // mkdirty → P cleared → UC
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(PGSTE_UC_BIT);
  });

  it("without ESOP a writable PTE is made dirty at once and sets UC", async () => {
    const { mm, ptep } = await kvmMm(false);
    expect(ptepGet(mm, ptep) & (B._PAGE_DIRTY | B._PAGE_PROTECT)).toBe(B._PAGE_DIRTY);
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(PGSTE_UC_BIT);
  });

  it("ptep_test_and_clear_uc returns true once, write-protects the PTE, one IPTE", async () => {
    const { k, mm, va, ptep } = await kvmMm();
    mm.handleFault(va, Access.Write);
    const n = k.iptesFor(va);
    expect(ptepTestAndClearUc(mm, va, ptep)).toBe(true);
    expect(ptepGet(mm, ptep) & B._PAGE_PROTECT).toBe(B._PAGE_PROTECT);
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(0n);
    expect(k.iptesFor(va) - n).toBe(1);
    expect(ptepTestAndClearUc(mm, va, ptep)).toBe(false);
    // The guest writes again: protection fault, the handler makes it dirty, UC again.
    expect(mm.access(va, Access.Write).fault).toBe(FaultKind.None);
    expect(ptepTestAndClearUc(mm, va, ptep)).toBe(true);
  });

  it("guest storage keys with no PTE table, no VMA, and a mapped page", async () => {
    const { mm, va, ptep, engine } = await kvmMm();
    mm.mmap(0x4000_0000n, 0x10_0000, { prot: 3 });              // a VMA without page tables yet
    expect(getGuestStorageKey(mm, 0x4000_0000n)).toEqual({ rc: 0, key: 0 });
    expect(setGuestStorageKey(mm, 0x4000_0000n, 0)).toBe(0);
    expect(setGuestStorageKey(mm, 0x4000_0000n, 0x10)).toBe(-14);
    expect(resetGuestReferenceBit(mm, 0x4000_0000n)).toBe(0);
    expect(getGuestStorageKey(mm, 0x9000_0000n).rc).toBe(-14); // no VMA
    expect(setGuestStorageKey(mm, 0x9000_0000n, 0)).toBe(-14);
    // A valid PTE: the real key gets ACC/F, the guest's R/C view is real OR GR/GC.
    expect(setGuestStorageKey(mm, va, 0x56)).toBe(0);
    expect(engine.iske(0x70_0000) & 0xf8).toBe(0x50);
    expect(getGuestStorageKey(mm, va).key & 0xf8).toBe(0x50);
    expect(pgsteOf(mm, ptep) & PGSTE_UC_BIT).toBe(PGSTE_UC_BIT);
    const old = { key: -1 };
    expect(condSetGuestStorageKey(mm, va, 0x50, { mr: true, mc: true, oldkey: old })).toBe(0);
    expect(old.key & 0xf8).toBe(0x50);
    expect(condSetGuestStorageKey(mm, va, 0x70, { mr: true, mc: true })).toBe(1);
    expect(engine.iske(0x70_0000) & 0xf0).toBe(0x70);
  });

  it("RRBE on an invalid PTE with GR=1, GC=0 returns cc 2, clears GR, sets UC", async () => {
    const { k, mm, va, ptep } = await kvmMm();
    ptepClearFlush(mm, va, ptep);
    const e = k.engine;
    e.pgsteSetUnlock(ptep, e.pgsteGetLock(ptep) & ~(PGSTE_GC_BIT | PGSTE_UC_BIT) | PGSTE_GR_BIT);
    expect(resetGuestReferenceBit(mm, va)).toBe(2);
    expect(pgsteOf(mm, ptep) & (PGSTE_GR_BIT | PGSTE_UC_BIT)).toBe(PGSTE_UC_BIT);
  });

  it("ESSA usage states (pgste_perform_essa) and ptep_zap_key", async () => {
    const { k, mm, va, ptep } = await kvmMm();
    expect(pgstePerformEssa(mm, va, 8).rc).toBe(-22);
    expect(pgstePerformEssa(mm, 0x9000_0000n, Essa.GET_STATE).rc).toBe(-14);
    expect(pgstePerformEssa(mm, va, Essa.SET_UNUSED).rc).toBe(0);             // valid PTE: not discardable
    expect(pgsteOf(mm, ptep) & 0x0300_0000n).toBe(_PGSTE_GPS_USAGE_UNUSED);
    // Unmapping an UNUSED page marks the returned PTE _PAGE_UNUSED.
    expect(ptepClearFlush(mm, va, ptep) & B._PAGE_UNUSED).toBe(B._PAGE_UNUSED);
    const r = pgstePerformEssa(mm, va, Essa.SET_VOLATILE);
    expect(r.rc).toBe(1);                                                       // invalid: may be discarded
    expect(r.oldPgste & 0x0300_0000n).toBe(_PGSTE_GPS_USAGE_UNUSED);
    expect(pgsteOf(mm, ptep) & (_PGSTE_GPS_ZERO | 0x0300_0000n)).toBe(_PGSTE_GPS_ZERO | 0x0300_0000n);
    expect(pgstePerformEssa(mm, va, Essa.SET_STABLE_NODAT).rc).toBe(0);
    expect(pgsteOf(mm, ptep) & (_PGSTE_GPS_NODAT | 0x0300_0000n)).toBe(_PGSTE_GPS_NODAT);
    expect(pgstePerformEssa(mm, va, Essa.SET_STABLE).rc).toBe(0);
    expect(pgsteOf(mm, ptep) & _PGSTE_GPS_NODAT).toBe(0n);
    // set_pte_at (the page comes back) clears "logically zero".
    expect(mm.handleFault(va, Access.Read).ok).toBe(true);
    expect(pgsteOf(mm, ptep) & _PGSTE_GPS_ZERO).toBe(0n);
    // ptep_zap_key: ACC/F cleared, GR|GC set, a writable valid page's frame gets key 0.
    k.engine.sske(0x70_0000, 0x96);
    ptepZapKey(mm, ptep);
    expect(pgsteOf(mm, ptep) & (ACC(0xf) | PGSTE_GR_BIT | PGSTE_GC_BIT)).toBe(PGSTE_GR_BIT | PGSTE_GC_BIT);
    expect(k.engine.iske(0x70_0000)).toBe(0);
    mm.destroy();
    leakCheck(k);
  });
});
