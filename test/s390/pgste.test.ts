// PGSTE operations and storage-key instructions (arch/s390/mm/pgtable.c) and
// arch/s390/mm/pgtable.c, in both engines.
import { describe, expect, it } from "vitest";
import { Access, FaultKind, S390Opt, Skey } from "../../src/abi.js";
import { BusError } from "../../src/phys/phys-mem.js";
import { createEngine, ENGINE_NAMES, S390OpError } from "../../src/engine/index.js";
import { S390Tables } from "./tables.js";

const bit = (n: number): bigint => 1n << BigInt(n);
const PCL = bit(55), HR = bit(54), HC = bit(53), GR = bit(50), GC = bit(49), UC = bit(47), IN = bit(46), VSIE = bit(45);
const ACC = (a: number): bigint => BigInt(a) << 60n;
const FP = bit(59);
const TABLE = 0x20_0000;           // a PGSTE table: 256 PTEs + 256 PGSTEs
const FRAME = 0x40_0000;
const PRESENT_RW = 0x001n | 0x010n | 0x020n | 0x004n | 0x008n;   // present, read, write, young, dirty (I=0, P=0)
const pgsteOf = (ptep: number): number => ptep + 2048;

describe.each(ENGINE_NAMES)("PGSTE operations (%s engine)", (name) => {
  async function setup(pte: bigint, pgste = 0n) {
    const e = await createEngine(name, { physSize: 16 << 20 });
    const ptep = TABLE + 8 * 5;
    e.phys.write64(ptep, pte, true);
    e.phys.write64(pgsteOf(ptep), pgste, true);
    return { e, ptep };
  }

  it("pgste_get_lock / pgste_set_unlock, PCL big-endian at byte 1", async () => {
    const { e, ptep } = await setup(0x400n, 0x0004_0000_0000_0000n);
    expect(e.pgsteGetLock(ptep)).toBe(0x0084_0000_0000_0000n);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(0x0084_0000_0000_0000n);
    expect(e.phys.read8(pgsteOf(ptep) + 1)).toBe(0x84);
    // A second lock would spin forever in a single thread: reported, nothing changes.
    expect(() => e.pgsteGetLock(ptep)).toThrow(/already locked/);
    e.pgsteSetUnlock(ptep, 0x1234_0000_0000_0000n | PCL);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(0x1234_0000_0000_0000n);
    expect(() => e.pgsteSetUnlock(ptep, 0n)).toThrow(/not locked/);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(0x1234_0000_0000_0000n);
  });

  it("pgste_update_all copies the real key into the PGSTE, key unchanged", async () => {
    const { e } = await setup(0n);
    e.sske(FRAME, 0x36);                                        // ACC 3, R, C
    const pte = BigInt(FRAME) | PRESENT_RW;
    expect(e.pgsteUpdateAll(pte, 0n)).toBe(ACC(3) | GR | GC);
    expect(e.pgsteUpdateAll(pte, ACC(7) | FP | HR)).toBe(ACC(3) | GR | GC | HR);
    expect(e.iske(FRAME)).toBe(0x36);
    expect(e.pgsteUpdateAll(pte | 0x400n, ACC(7))).toBe(ACC(7));  // invalid PTE: no-op
  });

  it("pgste_set_key writes ACC/F and GR/GC to the real key, following the code not the comment (docs/SEMANTICS.md)", async () => {
    const { e, ptep } = await setup(0x400n);
    e.sske(FRAME, 0);
    e.pgsteSetKey(ptep, ACC(3) | GR | GC, BigInt(FRAME) | PRESENT_RW);
    expect(e.iske(FRAME)).toBe(0x36);
    e.pgsteSetKey(ptep, ACC(9) | FP, BigInt(FRAME) | 0x400n);   // entry invalid: nothing
    expect(e.iske(FRAME)).toBe(0x36);
    e.phys.write64(ptep, BigInt(FRAME) | PRESENT_RW, true);       // current PTE valid: VM_BUG_ON
    expect(() => e.pgsteSetKey(ptep, ACC(9), BigInt(FRAME) | PRESENT_RW)).toThrow(/still valid/);
    expect(e.iske(FRAME)).toBe(0x36);
  });

  it("ptep_test_and_clear_uc with ESOP protects again; without ESOP a writable PTE is invalidated", async () => {
    const pte = BigInt(FRAME) | PRESENT_RW;
    const { e, ptep } = await setup(pte, UC | IN);
    const seen: bigint[] = [];
    expect(e.ptepTestAndClearUc(ptep, 0x1234_5000n, (bits, addr) => seen.push(bits, addr))).toBe(true);
    expect(seen).toEqual([IN, 0x1234_5000n]);
    expect(e.phys.read64(ptep, true)).toBe(pte | 0x200n);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(0n);         // UC, IN and PCL clear
    expect(e.ptepTestAndClearUc(ptep, 0x1234_5000n)).toBe(false);
    e.setS390({ options: S390Opt.Hardware & ~S390Opt.Esop });
    e.phys.write64(ptep, pte, true);
    e.phys.write64(pgsteOf(ptep), UC | VSIE, true);
    expect(e.ptepTestAndClearUc(ptep, 0n)).toBe(true);
    expect(e.phys.read64(ptep, true)).toBe(pte | 0x400n);
    e.phys.write64(ptep, pte & ~0x020n, true);                     // not writable: PROTECT even without ESOP
    e.phys.write64(pgsteOf(ptep), UC, true);
    e.ptepTestAndClearUc(ptep, 0n);
    expect(e.phys.read64(ptep, true)).toBe((pte & ~0x020n) | 0x200n);
  });

  it("reset_guest_reference_bit on an invalid PTE with GR: cc 2, GR cleared, UC set", async () => {
    const { e, ptep } = await setup(0x400n, GR);
    expect(e.resetGuestReferenceBit(ptep)).toBe(2);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(UC);
  });

  it("reset_guest_reference_bit on a valid PTE merges the real R into HR", async () => {
    const { e, ptep } = await setup(BigInt(FRAME) | PRESENT_RW, GC);
    e.sske(FRAME, 0x16);                                         // ACC 1, R, C
    expect(e.resetGuestReferenceBit(ptep)).toBe(3);               // real R·2 + C | GC
    expect(e.iske(FRAME)).toBe(0x12);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(GC | HR);     // GR unchanged (0): no UC
  });

  it("set/get_guest_storage_key: real ACC/F set, real R/C saved in HR/HC, UC on change", async () => {
    const { e, ptep } = await setup(BigInt(FRAME) | PRESENT_RW);
    e.sske(FRAME, 0x06);                                         // host had R and C
    e.setGuestStorageKey(ptep, 0x5c);                            // ACC 5, F, R, (C=0)
    expect(e.iske(FRAME)).toBe(0x58);                            // real R/C reset
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(ACC(5) | FP | GR | HR | HC | UC);
    expect(e.getGuestStorageKey(ptep)).toBe(0x5c);               // real key | GR
    e.phys.write64(ptep, BigInt(FRAME) | 0x400n, true);          // PTE invalid: key lives in the PGSTE
    e.phys.write64(pgsteOf(ptep), ACC(2) | GC, true);
    e.setGuestStorageKey(ptep, 0x20);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(ACC(2) | UC); // GC dropped → changed → UC
    expect(e.getGuestStorageKey(ptep)).toBe(0x20);
    e.phys.write64(pgsteOf(ptep), ACC(2), true);
    e.setGuestStorageKey(ptep, 0x20);                            // same key: no UC
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(ACC(2));
  });

  it("guest accesses through a gmap reach the same PTE table and the keys the host reads", async () => {
    const e = await createEngine(name, { physSize: 16 << 20 });
    const host = new S390Tables(e, 1, 0x10_0000), gmap = new S390Tables(e, 0, 0x30_0000);
    const hostVa = 0x1_0010_3000n, guestVa = 0x0000_3000n;
    const hostPtep = host.map(hostVa, FRAME);
    const pt = hostPtep & ~0x7ff;
    // gmap segment entry = copy of the host segment entry (__gmap_link): shared last level.
    gmap.map(guestVa, FRAME);
    e.phys.write64(gmap.path.get(0)!, e.phys.read64(host.path.get(0)!, true), true);
    e.setS390({ asce: gmap.asce() });
    const r = e.translateS390(guestVa + 0x10n, Access.Write);
    expect([r.fault, r.pa]).toEqual([FaultKind.None, FRAME + 0x10]);
    expect(gmap.path.get("pt")! & ~0x7ff).not.toBe(pt);         // the builder's own table is unused …
    expect(e.getGuestStorageKey(hostPtep)).toBe(Skey.R | Skey.C); // … the host's PGSTE op sees the guest's store
    expect(e.pgsteUpdateAll(e.phys.read64(hostPtep, true), 0n)).toBe(GR | GC);
  });

  it("ptep_zap_key: guest ACC/F cleared, GR/GC set; a valid writable page gets the default key", async () => {
    const { e, ptep } = await setup(BigInt(FRAME) | PRESENT_RW, ACC(6) | FP | UC);
    e.sske(FRAME, 0x6e);
    e.ptepZapKey(ptep);
    expect(e.pgsteGet(ptep)).toBe(GR | GC | UC);
    expect(e.iske(FRAME)).toBe(0);
    e.sske(FRAME, 0x6e);
    e.phys.write64(ptep, (BigInt(FRAME) | PRESENT_RW) & ~0x020n, true);   // not writable: real key kept
    e.ptepZapKey(ptep);
    expect(e.iske(FRAME)).toBe(0x6e);
  });

  it("pgste_get / pgste_set work without the lock and never touch PCL", async () => {
    const { e, ptep } = await setup(0x400n, HC);
    expect(e.pgsteGet(ptep)).toBe(HC);
    e.pgsteSet(ptep, GR | PCL);
    expect(e.pgsteGet(ptep)).toBe(GR);
    e.pgsteGetLock(ptep);
    e.pgsteSet(ptep, GC);
    expect(e.pgsteGet(ptep)).toBe(GC | PCL);
    expect(() => e.pgsteGet(ptep + 2048)).toThrow(/not a PTE slot/);
  });

  it("storage-key instructions and PGSTE operations reject bad input and change nothing", async () => {
    const { e, ptep } = await setup(0x400n);
    expect(() => e.iske(16 << 20)).toThrow(BusError);
    expect(() => e.sske(16 << 20, 0x10)).toThrow(BusError);
    expect(() => e.rrbe(-1)).toThrow(RangeError);
    expect(() => e.sske(0, 0x100)).toThrow(/sske: key must be an integer in \[0, 255\], got 256/);
    expect(() => e.pgsteGetLock(TABLE + 2048)).toThrow(S390OpError);  // a PGSTE slot, not a PTE
    expect(() => e.pgsteGetLock(ptep + 4)).toThrow(/not a PTE slot/);
    expect(() => e.pgsteGetLock((16 << 20) - 1024)).toThrow(/outside guest memory/);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(0n);
    // A valid PTE whose frame is outside RAM: the operation reports it, the PGSTE is as before, unlocked.
    e.phys.write64(ptep, BigInt(64 << 20) | PRESENT_RW, true);
    e.phys.write64(pgsteOf(ptep), ACC(1) | GC, true);
    expect(() => e.setGuestStorageKey(ptep, 0x50)).toThrow(/outside guest memory/);
    expect(() => e.resetGuestReferenceBit(ptep)).toThrow(/outside guest memory/);
    expect(() => e.ptepZapKey(ptep)).toThrow(/outside guest memory/);
    expect(() => e.getGuestStorageKey(ptep)).toThrow(/outside guest memory/);
    expect(e.phys.read64(pgsteOf(ptep), true)).toBe(ACC(1) | GC);
  });

  it("SSKE with MR/MC keeps R/C; ISKE never shows bit 7; RRBE returns R·2 + C", async () => {
    const { e } = await setup(0n);
    e.sske(FRAME, 0xff);
    expect(e.iske(FRAME)).toBe(0xfe);
    e.sske(FRAME, 0x30, { mr: true, mc: true });
    expect(e.iske(FRAME)).toBe(0x36);
    e.sske(FRAME, 0x30, { mc: true });
    expect(e.iske(FRAME)).toBe(0x32);
    expect(e.rrbe(FRAME)).toBe(1);
  });
});
