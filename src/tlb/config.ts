/**
 * TLB organisation: the host resolves a TlbConfig into structures (sets ×
 * ways × page sizes × access kinds × level) and writes their descriptors into
 * the header of the TLB region, where both engines read them (TLB-ABI.md).
 *
 * Two shapes:
 * - "fast" (default, for emulators): one L1 per page size — 4 KiB, 2/4 MiB,
 *   1 GiB — each direct-mapped and large, shared by every access kind. The
 *   4 KiB array is structure 0, probed inline by the batch loop.
 * - "research": L1 instruction and data TLBs plus a shared L2, each level
 *   either one structure per page size or one unified structure, sets ×
 *   ways with LRU or tree-PLRU replacement, and optional paging-structure
 *   caches per level (Intel SDM Vol. 3A §4.10.3; ChampSim's PSCL5..PSCL2).
 */
import { Access, TlbEnt, TlbFlag, TlbHdr, TlbSize, TlbStruct } from "../abi.js";
import { checkKeys, checkObject } from "../check.js";

/** sets × ways of one structure (sets and, for PLRU, ways: powers of two). */
export interface TlbGeometry { sets: number; ways: number }

/** One research level: per page size, or one structure holding all its sizes. */
export interface TlbLevelConfig {
  "4k"?: TlbGeometry | null;
  /** 2 MiB (PAE, IA-32e) or 4 MiB (32-bit paging with CR4.PSE) pages. */
  large?: TlbGeometry | null;
  "1g"?: TlbGeometry | null;
  /** One structure for 4 KiB and large pages (an STLB), 1 GiB still separate if given. */
  unified?: TlbGeometry;
}

export interface TlbConfig {
  /** "fast" (default), "research", or "off" (nothing cached: every access walks). */
  mode?: "fast" | "research" | "off";
  /** fast: entries of the direct-mapped arrays (powers of two). */
  entries4k?: number;
  entriesLarge?: number;
  entries1g?: number;
  /** research: the hierarchy (defaults modelled on a recent Intel core). */
  l1i?: TlbLevelConfig;
  l1d?: TlbLevelConfig;
  /** Shared second level; null for none. */
  l2?: TlbLevelConfig | null;
  replacement?: "lru" | "plru";
  /** Paging-structure caches: true for the defaults, or geometry per level. */
  psc?: boolean | { pml5?: TlbGeometry; pml4?: TlbGeometry; pdpt?: TlbGeometry; pd?: TlbGeometry };
}

/** A resolved structure (what the header describes). */
export interface TlbStructure {
  readonly name: string;
  readonly level: number;
  readonly sets: number;
  readonly ways: number;
  readonly sizes: number;   // TlbSize bits
  readonly kinds: number;   // 1 << Access bits
  readonly entriesOff: number;
  readonly listOff: number;
}

export interface TlbLayout {
  readonly mode: "fast" | "research" | "off";
  readonly structures: readonly TlbStructure[];
  /** Paging-structure caches, level 5 (PML5E) … 2 (PDE). */
  readonly psc: readonly TlbStructure[];
  readonly flags: number;
  readonly bytes: number;
}

const ALL_KINDS = (1 << Access.Read) | (1 << Access.Write) | (1 << Access.Fetch);
const DATA_KINDS = (1 << Access.Read) | (1 << Access.Write);
const ENTRY_BYTES = TlbEnt.SIZE + 4;   // entry + its slot in the valid-entry list

export const TLB_RESEARCH_DEFAULTS = {
  l1i: { "4k": { sets: 16, ways: 8 }, large: { sets: 1, ways: 8 } },
  l1d: { "4k": { sets: 16, ways: 4 }, large: { sets: 8, ways: 4 }, "1g": { sets: 1, ways: 4 } },
  l2: { unified: { sets: 128, ways: 8 }, "1g": { sets: 4, ways: 4 } },
  psc: { pml5: { sets: 1, ways: 2 }, pml4: { sets: 1, ways: 4 }, pdpt: { sets: 2, ways: 4 }, pd: { sets: 4, ways: 8 } },
} as const;

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function checkGeometry(what: string, g: TlbGeometry, plru: boolean): void {
  if (!isPow2(g.sets) || g.sets > 1 << 22) throw new RangeError(`tlb ${what}: sets must be a power of two ≤ 2^22, got ${g.sets}`);
  if (!Number.isInteger(g.ways) || g.ways < 1 || g.ways > 32) throw new RangeError(`tlb ${what}: ways must be 1..32, got ${g.ways}`);
  if (plru && !isPow2(g.ways)) throw new RangeError(`tlb ${what}: tree-PLRU needs a power-of-two number of ways, got ${g.ways}`);
}

