/**
 * Single and batch translation of the TS core: the twin of
 * assembly/translate.ts, the same functions in the same order — TLB probe →
 * walk → fill, the result record, the batch loop. Written for JavaScript:
 * 64-bit values are (lo, hi) u32 halves, no BigInt and no allocation on any
 * path, so the two cores can be compared for speed as well as for results.
 *
 * What the core does with wasm globals this class keeps in fields of the
 * walker (X86Walker: the walk outputs) and of the TLB (TsTlb).
 */
import { Access, Ctl, FaultKind, Mem, Opt, Stat, TlbDeny, TlbEnt, Vector, X86Mode } from "../../abi.js";
import type { BatchViews } from "../engine.js";
import { batchFaultHi } from "../batch.js";
import { writeResult } from "../result.js";
import { BATCH_REFUSED } from "../x86-core.js";
import { TsTlb } from "./tlb.js";
import type { X86Walker } from "./x86/walk.js";
import { SLOW, type TsWalkFast } from "./x86/walk-fast.js";
import { TWO32 } from "../../u64.js";

const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const C_MODE = c32(Ctl.MODE), C_OPTIONS = c32(Ctl.OPTIONS), C_CR2 = c32(Ctl.CR2);

export class TsTranslate {
  private readonly m32: Uint32Array;

  constructor(buffer: ArrayBuffer, private readonly walker: X86Walker, private readonly tlb: TsTlb,
    private readonly fastWalk: TsWalkFast, private readonly batch: BatchViews) {
    this.m32 = new Uint32Array(buffer);
  }

  /** The high word of the linear address: 0 outside IA-32e mode (linearOf). */
  linearHi(vaHi: number): number { return this.m32[C_MODE]! >= X86Mode.Ia32e4 ? vaHi : 0; }

  /**
   * One access with side effects (the core's translateOne). (vaHi:vaLo) is
   * made linear here. Unknown access kinds are reads (the engine refuses
   * them first).
   */
  translateOne(vaLo: number, vaHi: number, access: Access): FaultKind {
    this.prepared = false;         // the fast walk's context, derived on a miss only
    return this.translateElem(vaLo, vaHi, access);
  }

  /** fastWalk.prepare() has run for the current batch or single translation. */
  private prepared = false;

  /** translateOne in a prepared context (the core's translateElem): the
   *  inline probe of structure 0, the TLB lookup, else the walk. */
  private translateElem(vaLo: number, vaHi: number, access: Access): FaultKind {
    if (access > Access.Fetch || access < 0) access = Access.Read;
    const tlb = this.tlb, m32 = this.m32;
    vaHi = this.linearHi(vaHi);
    const pcid = tlb.currentPcid(), mask = tlb.accessMask(access);
    if (tlb.fast) {
      const e = tlb.fastEntries32 + (((((vaLo >>> 12) | (vaHi << 20)) ^ tlb.fastHash(pcid)) & tlb.fastSetMask) << 3);
      const dLo = m32[e + 2]!;
      if (m32[e] === (((vaLo & 0xfffff000) | pcid) >>> 0) && m32[e + 1] === vaHi && (dLo & mask) === 0) {
        this.walker.setHit(((vaLo ^ (dLo & ~TlbDeny.MASK)) >>> 0) + ((vaHi ^ m32[e + 3]!) >>> 0) * TWO32,
          m32[e + 6]! & TlbEnt.LEAF_BITS, 12, m32[e + 4]! + m32[e + 5]! * TWO32);
        tlb.statAdd(TsTlb.statAccess(1, access, 0), 1);
        return FaultKind.None;
      }
    }
    if (tlb.lookup(vaLo, vaHi, access, pcid, mask)) return FaultKind.None;
    return this.translateMiss(vaLo, vaHi, access, pcid);
  }

  /** The walk after a TLB miss, with its statistics, fill and fault handling. */
  private translateMiss(vaLo: number, vaHi: number, access: Access, pcid: number): FaultKind {
    const w = this.walker, m32 = this.m32, tlb = this.tlb;
    if (!this.prepared) { this.fastWalk.prepare(); this.prepared = true; }
    let f: number = this.fastWalk.walkFast(vaLo, vaHi, access);
    if (f !== SLOW) { /* the steady state: done */ }
    else if (m32[C_OPTIONS]! & Opt.AdOnFaultNone) {
      f = w.walk(vaLo, vaHi, access, false, true);
      if (f === FaultKind.None) f = w.walk(vaLo, vaHi, access, true, true);
    } else f = w.walk(vaLo, vaHi, access, true, true);
    tlb.statAdd(Stat.WALKS, 1);
    tlb.statAdd(Stat.WALK_REFS + (w.refs < 7 ? w.refs : 7) * 8, 1);
    tlb.psc.countWalk();
    if (f === FaultKind.None) tlb.fill(vaLo, vaHi, access, pcid);
    else if (f === FaultKind.X86) {
      if (w.vector === Vector.PF) {
        m32[C_CR2] = vaLo;
        m32[C_CR2 + 1] = vaHi;
        tlb.dropFaulting(vaLo, vaHi, pcid);
        tlb.statAdd(Stat.FAULT_PF, 1);
      } else tlb.statAdd(Stat.FAULT_GP, 1);
    } else if (f === FaultKind.Bus) tlb.statAdd(Stat.FAULT_BUS, 1);
    return f;
  }

