/**
 * s390 dynamic address translation, TypeScript twin of assembly/s390/dat.ts
 * (z/Architecture Principles of Operation, ch. 3 "Dynamic Address
 * Translation"; order of checks as QEMU target/s390x/mmu_helper.c, which the
 * conformance vectors were recorded from).
 *
 * Same algorithm, written independently for JS: 64-bit quantities are (hi, lo)
 * pairs of u32 numbers — no BigInt and no allocation in the walk. Results and
 * memory side effects (storage keys, sparse frame backing, the RES_* block of
 * the control block) are byte-identical to the core's.
 */
import { Access, Backing, Ctl, Dat, FaultKind, Mem, Pgm, S390Cr0, S390Opt, S390Tlb, Skey, Stat, Teid } from "../../../abi.js";
import type { Layout } from "../../../layout.js";
import { PoolExhaustedError, type PhysMem } from "../../../phys/phys-mem.js";
import type { TsS390Tlb } from "./tlb.js";
import { TWO32 } from "../../../u64.js";
import { batchFaultHi } from "../../batch.js";


export class TsDat {
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  private readonly ctl: DataView;
  private readonly physSize: number;
  private readonly m32: Uint32Array;
  /** Table entries read by the current walk (Stat.WALK_REFS histogram). */
  private refs = 0;

  // context (datLoadContext)
  private cr0 = 0;
  private asceHi = 0;
  private asceLo = 0;
  private opts = 0;
  private datOn = false;
  private accessKey = 0;
  private ascTeid = 0;
  private amode = 64;
  private prefix = 0;

  // walk results
  private prot = false;
  private noExec = false;
  /** Real address (walk) and then absolute address (translate), as hi/lo. */
  private rHi = 0;
  private rLo = 0;
  /** Fault details: FaultKind, program code, TEID low bits, failing PA. */
  kind = 0;
  code = 0;
  teid = 0;
  failHi = 0;
  failLo = 0;

  constructor(buffer: ArrayBuffer, private readonly layout: Layout, private readonly phys: PhysMem,
    private readonly tlb: TsS390Tlb) {
    this.dv = new DataView(buffer);
    this.u8 = new Uint8Array(buffer);
    this.ctl = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
    this.physSize = layout.physSize;
    this.m32 = new Uint32Array(buffer);
  }

  loadContext(): void {
    const c = this.ctl;
    this.cr0 = c.getUint32(Ctl.S390_CR0, true);
    const asc = c.getUint32(Ctl.S390_ASC, true);
    const off = asc === 2 ? Ctl.S390_SASCE : asc === 3 ? Ctl.S390_HASCE : Ctl.S390_ASCE;
    this.asceLo = c.getUint32(off, true);
    this.asceHi = c.getUint32(off + 4, true);
    this.ascTeid = asc;
    this.opts = c.getUint32(Ctl.S390_OPTIONS, true);
    this.datOn = c.getUint32(Ctl.S390_DAT, true) !== 0;
    this.accessKey = c.getUint32(Ctl.S390_PSW_KEY, true);
    const amode = c.getUint32(Ctl.S390_AMODE, true);       // ESA/390 has 24- and 31-bit addressing only
    this.amode = amode === 64 && (this.opts & S390Opt.Esa390) === 0 ? 64 : amode === 24 ? 24 : 31;
    this.prefix = c.getUint32(Ctl.S390_PREFIX, true) + c.getUint32(Ctl.S390_PREFIX + 4, true) * TWO32;
    this.tlb.load();
  }

  // ── faults ──
  private pgm(code: number, teid: number): false {
    this.kind = FaultKind.S390; this.code = code; this.teid = teid;
    return false;
  }
  private addressing(hi: number, lo: number): false {
    this.failHi = hi; this.failLo = lo;
    return this.pgm(Pgm.Addressing, 0);
  }

  /** Linear offset of the 4- or 8-byte entry at (hi, lo): -1 beyond RAM,
   *  -2 for an unbacked sparse frame (reads as zero). */
  private entryOffset(hi: number, lo: number): number {
    const pa = hi * TWO32 + lo;
    if (!(pa < this.physSize)) return -1;
    if (this.layout.backing === Backing.Dense) return this.layout.ramBase + pa;
    const f = this.phys.frameOffset(pa, false);
    return f < 0 ? -2 : f + (lo & 0xfff);
  }

