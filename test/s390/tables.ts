// A small s390 DAT-table builder for tests: writes big-endian entries the way
// Linux lays them out (arch/s390/include/asm/pgtable.h), with a bump frame
// allocator. Level 3 = region first … 0 = segment; "pt" = page table.
import type { Engine, S390Methods } from "../../src/engine/index.js";

export type S390Engine = Engine & S390Methods;
export const M = (n: number): bigint => BigInt(n);

/** Empty entries: region/segment invalid with its TT, PTE invalid (_PAGE_INVALID). */
export const emptyCrst = (level: number): bigint => BigInt(0x20 | (level << 2));
export const PTE_EMPTY = 0x400n;

export class S390Tables {
  private next: number;
  readonly top: number;
  /** Entry addresses of the last map(): index by level (3..0), then "pt". */
  readonly path = new Map<number | "pt", number>();

  constructor(readonly e: S390Engine, readonly dt: number, base = 0x10_0000) {
    this.next = base;
    this.top = this.crst(dt);
  }

  /** ASCE for the top table: origin | DT | TL=3 (full length). */
  asce(extra = 0n): bigint { return BigInt(this.top) | BigInt(this.dt << 2) | 3n | extra; }

  allocFrames(n: number, align = 4096): number {
    this.next = Math.ceil(this.next / align) * align;
    const pa = this.next;
    this.next += n * 4096;
    return pa;
  }

  /** A 16 KiB region/segment table of empty entries of `level`. */
  crst(level: number): number {
    const pa = this.allocFrames(4, 16384);
    for (let i = 0; i < 2048; i++) this.e.phys.write64(pa + 8 * i, emptyCrst(level), true);
    return pa;
  }

  /** A 2 KiB page table of invalid PTEs. */
  pageTable(): number {
    const pa = this.allocFrames(1);
    for (let i = 0; i < 256; i++) this.e.phys.write64(pa + 8 * i, PTE_EMPTY, true);
    return pa;
  }

  read(pa: number): bigint { return this.e.phys.read64(pa, true); }
  write(pa: number, v: bigint): void { this.e.phys.write64(pa, v, true); }
  /** OR bits into / clear bits of the entry at pa. */
  set(pa: number, bits: bigint): void { this.write(pa, this.read(pa) | bits); }
  clear(pa: number, bits: bigint): void { this.write(pa, this.read(pa) & ~bits); }

  static index(va: bigint, level: number): number { return Number((va >> BigInt(20 + 11 * level)) & 0x7ffn); }

  /**
   * Map `va`: down to a leaf at `leafLevel` ("pt" = 4 KiB page; 0 = 1 MiB
   * segment frame; 1 = 2 GiB region-third frame), creating tables as needed.
   * Returns the leaf entry's address; `path` holds every entry's address.
   */
  map(va: bigint, frame: number, leafLevel: "pt" | 0 | 1 = "pt", leafBits = 0n): number {
    this.path.clear();
    let table = this.top;
    for (let lvl = this.dt; lvl >= 0; lvl--) {
      const ea = table + 8 * S390Tables.index(va, lvl);
      this.path.set(lvl, ea);
      if (leafLevel === lvl) {
        // Large frame: FC (0x400) | TT, frame origin.
        this.write(ea, BigInt(frame) | 0x400n | BigInt(lvl << 2) | leafBits);
        return ea;
      }
      let e = this.read(ea);
      if (e & 0x20n) {
        const next = lvl > 0 ? this.crst(lvl - 1) : this.pageTable();
        e = lvl > 0 ? BigInt(next) | BigInt(lvl << 2) | 3n : BigInt(next); // region: TT|TL=3; segment: origin
        this.write(ea, e);
      }
      table = Number(lvl > 0 ? e & ~0xfffn : e & ~0x7ffn);
    }
    const pte = table + 8 * Number((va >> 12n) & 0xffn);
    this.path.set("pt", pte);
    this.write(pte, BigInt(frame) | leafBits);
    return pte;
  }
}
