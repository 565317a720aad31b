/**
 * Guest physical memory as the host sees it: the same bytes the core walks,
 * through the same dense/sparse rules. One class serves both engines because
 * both keep guest RAM at the same place of an identically laid-out buffer.
 *
 * Physical addresses are JS numbers: every architecture here has PA < 2^52,
 * so they are exact. 64-bit *values* (page-table entries) are bigints.
 */
import { Backing, Ctl, Mem } from "../abi.js";
import type { Layout } from "../layout.js";
import { frameHashHome } from "./frame-hash.js";
import { checkInt, checkS64, show } from "../check.js";

/** A physical address outside guest memory: the host-side twin of a bus fault. */
export class BusError extends RangeError {
  constructor(readonly pa: number, readonly size: number, readonly physSize: number) {
    super(`physical access of ${size} byte(s) at 0x${pa.toString(16)} is outside guest memory ` +
      `(0x0-0x${(physSize - 1).toString(16)})`);
    this.name = "BusError";
  }
}

/** The sparse frame pool has no free frame for a first write. */
export class PoolExhaustedError extends Error {
  constructor(readonly pfn: number, readonly poolFrames: number) {
    super(`sparse physical memory: frame pool exhausted (${poolFrames} frames of 4 KiB in use) ` +
      `while backing pfn 0x${pfn.toString(16)}; create the machine with a larger poolBytes`);
    this.name = "PoolExhaustedError";
  }
}

/** A physical address that is not an integer Number (a fraction, NaN, a BigInt…). */
function badPa(pa: unknown): Error {
  const msg = `physical address must be an integer Number, got ${show(pa)}`;
  return typeof pa === "number" ? new RangeError(msg) : new TypeError(msg);
}

export class PhysMem {
  readonly size: number;
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  private readonly ctl: DataView;

  constructor(buffer: ArrayBufferLike, readonly layout: Layout) {
    this.size = layout.physSize;
    this.dv = new DataView(buffer);
    this.u8 = new Uint8Array(buffer);
    this.ctl = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  }

  get sparse(): boolean { return this.layout.backing === Backing.Sparse; }
  /** Sparse: frames backed so far. Dense: all frames. */
  get framesBacked(): number {
    return this.sparse ? this.ctl.getUint32(Ctl.POOL_USED, true) : this.size / Mem.PAGE_SIZE;
  }

  /**
   * Linear offset of the frame holding `pa`, or -1 if it is not backed
   * (sparse, never written). With `forWrite` a sparse frame is backed (zeroed)
   * on demand. Throws BusError when pa is outside guest memory.
   */
  frameOffset(pa: number, forWrite: boolean): number {
    if (!(pa >= 0 && pa < this.size)) throw new BusError(pa, 1, this.size);
    const l = this.layout;
    if (l.backing === Backing.Dense) return l.ramBase + (pa - (pa % Mem.PAGE_SIZE));
    const pfn = Math.floor(pa / Mem.PAGE_SIZE);
    const mask = (1 << l.hashLog2) - 1;
    const keyHi = Math.floor((pfn + 1) / 256) >>> 0;   // bits 32..63 of the entry
    const keyLo8 = (pfn + 1) & 0xff;                   // bits 24..31 of the entry
    for (let i = frameHashHome(pfn, l.hashLog2); ; i = (i + 1) & mask) {
      const e = l.hashBase + i * 8;
      const lo = this.dv.getUint32(e, true), hi = this.dv.getUint32(e + 4, true);
      if (lo === 0 && hi === 0) {
        if (!forWrite) return -1;
        const used = this.ctl.getUint32(Ctl.POOL_USED, true);
        if (used >= l.poolFrames) throw new PoolExhaustedError(pfn, l.poolFrames);
        this.ctl.setUint32(Ctl.POOL_USED, used + 1, true);
        this.dv.setUint32(e, ((keyLo8 << 24) | used) >>> 0, true);
        this.dv.setUint32(e + 4, keyHi, true);
        const off = l.ramBase + used * Mem.PAGE_SIZE;
        this.u8.fill(0, off, off + Mem.PAGE_SIZE);
        return off;
      }
      if (hi === keyHi && lo >>> 24 === keyLo8) return l.ramBase + (lo & 0xffffff) * Mem.PAGE_SIZE;
    }
  }