  /** Read the 8-byte big-endian entry at (hi, lo) into eHi/eLo; false beyond RAM. */
  private eHi = 0;
  private eLo = 0;
  /** Add to a u64 counter of the STATS region (same bytes as the core's statAdd). */
  private statAdd(off: number, n: number): void {
    const i = (Mem.STATS_BASE + off) >>> 2, m = this.m32;
    const lo = m[i]! + n;
    m[i] = lo >>> 0;
    if (lo >= TWO32) m[i + 1] = (m[i + 1]! + Math.floor(lo / TWO32)) >>> 0;
  }
  private static statAccess(access: number, miss: number): number { return Stat.ACCESS + access * Stat.KIND_STRIDE + miss * Stat.COUNTER; }

  private read64(hi: number, lo: number): boolean {
    this.refs++;
    const o = this.entryOffset(hi, lo);
    if (o === -1) return false;
    if (o === -2) { this.eHi = 0; this.eLo = 0; return true; }
    this.eHi = this.dv.getUint32(o, false);
    this.eLo = this.dv.getUint32(o + 4, false);
    return true;
  }
  private read32(pa: number): boolean {
    this.refs++;
    const o = this.entryOffset(0, pa);
    if (o === -1) return false;
    this.eLo = o === -2 ? 0 : this.dv.getUint32(o, false);
    return true;
  }

  /** z/Architecture walk of (vh, vl); the real address lands in rHi/rLo. */
  private walk64(vh: number, vl: number, teid: number): boolean {
    const ah = this.asceHi, al = this.asceLo;
    if (al & Dat.ASCE_REAL) { this.rHi = vh; this.rLo = vl; return true; }
    const dt = (al >>> Dat.ASCE_DT_SHIFT) & 3;
    // Bits left of the top table's index must be zero (ASCE-type exception).
    if (dt < 3) {
      const s = 31 + 11 * dt;
      const rest = s < 32 ? (vh | (vl >>> s)) : vh >>> (s - 32);
      if (rest !== 0) return this.pgm(Pgm.AsceType, teid);
    }
    const edat1 = (this.opts & S390Opt.Edat1) !== 0 && (this.cr0 & S390Cr0.Edat) !== 0;
    const edat2 = edat1 && (this.opts & S390Opt.Edat2) !== 0;
    const iep = (this.cr0 & S390Cr0.Iep) !== 0;
    const priv = (al & Dat.ASCE_PRIVATE) !== 0;
    let oHi = ah, oLo = (al & ~0xfff) >>> 0;
    let tf = 0, tl = al & Dat.ASCE_TL;
    for (let lvl = dt; ; lvl--) {
      const s = 20 + 11 * lvl;
      const idx = (s < 32 ? (vl >>> s) | (vh << (32 - s)) : vh >>> (s - 32)) & 0x7ff;
      const hi = idx >>> 9;
      if (hi < tf || hi > tl) return this.pgm(levelException(lvl), teid);
      // Entry address = origin + idx·8. A table running past 2^64 does not
      // wrap (PoP leaves it unpredictable; QEMU does not wrap): addressing.
      let eaLo = oLo + idx * 8, eaHi = oHi, wrapped = false;
      if (eaLo >= TWO32) {
        eaLo -= TWO32; eaHi = oHi + 1;
        if (eaHi >= TWO32) { eaHi = 0; wrapped = true; }
      }
      if (wrapped || !this.read64(eaHi, eaLo)) return this.addressing(eaHi, eaLo);
      const e = this.eLo, eh = this.eHi;
      if (e & Dat.CRST_I) return this.pgm(levelException(lvl), teid);
      if (((e >>> Dat.CRST_TT_SHIFT) & 3) !== lvl) return this.pgm(Pgm.TranslationSpec, teid);
      if (lvl === 0) {
        // Segment-table entry. A common segment in a private space is invalid.
        if ((e & Dat.CRST_CS) && priv) return this.pgm(Pgm.TranslationSpec, teid);
        if (e & Dat.CRST_P) this.prot = true;
        if (edat1 && (e & Dat.CRST_FC)) {                     // EDAT-1: 1 MiB frame
          if (iep && (e & Dat.CRST_IEP)) this.noExec = true;
          this.rHi = eh; this.rLo = ((e & 0xfff00000) | (vl & 0xfffff)) >>> 0;
          return true;
        }
        oHi = eh; oLo = (e & ~0x7ff) >>> 0;                    // 2 KiB-aligned page table
        break;
      }
      // Region entry: P counts only with EDAT-1.
      if (edat1 && (e & Dat.CRST_P)) this.prot = true;
      if (lvl === 1 && edat2 && (e & Dat.CRST_FC)) {          // EDAT-2: 2 GiB frame
        if ((e & Dat.CRST_CS) && priv) return this.pgm(Pgm.TranslationSpec, teid);
        if (iep && (e & Dat.CRST_IEP)) this.noExec = true;
        this.rHi = eh; this.rLo = ((e & 0x80000000) | (vl & 0x7fffffff)) >>> 0;
        return true;
      }
      tf = (e >>> Dat.CRST_TF_SHIFT) & 3;
      tl = e & Dat.CRST_TL;
      oHi = eh; oLo = (e & ~0xfff) >>> 0;
    }
    // Page table: 256 entries, no length check; oLo has 11 zero bits, no carry.
    const eaLo = oLo + ((vl >>> 9) & 0x7f8);
    if (!this.read64(oHi, eaLo)) return this.addressing(oHi, eaLo);
    const p = this.eLo;
    if (p & Dat.PTE_I) return this.pgm(Pgm.PageTranslation, teid);
    if (p & Dat.PTE_BIT52) return this.pgm(Pgm.TranslationSpec, teid);
    if (p & Dat.PTE_P) this.prot = true;
    if (iep && (p & Dat.PTE_IEP)) this.noExec = true;
    this.rHi = this.eHi; this.rLo = ((p & 0xfffff000) | (vl & 0xfff)) >>> 0;
    return true;
  }

