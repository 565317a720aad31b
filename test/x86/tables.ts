// Test helper: build x86 page tables in an engine's guest memory, for every
// paging mode, the way a kernel would (one table per 4 KiB frame).
import type { Engine, X86State } from "../../src/engine/engine.js";

export const P = 1n, RW = 2n, US = 4n, PWT = 8n, PCD = 0x10n, A = 0x20n, D = 0x40n, PS = 0x80n, G = 0x100n;
export const XD = 1n << 63n;
export const CR0_PE = 1n, CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n, CR4_PGE = 1n << 7n, CR4_LA57 = 1n << 12n;
export const CR4_SMEP = 1n << 20n, CR4_SMAP = 1n << 21n, CR4_PKE = 1n << 22n;
export const EFER_LME = 1n << 8n, EFER_NXE = 1n << 11n;
export const AC = 1n << 18n;

export type ModeName = "legacy32" | "pae" | "ia32e4" | "ia32e5";
export const MODE_NAMES: readonly ModeName[] = ["legacy32", "pae", "ia32e4", "ia32e5"];

export interface ModeSpec {
  name: ModeName;
  /** Shifts of the levels, top first; the PAE PDPTE "level" is the 30 entry. */
  shifts: number[];
  entrySize: 4 | 8;
  regs: Partial<X86State>;
  /** Page shifts a leaf may have. */
  pageShifts: number[];
}

export const MODES: Record<ModeName, ModeSpec> = {
  legacy32: { name: "legacy32", shifts: [22, 12], entrySize: 4, pageShifts: [12, 22],
    regs: { cr0: CR0_PG | CR0_WP | CR0_PE, cr4: CR4_PSE, efer: 0n } },
  pae: { name: "pae", shifts: [30, 21, 12], entrySize: 8, pageShifts: [12, 21],
    regs: { cr0: CR0_PG | CR0_WP | CR0_PE, cr4: CR4_PAE, efer: EFER_NXE } },
  ia32e4: { name: "ia32e4", shifts: [39, 30, 21, 12], entrySize: 8, pageShifts: [12, 21, 30],
    regs: { cr0: CR0_PG | CR0_WP | CR0_PE, cr4: CR4_PAE, efer: EFER_LME | EFER_NXE } },
  ia32e5: { name: "ia32e5", shifts: [48, 39, 30, 21, 12], entrySize: 8, pageShifts: [12, 21, 30],
    regs: { cr0: CR0_PG | CR0_WP | CR0_PE, cr4: CR4_PAE | CR4_LA57, efer: EFER_LME | EFER_NXE } },
};

/** A page-table builder: frames come from a bump allocator starting at `firstFrame`. */
export class Tables {
  readonly root: number;
  private next: number;
  /** Physical address of every entry written by map(), top first, per mapping. */
  readonly paths = new Map<bigint, number[]>();

  constructor(readonly e: Engine, readonly mode: ModeSpec, firstFrame = 0x10000) {
    this.next = firstFrame;
    this.root = this.alloc();
  }

  alloc(): number {
    const f = this.next;
    this.next += 0x1000;
    this.e.phys.fill(f, 0x1000, 0);
    return f;
  }

  /** Load the context for this mode with CR3 = root (plus `extra` registers). */
  load(extra: Partial<X86State> = {}): void {
    const t = this.e.setX86({ cpl: 0, eflags: 0n, pkru: 0, cr2: 0n, ...this.mode.regs, cr3: BigInt(this.root), ...extra });
    if (t.fault) throw new Error(`setX86 faulted: vector ${t.vector}`);
  }

  private read(pa: number): bigint { return this.e.phys.readEntry(pa, this.mode.entrySize); }
  private write(pa: number, v: bigint): void { this.e.phys.writeEntry(pa, v, this.mode.entrySize); }

  /** Entry address of `va` at the level of `shift` in `table`. */
  private slot(table: number, va: bigint, shift: number): number {
    const bits = this.mode.name === "legacy32" ? 10 : shift === 30 && this.mode.name === "pae" ? 2 : 9;
    const idx = Number((va >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
    return table + idx * this.mode.entrySize;
  }

  /**
   * Map the page of `va` (size 2^pageShift) to `pa` with leaf `flags`
   * (P added); intermediate entries get `upper` (PAE PDPTEs only P).
   * Returns the entry addresses of the path, top first.
   */
  map(va: bigint, pa: bigint, flags: bigint, pageShift = 12, upper = P | RW | US): number[] {
    const path: number[] = [];
    let table = this.root;
    for (const shift of this.mode.shifts) {
      const at = this.slot(table, va, shift);
      path.push(at);
      if (shift === pageShift) {
        let v = pa | flags | P;
        if (pageShift > 12) {
          v |= PS;
          if (this.mode.name === "legacy32") v = (pa & 0xffc0_0000n) | (((pa >> 32n) & 0xffn) << 13n) | flags | P | PS;
        }
        this.write(at, v);
        break;
      }
      let e = this.read(at);
      if (!(e & P)) {
        const isPdpte = this.mode.name === "pae" && shift === 30;
        e = BigInt(this.alloc()) | (isPdpte ? P : upper);
        this.write(at, e);
      }
      table = Number(e & (this.mode.entrySize === 4 ? 0xffff_f000n : 0x000f_ffff_ffff_f000n));
    }
    this.paths.set(va, path);
    return path;
  }

  /** OR / AND-NOT bits into the entry at `pa`. */
  set(pa: number, bits: bigint): void { this.write(pa, this.read(pa) | bits); }
  clear(pa: number, bits: bigint): void { this.write(pa, this.read(pa) & ~bits); }
  entry(pa: number): bigint { return this.read(pa); }
}

/** A virtual address that is canonical in `mode` and has distinct indices per level. */
export function sampleVa(mode: ModeSpec, offset = 0x123n): bigint {
  switch (mode.name) {
    case "legacy32": return 0x4056_7000n | offset;
    case "pae": return 0x8056_7000n | offset;
    case "ia32e4": return 0x0000_7f12_3456_7000n | offset;
    case "ia32e5": return 0x00ab_cdef_1234_5000n | offset;
  }
}
