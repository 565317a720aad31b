/**
 * A listing of an address space in the format of Linux's
 * /sys/kernel/debug/page_tables/* (arch/x86/mm/dump_pagetables.c): one line
 * per run of consecutive entries with the same protection at the same level,
 * holes included, with address-marker headers.
 *
 *   0x0000000000400000-0x0000000000402000           8K USR RW                     NX pte
 *
 * The walk (pagewalk.ts, as ptdump_walk_pgd uses walk_page_range) reads the
 * tables only (no A/D, no TLB): it is the host-side twin of the engine's
 * side-effect-free probe.
 */
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import { everyEntry, type WalkEntry, walkPageRange } from "../pagewalk.js";
import { PGT_LEVEL_NAMES, PgtLevel } from "../types.js";
import { readEntry } from "./entry.js";
import { x86PageTables } from "./pgtable.js";
import {
  _PAGE_GLOBAL, _PAGE_NX, _PAGE_PCD, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_PWT, _PAGE_RW, _PAGE_USER,
  canonicalize, entryAddr, hugeEntryAddr,
} from "./pgtable-types.js";

/** One run of the listing. */
export interface PtdumpRange {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** Level of the entries (pte for 4 KiB pages, pmd/pud for huge ones, any level for holes). */
  level: PgtLevel;
  /** Present leaves (false for holes and PROT_NONE pages). */
  present: boolean;
  /** Protection bits of the leaves (USER, RW, PWT, PCD, PSE, GLOBAL, NX), 0 for holes. */
  prot: bigint;
  /** Physical address of the first byte, for present runs. */
  pa: number | null;
}

const PROT_MASK = _PAGE_USER | _PAGE_RW | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL | _PAGE_NX;

/**
 * Walk [start, end) of an mm and return its runs. Adjacent leaves merge when
 * their protection and level agree (and, for present leaves, their physical
 * addresses continue), as note_page does.
 */
export function ptdumpRanges(k: Kernel, mm: Mm, start = 0n, end?: bigint): PtdumpRange[] {
  const g = k.geometry;
  const top = 1n << BigInt(g.vaBits);
  const stop = end ?? top;
  const out: PtdumpRange[] = [];
  const note = (va: bigint, size: bigint, level: PgtLevel, present: boolean, prot: bigint, pa: number | null): void => {
    const last = out[out.length - 1];
    if (last && last.end === va && last.level === level && last.present === present && last.prot === prot &&
        (!present || (last.pa !== null && pa !== null && last.pa + Number(last.end - last.start) === pa))) {
      last.end = va + size;
      return;
    }
    out.push({ start: va, end: va + size, level, present, prot, pa });
  };
  // note_page for every entry: not present (and not a PROT_NONE leaf) is a hole,
  // a leaf is a mapping, a table is descended into by the walker.
  const entry = (w: WalkEntry): void => {
    const e = w.val, span = w.next - w.addr;
    if (!(e & _PAGE_PRESENT) && !(w.leaf && e & _PAGE_PROTNONE)) { note(w.addr, span, w.level, false, 0n, null); return; }
    if (!w.leaf) return;
    const present = (e & _PAGE_PRESENT) !== 0n;
    const pa = w.level === PgtLevel.Pte ? entryAddr(g, e) : hugeEntryAddr(g, e, span);
    note(w.addr, span, w.level, present, present ? e & PROT_MASK : 0n, present ? pa : null);
  };
  walkPageRange(x86PageTables(g, (ptr) => readEntry(k, ptr)), mm.pgd, start, stop, {
    ...everyEntry(entry), pteHole: (addr, next, level) => note(addr, next - addr, level, false, 0n, null),
  });
  return out;
}

/** A run's flags as dump_pagetables prints them. */
function protText(r: PtdumpRange): string {
  if (!r.present) return " ".repeat(30);
  const p = r.prot;
  const f = (bit: bigint, on: string, off = " ".repeat(on.length)): string => (p & bit ? on : off);
  const pse = r.level !== PgtLevel.Pte ? f(_PAGE_PSE, "PSE") : "   ";
  return [f(_PAGE_USER, "USR"), f(_PAGE_RW, "RW", "ro"), f(_PAGE_PWT, "PWT"), f(_PAGE_PCD, "PCD"), pse, "   ",
    f(_PAGE_GLOBAL, "GLB"), f(_PAGE_NX, "NX", "x ")].join(" ");
}

/** Size with the largest unit that divides it (the "%9lu%c" column). */
function sizeText(bytes: bigint): string {
  const units = "KMGTPE";
  let d = bytes >> 10n, u = 0;
  while (d !== 0n && (d & 1023n) === 0n && u < units.length - 1) { d >>= 10n; u++; }
  return `${d.toString().padStart(9)}${units[u]}`;
}

/**
 * The /sys/kernel/debug/page_tables listing of an mm: user space, and with
 * `kernel` the kernel half (markers at PAGE_OFFSET and the vmalloc area).
 * Addresses in the kernel half are shown sign-extended, as on the machine.
 */
export function ptdump(k: Kernel, mm: Mm, opts: { kernel?: boolean } = {}): string {
  const g = k.geometry;
  const width = g.vaBits === 32 ? 8 : 16;
  const top = 1n << BigInt(g.vaBits);
  const hex = (v: bigint): string =>
    "0x" + (v >= top ? canonicalize(g, v - 1n) + 1n : canonicalize(g, v)).toString(16).padStart(width, "0");
  const raw = (v: bigint): bigint => v & ((1n << BigInt(g.vaBits)) - 1n);
  const markers: [bigint, string][] = [[0n, "User Space"]];
  if (opts.kernel) markers.push([raw(g.pageOffset), "Kernel Space"], [raw(g.vmallocStart), "vmalloc() Area"], [raw(g.vmallocEnd) + 1n, "vmalloc() End"]);
  const end = opts.kernel ? 1n << BigInt(g.vaBits) : g.taskSize;
  const lines: string[] = [];
  let m = 0;
  for (const r of ptdumpRanges(k, mm, 0n, end)) {
    while (m < markers.length && markers[m]![0] <= r.start) lines.push(`---[ ${markers[m++]![1]} ]---`);
    // Split a run at a marker so each section starts on its own line.
    let s = r.start;
    while (m < markers.length && markers[m]![0] < r.end) {
      const cut = markers[m]![0];
      lines.push(`${hex(s)}-${hex(cut)}   ${sizeText(cut - s)} ${protText(r)} ${PGT_LEVEL_NAMES[r.level]}`);
      lines.push(`---[ ${markers[m++]![1]} ]---`);
      s = cut;
    }
    const e = r.end > end ? end : r.end;
    if (e > s) lines.push(`${hex(s)}-${hex(e)}   ${sizeText(e - s)} ${protText(r)} ${PGT_LEVEL_NAMES[r.level]}`);
  }
  return lines.join("\n") + "\n";
}