  /** ESA/390 walk (31-bit STD, 4-byte entries, 1 KiB page tables). */
  private walk31(vl: number, teid: number): boolean {
    const std = this.asceLo;
    const sx = (vl >>> 20) & 0x7ff;
    if ((sx >>> 4) > (std & Dat.STD_STL)) return this.pgm(Pgm.SegmentTranslation, teid);
    const sea = (std & 0x7ffff000) + sx * 4;
    if (!this.read32(sea)) return this.addressing(0, sea);
    const ste = this.eLo;
    if (ste & Dat.CRST_I) return this.pgm(Pgm.SegmentTranslation, teid);
    if (ste & 0x80000000) return this.pgm(Pgm.TranslationSpec, teid);
    if ((ste & Dat.CRST_CS) && (std & Dat.STD_PRIVATE)) return this.pgm(Pgm.TranslationSpec, teid);
    const px = (vl >>> 12) & 0xff;
    if ((px >>> 4) > (ste & Dat.STE31_PTL)) return this.pgm(Pgm.PageTranslation, teid);
    const pea = (ste & 0x7fffffc0) + px * 4;
    if (!this.read32(pea)) return this.addressing(0, pea);
    const pte = this.eLo;
    if (pte & Dat.PTE_I) return this.pgm(Pgm.PageTranslation, teid);
    if (pte & (0x80000000 | Dat.PTE_BIT52 | Dat.PTE_IEP)) return this.pgm(Pgm.TranslationSpec, teid);
    if (pte & Dat.PTE_P) this.prot = true;
    this.rHi = 0; this.rLo = ((pte & 0x7ffff000) | (vl & 0xfff)) >>> 0;
    return true;
  }

  /** Key-controlled protection (PoP ch. 3): does `key` let the access through? */
  private keyAllows(key: number, acc: number, vh: number, vl: number): boolean {
    if (this.accessKey === 0) return true;
    const accBits = key >>> Skey.ACC_SHIFT;
    if (accBits === this.accessKey) return true;
    if ((this.cr0 & S390Cr0.StorageProtOverride) && accBits === 9) return true;
    if (acc === Access.Write) return false;
    if ((key & Skey.F) === 0) return true;
    return (this.cr0 & S390Cr0.FetchProtOverride) !== 0 && vh === 0 && vl < 2048 &&
      (!this.datOn || (this.asceLo & Dat.ASCE_PRIVATE) === 0);
  }

