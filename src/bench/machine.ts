/**
 * Benchmark machines: wasmmu engines in one of three x86 paging modes with
 * 4 KiB mappings written straight into dense guest RAM (A and D already set,
 * as in a warmed-up system, so walks read but never write), and the batch
 * buffers filled with VA streams. Every mode maps page i of VA_BASE to
 * frameOf(i), so the same streams and checks serve all of them.
 *
 *   2level  32-bit paging: CR0.PG|PE|WP, CR4.PSE, 4-byte entries, PD → PT
 *   pae     PAE paging: CR4.PAE, 8-byte entries, 4 PDPTEs (loaded at the CR3 write) → PD → PT
 *   4level  IA-32e paging: CR4.PAE, EFER.LME, PML4 → PDPT → PD → PT
 */
import { Access, Pte } from "../abi.js";
import { createEngine, type Engine, type EngineName } from "../engine/index.js";
import { EFER_LME, EFER_NX, X86_CR0_PE, X86_CR0_PG, X86_CR0_WP, X86_CR4_PAE, X86_CR4_PSE } from "../kernel/x86/pgtable-types.js";
import type { TlbConfig } from "../tlb/config.js";

export const MiB = 1 << 20;
/** First mapped VA: 0, so that 2^20 pages (the sweep's top) fit the 32-bit modes' 4 GiB linear space. */
export const VA_BASE = 0;
/** Frames the mappings point to (16 MiB + (page mod 4096) × 4 KiB). */
export const frameOf = (i: number): number => 16 * MiB + (i % 4096) * 4096;

export const PAGING_MODES = ["2level", "pae", "4level"] as const;
export type PagingMode = (typeof PAGING_MODES)[number];
/** How the reports name each mode. */
export const MODE_TITLES: Record<PagingMode, string> = {
  "2level": "32-bit 2-level (like for like with v86)",
  pae: "PAE 3-level",
  "4level": "x86-64 4-level",
};

/** The root table (PD, PDPT or PML4), the first table written: CR3 in every mode. */
export const TABLES = 32 * MiB;
const ENTRY = Pte.P | Pte.RW | Pte.US | Pte.A | Pte.D;
/** A PAE PDPTE has only P (bits 2:1 and 8:5 are reserved, SDM Vol. 3A §4.4.1). */
const PDPTE = Pte.P;

/** An engine with `pages` 4 KiB pages mapped from VA_BASE (at most 2^20) in paging mode `mode`. */
export async function benchEngine(name: EngineName, pages: number, tlb?: TlbConfig, batch = 65536, mode: PagingMode = "4level"): Promise<Engine> {
  if (pages > 2 ** 20) throw new RangeError(`benchEngine: pages ${pages} > 2^20`);
  const e = await createEngine(name, { physSize: 48 * MiB, batchCapacity: batch, ...(tlb ? { tlb } : {}) });
  const ram = new Uint32Array(e.buffer, e.layout.ramBase, (48 * MiB) >>> 2);
  let next = TABLES;
  const table = (): number => { const pa = next; next += 4096; ram.fill(0, pa >>> 2, (pa >>> 2) + 1024); return pa; };
  const set64 = (pa: number, v: number): void => { ram[pa >>> 2] = v >>> 0; ram[(pa >>> 2) + 1] = 0; };
  const set32 = (pa: number, v: number): void => { ram[pa >>> 2] = v >>> 0; };
  const root = table();
  let pd = 0, pt = 0;
  if (mode === "2level") {
    // 10 + 10 + 12 bits: a PDE per 4 MiB, a PTE per page.
    for (let i = 0; i < pages; i++) {
      const va = VA_BASE + i * 4096;
      if (i === 0 || va % 2 ** 22 === 0) { pt = table(); set32(root + Math.floor(va / 2 ** 22) * 4, pt | ENTRY); }
      set32(pt + (Math.floor(va / 4096) % 1024) * 4, frameOf(i) | ENTRY);
    }
  } else {
    // 9 bits per level below the PDPT; PAE's PDPT has 4 entries (VA bits 31:30), IA-32e's 512 under a PML4.
    let pdpt = root;
    if (mode === "4level") { pdpt = table(); set64(root, pdpt | ENTRY); }
    for (let i = 0; i < pages; i++) {
      const va = VA_BASE + i * 4096;
      const l3 = Math.floor(va / 2 ** 30), l2 = Math.floor(va / 2 ** 21) % 512, l1 = Math.floor(va / 4096) % 512;
      if (i === 0 || va % 2 ** 30 === 0) { pd = table(); set64(pdpt + l3 * 8, pd | (mode === "pae" ? PDPTE : ENTRY)); }
      if (i === 0 || va % 2 ** 21 === 0) { pt = table(); set64(pd + l2 * 8, pt | ENTRY); }
      set64(pt + l1 * 8, frameOf(i) | ENTRY);
    }
  }
  // The tables are complete before CR3 is set: in PAE, setX86 loads the four PDPTEs from
  // memory then, as a MOV to CR3 does (src/engine/x86-control.ts).
  const cr0 = X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, cr3 = BigInt(root);
  const r = mode === "2level" ? e.setX86({ cr0, cr4: X86_CR4_PSE, efer: 0n, cr3, cpl: 0, eflags: 0n, pkru: 0 })
    : mode === "pae" ? e.setX86({ cr0, cr4: X86_CR4_PAE, efer: EFER_NX, cr3, cpl: 0, eflags: 0n, pkru: 0 })
    : e.setX86({ cr0, cr4: X86_CR4_PAE, efer: EFER_LME | EFER_NX, cr3, cpl: 0, eflags: 0n, pkru: 0 });
  if (r.fault) throw new Error(`bench machine (${mode}): setX86 faulted: ${e.x86Error || JSON.stringify(r)}`);
  return e;
}

/** Deterministic page stream: `n` page numbers below `pages` (xorshift32), or sequential when `seq`. */
export function pageStream(n: number, pages: number, seed: number, seq = false): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    if (seq) { out[i] = i % pages; continue; }
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x % pages;
  }
  return out;
}

/** Fill the engine's batch with reads of the given pages (+ a varying offset). */
export function loadBatch(e: Engine, stream: Uint32Array): void {
  const { va32, kind } = e.batch;
  for (let i = 0; i < stream.length; i++) {
    const va = VA_BASE + stream[i]! * 4096 + ((i * 8) & 0xff8);
    va32[2 * i] = va >>> 0;
    va32[2 * i + 1] = Math.floor(va / 2 ** 32);
    kind[i] = Access.Read;
  }
}

/** Check a batch result against the mapping; throws on the first wrong PA (before anything is timed). */
export function checkBatch(e: Engine, stream: Uint32Array, who: string): void {
  const { out32 } = e.batch;
  for (let i = 0; i < stream.length; i++) {
    const want = frameOf(stream[i]!) + ((i * 8) & 0xff8);
    if (out32[2 * i] !== want || out32[2 * i + 1] !== 0)
      throw new Error(`${who}: element ${i} translated to 0x${out32[2 * i + 1]!.toString(16)}_${out32[2 * i]!.toString(16)}, expected 0x${want.toString(16)}`);
  }
}
