/**
 * The pure-TypeScript engine: an independent implementation of the engine
 * contract over an ArrayBuffer laid out exactly like the wasm memory, so
 * that results and memory side effects compare byte for byte.
 */
import { X86Methods } from "../x86-methods.js";
import { readStats, resetStats, type TlbStats } from "../../tlb/stats.js";
import { Access, Arch, BatchOut, Ctl, FaultKind, Mem, Opt, Stat, TlbDeny, TlbEnt, Vector, X86Mode } from "../../abi.js";
import type { Layout } from "../../layout.js";
import { PhysMem } from "../../phys/phys-mem.js";
import { batchViews, checkInvpcid, checkRange } from "../batch.js";
import { badAccess, checkAccess, checkBool, checkInt, checkS64 } from "../../check.js";
import { TsS390Core } from "./s390/core.js";
import {
  type BatchViews, type Engine, type EngineOptions, newTranslation, type Translation,
} from "../engine.js";
import { readResult, badPaVa, translatePaVia, writeResult } from "../result.js";
import { setOk, X86Control, type X86Hardware } from "../x86-control.js";
import { createTsMemory } from "./memory.js";
import { TsTlb } from "./tlb.js";
import { X86Walker } from "./x86-walk.js";

const TWO32 = 4294967296;
const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const C_ARCH = c32(Ctl.ARCH), C_MODE = c32(Ctl.MODE), C_OPTIONS = c32(Ctl.OPTIONS), C_CR2 = c32(Ctl.CR2);

export class TsEngineBase extends X86Methods implements Engine {
  readonly name = "ts" as const;
  readonly layout: Layout;
  readonly buffer: ArrayBuffer;
  readonly phys: PhysMem;
  readonly batch: BatchViews;
  protected readonly x86ctl: X86Control;
  protected readonly walker: X86Walker;
  protected readonly tlb: TsTlb;
  protected readonly m32: Uint32Array;

  protected constructor(opts: EngineOptions) {
    super();
    if (opts.memory) throw new TypeError("the ts engine keeps its own memory; `memory` is a wasm-engine option");
    const { layout, buffer } = createTsMemory(opts);
    this.layout = layout;
    this.buffer = buffer;
    this.phys = new PhysMem(buffer, layout);
    this.batch = batchViews(buffer, layout);
    this.s390Init(new TsS390Core(buffer, layout, this.phys, this.batch));
    this.m32 = new Uint32Array(buffer);
    this.walker = new X86Walker(buffer, layout);
    this.tlb = new TsTlb(buffer, layout, this.walker);
    const hw: X86Hardware = {
      loadPdptes: (cr3, out) => {
        const w = this.walker;
        if (w.loadPdptes(Number(cr3 & 0xffff_ffffn)) === FaultKind.None) return setOk(out);
        writeResult(this.m32, w.fault, w.vector, w.error, w.fault === FaultKind.Bus ? w.pa : 0, 0, 0, 0, 0, 0);
        return readResult(this.m32, out);
      },
      flushTlb: (g) => this.tlb.flushAll(g),
      loadCr3: (pcid) => this.tlb.loadCr3(pcid),
    };
    this.x86ctl = new X86Control(buffer, hw, layout.maxPhyAddr);
  }

  // ── x86 context: X86Methods (x86-methods.ts) ──

  // ── translation ──