  /** Key-controlled protection for every address of a frame (no fetch-protection
   *  override, which depends on the address): what a TLB entry may promise. */
  private keyAllowsPage(key: number, acc: number): boolean {
    if (this.accessKey === 0 || (this.opts & S390Opt.KeyProtection) === 0) return true;
    const accBits = key >>> Skey.ACC_SHIFT;
    if (accBits === this.accessKey || ((this.cr0 & S390Cr0.StorageProtOverride) && accBits === 9)) return true;
    return acc !== Access.Write && (key & Skey.F) === 0;
  }

  private tlbPerms(key: number): number {
    let p = 0;
    if (this.keyAllowsPage(key, Access.Read)) p |= S390Tlb.READ_OK;
    if (!this.noExec && this.keyAllowsPage(key, Access.Fetch)) p |= S390Tlb.EXEC_OK;
    if (!this.prot && (key & Skey.C) !== 0 && this.keyAllowsPage(key, Access.Write)) p |= S390Tlb.WRITE_OK;
    return p;
  }

  /** Offset of the key byte of absolute address `pa`; -1 if none (unbacked
   *  sparse frame), -2 if the pool is exhausted while backing it. */
  private keyOffset(pa: number, alloc: boolean): number {
    const l = this.layout;
    if (l.backing === Backing.Dense) return l.skeyBase + Math.floor(pa / Mem.PAGE_SIZE);
    let f: number;
    try { f = this.phys.frameOffset(pa, alloc); } catch (e) {
      if (e instanceof PoolExhaustedError) return -2;
      throw e;
    }
    return f < 0 ? -1 : l.skeyBase + (f - l.ramBase) / Mem.PAGE_SIZE;
  }

  /**
   * Translate one access of (vh, vl). True: the absolute address is in
   * resultHi/resultLo. False: kind/code/teid (and failHi/failLo) say why.
   */
  translate(vh: number, vl: number, acc: number, sideEffects: boolean): boolean {
    if (this.translateCounted(vh, vl, acc, sideEffects)) return true;
    if (sideEffects) this.statAdd(this.kind === FaultKind.Bus ? Stat.FAULT_BUS : Stat.FAULT_S390, 1);
    return false;
  }

  private translateCounted(vh: number, vl: number, acc: number, sideEffects: boolean): boolean {
    if (this.amode !== 64) { vh = 0; vl = this.amode === 31 ? (vl & 0x7fffffff) : (vl & 0xffffff); }
    if (acc > Access.Fetch) acc = Access.Read;               // unknown kinds are treated as reads
    const teid = this.ascTeid | (acc === Access.Write ? Teid.Store : Teid.Fetch);
    const lap = (this.cr0 & S390Cr0.LowAddressProtection) !== 0 &&
      (!this.datOn || (this.asceLo & Dat.ASCE_PRIVATE) === 0);
    if (acc === Access.Write && lap && vh === 0 && (vl <= 511 || (vl >= 4096 && vl <= 4607)))
      return this.pgm(Pgm.Protection, teid | Teid.Lap);
    const cached = this.datOn && sideEffects && this.tlb.enabled;
    if (cached) {
      if (this.tlb.lookup(vh, vl, this.asceHi, this.asceLo, acc)) {
        this.statAdd(TsDat.statAccess(acc, 0), 1);
        this.rHi = this.tlb.hitHi; this.rLo = this.tlb.hitLo;
        return true;
      }
      this.statAdd(TsDat.statAccess(acc, 1), 1);
    }
    this.prot = false;
    this.noExec = false;
    if (this.datOn) {
      this.refs = 0;
      const ok = this.opts & S390Opt.Esa390 ? this.walk31(vl, teid) : this.walk64(vh, vl, teid);
      if (sideEffects) {
        this.statAdd(Stat.WALKS, 1);
        this.statAdd(Stat.WALK_REFS + (this.refs < 7 ? this.refs : 7) * 8, 1);
      }
      if (!ok) return false;
      if (acc === Access.Write && this.prot) return this.pgm(Pgm.Protection, teid | Teid.Dat);
      if (acc === Access.Fetch && this.noExec) return this.pgm(Pgm.Protection, teid | Teid.Iep);
    } else {
      this.rHi = vh; this.rLo = vl;
    }
    // Prefixing (real 0-8191 ↔ the prefix area).
    let aHi = this.rHi, aLo = this.rLo;
    const ra = aHi * TWO32 + aLo, p = this.prefix;
    if (aHi === 0 && aLo < 0x2000) { const a = aLo + p; aHi = Math.floor(a / TWO32); aLo = a >>> 0; }
    else if (ra >= p && ra < p + 0x2000) { const a = ra - p; aHi = Math.floor(a / TWO32); aLo = a >>> 0; }
    const aa = aHi * TWO32 + aLo;
    if (!(aa < this.physSize)) return this.addressing(aHi, aLo);
    const store = acc === Access.Write;
    const k = this.keyOffset(aa, sideEffects && store);
    if (k === -2) { this.kind = FaultKind.Bus; this.code = 0; this.teid = 0; this.failHi = aHi; this.failLo = aLo; return false; }
    const key = k < 0 ? 0 : this.u8[k]!;
    if ((this.opts & S390Opt.KeyProtection) && !this.keyAllows(key, acc, vh, vl)) return this.pgm(Pgm.Protection, teid);
    if (sideEffects && k >= 0) {
      const nk = key | Skey.R | (store ? Skey.C : 0);
      if (nk !== key) this.u8[k] = nk;
      if (cached) this.tlb.fill(vh, vl, this.asceHi, this.asceLo, aHi, aLo, this.tlbPerms(nk));
    }
    this.rHi = aHi; this.rLo = aLo;
    return true;
  }

