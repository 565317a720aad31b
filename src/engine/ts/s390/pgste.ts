/**
 * PGSTE operations, TypeScript twin of assembly/s390/pgste.ts (docs/SEMANTICS.md "s390 PGSTEs";
 * arch/s390/mm/pgtable.c). The PGSTE of the PTE at `ptep` is the big-endian
 * u64 at ptep + 2048. These run once per call (not per address), so 64-bit
 * values are BigInts here; the PCL bit is taken with Atomics.or like the core
 * takes it with atomic.or.
 */
import { LinuxPte, Pgste, S390Status, Skey } from "../../../abi.js";
import type { Layout } from "../../../layout.js";
import { PoolExhaustedError, type PhysMem } from "../../../phys/phys-mem.js";
import type { TsSkey } from "./skey.js";

const bit = (n: number): bigint => 1n << BigInt(n);
const PCL = bit(Pgste.PCL);
const ACC_FP = (0xfn << BigInt(Pgste.ACC)) | bit(Pgste.FP);
const GR = bit(Pgste.GR), GC = bit(Pgste.GC), HR = bit(Pgste.HR), UC = bit(Pgste.UC);
const NOTIFY = bit(Pgste.IN) | bit(Pgste.VSIE);
const PAGE_MASK = ~0xfffn & 0xffff_ffff_ffff_ffffn;
const M64 = 0xffff_ffff_ffff_ffffn;
/** PCL as it lies in little-endian linear memory when the PGSTE is big-endian. */
const PCL_LE = 1n << BigInt(8 * (7 - (Pgste.PCL >> 3)) + (Pgste.PCL & 7));
const swap = new DataView(new ArrayBuffer(8));
function bswap64(v: bigint): bigint { swap.setBigUint64(0, v, true); return swap.getBigUint64(0, false); }
/** Same bound as the core: a held PCL in an unshared memory is the caller's own. */
const SPIN_LIMIT = 1 << 10;

export class TsPgste {
  status: number = S390Status.Ok;
  notifyBits = 0n;
  private readonly dv: DataView;
  private readonly u64: BigUint64Array;

  constructor(buffer: ArrayBuffer, private readonly layout: Layout, private readonly phys: PhysMem,
    private readonly skey: TsSkey) {
    this.dv = new DataView(buffer);
    this.u64 = new BigUint64Array(buffer);
  }

  /** Linear offset of the PTE at `ptep`, or -1 with the status set. */
  private pteSlot(ptep: bigint): number {
    if (ptep >= BigInt(this.layout.physSize) || ptep + BigInt(Pgste.OFFSET) + 8n > BigInt(this.layout.physSize)) {
      this.status = S390Status.Addressing; return -1;
    }
    if ((ptep & 7n) !== 0n || (ptep & 0xfffn) >= BigInt(Pgste.OFFSET)) { this.status = S390Status.BadPtep; return -1; }
    let f: number;
    try { f = this.phys.frameOffset(Number(ptep), true); } catch (e) {
      if (e instanceof PoolExhaustedError) { this.status = S390Status.PoolExhausted; return -1; }
      throw e;
    }
    this.status = S390Status.Ok;
    return f + Number(ptep & 0xfffn);
  }

  private load(o: number): bigint { return this.dv.getBigUint64(o, false); }
  private store(o: number, v: bigint): void { this.dv.setBigUint64(o, v & M64, false); }

  pgsteGetLock(ptep: bigint): bigint {
    const a = this.pteSlot(ptep);
    if (a < 0) return 0n;
    const g = a + Pgste.OFFSET;
    for (let i = 0; i < SPIN_LIMIT; i++) {
      const old = bswap64(Atomics.or(this.u64, g / 8, PCL_LE));
      if ((old & PCL) === 0n) return old | PCL;
    }
    this.status = S390Status.LockHeld;
    return 0n;
  }

  pgsteSetUnlock(ptep: bigint, pgste: bigint): number {
    const a = this.pteSlot(ptep);
    if (a < 0) return this.status;
    const g = a + Pgste.OFFSET;
    if ((this.load(g) & PCL) === 0n) return (this.status = S390Status.NotLocked);
    this.store(g, pgste & ~PCL);
    return this.status;
  }

  pgsteUpdateAll(pte: bigint, pgste: bigint): bigint {
    this.status = S390Status.Ok;
    if (pte & BigInt(LinuxPte.INVALID)) return pgste & M64;
    const skey = BigInt(this.skey.iske(Number(pte & PAGE_MASK)));
    if (this.skey.status !== S390Status.Ok) { this.status = this.skey.status; return pgste & M64; }
    pgste |= (skey & BigInt(Skey.R | Skey.C)) << 48n;
    return ((pgste & ~ACC_FP) | ((skey & BigInt(Skey.ACC | Skey.F)) << 56n)) & M64;
  }