// The header holds the TLB's and the caches' descriptors before the entries.
if (TlbHdr.PSC + TlbHdr.MAX_PSC * TlbHdr.STRUCT_SIZE > TlbHdr.SIZE) throw new Error("TlbHdr: descriptors overlap the entries");

/** Resolve a TlbConfig (and the optional byte budget) into structures and offsets. */
export function resolveTlb(cfg: TlbConfig = {}, budget?: number): TlbLayout {
  checkObject("createEngine", "tlb", cfg);
  checkKeys("createEngine", "tlb option", cfg, ["mode", "entries4k", "entriesLarge", "entries1g", "l1i", "l1d", "l2", "replacement", "psc"]);
  const mode = cfg.mode ?? "fast";
  if (mode !== "fast" && mode !== "research" && mode !== "off")
    throw new TypeError(`tlb.mode must be "fast", "research" or "off", got "${String(mode)}"`);
  const plru = cfg.replacement === "plru";
  if (cfg.replacement !== undefined && cfg.replacement !== "lru" && !plru)
    throw new TypeError(`tlb.replacement must be "lru" or "plru", got "${String(cfg.replacement)}"`);
  const specs: Omit<TlbStructure, "entriesOff" | "listOff">[] = [];
  const add = (name: string, level: number, g: TlbGeometry, sizes: number, kinds: number): void => {
    checkGeometry(name, g, plru);
    specs.push({ name, level, sets: g.sets, ways: g.ways, sizes, kinds });
  };
  const addLevel = (name: string, level: number, l: TlbLevelConfig, kinds: number): void => {
    if (l.unified) add(`${name}`, level, l.unified, TlbSize.S4K | TlbSize.LARGE, kinds);
    else {
      if (l["4k"]) add(`${name}-4k`, level, l["4k"], TlbSize.S4K, kinds);
      if (l.large) add(`${name}-large`, level, l.large, TlbSize.LARGE, kinds);
    }
    if (l["1g"]) add(`${name}-1g`, level, l["1g"], TlbSize.S1G, kinds);
  };
  let flags = plru ? TlbFlag.PLRU : 0;
  if (mode === "fast") {
    const direct = (n: number | undefined, dflt: number, what: string): TlbGeometry => {
      const sets = n ?? dflt;
      if (!isPow2(sets)) throw new RangeError(`tlb.${what} must be a power of two, got ${sets}`);
      return { sets, ways: 1 };
    };
    add("l1-4k", 1, direct(cfg.entries4k, 16384, "entries4k"), TlbSize.S4K, ALL_KINDS);
    add("l1-large", 1, direct(cfg.entriesLarge, 2048, "entriesLarge"), TlbSize.LARGE, ALL_KINDS);
    add("l1-1g", 1, direct(cfg.entries1g, 64, "entries1g"), TlbSize.S1G, ALL_KINDS);
    flags |= TlbFlag.FAST;
  } else if (mode === "research") {
    const d = TLB_RESEARCH_DEFAULTS;
    addLevel("l1d", 1, cfg.l1d ?? d.l1d, DATA_KINDS);
    addLevel("l1i", 1, cfg.l1i ?? d.l1i, 1 << Access.Fetch);
    const l2 = cfg.l2 === undefined ? d.l2 : cfg.l2;
    if (l2) addLevel("l2", 2, l2, ALL_KINDS);
  }
  if (specs.length > TlbHdr.MAX_STRUCTS) throw new RangeError(`tlb: at most ${TlbHdr.MAX_STRUCTS} structures, got ${specs.length}`);

  const pscSpecs: Omit<TlbStructure, "entriesOff" | "listOff">[] = [];
  if (cfg.psc && mode !== "off") {
    const p = cfg.psc === true ? TLB_RESEARCH_DEFAULTS.psc : { ...TLB_RESEARCH_DEFAULTS.psc, ...cfg.psc };
    ([["pml5", 5], ["pml4", 4], ["pdpt", 3], ["pd", 2]] as const).forEach(([n, level]) => {
      checkGeometry(`psc.${n}`, p[n], plru);
      pscSpecs.push({ name: `psc-${n}`, level, sets: p[n].sets, ways: p[n].ways, sizes: 0, kinds: ALL_KINDS });
    });
  }

  let off: number = TlbHdr.SIZE;
  const place = (s: Omit<TlbStructure, "entriesOff" | "listOff">): TlbStructure => {
    const n = s.sets * s.ways;
    const entriesOff = off; off += n * TlbEnt.SIZE;
    const listOff = off; off += n * 4;
    return { ...s, entriesOff, listOff };
  };
  const structures = specs.map(place), psc = pscSpecs.map(place);
  // "off": only the first header words (COUNT = 0) are ever read.
  const bytes = structures.length + psc.length === 0 ? 64 : Math.ceil(off / 64) * 64;
  if (budget !== undefined && bytes > budget)
    throw new RangeError(`tlb needs ${bytes} bytes (${structures.concat(psc).map((s) => `${s.name} ${s.sets}×${s.ways}`).join(", ")}) ` +
      `but tlbBytes is ${budget}; raise tlbBytes or shrink the TLB`);
  void ENTRY_BYTES;
  return { mode, structures, psc, flags, bytes };
}