  get resultHi(): number { return this.rHi; }
  get resultLo(): number { return this.rLo; }

  /** datTranslateOne: one translation, result in the control block; returns the FaultKind. */
  translateOne(vh: number, vl: number, acc: number, sideEffects: boolean): number {
    this.loadContext();
    const c = this.ctl;
    if (this.translate(vh, vl, acc, sideEffects)) {
      c.setUint32(Ctl.RES_FAULT, FaultKind.None, true);
      c.setUint32(Ctl.RES_VECTOR, 0, true);
      c.setUint32(Ctl.RES_ERROR, 0, true);
      c.setUint32(Ctl.RES_PA, this.rLo, true); c.setUint32(Ctl.RES_PA + 4, this.rHi, true);
      c.setUint32(Ctl.RES_ADDR, 0, true); c.setUint32(Ctl.RES_ADDR + 4, 0, true);
      return FaultKind.None;
    }
    const noTeid = this.kind !== FaultKind.S390 || this.code === Pgm.Addressing;
    c.setUint32(Ctl.RES_FAULT, this.kind, true);
    c.setUint32(Ctl.RES_VECTOR, this.code, true);
    c.setUint32(Ctl.RES_ERROR, this.teid, true);
    c.setUint32(Ctl.RES_PA, noTeid ? this.failLo : 0, true); c.setUint32(Ctl.RES_PA + 4, noTeid ? this.failHi : 0, true);
    if (noTeid) { c.setUint32(Ctl.RES_ADDR, 0, true); c.setUint32(Ctl.RES_ADDR + 4, 0, true); }
    else {
      const m = this.amode === 64 ? -1 : this.amode === 31 ? 0x7fffffff : 0xffffff;
      c.setUint32(Ctl.RES_ADDR, (vl & m & ~0xfff) >>> 0, true);
      c.setUint32(Ctl.RES_ADDR + 4, this.amode === 64 ? vh : 0, true);
    }
    return this.kind;
  }

  /** datTranslateBatch over the batch buffers (u32 halves, little-endian). */
  translateBatch(n: number, va32: Uint32Array, kind: Uint8Array, out32: Uint32Array): number {
    this.loadContext();
    let faults = 0;
    for (let i = 0; i < n; i++) {
      if (this.translate(va32[2 * i + 1]!, va32[2 * i]!, kind[i]!, true)) {
        out32[2 * i] = this.rLo; out32[2 * i + 1] = this.rHi;
      } else {
        out32[2 * i] = this.teid;
        out32[2 * i + 1] = batchFaultHi(this.kind, this.code);
        faults++;
      }
    }
    return faults;
  }
}

function levelException(l: number): number {
  return l === 0 ? Pgm.SegmentTranslation : Pgm.Region1Translation + 3 - l;
}