  pgsteSetKey(ptep: bigint, pgste: bigint, entry: bigint): number {
    const a = this.pteSlot(ptep);
    if (a < 0) return this.status;
    if (entry & BigInt(LinuxPte.INVALID)) return this.status;
    if ((this.load(a) & BigInt(LinuxPte.INVALID)) === 0n) return (this.status = S390Status.PteValid);
    const nkey = Number(((pgste & ACC_FP) >> 56n) | ((pgste & (GR | GC)) >> 48n));
    this.skey.sske(Number(entry & PAGE_MASK), nkey, 0);
    return (this.status = this.skey.status);
  }

  ptepTestAndClearUc(ptep: bigint, esop: boolean): number {
    this.notifyBits = 0n;
    let pgste = this.pgsteGetLock(ptep);
    if (this.status !== S390Status.Ok) return 0;
    const a = this.pteSlot(ptep);
    const dirty = (pgste & UC) !== 0n;
    pgste &= ~UC;
    let pte = this.load(a);
    if (dirty && (pte & BigInt(LinuxPte.PRESENT))) {
      this.notifyBits = pgste & NOTIFY;
      pgste &= ~NOTIFY;
      pte |= BigInt(esop || (pte & BigInt(LinuxPte.WRITE)) === 0n ? LinuxPte.PROTECT : LinuxPte.INVALID);
      this.store(a, pte);
    }
    this.pgsteSetUnlock(ptep, pgste);
    return dirty ? 1 : 0;
  }

  getGuestStorageKey(ptep: bigint): number {
    const pgste = this.pgsteGetLock(ptep);
    if (this.status !== S390Status.Ok) return 0;
    const a = this.pteSlot(ptep);
    let key = Number((pgste & ACC_FP) >> 56n);
    const pte = this.load(a);
    const valid = (pte & BigInt(LinuxPte.INVALID)) === 0n;
    if (valid) key = this.skey.iske(Number(pte & PAGE_MASK));
    const st = this.skey.status;
    key |= Number((pgste & (GR | GC)) >> 48n);
    this.pgsteSetUnlock(ptep, pgste);
    if (valid) this.status = st;
    return key;
  }

  setGuestStorageKey(ptep: bigint, key: number, _nq: boolean): number {
    const old = this.pgsteGetLock(ptep);
    if (this.status !== S390Status.Ok) return this.status;
    const a = this.pteSlot(ptep);
    const k = BigInt(key >>> 0);
    let nw = old & ~(GR | GC | ACC_FP);
    nw |= (k & BigInt(Skey.R | Skey.C)) << 48n;
    nw |= (k & BigInt(Skey.ACC | Skey.F)) << 56n;
    const pte = this.load(a);
    let st: number = S390Status.Ok;
    if ((pte & BigInt(LinuxPte.INVALID)) === 0n) {
      const paddr = Number(pte & PAGE_MASK);
      const skey = this.skey.iske(paddr);
      st = this.skey.status;
      if (st === S390Status.Ok) {
        st = this.skey.sske(paddr, key & (Skey.ACC | Skey.F), 0);
        nw |= BigInt(skey & (Skey.R | Skey.C)) << 52n;
      }
    }
    if ((nw ^ old) & (ACC_FP | GR | GC)) nw |= UC;
    this.pgsteSetUnlock(ptep, st === S390Status.Ok ? nw : old);   // bad frame: change nothing
    return (this.status = st);
  }

  resetGuestReferenceBit(ptep: bigint): number {
    const old = this.pgsteGetLock(ptep);
    if (this.status !== S390Status.Ok) return 0;
    const a = this.pteSlot(ptep);
    let nw = old & ~GR;
    let cc = 0;
    const pte = this.load(a);
    let st: number = S390Status.Ok;
    if ((pte & BigInt(LinuxPte.INVALID)) === 0n) {
      cc = this.skey.rrbe(Number(pte & PAGE_MASK));
      st = this.skey.status;
      nw |= (BigInt(cc) << 53n) & HR;
    }
    cc |= Number((old & (GR | GC)) >> 49n);
    if ((nw ^ old) & GR) nw |= UC;
    this.pgsteSetUnlock(ptep, st === S390Status.Ok ? nw : old);   // bad frame: change nothing
    this.status = st;
    return cc;
  }

  ptepZapKey(ptep: bigint): number {
    const old = this.pgsteGetLock(ptep);
    if (this.status !== S390Status.Ok) return this.status;
    const a = this.pteSlot(ptep);
    const pgste = (old & ~ACC_FP) | GR | GC;
    const pte = this.load(a);
    let st: number = S390Status.Ok;
    if ((pte & BigInt(LinuxPte.INVALID)) === 0n && (pte & BigInt(LinuxPte.WRITE)) !== 0n)
      st = this.skey.sske(Number(pte & PAGE_MASK), 0, 0);
    this.pgsteSetUnlock(ptep, st === S390Status.Ok ? pgste : old);
    return (this.status = st);
  }
}