  /** One access with side effects (twin of the core's translateOne): TLB
   *  probe → walk → fill. (vaHi:vaLo) is made linear here. */
  private translateOne(vaLo: number, vaHi: number, access: Access): FaultKind {
    if (access > Access.Fetch || access < 0) access = Access.Read;
    const tlb = this.tlb, m32 = this.m32;
    if (m32[C_MODE]! < X86Mode.Ia32e4) vaHi = 0;
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

  /** The walk after a TLB miss (the core's translateMiss). */
  private translateMiss(vaLo: number, vaHi: number, access: Access, pcid: number): FaultKind {
    const w = this.walker, m32 = this.m32, tlb = this.tlb;
    let f: FaultKind;
    if (m32[C_OPTIONS]! & Opt.AdOnFaultNone) {
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

  /** Write the walker's outputs as the result record (as the core's writeResult). */
  private record(f: FaultKind, vaLo: number, vaHi: number, out: Translation): Translation {
    const w = this.walker, ok = f === FaultKind.None;
    const pf = f === FaultKind.X86 && w.vector === Vector.PF;
    const ia32e = this.m32[C_MODE]! >= X86Mode.Ia32e4;
    writeResult(this.m32, f, ok ? 0 : w.vector, ok ? 0 : w.error, ok || f === FaultKind.Bus ? w.pa : 0,
      pf ? vaLo : 0, pf && ia32e ? vaHi : 0, ok ? w.leaf : 0, ok ? w.shift : 0, ok ? w.ptePa : 0);
    return readResult(this.m32, out);
  }

  // The walker follows setArch (Ctl.ARCH): x86 here, s390 in S390Methods.
  translate(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[C_ARCH] === Arch.S390) return this.translateS390(va, access, out);
    const v = checkS64("translate", "va", va);
    checkAccess("translate", access);
    const lo = Number(v & 0xffff_ffffn), hi = Number(v >> 32n);
    return this.record(this.translateOne(lo, hi, access), lo, hi, out);
  }

  translatePa(va: number, access: Access): number {
    if (typeof va !== "number") throw badPaVa(va);
    const lo = va >>> 0, hiS = Math.floor(va / TWO32);
    if ((hiS | 0) * TWO32 + lo !== va) throw badPaVa(va);
    if (access !== Access.Read && access !== Access.Write && access !== Access.Fetch) throw badAccess("translatePa", access);
    if (this.m32[C_ARCH] === Arch.S390) return translatePaVia(this, va, access);
    const hi = hiS >>> 0;
    const f = this.translateOne(lo, hi, access);
    if (f === FaultKind.None) return this.walker.pa;
    this.record(f, lo, hi, this.scratch);
    return -1;
  }
  private readonly scratch = newTranslation();

  probe(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[C_ARCH] === Arch.S390) return this.probeS390(va, access, out);
    const v = checkS64("probe", "va", va);
    checkAccess("probe", access);
    const lo = Number(v & 0xffff_ffffn), hi = Number(v >> 32n);
    return this.record(this.walker.walk(lo, hi, access, false, false), lo, hi, out);   // no PSC (psc.ts)
  }

  translateBatch(n: number): number {
    if (this.m32[C_ARCH] === Arch.S390) return this.translateBatchS390(n);
    checkInt("translateBatch", "n", n, 0, this.layout.batchCap);
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
      const f = this.translateOne(vaLo, vaHi, k as Access);
      if (f === FaultKind.None) {
        out32[2 * i] = w.pa >>> 0;
        out32[2 * i + 1] = Math.floor(w.pa / TWO32);
      } else {
        faults++;
        out32[2 * i] = w.error >>> 0;
        out32[2 * i + 1] = ((1 << (BatchOut.FAULT_BIT - 32)) | (f << (BatchOut.KIND_SHIFT - 32))
          | ((w.vector & 0xffff) << (BatchOut.VECTOR_SHIFT - 32))) >>> 0;
      }
    }
    tlb.statAdd(TsTlb.statAccess(1, Access.Read, 0), hits - hitsW - hitsX);
    tlb.statAdd(TsTlb.statAccess(1, Access.Write, 0), hitsW);
    tlb.statAdd(TsTlb.statAccess(1, Access.Fetch, 0), hitsX);
    return faults;
  }

  translateRange(start: number, end: number): number {
    checkRange(start, end, this.layout.batchCap, this.m32[C_ARCH]!);
    const { va32, kind, out32 } = this.batch, w = this.walker;
    for (let i = start; i < end; i++) {
      const f = this.translateOne(va32[2 * i]!, va32[2 * i + 1]!, kind[i]! as Access);
      if (f !== FaultKind.None) {
        out32[2 * i] = w.error >>> 0;
        out32[2 * i + 1] = ((1 << (BatchOut.FAULT_BIT - 32)) | (f << (BatchOut.KIND_SHIFT - 32))
          | ((w.vector & 0xffff) << (BatchOut.VECTOR_SHIFT - 32))) >>> 0;
        return i;
      }
      out32[2 * i] = w.pa >>> 0;
      out32[2 * i + 1] = Math.floor(w.pa / 4294967296);
    }
    return end;
  }

  // ── TLB control ──
  invlpg(va: bigint): void {
    const v = checkS64("invlpg", "va", va);
    this.tlb.flushPage(Number(v & 0xffff_ffffn), Number(v >> 32n));
  }
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void {
    const v = checkInvpcid(type, pcid, va);
    this.tlb.flushPcid(type, pcid, Number(v & 0xffff_ffffn), Number(v >> 32n));
  }
  flushTlb(includeGlobal = true): void {
    this.tlb.flushAll(checkBool("flushTlb", "includeGlobal", includeGlobal));
    this.purgeTlb();
  }

  // ── statistics ──
  stats(): TlbStats { return readStats(this.buffer); }
  resetStats(): void { resetStats(this.buffer); }
}
