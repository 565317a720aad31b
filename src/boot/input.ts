/**
 * What the early mapping is planned from: the memory map, memblock as
 * init_mem_mapping() finds it, the kernel image and its brk buffer, CPU
 * features, the paging mode and the paravirt backend.
 *
 * Three ways in: a bare machine size (`--mem 64G`, QEMU-like map), an E820
 * map (boot-log text or JSON), or a recorded real boot (its
 * memblock/kernel/pgt_buf fields taken verbatim).
 */
import { E820Error, E820Type, type E820Entry, e820EndOfRamPfn, e820SetupArchEdits, sanitizeE820 } from "./e820.js";
import { geometry } from "./geometry.js";
import { Memblock } from "./memblock.js";
import type { StepRule } from "./alloc-low.js";
import type { Preexisting } from "./pgtable.js";
import type { PagingMode } from "../kernel/x86/pgtable-types.js";
import { bootModeName } from "../cli/paging-mode.js";

export type Backend = "native" | "xen";

export interface KernelLayout {
  /** Physical _text, _end, __brk_base and _brk_end (after the pgt_buf was carved out). */
  text: number;
  end: number;
  brkBase: number;
  brkEnd: number;
}

/** 32-bit fixmap geometry used by early_ioremap_page_table_range_init(). */
export interface Fixmap32 {
  /** [start, end): the fixmap's PMD-aligned virtual range. */
  start: number;
  end: number;
  /** [start, end): PMD-aligned virtual range of the kmap slots (FIX_KMAP_*). */
  kmapStart: number;
  kmapEnd: number;
  /** PMD-aligned VAs whose pte page already exists (early_ioremap's bm_pte). */
  prepopulated: number[];
}

export interface BootInput {
  mode: PagingMode;
  backend: Backend;
  /** e820_table at init_mem_mapping() time (after setup_arch's edits). */
  e820: E820Entry[];
  memblock: Memblock;
  kernel: KernelLayout;
  /** The brk page-table buffer: start address and size in pages. */
  pgtBuf: { start: number; pages: number };
  /** CPU: PSE (2M/4M pages) and GBPAGES (1G) usable for the direct map. */
  pse: boolean;
  gbpages: boolean;
  /** memblock bottom-up (movable_node) → memory_map_bottom_up. */
  bottomUp: boolean;
  stepRule: StepRule;
  maxPfn: number;
  /** 32-bit: lowmem end (highmem is not direct-mapped). 64-bit: max_pfn. */
  maxLowPfn: number;
  /** Physical address of init_top_pgt / swapper_pg_dir (inside the image). */
  pgdPa: number;
  fixmap?: Fixmap32;
  /** Pages extend_brk() may still add (0: brk locked, as in 6.1). */
  brkExtendPages: number;
  /** Tables that exist before init_mem_mapping (set by a backend's start of day). */
  preexisting?: Preexisting;
  /** What the kernel would warn about while reading the memory map (RAM it cannot use). */
  warnings?: string[];
}

export class BootInputError extends Error {
  constructor(msg: string) { super(msg); this.name = "BootInputError"; }
}

const MiB = 2 ** 20, GiB = 2 ** 30;

/** The memory a Xen PV domU uses at most (xen_get_pages_limit with xen_512gb_limit). */
export const XEN_PV_LIMIT = 512 * GiB;

/** The recorded Debian 6.1 kernels' layouts (nokaslr). */
export const DEBIAN_61_AMD64: KernelLayout = { text: 0x1000000, end: 0x4430000, brkBase: 0x4400000, brkEnd: 0x4411000 };
export const DEBIAN_61_686PAE: KernelLayout = { text: 0x1000000, end: 0x2135000, brkBase: 0x1f0b000, brkEnd: 0x1f24000 };

/** 32-bit lowmem limit of the recorded 686-pae build (max_low_pfn 0x36ffe with ≥ 1 GiB). */
export const MAXMEM_PFN_32 = 0x36ffe;

