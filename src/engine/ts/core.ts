/**
 * The TS core: the twin of assembly/index.ts for x86 — the X86Core operations
 * over an ArrayBuffer laid out exactly like the wasm memory. Each operation
 * delegates to the twin of the core file that implements it:
 *
 *   assembly/translate.ts    ts/translate.ts   single and batch translation
 *   assembly/x86/walk.ts     ts/x86/walk.ts    the page walker
 *   assembly/x86/walk-fast.ts ts/x86/walk-fast.ts the steady-state walk
 *   assembly/x86/access.ts   ts/x86/access.ts  the access rules
 *   assembly/tlb.ts          ts/tlb.ts         TLB, statistics, invalidation
 *   assembly/psc.ts          ts/psc.ts         paging-structure caches
 *
 * (s390 has its own twin, ts/s390/core.ts.)
 */
import { FaultKind } from "../../abi.js";
import type { Layout } from "../../layout.js";
import type { BatchViews } from "../engine.js";
import type { X86Core } from "../x86-core.js";
import { TsTlb } from "./tlb.js";
import { TsTranslate } from "./translate.js";
import { X86Walker } from "./x86/walk.js";
import { TsWalkFast } from "./x86/walk-fast.js";
import { TWO32 } from "../../u64.js";

const lo32 = (v: bigint): number => Number(v & 0xffff_ffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffff_ffffn);

export class TsX86Core implements X86Core {
  private readonly walker: X86Walker;
  private readonly tlb: TsTlb;
  private readonly tr: TsTranslate;

  constructor(buffer: ArrayBuffer, layout: Layout, batch: BatchViews) {
    this.walker = new X86Walker(buffer, layout);
    this.tlb = new TsTlb(buffer, layout, this.walker);
    this.tr = new TsTranslate(buffer, this.walker, this.tlb, new TsWalkFast(buffer, layout, this.walker, this.tlb), batch);
  }

  translate(va: bigint, access: number): number {
    const lo = lo32(va), hi = hi32(va);
    const f = this.tr.translateOne(lo, hi, access);
    this.tr.writeResult(f, lo, this.tr.linearHi(hi));
    return f;
  }

  translatePa(va: number, access: number): number {
    const lo = va >>> 0, hi = Math.floor(va / TWO32) >>> 0;
    const f = this.tr.translateOne(lo, hi, access);
    if (f === FaultKind.None) return this.walker.pa;
    this.tr.writeResult(f, lo, this.tr.linearHi(hi));
    return -1;
  }

  probe(va: bigint, access: number): number {
    const lo = lo32(va), hi = hi32(va);
    const f = this.walker.walk(lo, hi, access, false, false);   // probe: no PSC (psc.ts)
    this.tr.writeResult(f, lo, this.tr.linearHi(hi));
    return f;
  }

  translateBatch(n: number): number { return this.tr.translateBatch(n); }
  translateRange(start: number, end: number): number { return this.tr.translateRange(start, end); }

  tlbFlushAll(includeGlobal: number): void { this.tlb.flushAll(includeGlobal !== 0); }
  tlbFlushPage(va: bigint): void { this.tlb.flushPage(lo32(va), hi32(va)); }
  tlbFlushPcid(type: number, pcid: number, va: bigint): void { this.tlb.flushPcid(type, pcid, lo32(va), hi32(va)); }
  tlbLoadCr3(pcid: number): void { this.tlb.loadCr3(pcid); }

  x86LoadPdptes(cr3: bigint): number {
    const f = this.walker.loadPdptes(lo32(cr3));
    if (f !== FaultKind.None) this.tr.writeResult(f, 0, 0);
    return f;
  }
}
