/**
 * Storage keys, TypeScript twin of assembly/s390/skey.ts: one byte per 4 KiB
 * frame in the SKEY region (dense: by pfn; sparse: by pool slot). An unbacked
 * sparse frame has key 0 and records nothing; SSKE backs it (see the core
 * file for the reasoning). PoP ch. 3 "Storage Keys"; docs/SEMANTICS.md.
 */
import { Backing, Mem, S390Status, Skey } from "../../../abi.js";
import type { Layout } from "../../../layout.js";
import { PoolExhaustedError, type PhysMem } from "../../../phys/phys-mem.js";
import type { TsS390Tlb } from "./tlb.js";

export class TsSkey {
  /** S390Status of the last operation. */
  status: number = S390Status.Ok;
  private readonly u8: Uint8Array;

  constructor(buffer: ArrayBuffer, private readonly layout: Layout, private readonly phys: PhysMem,
    private readonly tlb: TsS390Tlb) {
    this.u8 = new Uint8Array(buffer);
  }

  /** Offset of the key byte of the frame holding `pa` (< physSize); -1 if the
   *  sparse frame is unbacked (or, with alloc, the pool is exhausted). */
  keyOffset(pa: number, alloc: boolean): number {
    const l = this.layout;
    if (l.backing === Backing.Dense) return l.skeyBase + Math.floor(pa / Mem.PAGE_SIZE);
    let f: number;
    try { f = this.phys.frameOffset(pa, alloc); } catch (e) {
      if (e instanceof PoolExhaustedError) return -1;
      throw e;
    }
    return f < 0 ? -1 : l.skeyBase + (f - l.ramBase) / Mem.PAGE_SIZE;
  }

  private inRam(pa: number): boolean {
    if (pa < this.layout.physSize) return true;
    this.status = S390Status.Addressing;
    return false;
  }

  iske(pa: number): number {
    this.status = S390Status.Ok;
    if (!this.inRam(pa)) return 0;
    const k = this.keyOffset(pa, false);
    return k < 0 ? 0 : this.u8[k]! & Skey.MASK;
  }

  sske(pa: number, key: number, keepMask: number): number {
    this.status = S390Status.Ok;
    if (!this.inRam(pa)) return this.status;
    const k = this.keyOffset(pa, true);
    if (k < 0) return (this.status = S390Status.PoolExhausted);
    this.u8[k] = ((this.u8[k]! & keepMask) | (key & ~keepMask)) & Skey.MASK;
    this.tlb.purgeAll();        // TLB entries carry key-derived permissions and R/C state
    return this.status;
  }

  rrbe(pa: number): number {
    this.status = S390Status.Ok;
    if (!this.inRam(pa)) return 0;
    const k = this.keyOffset(pa, false);
    if (k < 0) return 0;
    const old = this.u8[k]!;
    this.u8[k] = old & ~Skey.R;
    this.tlb.purgeAll();        // so the next access through a cached translation sets R again
    return (old & Skey.R ? 2 : 0) | (old & Skey.C ? 1 : 0);
  }
}