export function defaultFixmap32(mode: PagingMode): Fixmap32 {
  // Derived from the 686-pae record's allocation pattern: the fixmap spans
  // three PMDs, the lowest already has early_ioremap's bm_pte, and the kmap
  // slots straddle the upper two (page_table_range_init_count() = 2).
  if (mode === "pae")
    return { start: 0xffa00000, end: 0x100000000, kmapStart: 0xffc00000, kmapEnd: 0x100000000, prepopulated: [0xffa00000] };
  // 2-level: 4 MiB PMDs; the kmap slots fit in one, so nothing is copied.
  return { start: 0xff800000, end: 0x100000000, kmapStart: 0xffc00000, kmapEnd: 0x100000000, prepopulated: [0xff800000] };
}

/** Parse "64G", "512M", "4T", "1073741824". */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)i?B?\s*$/i.exec(s);
  if (!m) throw new BootInputError(`bad size "${s}" (examples: 512M, 64G, 4T)`);
  const mult: Record<string, number> = { "": 1, K: 2 ** 10, M: MiB, G: GiB, T: 2 ** 40, P: 2 ** 50 };
  const v = Number(m[1]) * mult[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(v) || v <= 0) throw new BootInputError(`bad size "${s}"`);
  return v;
}

/**
 * A QEMU/SeaBIOS-like map for `size` bytes of RAM: 639 KiB low RAM, the
 * BIOS hole, RAM up to the 32-bit PCI hole (2 GiB on q35-like machines
 * above 2 GiB, else all of it minus 128 KiB of ACPI/reserved), the rest above
 * 4 GiB — the shapes of the recorded boots.
 */
export function qemuLikeE820(size: number): E820Entry[] {
  if (size < 16 * MiB) throw new BootInputError(`--mem ${size} is too small: at least 16 MiB`);
  const e: E820Entry[] = [
    { start: 0, end: 0x9fc00, type: E820Type.Ram },
    { start: 0x9fc00, end: 0xa0000, type: E820Type.Reserved },
    { start: 0xf0000, end: 0x100000, type: E820Type.Reserved },
  ];
  const lowLimit = size > 3 * GiB ? 2 * GiB : size;
  const lowEnd = lowLimit - 0x20000;
  e.push({ start: 0x100000, end: lowEnd, type: E820Type.Ram });
  e.push({ start: lowEnd, end: lowLimit, type: E820Type.Reserved });
  e.push({ start: 0xfffc0000, end: 0x100000000, type: E820Type.Reserved });
  // The firmware reports all of it whatever the paging mode; what the kernel
  // cannot use is dropped by inputFromE820 (capRam), with a warning.
  if (size > lowLimit) e.push({ start: 4 * GiB, end: 4 * GiB + (size - lowLimit), type: E820Type.Ram });
  return sanitizeE820(e);
}

export interface InputOptions {
  mode?: PagingMode;
  backend?: Backend;
  pse?: boolean;
  gbpages?: boolean;
  bottomUp?: boolean;
  stepRule?: StepRule;
  kernel?: KernelLayout;
  pgtBufPages?: number;
  brkExtendPages?: number;
}

/**
 * Build the init_mem_mapping() state from a firmware map the way setup_arch()
 * does: apply its two edits, set up memblock from RAM, reserve the first
 * 1 MiB (6.1 reserves all of it) and the kernel image up to _brk_end.
 */
