/**
 * Test helper: x86 page tables built directly in an engine's guest memory
 * (IA-32e 4-level with 4 KiB, 2 MiB and 1 GiB leaves; 32-bit paging with
 * 4 MiB pages), a bump allocator of table frames, and the contexts the TLB
 * tests switch between.
 */
import { Pte } from "../../src/abi.js";
import type { Engine } from "../../src/engine/index.js";

export const P = BigInt(Pte.P), RW = BigInt(Pte.RW), US = BigInt(Pte.US), A = BigInt(Pte.A);
export const D = BigInt(Pte.D), PS = BigInt(Pte.PS), G = BigInt(Pte.G);
export const XD = 1n << 63n;
export const CR0_PG = 1n << 31n, CR0_WP = 1n << 16n, CR0_PE = 1n;
export const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n, CR4_PGE = 1n << 7n, CR4_PCIDE = 1n << 17n;
export const CR4_SMEP = 1n << 20n, CR4_SMAP = 1n << 21n, CR4_PKE = 1n << 22n;
export const EFER_LME = 1n << 8n, EFER_NXE = 1n << 11n;
export const MiB = 1 << 20;

/** 4-level tables; every table frame comes from a bump allocator above `tableBase`. */
export class Tables4 {
  private next: number;
  readonly pml4: number;
  constructor(readonly e: Engine, tableBase = 8 * MiB) {
    this.next = tableBase;
    this.pml4 = this.alloc();
  }
  alloc(): number {
    const pa = this.next;
    this.next += 4096;
    this.e.phys.fill(pa, 4096, 0);
    return pa;
  }
  /** PA of the entry for `va` at `level` (4 = PML4E … 1 = PTE), creating the tables above it. */
  entryPa(va: bigint, level: number): number {
    let table = this.pml4;
    for (let l = 4; l > level; l--) {
      const ep = table + Number((va >> BigInt(12 + 9 * (l - 1))) & 0x1ffn) * 8;
      let v = this.e.phys.read64(ep);
      if (!(v & P)) {
        v = BigInt(this.alloc()) | P | RW | US;
        this.e.phys.write64(ep, v);
      }
      table = Number(v & 0x000f_ffff_ffff_f000n);
    }
    return table + Number((va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn) * 8;
  }
  map4k(va: bigint, pa: number, flags: bigint = P | RW | US): number {
    const ep = this.entryPa(va, 1);
    this.e.phys.write64(ep, BigInt(pa) | flags);
    return ep;
  }
  map2m(va: bigint, pa: number, flags: bigint = P | RW | US): number {
    const ep = this.entryPa(va, 2);
    this.e.phys.write64(ep, BigInt(pa) | flags | PS);
    return ep;
  }
  map1g(va: bigint, pa: number, flags: bigint = P | RW | US): number {
    const ep = this.entryPa(va, 3);
    this.e.phys.write64(ep, BigInt(pa) | flags | PS);
    return ep;
  }
  read(ep: number): bigint { return this.e.phys.read64(ep); }
  write(ep: number, v: bigint): void { this.e.phys.write64(ep, v); }
}

/** Enter IA-32e 4-level paging on `t` (CR4 extras and a PCID in CR3 optional). */
export function enterLongMode(e: Engine, t: Tables4, cr4 = 0n, pcid = 0): void {
  const r = e.setX86({
    cr0: CR0_PG | CR0_PE | CR0_WP, cr4: CR4_PAE | cr4, efer: EFER_LME | EFER_NXE,
    cr3: BigInt(t.pml4), cpl: 0, eflags: 0n, pkru: 0,
  });
  if (r.fault) throw new Error(`setX86 faulted: ${JSON.stringify(r)}`);
  if (pcid) {
    const w = e.writeCr3(BigInt(t.pml4) | BigInt(pcid));
    if (w.fault) throw new Error("writeCr3 faulted");
  }
}
