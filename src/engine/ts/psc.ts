/**
 * The TS engine's paging-structure caches: the twin of assembly/psc.ts over
 * the same bytes (PSC descriptors at TlbHdr.PSC, entries in TlbEnt slots, the
 * TLB's replacement), so that both engines hit, fill and evict identically.
 * Semantics, sources (Intel SDM Vol. 3A §4.10.3) and decisions: see the core
 * file and docs/TLB-ABI.md. Invalidation lives in tlb.ts, as in the core.
 *
 * Hot-path rules as in the walker: (lo, hi) u32 halves, no BigInt, no allocation.
 */
import { PscData, Stat, TlbEnt, TlbHdr } from "../../abi.js";
import type { TsTlb } from "./tlb.js";
import { TWO32 } from "../../u64.js";

const UNUSED = -1, NO_HIT = 4;

export class TsPsc {
  /** A hit's next paging structure and folded permissions (for the walker). */
  table = 0;
  acc = 0;
  xd = false;
  /** The last walk's probe: first cache probed << 8 | cache that hit (or NO_HIT); UNUSED if none. */
  private last = UNUSED;

  constructor(private readonly m32: Uint32Array, private readonly t32: number, private readonly tlb: TsTlb) {}

  /** PSC structures (0: none configured). */
  get count(): number { return this.m32[this.t32 + (TlbHdr.PSC_COUNT >>> 2)]!; }

  private at(i: number): number { return this.t32 + ((TlbHdr.PSC + i * TlbHdr.STRUCT_SIZE) >>> 2); }

  /** u32 index of cache `i`'s valid entry for (vaHi:vaLo) under `pcid`, or -1.
   *  The VA is reduced to the tag first: the TLB helpers compare the whole
   *  high word, and the PML4E/PML5E tags start inside it. */
  find(i: number, vaLo: number, vaHi: number, pcid: number): number {
    const sd = this.at(i), sh = 48 - 9 * i, tlb = this.tlb;
    const tagLo = sh >= 32 ? 0 : (vaLo & ~((1 << sh) - 1)) >>> 0;
    const tagHi = sh >= 32 ? (vaHi & ~((1 << (sh - 32)) - 1)) >>> 0 : vaHi;
    return tlb.findIn(sd, tlb.setBase(sd, tagLo, tagHi, sh, tlb.pcidHash(sd, pcid)), tagLo, tagHi, sh, pcid);
  }

  reset(): void { this.last = UNUSED; }

  /** The core's pscLookup: the index shift to continue at (12/21/30/39) with
   *  table/acc/xd set, or 0 when every cache probed misses. */
  lookup(vaLo: number, vaHi: number, pcid: number, top: number, touch: boolean): number {
    const m32 = this.m32, first = (48 - top) / 9;
    for (let i = 3; i >= first; i--) {
      const e = this.find(i, vaLo, vaHi, pcid);
      if (e < 0) continue;
      if (touch) this.tlb.hitTouch(this.at(i), e);
      const dLo = m32[e + (TlbEnt.DATA >>> 2)]!, dHi = m32[e + (TlbEnt.DATA >>> 2) + 1]!;
      this.table = ((dLo & 0xfffff000) >>> 0) + (dHi & 0xfffff) * TWO32;
      this.acc = dLo & (PscData.RW | PscData.US);
      this.xd = (dLo & PscData.XD) !== 0;
      this.last = (first << 8) | i;
      return 48 - 9 * i - 9;
    }
    this.last = (first << 8) | NO_HIT;
    return 0;
  }

  /** The core's pscFill: cache the non-leaf entry at `epa` read at index shift `sh`. */
  fill(vaLo: number, vaHi: number, pcid: number, sh: number, next: number, acc: number, xd: boolean, epa: number): void {
    const i = (48 - sh) / 9;
    const tagLo = sh >= 32 ? 0 : (vaLo & ~((1 << sh) - 1)) >>> 0;
    const tagHi = sh >= 32 ? (vaHi & ~((1 << (sh - 32)) - 1)) >>> 0 : vaHi;
    const dLo = ((next & 0xfffff000) | (acc & (PscData.RW | PscData.US)) | (xd ? PscData.XD : 0)) >>> 0;
    const dHi = Math.floor(next / TWO32) >>> 0;
    this.tlb.insert(this.at(i), sh, tagLo, tagHi, (tagLo | pcid) >>> 0, dLo, dHi, epa, sh << TlbEnt.SHIFT_SHIFT, false);
  }

  /** The core's pscCountWalk: a hit for the cache that hit, a miss for each probed before it. */
  countWalk(): void {
    const last = this.last;
    if (last === UNUSED) return;
    this.last = UNUSED;
    const first = last >> 8, hit = last & 0xff;
    for (let i = 3; i >= first; i--) {
      if (i === hit) { this.tlb.statAdd(Stat.PSC_HIT + i * 8, 1); return; }
      this.tlb.statAdd(Stat.PSC_MISS + i * 8, 1);
    }
  }
}