export function inputFromE820(rawMap: readonly E820Entry[], opts: InputOptions = {}): BootInput {
  const mode = opts.mode ?? "4level";
  const g = geometry(mode);
  const backend = opts.backend ?? "native";
  if (backend === "xen" && !g.is64)
    throw new BootInputError("Xen PV guests are 64-bit only (32-bit PV support was removed in Linux 5.9): " +
      `use --mode ${bootModeName("4level")} or ${bootModeName("5level")} with --xen`);
  const e820 = e820SetupArchEdits(sanitizeE820(rawMap));
  const mb = Memblock.fromE820(e820);
  const { maxPfn, warnings } = capRam(mode, backend, mb, e820EndOfRamPfn(e820));
  const maxLowPfn = g.is64 ? maxPfn : Math.min(maxPfn, MAXMEM_PFN_32);
  let ramAbove1M = 0;
  for (const r of mb.memory) ramAbove1M += Math.max(0, Math.min(r.end, maxLowPfn * 4096) - Math.max(r.base, 0x100000));
  if (ramAbove1M <= 0) throw new BootInputError("the memory map has no usable RAM above 1 MiB: nothing for the kernel to run in");
  const base = opts.kernel ?? (g.is64 ? DEBIAN_61_AMD64 : DEBIAN_61_686PAE);
  const pgtPages = opts.pgtBufPages ?? g.defaultPgtBufPages;
  if (!Number.isInteger(pgtPages) || pgtPages < 1) throw new BootInputError(`brk reserve must be at least 1 page, got ${pgtPages}`);
  // early_alloc_pgt_buf() extends brk from where it stands (the recorded
  // layouts: _brk_end minus the default buffer); the brk section ends at _end.
  const pgtBufStart = base.brkEnd - g.defaultPgtBufPages * 4096;
  const brkEnd = pgtBufStart + pgtPages * 4096;
  const brkLimit = Math.max(base.end, base.brkEnd);
  if (brkEnd > brkLimit)
    throw new BootInputError(`brk reserve of ${pgtPages} pages does not fit the kernel's brk section ` +
      `[0x${pgtBufStart.toString(16)}, 0x${brkLimit.toString(16)}): at most ${(brkLimit - pgtBufStart) / 4096} pages`);
  const kernel: KernelLayout = { ...base, brkEnd };
  checkKernelInRam(mb, kernel);
  mb.reserve(0, 0x100000);
  mb.reserve(kernel.text, kernel.brkEnd);
  mb.bottomUp = opts.bottomUp ?? false;
  return {
    mode, backend, e820, memblock: mb, kernel, pgtBuf: { start: pgtBufStart, pages: pgtPages },
    pse: backend === "xen" ? false : (opts.pse ?? true),
    gbpages: backend === "xen" || !g.hasHuge ? false : (opts.gbpages ?? true),
    bottomUp: mb.bottomUp, stepRule: opts.stepRule ?? "modern", maxPfn, maxLowPfn,
    pgdPa: defaultPgdPa(kernel), fixmap: g.is64 ? undefined : defaultFixmap32(mode),
    brkExtendPages: opts.brkExtendPages ?? 0,
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * RAM the paging mode cannot address. e820__end_of_ram_pfn caps max_pfn at
 * MAX_ARCH_PFN (arch/x86/kernel/e820.c: MAXMEM >> PAGE_SHIFT on 64-bit, i.e.
 * 64 TiB with 4-level and 4 PiB with 5-level paging; 64 GiB with PAE; 4 GiB
 * without), so init_mem_mapping never maps past it; the memory model then
 * refuses the rest (mm/sparse.c mminit_validate_memmodel_limits warns and
 * clips to MAX_PHYSMEM_BITS; a non-PAE highmem kernel says "Warning: only
 * 4GB will be used", arch/x86/mm/init_32.c highmem_pfn_init). It is taken
 * out of memblock here so that nothing downstream — planning, the size of
 * the build machine — sees memory the kernel can never use.
 */
function capRam(mode: PagingMode, backend: Backend, mb: Memblock, endPfn: number): { maxPfn: number; warnings: string[] } {
  const g = geometry(mode);
  const xen = backend === "xen";
  // A Xen PV guest other than dom0 stops at 512 GiB (xen_get_pages_limit,
  // arch/x86/xen/setup.c: xen_512gb_limit, on with the default
  // CONFIG_XEN_512GB=y); xen_memory_setup ends its memory map there.
  const maxArchPfn = Math.min(2 ** (g.maxPhysmemBits - 12), xen ? XEN_PV_LIMIT / 4096 : Infinity);
  if (endPfn <= maxArchPfn) return { maxPfn: endPfn, warnings: [] };
  const cap = maxArchPfn * 4096;
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const dropped = mb.memory.filter((r) => r.end > cap).map((r) => [Math.max(r.base, cap), r.end] as const);
  const bytes = dropped.reduce((n, [s, e]) => n + e - s, 0);
  mb.removeMemory(cap, Number.MAX_SAFE_INTEGER);
  const why = xen && cap === XEN_PV_LIMIT ? "a Xen PV guest's limit: xen_512gb_limit, CONFIG_XEN_512GB"
    : g.is64 ? `MAXMEM for ${mode === "5level" ? "5" : "4"}-level paging, MAX_PHYSMEM_BITS ${g.maxPhysmemBits}`
    : mode === "pae" ? "PAE: 36-bit physical addresses" : "2-level paging: 32-bit physical addresses";
  const ranges = dropped.map(([s, e]) => `[mem ${hex(s)}-${hex(e - 1)}]`).join(", ");
  return {
    maxPfn: maxArchPfn,
    warnings: [`RAM above ${sizeText(cap)} (${why}) cannot be used: dropped ${ranges} (${sizeText(bytes)}); max_pfn ${hex(maxArchPfn)}`],
  };
}

/** An exact size in binary units: "64 TiB", "36 TiB + 2 GiB", "4 KiB". */
export function sizeText(n: number): string {
  const parts: string[] = [];
  for (const [u, s] of [["PiB", 2 ** 50], ["TiB", 2 ** 40], ["GiB", GiB], ["MiB", MiB], ["KiB", 1024], ["bytes", 1]] as const) {
    const q = Math.floor(n / s);
    if (q) { parts.push(`${q} ${u}`); n -= q * s; }
  }
  return parts.join(" + ") || "0 bytes";
}

/**
 * A kernel image at physical [text, end) laid out like the recorded kernel of
 * the mode: the brk section at the same distance below _end, as much of it in
 * use at init_mem_mapping() time (the pgt_buf included). `text` must be 2 MiB
 * aligned (CONFIG_PHYSICAL_ALIGN) and the image large enough for its brk
 * section.
 */
export function kernelLayoutAt(text: number, end: number, mode: PagingMode): KernelLayout {
  const ref = geometry(mode).is64 ? DEBIAN_61_AMD64 : DEBIAN_61_686PAE;
  const hex = (n: number): string => `0x${n.toString(16)}`;
  if (!(Number.isSafeInteger(text) && Number.isSafeInteger(end) && text >= 0 && end > text))
    throw new BootInputError(`kernel image [${hex(text)}, ${hex(end)}): the end must be above the start`);
  if (text % (2 * MiB) !== 0) throw new BootInputError(`kernel image start ${hex(text)} must be 2 MiB aligned (CONFIG_PHYSICAL_ALIGN)`);
  if (end % 4096 !== 0) throw new BootInputError(`kernel image end ${hex(end)} must be page aligned`);
  const brkFromEnd = ref.end - ref.brkBase, brkUsed = ref.brkEnd - ref.brkBase;
  if (end - text < brkFromEnd + (ref.brkBase - ref.text > 0 ? 4096 : 0))
    throw new BootInputError(`kernel image [${hex(text)}, ${hex(end)}) is too small: its brk section alone is ${hex(brkFromEnd)} bytes`);
  const brkBase = end - brkFromEnd;
  return { text, end, brkBase, brkEnd: brkBase + brkUsed };
}

/** init_top_pgt / swapper_pg_dir stand-in: a page of the image just below the brk area. */
export function defaultPgdPa(k: KernelLayout): number {
  return k.brkBase - 0x10000;
}

export function checkKernelInRam(mb: Memblock, k: KernelLayout): void {
  if (!(k.text < k.end && k.brkBase >= k.text && k.brkEnd <= Math.max(k.end, k.brkEnd) && k.brkBase <= k.brkEnd))
    throw new BootInputError("kernel layout must satisfy text < end and text ≤ brk_base ≤ brk_end");
  if (!mb.isRegionMemory(k.text, Math.max(k.end, k.brkEnd)))
    throw new BootInputError(`the kernel image [0x${k.text.toString(16)}, 0x${Math.max(k.end, k.brkEnd).toString(16)}) is not inside usable RAM`);
}

/** A PV guest's pseudo-physical map (xen_memory_setup): contiguous RAM with the ISA hole. */
export function pvE820(size: number): E820Entry[] {
  if (size < 16 * MiB) throw new BootInputError(`--mem ${size} is too small: at least 16 MiB`);
  return [{ start: 0, end: 0xa0000, type: E820Type.Ram }, { start: 0xa0000, end: 0x100000, type: E820Type.Reserved },
    { start: 0x100000, end: size, type: E820Type.Ram }];
}

export function inputFromMem(size: number, opts: InputOptions = {}): BootInput {
  return inputFromE820(opts.backend === "xen" ? pvE820(size) : qemuLikeE820(size), opts);
}

export { E820Error };