/**
 * The TLB for a machine: `cfg.tlb` if given (it must fit `tlbBytes` when that
 * is given too); otherwise the fast default, halved until it fits `tlbBytes`,
 * or off when not even a small one fits.
 */
export function machineTlb(cfg: TlbConfig | undefined, tlbBytes: number | undefined): TlbLayout {
  if (cfg !== undefined || tlbBytes === undefined) return resolveTlb(cfg, tlbBytes);
  for (let e4 = 16384, el = 2048, e1 = 64; e4 >= 16; e4 >>= 1, el = Math.max(1, el >> 1), e1 = Math.max(1, e1 >> 1)) {
    const t = resolveTlb({ entries4k: e4, entriesLarge: el, entries1g: e1 });
    if (t.bytes <= tlbBytes) return t;
  }
  return resolveTlb({ mode: "off" });
}

/** Write the header of a fresh TLB region: descriptors, empty lists; every entry INVALID. */
export function writeTlbHeader(buf: ArrayBufferLike, base: number, t: TlbLayout): void {
  const dv = new DataView(buf, base, t.bytes);
  dv.setUint32(TlbHdr.COUNT, t.structures.length, true);
  dv.setUint32(TlbHdr.CLOCK, 0, true);
  dv.setUint32(TlbHdr.FLAGS, t.flags, true);
  dv.setUint32(TlbHdr.PSC_COUNT, t.psc.length, true);
  const desc = (at: number, s: TlbStructure): void => {
    dv.setUint32(at + TlbStruct.ENTRIES, s.entriesOff, true);
    dv.setUint32(at + TlbStruct.SETS_LOG2, Math.log2(s.sets), true);
    dv.setUint32(at + TlbStruct.WAYS, s.ways, true);
    dv.setUint32(at + TlbStruct.SIZES, s.sizes, true);
    dv.setUint32(at + TlbStruct.LEVEL, s.level, true);
    dv.setUint32(at + TlbStruct.KINDS, s.kinds, true);
    dv.setUint32(at + TlbStruct.LIST, s.listOff, true);
    dv.setUint32(at + TlbStruct.LIST_COUNT, 0, true);
    // Empty slots: DATA = INVALID, everything else 0.
    for (let i = 0; i < s.sets * s.ways; i++) dv.setUint32(s.entriesOff + i * TlbEnt.SIZE + TlbEnt.DATA, 1, true);
  };
  t.structures.forEach((s, i) => desc(TlbHdr.STRUCTS + i * TlbHdr.STRUCT_SIZE, s));
  t.psc.forEach((s, i) => desc(TlbHdr.PSC + i * TlbHdr.STRUCT_SIZE, s));
}
