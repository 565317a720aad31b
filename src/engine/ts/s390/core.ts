/**
 * The TS engine's s390 "core": the same raw operations as the wasm exports
 * (src/engine/s390.ts S390Core), over the TS engine's ArrayBuffer.
 */
import type { Layout } from "../../../layout.js";
import type { PhysMem } from "../../../phys/phys-mem.js";
import type { BatchViews } from "../../engine.js";
import type { S390Core } from "../../s390.js";
import { TsDat } from "./dat.js";
import { TsPgste } from "./pgste.js";
import { TsSkey } from "./skey.js";
import { TsS390Tlb } from "./tlb.js";

const TWO32 = 4294967296n;

export class TsS390Core implements S390Core {
  private readonly dat: TsDat;
  private readonly skey: TsSkey;
  private readonly pgste: TsPgste;
  private readonly tlb: TsS390Tlb;

  constructor(buffer: ArrayBuffer, layout: Layout, phys: PhysMem, private readonly batch: BatchViews) {
    this.tlb = new TsS390Tlb(buffer);
    this.dat = new TsDat(buffer, layout, phys, this.tlb);
    this.skey = new TsSkey(buffer, layout, phys, this.tlb);
    this.pgste = new TsPgste(buffer, layout, phys, this.skey);
  }

  s390Translate(va: bigint, access: number, sideEffects: number): number {
    return this.dat.translateOne(Number(va / TWO32), Number(va % TWO32), access, sideEffects !== 0);
  }
  s390TranslateBatch(n: number): number {
    return this.dat.translateBatch(n, this.batch.va32, this.batch.kind, this.batch.out32);
  }
  iske(pa: bigint): number { return this.skey.iske(Number(pa)); }
  sske(pa: bigint, key: number, keepMask: number): number { return this.skey.sske(Number(pa), key, keepMask); }
  rrbe(pa: bigint): number { return this.skey.rrbe(Number(pa)); }
  pgsteGetLock(ptep: bigint): bigint { return this.pgste.pgsteGetLock(ptep); }
  pgsteSetUnlock(ptep: bigint, v: bigint): number { return this.pgste.pgsteSetUnlock(ptep, v); }
  pgsteUpdateAll(pte: bigint, v: bigint): bigint { return this.pgste.pgsteUpdateAll(pte, v); }
  pgsteSetKey(ptep: bigint, v: bigint, entry: bigint): number { return this.pgste.pgsteSetKey(ptep, v, entry); }
  ptepTestAndClearUc(ptep: bigint, esop: number): number { return this.pgste.ptepTestAndClearUc(ptep, esop !== 0); }
  getGuestStorageKey(ptep: bigint): number { return this.pgste.getGuestStorageKey(ptep); }
  setGuestStorageKey(ptep: bigint, key: number, nq: number): number { return this.pgste.setGuestStorageKey(ptep, key, nq !== 0); }
  resetGuestReferenceBit(ptep: bigint): number { return this.pgste.resetGuestReferenceBit(ptep); }
  ptepZapKey(ptep: bigint): number { return this.pgste.ptepZapKey(ptep); }
  s390SkeyStatus(): number { return this.skey.status; }
  s390PgsteStatus(): number { return this.pgste.status; }
  s390NotifyBits(): bigint { return this.pgste.notifyBits; }
  s390TlbPurgeAll(): void { this.tlb.purgeAll(); }
  s390TlbPurgePage(va: bigint): void { this.tlb.purgePage(Number(va / TWO32), Number(va % TWO32)); }
}
