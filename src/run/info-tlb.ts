/**
 * `info tlb` as QEMU's monitor prints it for x86 (target/i386/monitor.c,
 * hmp_info_tlb): walk the page tables CR3 points to, as they are in guest
 * memory, and print every present leaf as
 *
 *   VIRTUAL: PHYSICAL XGPDACTUW
 *
 * with the virtual address sign-extended (canonical) and the flags NX, Global,
 * PS (large page), Dirty, Accessed, PCD, PWT, User, Writable ('-' when clear).
 * Unlike QEMU we print a large page's frame address with the PAT and reserved
 * low bits masked off.
 */
import type { Engine } from "../engine/engine.js";
import { everyEntry, type WalkEntry, walkPageRange } from "../kernel/pagewalk.js";
import { PgtLevel } from "../kernel/types.js";
import { x86PageTables } from "../kernel/x86/pgtable.js";
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PCD, _PAGE_PRESENT, _PAGE_PSE, _PAGE_PWT, _PAGE_RW, _PAGE_USER,
  canonicalize, EFER_LMA, entryAddr, GEOMETRY, hugeEntryAddr, type PagingGeometry, PTE_PFN_MASK, X86_CR0_PG, X86_CR4_LA57,
  X86_CR4_PAE, X86_CR4_PSE,
} from "../kernel/x86/pgtable-types.js";

function flags(e: bigint): string {
  return [e & _PAGE_NX ? "X" : "-", e & _PAGE_GLOBAL ? "G" : "-", e & _PAGE_PSE ? "P" : "-", e & _PAGE_DIRTY ? "D" : "-",
    e & _PAGE_ACCESSED ? "A" : "-", e & _PAGE_PCD ? "C" : "-", e & _PAGE_PWT ? "T" : "-", e & _PAGE_USER ? "U" : "-",
    e & _PAGE_RW ? "W" : "-"].join("");
}

/** The present leaves of the current address space, one line each. */
export function infoTlb(e: Engine, limit = Infinity): string[] {
  const s = e.x86();
  if (!(s.cr0 & X86_CR0_PG)) return ["PG disabled"];
  const pae = (s.cr4 & X86_CR4_PAE) !== 0n, lma = (s.efer & EFER_LMA) !== 0n, la57 = (s.cr4 & X86_CR4_LA57) !== 0n;
  const pse = (s.cr4 & X86_CR4_PSE) !== 0n;
  // The mode the registers select; without CR4.PSE a 2-level pgd entry's PS bit is ignored.
  let g: PagingGeometry, root: number;
  if (!pae) {
    g = pse ? GEOMETRY["2level"] : { ...GEOMETRY["2level"], hugeLevels: [] };
    root = Number(s.cr3 & 0xffff_f000n);
  } else if (!lma) {
    g = GEOMETRY.pae;
    root = Number(s.cr3 & 0xffff_ffe0n);
  } else {
    g = GEOMETRY[la57 ? "5level" : "4level"];
    root = Number(s.cr3 & PTE_PFN_MASK);
  }
  const out: string[] = [];
  const ph = e.phys;
  const hex = (v: bigint): string => v.toString(16).padStart(16, "0");
  const leaf = (w: WalkEntry): number => {
    if (!w.leaf || !(w.val & _PAGE_PRESENT)) return 0;
    if (out.length >= limit) return 1;
    const pa = w.level === PgtLevel.Pte ? entryAddr(g, w.val) : hugeEntryAddr(g, w.val, w.next - w.addr);
    // In a pte, bit 7 is PAT, not PS.
    out.push(`${hex(canonicalize(g, w.addr))}: ${hex(BigInt(pa))} ${flags(w.level === PgtLevel.Pte ? w.val & ~_PAGE_PSE : w.val)}`);
    return 0;
  };
  // A table outside RAM has nothing to show.
  walkPageRange(x86PageTables(g, (ptr) => { try { return ph.readEntry(ptr, g.entryBytes); } catch { return 0n; } }), root, 0n, 1n << BigInt(g.vaBits), everyEntry(leaf));
  return out;
}
