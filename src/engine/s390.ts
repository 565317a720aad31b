/**
 * The s390 side of the engine contract: context (CR0, ASCEs, PSW, prefix,
 * facilities), DAT translation, storage-key instructions and the PGSTE
 * operations. One host layer serves both engines: each engine supplies an
 * `S390Core` (the wasm exports, or their TypeScript twin) with the very same
 * raw signatures, and results come back through the control block.
 *
 * Faults are data (a Translation); misuse of the key/PGSTE operations (an
 * address outside RAM, a ptep that is not a PTE slot, a double lock or unlock)
 * throws an error that names the call, and changes nothing.
 */
import { Access, Arch, Ctl, FaultKind, LinuxPte, Mem, Pgste, S390Opt, S390Status, Skey } from "../abi.js";
import type { Layout } from "../layout.js";
import { BusError, type PhysMem } from "../phys/phys-mem.js";
import { checkAccess, checkBool, checkInt, checkKeys, checkObject, checkS64, checkU64, show } from "../check.js";
import { newTranslation, type BatchViews, type Translation } from "./engine.js";

/** Raw operations of the core (assembly/index.ts s390 exports), same in both engines. */
export interface S390Core {
  s390Translate(va: bigint, access: number, sideEffects: number): number;
  s390TranslateBatch(n: number): number;
  iske(pa: bigint): number;
  sske(pa: bigint, key: number, keepMask: number): number;
  rrbe(pa: bigint): number;
  pgsteGetLock(ptep: bigint): bigint;
  pgsteSetUnlock(ptep: bigint, pgste: bigint): number;
  pgsteUpdateAll(pte: bigint, pgste: bigint): bigint;
  pgsteSetKey(ptep: bigint, pgste: bigint, entry: bigint): number;
  ptepTestAndClearUc(ptep: bigint, esop: number): number;
  getGuestStorageKey(ptep: bigint): number;
  setGuestStorageKey(ptep: bigint, key: number, nq: number): number;
  resetGuestReferenceBit(ptep: bigint): number;
  ptepZapKey(ptep: bigint): number;
  s390SkeyStatus(): number;
  s390PgsteStatus(): number;
  s390NotifyBits(): bigint;
  s390TlbPurgeAll(): void;
  s390TlbPurgePage(va: bigint): void;
}

/** The s390 CPU state the walker reads. */
export interface S390State {
  /** Control register 0 (LAP bit 35, fetch/storage-protection override 38/39,
   *  EDAT bit 40, IEP bit 43). */
  cr0: bigint;
  /** Primary ASCE (CR1). ESA/390 format: the segment-table designation. */
  asce: bigint;
  /** Secondary ASCE (CR7), used when PSW bits 16-17 = 10. */
  secondaryAsce: bigint;
  /** Home ASCE (CR13), used when PSW bits 16-17 = 11. */
  homeAsce: bigint;
  /** PSW mask: DAT (bit 5), key (8-11), ASC (16-17), EA/BA (31-32). */
  pswMask: bigint;
  /** Prefix register (8 KiB aligned). */
  prefix: bigint;
  /** Installed facilities and table format, S390Opt bits (default S390Opt.Hardware). */
  options: number;
}

/** Argument of setS390: any part of the state; `pswKey` rewrites PSW bits 8-11. */
export type S390Update = Partial<S390State> & { pswKey?: number };

/** PSW mask: DAT on, 64-bit addressing, primary space, key 0. */
export const S390_DEFAULT_PSW = 0x0400_0001_8000_0000n;
/** The options that reproduce QEMU 7.2's TCG walker (the conformance vectors). */
export const S390_QEMU_OPTIONS = S390Opt.Qemu;

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Error of a storage-key or PGSTE operation used on bad input. */
export class S390OpError extends Error {
  constructor(readonly op: string, readonly status: S390Status, detail: string) {
    super(`${op}: ${detail}`);
    this.name = "S390OpError";
  }
}

/**
 * Methods every engine has for s390. Subclasses provide the core, the
 * control block and the batch views.
 */
export abstract class S390Methods {
  /** The engine's raw s390 operations; private at run time (see coreOf in wasm.ts). */
  #s390Core!: S390Core;
  abstract readonly layout: Layout;
  abstract readonly batch: BatchViews;
  abstract readonly buffer: ArrayBufferLike;
  abstract readonly phys: PhysMem;