  /** Copy the walk outputs into the result record of the control block.
   *  (addrHi:addrLo): the CR2 value of a #PF. */
  writeResult(f: FaultKind, addrLo: number, addrHi: number): void {
    const w = this.walker, ok = f === FaultKind.None;
    const pf = f === FaultKind.X86 && w.vector === Vector.PF;
    writeResult(this.m32, f, ok ? 0 : w.vector, ok ? 0 : w.error, ok || f === FaultKind.Bus ? w.pa : 0,
      pf ? addrLo : 0, pf ? addrHi : 0, ok ? w.leaf : 0, ok ? w.shift : 0, ok ? w.ptePa : 0);
  }

  /** The batch-out word of a fault (BatchOut in abi.ts), as two halves. */
  private storeFault(i: number, f: FaultKind): void {
    const w = this.walker, out32 = this.batch.out32;
    out32[2 * i] = w.error >>> 0;
    out32[2 * i + 1] = batchFaultHi(f, w.vector);
  }

  /**
   * Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the
   * fault count. Hits of structure 0 are served inline and counted once at
   * the end, as in the core's hit loops.
   */
  translateBatch(n: number): number {
    if (n > this.batch.capacity) return BATCH_REFUSED;
    this.prepared = false;
    const { va32, kind, out32 } = this.batch, w = this.walker, tlb = this.tlb, m32 = this.m32;
    const ia32e = m32[C_MODE]! >= X86Mode.Ia32e4;
    const pcid = tlb.currentPcid();
    const m0 = tlb.accessMask(Access.Read), m1 = tlb.accessMask(Access.Write), m2 = tlb.accessMask(Access.Fetch);
    const fast = tlb.fast, ents = tlb.fastEntries32, setMask = fast ? tlb.fastSetMask : 0, h = tlb.fastHash(pcid);
    let faults = 0, hits = 0, hitsW = 0, hitsX = 0;
    for (let i = 0; i < n; i++) {
      const vaLo = va32[2 * i]!, vaHi = ia32e ? va32[2 * i + 1]! : 0, k = kind[i]!;
      if (fast) {
        // The inline probe of structure 0 (TLB-ABI.md), on u32 halves.
        const e = ents + (((((vaLo >>> 12) | (vaHi << 20)) ^ h) & setMask) << 3);
        const dLo = m32[e + 2]!;
        const mask = k === Access.Write ? m1 : k === Access.Fetch ? m2 : m0;
        if (m32[e] === (((vaLo & 0xfffff000) | pcid) >>> 0) && m32[e + 1] === vaHi && (dLo & mask) === 0) {
          out32[2 * i] = (vaLo ^ (dLo & ~TlbDeny.MASK)) >>> 0;
          out32[2 * i + 1] = (vaHi ^ m32[e + 3]!) >>> 0;
          hits++;
          if (k === Access.Write) hitsW++;
          else if (k === Access.Fetch) hitsX++;
          continue;
        }
      }
      const f = this.translateElem(vaLo, vaHi, k as Access);
      if (f === FaultKind.None) {
        out32[2 * i] = w.pa >>> 0;
        out32[2 * i + 1] = Math.floor(w.pa / TWO32);
      } else {
        faults++;
        this.storeFault(i, f);
      }
    }
    tlb.statAdd(TsTlb.statAccess(1, Access.Read, 0), hits - hitsW - hitsX);
    tlb.statAdd(TsTlb.statAccess(1, Access.Write, 0), hitsW);
    tlb.statAdd(TsTlb.statAccess(1, Access.Fetch, 0), hitsX);
    return faults;
  }

  /** Translate batch entries [start, end) in order, stopping at the first
   *  fault: its index, or `end` (see the core's translateRange). */
  translateRange(start: number, end: number): number {
    if (start > end || end > this.batch.capacity) return BATCH_REFUSED;
    this.prepared = false;
    const { va32, kind, out32 } = this.batch, w = this.walker;
    for (let i = start; i < end; i++) {
      const f = this.translateElem(va32[2 * i]!, va32[2 * i + 1]!, kind[i]! as Access);
      if (f !== FaultKind.None) {
        this.storeFault(i, f);
        return i;
      }
      out32[2 * i] = w.pa >>> 0;
      out32[2 * i + 1] = Math.floor(w.pa / TWO32);
    }
    return end;
  }
}
