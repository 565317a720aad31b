/**
 * The s390 TLB, TypeScript twin of assembly/s390/tlb.ts (entry layout:
 * S390Tlb in abi.ts): direct-mapped by page, tagged by ASCE, permissions and
 * lazily recorded R/C folded into the entry. 64-bit fields are handled as
 * u32 halves (little-endian memory: lo at +0, hi at +4).
 */
import { Ctl, Mem, S390Tlb } from "../../../abi.js";

export class TsS390Tlb {
  private readonly u32: Uint32Array;
  private readonly ctl: DataView;
  private base = 0;     // index in u32 units
  private mask = 0;
  enabled = false;

  constructor(buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
    this.ctl = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  }

  load(): void {
    this.base = this.ctl.getUint32(Ctl.S390_TLB_BASE, true) >>> 2;
    const n = this.ctl.getUint32(Ctl.S390_TLB_ENTRIES, true);
    this.enabled = n !== 0;
    this.mask = n - 1;
  }

  private slot(vpnLo: number): number { return this.base + ((vpnLo & this.mask) << (S390Tlb.ENTRY_SHIFT - 2)); }

  /** Hit: true with the absolute address in hitHi/hitLo. */
  hitHi = 0;
  hitLo = 0;
  lookup(vh: number, vl: number, aHi: number, aLo: number, acc: number): boolean {
    const vpnLo = ((vl >>> 12) | (vh << 20)) >>> 0, vpnHi = vh >>> 12;
    const tagLo = (vpnLo + 1) >>> 0, tagHi = vpnHi + (tagLo === 0 ? 1 : 0);
    const e = this.slot(vpnLo), m = this.u32;
    const pageLo = m[e + 4]!;
    if (m[e] === tagLo && m[e + 1] === tagHi && m[e + 2] === aLo && m[e + 3] === aHi && (pageLo & (1 << acc)) !== 0) {
      this.hitLo = ((pageLo & 0xfffff000) | (vl & 0xfff)) >>> 0;
      this.hitHi = m[e + 5]!;
      return true;
    }
    return false;
  }

  fill(vh: number, vl: number, aHi: number, aLo: number, pageHi: number, pageLo: number, perms: number): void {
    const vpnLo = ((vl >>> 12) | (vh << 20)) >>> 0, vpnHi = vh >>> 12;
    const tagLo = (vpnLo + 1) >>> 0, tagHi = vpnHi + (tagLo === 0 ? 1 : 0);
    const e = this.slot(vpnLo), m = this.u32;
    m[e] = tagLo; m[e + 1] = tagHi; m[e + 2] = aLo; m[e + 3] = aHi;
    m[e + 4] = ((pageLo & 0xfffff000) | perms) >>> 0; m[e + 5] = pageHi;
  }

  purgeAll(): void {
    this.load();
    if (this.enabled) this.u32.fill(0, this.base, this.base + ((this.mask + 1) << (S390Tlb.ENTRY_SHIFT - 2)));
  }

  purgePage(vh: number, vl: number): void {
    this.load();
    if (!this.enabled) return;
    const vpnLo = ((vl >>> 12) | (vh << 20)) >>> 0, vpnHi = vh >>> 12;
    const tagLo = (vpnLo + 1) >>> 0, tagHi = vpnHi + (tagLo === 0 ? 1 : 0);
    const e = this.slot(vpnLo);
    if (this.u32[e] === tagLo && this.u32[e + 1] === tagHi) this.u32.fill(0, e, e + (1 << (S390Tlb.ENTRY_SHIFT - 2)));
  }
}
