/**
 * Recorded real boots (test/fixtures/linux-boot-public.jsonl, described in
 * linux-boot-README.md): turn a record's inputs into a BootInput, and compare
 * a plan with what the kernel really did.
 *
 * Inputs taken verbatim: memblock.memory / memblock.reserved at
 * init_mem_mapping, e820_table at that time, the kernel layout, pgt_buf,
 * cpu (5-level, GB pages), memblock_bottom_up, max_pfn / max_low_pfn.
 */
import { parseAddr } from "./e820.js";

import { type BootInput, BootInputError, defaultFixmap32, defaultPgdPa, type KernelLayout } from "./input.js";
import { Memblock } from "./memblock.js";
import { type BootPlan, planToJson } from "./plan.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";

/** The fields of a record this module reads (others are carried along). */
export interface BootRecord {
  id: string;
  arch: "x86_64" | "i386-pae";
  e820_at_init_mem_mapping: [string, string, number][];
  memblock_memory_at_init_mem_mapping: [string, string, number][];
  memblock_reserved_at_init_mem_mapping: [string, string, number][];
  memblock_bottom_up: number;
  kernel_layout: { kernel_text_phys: string; kernel_end_phys: string; brk_base_phys: string; brk_end_phys: string };
  pgt_buf: { start: string; top: string; pages: number; end_final: string };
  cpu: { gbpages_used: boolean; pgtable_l5_enabled: number | null };
  max_pfn: string;
  max_low_pfn: string;
  [k: string]: unknown;
}

export function parseRecords(jsonl: string): BootRecord[] {
  return jsonl.split(/\r?\n/).filter((l) => l.trim()).map((l, i) => {
    let r: unknown;
    try { r = JSON.parse(l); } catch (e) { throw new BootInputError(`record line ${i + 1}: not JSON (${(e as Error).message})`); }
    checkRecord(r, i + 1);
    return r as BootRecord;
  });
}

function checkRecord(r: unknown, line: number): void {
  const need = ["memblock_memory_at_init_mem_mapping", "memblock_reserved_at_init_mem_mapping", "kernel_layout", "pgt_buf", "cpu", "max_pfn"];
  if (!r || typeof r !== "object") throw new BootInputError(`record line ${line}: not an object`);
  for (const k of need) if (!(k in r)) throw new BootInputError(`record line ${line}: missing field "${k}"`);
}

const a = (v: string, w: string): number => parseAddr(v, w);

export function inputFromRecord(r: BootRecord): BootInput {
  const mode: PagingMode = r.arch === "i386-pae" ? "pae" : r.cpu.pgtable_l5_enabled ? "5level" : "4level";
  const mb = new Memblock();
  for (const [s, e] of r.memblock_memory_at_init_mem_mapping) mb.addMemory(a(s, r.id), a(e, r.id) + 1);
  for (const [s, e] of r.memblock_reserved_at_init_mem_mapping) mb.reserve(a(s, r.id), a(e, r.id) + 1);
  mb.bottomUp = !!r.memblock_bottom_up;
  const kl = r.kernel_layout;
  const kernel: KernelLayout = { text: a(kl.kernel_text_phys, "text"), end: a(kl.kernel_end_phys, "end"),
    brkBase: a(kl.brk_base_phys, "brk"), brkEnd: a(kl.brk_end_phys, "brk_end") };
  const e820 = (r.e820_at_init_mem_mapping ?? []).map(([s, e, t]) => ({ start: a(s, "e820"), end: a(e, "e820") + 1, type: t }));
  const is64 = mode !== "pae";
  return {
    mode, backend: "native", e820, memblock: mb, kernel,
    pgtBuf: { start: a(r.pgt_buf.start, "pgt_buf"), pages: r.pgt_buf.pages },
    pse: true, gbpages: is64 && !!r.cpu.gbpages_used, bottomUp: mb.bottomUp, stepRule: "modern",
    maxPfn: a(r.max_pfn, "max_pfn"), maxLowPfn: a(r.max_low_pfn ?? r.max_pfn, "max_low_pfn"),
    pgdPa: defaultPgdPa(kernel), fixmap: is64 ? undefined : defaultFixmap32(mode), brkExtendPages: 0,
  };
}

/** The record fields the `linux` strategy must reproduce, side by side with the plan's. */
export const COMPARED_FIELDS = [
  "init_memory_mapping", "map_ranges", "mapping_steps", "top_down_probe_block",
  "brk_pgtable", "brk_pgtable_pages", "memblock_pgtable", "memblock_pgtable_pages",
  "alloc_low_pages", "pgt_buf.end_final", "max_pfn_mapped_final", "direct_pages_count_at_paging_init",
] as const;

/** Differences between a plan and a record (empty = reproduced exactly). */
export function compareWithRecord(plan: BootPlan, r: BootRecord): string[] {
  const pj = planToJson(plan, { steps: false });
  const diffs: string[] = [];
  const eq = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  const check = (name: string, mine: unknown, theirs: unknown): void => {
    if (!eq(mine, theirs)) diffs.push(`${name}: plan ${JSON.stringify(mine)} ≠ kernel ${JSON.stringify(theirs)}`);
  };
  check("init_memory_mapping", pj.init_memory_mapping, r.init_memory_mapping);
  check("map_ranges", pj.map_ranges, r.map_ranges);
  check("mapping_steps", pj.mapping_steps, r.mapping_steps);
  if (!r.memblock_bottom_up) check("top_down_probe_block", pj.top_down_probe_block, r.top_down_probe_block);
  check("brk_pgtable_pages", pj.brk_pgtable_pages, r.brk_pgtable_pages);
  check("memblock_pgtable", pj.memblock_pgtable, r.memblock_pgtable);
  check("memblock_pgtable_pages", pj.memblock_pgtable_pages, r.memblock_pgtable_pages);
  check("pgt_buf.end_final", (pj.pgt_buf as { end_final: string }).end_final, r.pgt_buf.end_final);
  check("max_pfn_mapped_final", pj.max_pfn_mapped_final, r.max_pfn_mapped_final);
  check("direct_pages_count_at_paging_init", pj.direct_pages_count_at_paging_init, r.direct_pages_count_at_paging_init);
  const mine = plan.allocations.map((x) => ({ num: x.num, phys: [`0x${x.pa.toString(16)}`, `0x${(x.pa + x.num * 4096 - 1).toString(16)}`],
    source: x.source, caller: x.caller, during: x.during }));
  const theirs = (r.alloc_low_pages as { num: number; phys: string[]; source: string; caller: string; during: string }[])
    .map((x) => ({ ...x, caller: x.caller.replace(/(\.constprop)? \+ \d+$/, "") }));
  check("alloc_low_pages", mine, theirs);
  return diffs;
}