  /** Linear offset of byte `pa` for an access of `size` bytes that must not cross a frame. */
  private at(pa: number, size: number, forWrite: boolean): number {
    if (!Number.isInteger(pa)) throw badPa(pa);
    if (!(pa >= 0 && pa + size <= this.size)) throw new BusError(pa, size, this.size);
    if ((pa % Mem.PAGE_SIZE) + size > Mem.PAGE_SIZE)
      throw new RangeError(`physical access of ${size} bytes at 0x${pa.toString(16)} crosses a frame`);
    const f = this.frameOffset(pa, forWrite);
    return f < 0 ? -1 : f + (pa % Mem.PAGE_SIZE);
  }

  read8(pa: number): number { const o = this.at(pa, 1, false); return o < 0 ? 0 : this.u8[o]!; }
  write8(pa: number, v: number): void {
    checkInt("write8", "value", v, -0x80, 0xff);
    this.u8[this.at(pa, 1, true)] = v;
  }
  read32(pa: number, be = false): number { const o = this.at(pa, 4, false); return o < 0 ? 0 : this.dv.getUint32(o, !be); }
  write32(pa: number, v: number, be = false): void {
    checkInt("write32", "value", v, -0x8000_0000, 0xffff_ffff);
    this.dv.setUint32(this.at(pa, 4, true), v >>> 0, !be);
  }
  read64(pa: number, be = false): bigint { const o = this.at(pa, 8, false); return o < 0 ? 0n : this.dv.getBigUint64(o, !be); }
  write64(pa: number, v: bigint, be = false): void {
    this.dv.setBigUint64(this.at(pa, 8, true), checkS64("write64", "value", v), !be);
  }
  /** Read an entry of `size` 4 or 8 bytes. */
  readEntry(pa: number, size: 4 | 8, be = false): bigint { return size === 8 ? this.read64(pa, be) : BigInt(this.read32(pa, be)); }
  writeEntry(pa: number, v: bigint, size: 4 | 8, be = false): void {
    checkS64("writeEntry", "value", v);
    if (size === 8) this.write64(pa, v, be); else this.write32(pa, Number(BigInt.asUintN(32, v)), be);
  }

  /** Copy bytes out; unbacked sparse frames read as zero. */
  readBytes(pa: number, len: number): Uint8Array {
    if (!Number.isInteger(pa)) throw badPa(pa);
    checkInt("readBytes", "len", len, 0, Number.MAX_SAFE_INTEGER);
    if (!(pa >= 0 && len >= 0 && pa + len <= this.size)) throw new BusError(pa, len, this.size);
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const cur = pa + done, n = Math.min(len - done, Mem.PAGE_SIZE - (cur % Mem.PAGE_SIZE));
      const f = this.frameOffset(cur, false);
      if (f >= 0) out.set(this.u8.subarray(f + (cur % Mem.PAGE_SIZE), f + (cur % Mem.PAGE_SIZE) + n), done);
      done += n;
    }
    return out;
  }

  writeBytes(pa: number, bytes: Uint8Array): void {
    if (!Number.isInteger(pa)) throw badPa(pa);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`writeBytes: bytes must be a Uint8Array, got ${show(bytes)}`);
    if (!(pa >= 0 && pa + bytes.length <= this.size)) throw new BusError(pa, bytes.length, this.size);
    for (let done = 0; done < bytes.length;) {
      const cur = pa + done, n = Math.min(bytes.length - done, Mem.PAGE_SIZE - (cur % Mem.PAGE_SIZE));
      const f = this.frameOffset(cur, true);
      this.u8.set(bytes.subarray(done, done + n), f + (cur % Mem.PAGE_SIZE));
      done += n;
    }
  }

  /** Fill [pa, pa+len) with a byte. Zero-filling unbacked sparse frames backs nothing. */
  fill(pa: number, len: number, byte: number): void {
    if (!Number.isInteger(pa)) throw badPa(pa);
    checkInt("fill", "len", len, 0, Number.MAX_SAFE_INTEGER);
    checkInt("fill", "byte", byte, 0, 0xff);
    if (!(pa >= 0 && len >= 0 && pa + len <= this.size)) throw new BusError(pa, len, this.size);
    for (let done = 0; done < len;) {
      const cur = pa + done, n = Math.min(len - done, Mem.PAGE_SIZE - (cur % Mem.PAGE_SIZE));
      const f = this.frameOffset(cur, byte !== 0);
      if (f >= 0) this.u8.fill(byte, f + (cur % Mem.PAGE_SIZE), f + (cur % Mem.PAGE_SIZE) + n);
      done += n;
    }
  }
}