  private ctlView?: DataView;
  private get ctl(): DataView {
    if (this.ctlView?.buffer !== this.buffer) this.ctlView = new DataView(this.buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
    return this.ctlView;
  }

  /** Called once by the engine constructor: a z14-class CPU after reset. */
  protected s390Init(core: S390Core): void {
    this.#s390Core = core;
    this.setS390({ cr0: 0n, asce: 0n, secondaryAsce: 0n, homeAsce: 0n, pswMask: S390_DEFAULT_PSW, prefix: 0n,
      options: S390Opt.Hardware });
  }

  /** setSemantics' profile for s390: "qemu" drops the facilities QEMU 7.2's
   *  TCG lacks (EDAT-1/-2, key-controlled protection); "hardware" restores
   *  them. The table format (ESA/390 or not) is kept. */
  protected s390Profile(profile: "hardware" | "qemu" | undefined): void {
    if (profile === undefined) return;
    const esa = this.s390().options & S390Opt.Esa390;
    this.setS390({ options: (profile === "qemu" ? S390Opt.Qemu : S390Opt.Hardware) | esa });
  }

  /** Select the walker translate / probe / translateBatch run. */
  setArch(arch: "x86" | "s390"): void {
    if (arch !== "x86" && arch !== "s390") throw new TypeError(`setArch: unknown architecture "${arch as string}"`);
    this.ctl.setUint32(Ctl.ARCH, arch === "s390" ? Arch.S390 : Arch.X86, true);
  }
  arch(): "x86" | "s390" { return this.ctl.getUint32(Ctl.ARCH, true) === Arch.S390 ? "s390" : "x86"; }

  /**
   * Load s390 context. Like loading control registers and the PSW, the new
   * values take effect for the next access; the s390 TLB is purged when
   * anything but the ASCEs changes. Throws on states the walker cannot run:
   * access-register mode, the invalid EA=1/BA=0 addressing mode, a prefix
   * that is not 8 KiB aligned.
   */
  setS390(s: S390Update): void {
    checkObject("setS390", "state", s);
    checkKeys("setS390", "field", s, ["cr0", "asce", "secondaryAsce", "homeAsce", "pswMask", "prefix", "options", "pswKey"]);
    for (const k of ["cr0", "asce", "secondaryAsce", "homeAsce", "pswMask", "prefix"] as const)
      if (s[k] !== undefined) checkU64("setS390", k, s[k]);
    if (s.options !== undefined) checkInt("setS390", "options", s.options, 0, 31);
    if (s.pswKey !== undefined) checkInt("setS390", "pswKey", s.pswKey, 0, 15);
    const c = this.ctl;
    const cur = this.s390();
    let psw = u64(s.pswMask ?? cur.pswMask);
    if (s.pswKey !== undefined) {
      if (!Number.isInteger(s.pswKey) || s.pswKey < 0 || s.pswKey > 15) throw new RangeError(`setS390: pswKey must be 0-15, got ${s.pswKey}`);
      psw = (psw & ~(0xfn << 52n)) | (BigInt(s.pswKey) << 52n);
    }
    const asc = Number((psw >> 46n) & 3n);
    if (asc === 1) throw new RangeError("setS390: access-register mode (PSW bits 16-17 = 01) is not modelled");
    const ea = (psw >> 32n) & 1n, ba = (psw >> 31n) & 1n;
    if (ea === 1n && ba === 0n) throw new RangeError("setS390: PSW addressing mode EA=1, BA=0 is invalid (specification exception)");
    const prefix = u64(s.prefix ?? cur.prefix);
    if (prefix & 0x1fffn || prefix >= 1n << 52n) throw new RangeError(`setS390: prefix 0x${prefix.toString(16)} must be 8 KiB aligned and below 2^52`);
    const options = s.options ?? cur.options;
    if (!Number.isInteger(options) || options < 0 || options > 31) throw new RangeError(`setS390: options must be S390Opt bits, got ${options}`);
    const cr0 = u64(s.cr0 ?? cur.cr0);
    // The s390 TLB is tagged by ASCE, so switching address spaces keeps it;
    // everything else its entries depend on purges it (assembly/s390/tlb.ts).
    if (cr0 !== cur.cr0 || psw !== cur.pswMask || prefix !== cur.prefix || options !== cur.options)
      this.#s390Core.s390TlbPurgeAll();
    c.setBigUint64(Ctl.S390_CR0, cr0, true);
    c.setBigUint64(Ctl.S390_ASCE, u64(s.asce ?? cur.asce), true);
    c.setBigUint64(Ctl.S390_SASCE, u64(s.secondaryAsce ?? cur.secondaryAsce), true);
    c.setBigUint64(Ctl.S390_HASCE, u64(s.homeAsce ?? cur.homeAsce), true);
    c.setBigUint64(Ctl.S390_PSW_MASK, psw, true);
    c.setBigUint64(Ctl.S390_PREFIX, prefix, true);
    c.setUint32(Ctl.S390_OPTIONS, options, true);
    c.setUint32(Ctl.S390_PSW_KEY, Number((psw >> 52n) & 0xfn), true);
    c.setUint32(Ctl.S390_DAT, Number((psw >> 58n) & 1n), true);
    c.setUint32(Ctl.S390_ASC, asc, true);
    c.setUint32(Ctl.S390_AMODE, ea ? 64 : ba ? 31 : 24, true);
  }

  /** The current s390 context. */
  s390(): S390State & { pswKey: number } {
    const c = this.ctl;
    return {
      cr0: c.getBigUint64(Ctl.S390_CR0, true),
      asce: c.getBigUint64(Ctl.S390_ASCE, true),
      secondaryAsce: c.getBigUint64(Ctl.S390_SASCE, true),
      homeAsce: c.getBigUint64(Ctl.S390_HASCE, true),
      pswMask: c.getBigUint64(Ctl.S390_PSW_MASK, true),
      prefix: c.getBigUint64(Ctl.S390_PREFIX, true),
      options: c.getUint32(Ctl.S390_OPTIONS, true),
      pswKey: c.getUint32(Ctl.S390_PSW_KEY, true),
    };
  }

  /** DAT translation of one access with the s390 walker: sets storage-key
   *  R (and C on a store). Faults come back as data (FaultKind.S390). */
  translateS390(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    this.#s390Core.s390Translate(checkS64("translate", "va", va), checkAccess("translate", access), 1);
    return this.readResult(out);
  }

  /** Same walk as translateS390 without side effects (no key update, no frame backing). */
  probeS390(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    this.#s390Core.s390Translate(checkS64("probe", "va", va), checkAccess("probe", access), 0);
    return this.readResult(out);
  }

  /** batch.va[0..n) / batch.kind[0..n) → batch.out with the s390 walker; returns the fault count. */
  translateBatchS390(n: number): number {
    return this.#s390Core.s390TranslateBatch(checkInt("translateBatch", "n", n, 0, this.batch.capacity));
  }

  /** Read the RES_* block of the control block into `out`. */
  protected readResult(out: Translation): Translation {
    const c = this.ctl;
    out.fault = c.getUint32(Ctl.RES_FAULT, true) as FaultKind;
    out.vector = c.getUint32(Ctl.RES_VECTOR, true);
    out.errorCode = c.getUint32(Ctl.RES_ERROR, true);
    out.pa = Number(c.getBigUint64(Ctl.RES_PA, true));
    out.addr = c.getBigUint64(Ctl.RES_ADDR, true);
    return out;
  }

  // ── TLB control (PoP ch. 10 IPTE, IDTE, PTLB / CSP purge) ──
  // The memory part is architectural (IPTE sets the PTE's I bit, IDTE the
  // region/segment entry's I bit); then the s390 TLB (assembly/s390/tlb.ts)
  // drops the page (IPTE, any ASCE) or everything (IDTE, PTLB).

  /** IPTE: invalidate the (big-endian, 64-bit format) PTE at `ptep` and purge
   *  translations of `va`. */
  ipte(ptep: number, va: bigint): void {
    this.absolute("ipte", ptep, "ptep");
    va = checkS64("ipte", "va", va);
    this.phys.write64(ptep, this.phys.read64(ptep, true) | BigInt(LinuxPte.INVALID), true);
    this.#s390Core.s390TlbPurgePage(u64(va));
  }

  /** IDTE: invalidate the region- or segment-table entry at `entry` (I bit
   *  0x20) and purge translations that used it. */
  idte(entry: number): void {
    this.absolute("idte", entry, "entry");
    this.phys.write64(entry, this.phys.read64(entry, true) | 0x20n, true);
    this.#s390Core.s390TlbPurgeAll();
  }

  /** PTLB / COMPARE AND SWAP AND PURGE: purge every s390 translation. */
  purgeTlb(): void { this.#s390Core.s390TlbPurgeAll(); }

  // ── storage-key instructions (per absolute frame) ──

  /** ISKE: the storage key (ACC F R C, 7 bits) of the frame holding `pa`. */
  iske(pa: number): number {
    const k = this.#s390Core.iske(this.absolute("iske", pa));
    this.checkSkey("iske", pa);
    return k;
  }

  /** SSKE: set the key of the frame holding `pa`. `mr`/`mc` keep R/C unchanged
   *  (conditional SSKE); `nq` (non-quiescing) matters only to a TLB. */
  sske(pa: number, key: number, opts: { mr?: boolean; mc?: boolean; nq?: boolean } = {}): void {
    checkInt("sske", "key", key, 0, 0xff);
    checkObject("sske", "opts", opts);
    checkKeys("sske", "option", opts, ["mr", "mc", "nq"]);
    for (const k of ["mr", "mc", "nq"] as const) if (opts[k] !== undefined) checkBool("sske", k, opts[k]);
    const keep = (opts.mr ? Skey.R : 0) | (opts.mc ? Skey.C : 0);
    this.#s390Core.sske(this.absolute("sske", pa), key, keep);
    this.checkSkey("sske", pa);
  }

  /** RRBE: reset the reference bit; returns cc = R·2 + C before the reset. */
  rrbe(pa: number): number {
    const cc = this.#s390Core.rrbe(this.absolute("rrbe", pa));
    this.checkSkey("rrbe", pa);
    return cc;
  }

  // ── PGSTE operations (arch/s390/mm/pgtable.c; the PGSTE is at ptep + 2048) ──

  /** pgste_get_lock: take the page-control lock; returns the PGSTE with PCL set. */
  pgsteGetLock(ptep: number): bigint {
    const v = u64(this.#s390Core.pgsteGetLock(this.ptep("pgsteGetLock", ptep)));
    this.checkPgste("pgsteGetLock", ptep);
    return v;
  }

  /** pgste_set_unlock: store exactly `pgste` with PCL clear. */
  pgsteSetUnlock(ptep: number, pgste: bigint): void {
    this.#s390Core.pgsteSetUnlock(this.ptep("pgsteSetUnlock", ptep), checkS64("pgsteSetUnlock", "pgste", pgste));
    this.checkPgste("pgsteSetUnlock", ptep);
  }

  /** pgste_update_all: a valid `pte` is going away; returns `pgste` with the
   *  real key's R/C in GR/GC and ACC/F in ACC/FP. */
  pgsteUpdateAll(pte: bigint, pgste: bigint): bigint {
    checkS64("pgsteUpdateAll", "pte", pte);
    checkS64("pgsteUpdateAll", "pgste", pgste);
    const v = u64(this.#s390Core.pgsteUpdateAll(u64(pte), u64(pgste)));
    this.checkPgste("pgsteUpdateAll", Number(u64(pte) & ~0xfffn));
    return v;
  }

  /** pgste_set_key: the invalid PTE at `ptep` is about to become `entry`;
   *  the frame's real key gets ACC/F and GR/GC from `pgste`. */
  pgsteSetKey(ptep: number, pgste: bigint, entry: bigint): void {
    this.#s390Core.pgsteSetKey(this.ptep("pgsteSetKey", ptep), checkS64("pgsteSetKey", "pgste", pgste),
      checkS64("pgsteSetKey", "entry", entry));
    this.checkPgste("pgsteSetKey", ptep);
  }

  /** ptep_test_and_clear_uc: was the page user-dirty? A dirty present PTE is
   *  write-protected again (PROTECT with ESOP or if not writable, else
   *  INVALID). `notify` receives the IN/VSIE bits the call cleared, as
   *  ptep_notify would. */
  ptepTestAndClearUc(ptep: number, addr: bigint, notify?: (bits: bigint, addr: bigint) => void): boolean {
    addr = checkS64("ptepTestAndClearUc", "addr", addr);
    if (notify !== undefined && typeof notify !== "function")
      throw new TypeError(`ptepTestAndClearUc: notify must be a function, got ${show(notify)}`);
    const esop = (this.ctl.getUint32(Ctl.S390_OPTIONS, true) & S390Opt.Esop) !== 0;
    const dirty = this.#s390Core.ptepTestAndClearUc(this.ptep("ptepTestAndClearUc", ptep), esop ? 1 : 0) !== 0;
    this.checkPgste("ptepTestAndClearUc", ptep);
    const bits = u64(this.#s390Core.s390NotifyBits());
    if (bits !== 0n) notify?.(bits, addr);
    if (dirty) this.#s390Core.s390TlbPurgePage(u64(addr));   // ptep_ipte_global
    return dirty;
  }

  /** get_guest_storage_key for the PTE at `ptep`. */
  getGuestStorageKey(ptep: number): number {
    const k = this.#s390Core.getGuestStorageKey(this.ptep("getGuestStorageKey", ptep));
    this.checkPgste("getGuestStorageKey", ptep);
    return k;
  }

  /** set_guest_storage_key for the PTE at `ptep`. */
  setGuestStorageKey(ptep: number, key: number, nq = false): void {
    checkInt("setGuestStorageKey", "key", key, 0, 0xff);
    checkBool("setGuestStorageKey", "nq", nq);
    this.#s390Core.setGuestStorageKey(this.ptep("setGuestStorageKey", ptep), key, nq ? 1 : 0);
    this.checkPgste("setGuestStorageKey", ptep);
  }

  /** reset_guest_reference_bit (RRBE for a guest); returns cc = R·2 + C. */
  resetGuestReferenceBit(ptep: number): number {
    const cc = this.#s390Core.resetGuestReferenceBit(this.ptep("resetGuestReferenceBit", ptep));
    this.checkPgste("resetGuestReferenceBit", ptep);
    return cc;
  }

  /** ptep_zap_key: the guest key becomes ACC 0, F 0 with GR/GC set; a valid
   *  writable page's real key is reset to the default key 0. */
  ptepZapKey(ptep: number): void {
    this.#s390Core.ptepZapKey(this.ptep("ptepZapKey", ptep));
    this.checkPgste("ptepZapKey", ptep);
  }

  /** pgste_get: the PGSTE of the PTE at `ptep`, without the lock. */
  pgsteGet(ptep: number): bigint {
    this.pgsteSlot("pgsteGet", ptep);
    return this.phys.read64(ptep + Pgste.OFFSET, true);
  }

  /** pgste_set: store a PGSTE without the lock; PCL is kept as it is in memory
   *  (only pgsteSetUnlock releases the lock). */
  pgsteSet(ptep: number, pgste: bigint): void {
    this.pgsteSlot("pgsteSet", ptep);
    checkS64("pgsteSet", "pgste", pgste);
    const pcl = 1n << BigInt(Pgste.PCL);
    const cur = this.phys.read64(ptep + Pgste.OFFSET, true);
    this.phys.write64(ptep + Pgste.OFFSET, (u64(pgste) & ~pcl) | (cur & pcl), true);
  }

  private pgsteSlot(op: string, ptep: number): void {
    this.absolute(op, ptep, "ptep");
    if (ptep + Pgste.OFFSET + 8 > this.layout.physSize) throw statusError(op, S390Status.Addressing, ptep);
    if (ptep % 8 !== 0 || ptep % 4096 >= Pgste.OFFSET) throw statusError(op, S390Status.BadPtep, ptep);
  }

  // ── argument checks and status → error ──

  private absolute(op: string, pa: number, name = "pa"): bigint {
    return BigInt(checkInt(op, name, pa, 0, Number.MAX_SAFE_INTEGER));
  }
  private ptep(op: string, ptep: number): bigint { return this.absolute(op, ptep, "ptep"); }

  private checkSkey(op: string, pa: number): void {
    const st = this.#s390Core.s390SkeyStatus() as S390Status;
    if (st === S390Status.Addressing) throw new BusError(pa, 1, this.layout.physSize);
    if (st !== S390Status.Ok) throw statusError(op, st, pa);
  }
  private checkPgste(op: string, ptep: number): void {
    const st = this.#s390Core.s390PgsteStatus() as S390Status;
    if (st !== S390Status.Ok) throw statusError(op, st, ptep);
  }
}

function statusError(op: string, st: S390Status, at: number): Error {
  const where = `0x${at.toString(16)}`;
  switch (st) {
    case S390Status.Addressing: return new S390OpError(op, st, `${where} (or its PGSTE at +2048, or the frame it maps) is outside guest memory`);
    case S390Status.BadPtep: return new S390OpError(op, st, `${where} is not a PTE slot of a PGSTE table (8-aligned, offset < 2048 in a 4 KiB page)`);
    case S390Status.LockHeld: return new S390OpError(op, st, `the PGSTE of the PTE at ${where} is already locked (PCL set); this call would spin forever`);
    case S390Status.NotLocked: return new S390OpError(op, st, `the PGSTE of the PTE at ${where} is not locked (unlock without lock)`);
    case S390Status.PteValid: return new S390OpError(op, st, `the PTE at ${where} is still valid; pgste_set_key is for an invalid PTE becoming valid`);
    case S390Status.PoolExhausted: return new S390OpError(op, st, `no free frame in the sparse pool to back ${where}`);
    default: return new S390OpError(op, st, `failed with status ${st as number}`);
  }
}

