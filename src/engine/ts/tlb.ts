/**
 * The TS engine's TLB: the twin of assembly/tlb.ts over the same bytes of
 * the same layout (header, 32-byte entries, valid-entry lists, statistics),
 * so that both engines hit, miss, replace and flush identically and their
 * memories stay equal byte for byte. See the core file for the semantics and
 * their sources (Intel SDM Vol. 3A §4.10) and docs/TLB-ABI.md for the layout.
 *
 * Hot-path rules as in the walker: 64-bit values are (lo, hi) u32 halves of
 * a Uint32Array, no BigInt, no allocation.
 */
import { lowMask } from "./bits.js";
import { Access, Cr, Ctl, Leaf, Mem, Stat, TlbDeny, TlbEnt, TlbFlag, TlbHdr, TlbSize, TlbStruct, X86Mode } from "../../abi.js";
import type { Layout } from "../../layout.js";
import { TsPsc } from "./psc.js";
import { denyBitsOf, permControls } from "./x86/access.js";
import type { X86Walker } from "./x86/walk.js";
import { TWO32 } from "../../u64.js";

const c32 = (off: number): number => (Mem.CTL_BASE + off) >>> 2;
const C_MODE = c32(Ctl.MODE), C_CR0 = c32(Ctl.CR0), C_CR3 = c32(Ctl.CR3), C_CR4 = c32(Ctl.CR4);
const C_CPL = c32(Ctl.CPL), C_EFLAGS = c32(Ctl.EFLAGS);
const STATS32 = Mem.STATS_BASE >>> 2;
// u32 indexes of an entry's fields, relative to the entry.
const E_KEY = TlbEnt.KEY >>> 2, E_DATA = TlbEnt.DATA >>> 2, E_PTE = TlbEnt.PTE_PA >>> 2;
const E_LEAF = TlbEnt.LEAF >>> 2, E_STAMP = TlbEnt.STAMP >>> 2, E_WORDS = TlbEnt.SIZE >>> 2;
const NOT_DENY = ~TlbDeny.MASK;

// Flush selectors, as in the core.
const ALL = 0, NON_GLOBAL = 1, PCID_NON_GLOBAL = 2;
const PAGE_INVLPG = 0, PAGE_PCID = 1;

export class TsTlb {
  private readonly m32: Uint32Array;
  /** u32 index of the TLB region (header). */
  private readonly t32: number;
  /** The paging-structure caches (the core's psc.ts), used by the walker. */
  readonly psc: TsPsc;

  constructor(buffer: ArrayBuffer, layout: Layout, private readonly w: X86Walker) {
    this.m32 = new Uint32Array(buffer);
    this.t32 = layout.tlbBase >>> 2;
    this.psc = new TsPsc(this.m32, this.t32, this);
    w.psc = this.psc;
  }

  // ── statistics ──
  statAdd(off: number, n: number): void {
    const m32 = this.m32, i = STATS32 + (off >>> 2);
    const lo = m32[i]! + n;
    m32[i] = lo >>> 0;
    if (lo >= TWO32) m32[i + 1] = (m32[i + 1]! + Math.floor(lo / TWO32)) >>> 0;
  }
  static statAccess(level: number, access: number, miss: number): number {
    return Stat.ACCESS + (level - 1) * Stat.LEVEL_STRIDE + access * Stat.KIND_STRIDE + miss * Stat.COUNTER;
  }

  // ── context ──
  get count(): number { return this.m32[this.t32 + (TlbHdr.COUNT >>> 2)]!; }
  get fast(): boolean { return (this.m32[this.t32 + (TlbHdr.FLAGS >>> 2)]! & TlbFlag.FAST) !== 0 && this.count !== 0; }
  /** Set hash of `pcid` in structure 0 (direct-mapped when fast). */
  fastHash(pcid: number): number { return Math.imul(pcid, TlbEnt.PCID_HASH) >>> 0; }
  /** Structure 0: u32 index of its entries and its set mask (for the inline probe). */
  get fastEntries32(): number { return this.t32 + (this.m32[this.t32 + ((TlbHdr.STRUCTS + TlbStruct.ENTRIES) >>> 2)]! >>> 2); }
  get fastSetMask(): number { return lowMask(this.m32[this.t32 + ((TlbHdr.STRUCTS + TlbStruct.SETS_LOG2) >>> 2)]!); }

  currentPcid(): number {
    const m32 = this.m32;
    return (m32[C_CR4]! >>> Cr.CR4_PCIDE) & 1 ? m32[C_CR3]! & TlbEnt.PCID_MASK : 0;
  }

  accessMask(access: Access): number {
    const m32 = this.m32, user = m32[C_CPL] === 3;
    if (access === Access.Fetch) return TlbDeny.INVALID | (user ? TlbDeny.X_USER : TlbDeny.X_SUP);
    const write = access === Access.Write;
    let m = TlbDeny.INVALID | TlbDeny.PKEY;
    if (user) m |= write ? TlbDeny.W_USER : TlbDeny.R_USER;
    else {
      if (write) m |= TlbDeny.W_SUP;
      if (!((m32[C_EFLAGS]! >>> Cr.EFLAGS_AC) & 1)) m |= TlbDeny.SMAP;
    }
    return m;
  }

  /** The deny bits of a leaf in the current context (x86/access.ts denyBitsOf). */
  denyBits(leaf: number): number { return denyBitsOf(leaf, permControls(this.m32)); }

  /** denyBits tabulated by the leaf's W, U, X and D bits for the controls it
   *  was built for (the core's denyBitsCached): a fill costs one lookup. */
  private readonly denyTab = new Uint32Array(16);
  private denyKey0 = -1; private denyKey1 = -1; private denyKey2 = -1;
  private denyBitsCached(leaf: number): number {
    const m32 = this.m32, k0 = m32[C_CR0]!, k1 = m32[C_CR4]!, k2 = m32[C_MODE]!;
    if (k0 !== this.denyKey0 || k1 !== this.denyKey1 || k2 !== this.denyKey2) {
      for (let c = 0; c < 16; c++) this.denyTab[c] = this.denyBits(c);
      this.denyKey0 = k0; this.denyKey1 = k1; this.denyKey2 = k2;
    }
    return this.denyTab[leaf & (Leaf.W | Leaf.U | Leaf.X | Leaf.D)]!;
  }

  // ── structures ──
  private structAt(i: number): number { return this.t32 + ((TlbHdr.STRUCTS + i * TlbHdr.STRUCT_SIZE) >>> 2); }
  private sd(sd: number, field: TlbStruct): number { return this.m32[sd + (field >>> 2)]!; }

  private classShift(c: number): number {
    return c === TlbSize.S4K ? 12 : c === TlbSize.S1G ? 30 : this.m32[C_MODE] === X86Mode.Legacy32 ? 22 : 21;
  }

  /** The set hash of `pcid` in structure `sd` (see the core's pcidHash). */
  /** @internal */
  pcidHash(sd: number, pcid: number): number {
    return this.sd(sd, TlbStruct.WAYS) === 1 ? Math.imul(pcid, TlbEnt.PCID_HASH) >>> 0 : 0;
  }

  /** u32 index of the first entry of the set of (vaHi:vaLo) at shift `sh`,
   *  set hash `h` (shifts of 32 and more: the PML4E and PML5E caches). @internal */
  setBase(sd: number, vaLo: number, vaHi: number, sh: number, h: number): number {
    const idx = sh < 32 ? (vaLo >>> sh) | (vaHi << (32 - sh)) : vaHi >>> (sh - 32);
    const set = (idx ^ h) & lowMask(this.sd(sd, TlbStruct.SETS_LOG2));
    return this.t32 + (this.sd(sd, TlbStruct.ENTRIES) >>> 2) + set * this.sd(sd, TlbStruct.WAYS) * E_WORDS;
  }

  private entryMaps(e: number, vaLo: number, vaHi: number, sh: number, pcid: number): boolean {
    const m32 = this.m32, k = m32[e + E_KEY]!, lf = m32[e + E_LEAF]!;
    return !(m32[e + E_DATA]! & TlbDeny.INVALID) && ((lf >>> TlbEnt.SHIFT_SHIFT) & 0xff) === sh
      && ((k & NOT_DENY) >>> 0) === ((vaLo & ~lowMask(sh)) >>> 0) && m32[e + E_KEY + 1] === vaHi
      && ((k & TlbEnt.PCID_MASK) === pcid || (lf & TlbEnt.GLOBAL) !== 0);
  }

  /** @internal */
  entryClear(e: number): void {
    const m32 = this.m32;
    m32[e] = 0; m32[e + 1] = 0;
    m32[e + E_DATA] = TlbDeny.INVALID; m32[e + E_DATA + 1] = 0;
    m32[e + E_PTE] = 0; m32[e + E_PTE + 1] = 0;
    m32[e + E_LEAF] = (m32[e + E_LEAF]! & TlbEnt.LISTED) >>> 0;
  }

  private touch(s0: number, ways: number, w: number): void {
    if (ways === 1) return;
    const m32 = this.m32;
    if (m32[this.t32 + (TlbHdr.FLAGS >>> 2)]! & TlbFlag.PLRU) {
      let bits = m32[s0 + E_STAMP]!;
      const depth = 31 - Math.clz32(ways);
      let node = 1;
      for (let l = 0; l < depth; l++) {
        const b = (w >>> (depth - 1 - l)) & 1;
        bits = b ? bits & ~(1 << node) : bits | (1 << node);
        node = node * 2 + b;
      }
      m32[s0 + E_STAMP] = bits >>> 0;
    } else {
      const ci = this.t32 + (TlbHdr.CLOCK >>> 2);
      const clock = (m32[ci]! + 1) >>> 0;
      m32[ci] = clock;
      m32[s0 + w * E_WORDS + E_STAMP] = clock;
    }
  }

  private victim(s0: number, ways: number): number {
    const m32 = this.m32;
    if (m32[this.t32 + (TlbHdr.FLAGS >>> 2)]! & TlbFlag.PLRU) {
      const bits = m32[s0 + E_STAMP]!;
      let node = 1;
      while (node < ways) node = node * 2 + ((bits >>> node) & 1);
      return node - ways;
    }
    let best = 0, oldest = m32[s0 + E_STAMP]!;
    for (let w = 1; w < ways; w++) {
      const s = m32[s0 + w * E_WORDS + E_STAMP]!;
      if (s < oldest) { oldest = s; best = w; }
    }
    return best;
  }

  /** The core's insert; `vaHi` is also the key's high word (a PSC passes its
   *  tag there), `countEviction` false for paging-structure caches. @internal */
  insert(sd: number, sh: number, vaLo: number, vaHi: number, keyLo: number,
    dLo: number, dHi: number, pte: number, leafWord: number, countEviction = true): void {
    const m32 = this.m32, ways = this.sd(sd, TlbStruct.WAYS);
    const pcid = keyLo & TlbEnt.PCID_MASK;
    const s0 = this.setBase(sd, vaLo, vaHi, sh, leafWord & TlbEnt.GLOBAL ? 0 : this.pcidHash(sd, pcid));
    let way = -1;
    for (let w = 0; w < ways; w++) if (this.entryMaps(s0 + w * E_WORDS, vaLo, vaHi, sh, pcid)) { way = w; break; }
    if (way < 0) for (let w = 0; w < ways; w++) if (m32[s0 + w * E_WORDS + E_DATA]! & TlbDeny.INVALID) { way = w; break; }
    if (way < 0) { way = this.victim(s0, ways); if (countEviction) this.statAdd(Stat.EVICTIONS, 1); }
    const e = s0 + way * E_WORDS;
    let listed = m32[e + E_LEAF]! & TlbEnt.LISTED;
    if (!listed) {
      const ci = sd + (TlbStruct.LIST_COUNT >>> 2), n = m32[ci]!;
      const idx = (e - this.t32 - (this.sd(sd, TlbStruct.ENTRIES) >>> 2)) / E_WORDS;
      m32[this.t32 + (this.sd(sd, TlbStruct.LIST) >>> 2) + n] = idx;
      m32[ci] = n + 1;
      listed = TlbEnt.LISTED;
    }
    m32[e] = keyLo >>> 0; m32[e + 1] = vaHi;
    m32[e + E_DATA] = dLo >>> 0; m32[e + E_DATA + 1] = dHi >>> 0;
    m32[e + E_PTE] = pte >>> 0; m32[e + E_PTE + 1] = Math.floor(pte / TWO32);
    m32[e + E_LEAF] = (leafWord | listed) >>> 0;
    this.touch(s0, ways, way);
  }

  // ── probe and fill ──

  /** The core's tlbLookup: levels 1 then 2; a hit leaves the translation in the walker's outputs. */
  lookup(vaLo: number, vaHi: number, access: Access, pcid: number, mask: number): boolean {
    const m32 = this.m32, n = this.count, kind = 1 << access, w = this.w;
    for (let level = 1; level <= 2; level++) {
      let served = false;
      for (let i = 0; i < n; i++) {
        const sd = this.structAt(i);
        if (this.sd(sd, TlbStruct.LEVEL) !== level || !(this.sd(sd, TlbStruct.KINDS) & kind)) continue;
        served = true;
        const sizes = this.sd(sd, TlbStruct.SIZES), h = this.pcidHash(sd, pcid);
        for (let c = TlbSize.S4K as number; c <= TlbSize.S1G; c <<= 1) {
          if (!(sizes & c)) continue;
          const sh = this.classShift(c);
          let e = this.findIn(sd, this.setBase(sd, vaLo, vaHi, sh, h), vaLo, vaHi, sh, pcid);
          if (e < 0 && h !== 0) e = this.findIn(sd, this.setBase(sd, vaLo, vaHi, sh, 0), vaLo, vaHi, sh, pcid);
          if (e < 0) continue;
          const dLo = m32[e + E_DATA]!, dHi = m32[e + E_DATA + 1]!;
          if (dLo & mask) { this.statAdd(TsTlb.statAccess(level, access, 1), 1); return false; }
          const k = m32[e]!;
          if ((k & TlbEnt.PCID_MASK) !== pcid && h === 0) m32[e] = ((k & ~TlbEnt.PCID_MASK) | pcid) >>> 0;
          this.hitTouch(sd, e);
          const leafWord = m32[e + E_LEAF]! & ~TlbEnt.LISTED;
          const pte = m32[e + E_PTE]! + m32[e + E_PTE + 1]! * TWO32;
          w.setHit(((vaLo ^ (dLo & NOT_DENY)) >>> 0) + ((vaHi ^ dHi) >>> 0) * TWO32, leafWord & TlbEnt.LEAF_BITS, sh, pte);
          if (level === 2) this.fillLevel1(vaLo, vaHi, access, pcid, sh, c, dLo, dHi, pte, leafWord);
          this.statAdd(TsTlb.statAccess(level, access, 0), 1);
          return true;
        }
      }
      if (served) this.statAdd(TsTlb.statAccess(level, access, 1), 1);
    }
    return false;
  }

  /** u32 index of the valid entry of the set at `s0` mapping the address for `pcid`, or -1. */
  /** @internal */
  findIn(sd: number, s0: number, vaLo: number, vaHi: number, sh: number, pcid: number): number {
    const ways = this.sd(sd, TlbStruct.WAYS);
    for (let w = 0; w < ways; w++) if (this.entryMaps(s0 + w * E_WORDS, vaLo, vaHi, sh, pcid)) return s0 + w * E_WORDS;
    return -1;
  }

  /** @internal */
  hitTouch(sd: number, e: number): void {
    const ways = this.sd(sd, TlbStruct.WAYS);
    if (ways === 1) return;
    const idx = (e - this.t32 - (this.sd(sd, TlbStruct.ENTRIES) >>> 2)) / E_WORDS;
    const w = idx % ways;
    this.touch(e - w * E_WORDS, ways, w);
  }

  private fillLevel1(vaLo: number, vaHi: number, access: Access, pcid: number, sh: number, c: number,
    dLo: number, dHi: number, pte: number, leafWord: number): void {
    const n = this.count, kind = 1 << access;
    const keyLo = ((vaLo & ~lowMask(sh)) | pcid) >>> 0;
    for (let i = 0; i < n; i++) {
      const sd = this.structAt(i);
      if (this.sd(sd, TlbStruct.LEVEL) === 1 && this.sd(sd, TlbStruct.KINDS) & kind && this.sd(sd, TlbStruct.SIZES) & c)
        this.insert(sd, sh, vaLo, vaHi, keyLo, dLo, dHi, pte, leafWord);
    }
  }

  /** The core's tlbFill: the walker's translation of linear (vaHi:vaLo). */
  fill(vaLo: number, vaHi: number, access: Access, pcid: number): void {
    const n = this.count;
    if (n === 0) return;
    const w = this.w, sh = w.shift;
    const c = sh === 12 ? TlbSize.S4K : sh === 30 ? TlbSize.S1G : TlbSize.LARGE;
    const offMask = lowMask(sh);
    const vbaseLo = (vaLo & ~offMask) >>> 0;
    const paLo = w.pa >>> 0, paHi = Math.floor(w.pa / TWO32);
    const dLo = ((((paLo & ~offMask) ^ vbaseLo) & NOT_DENY) | this.denyBitsCached(w.leaf)) >>> 0;
    const dHi = (paHi ^ vaHi) >>> 0;
    const pge = (this.m32[C_CR4]! >>> Cr.CR4_PGE) & 1;
    const leafWord = w.leaf | (sh << TlbEnt.SHIFT_SHIFT) | (w.leaf & Leaf.G && pge ? TlbEnt.GLOBAL : 0);
    const kind = 1 << access;
    for (let i = 0; i < n; i++) {
      const sd = this.structAt(i);
      if (!(this.sd(sd, TlbStruct.SIZES) & c)) continue;
      if (this.sd(sd, TlbStruct.LEVEL) === 1 && !(this.sd(sd, TlbStruct.KINDS) & kind)) continue;
      this.insert(sd, sh, vaLo, vaHi, (vbaseLo | pcid) >>> 0, dLo, dHi, w.ptePa, leafWord);
    }
  }

  // ── invalidation ──

  private flushLists(sel: number, pcid: number): void {
    this.statAdd(Stat.INVALIDATED, this.flushListsOf(this.t32 + (TlbHdr.STRUCTS >>> 2), this.count, sel, pcid));
  }

  /** flushLists over the `n` descriptors at u32 index `descs`; returns the valid entries dropped. */
  private flushListsOf(descs: number, n: number, sel: number, pcid: number): number {
    const m32 = this.m32;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const sd = descs + i * (TlbHdr.STRUCT_SIZE >>> 2);
      const list = this.t32 + (this.sd(sd, TlbStruct.LIST) >>> 2);
      const ents = this.t32 + (this.sd(sd, TlbStruct.ENTRIES) >>> 2);
      const cnt = this.sd(sd, TlbStruct.LIST_COUNT);
      let j = 0;
      for (let k = 0; k < cnt; k++) {
        const idx = m32[list + k]!, e = ents + idx * E_WORDS;
        const valid = !(m32[e + E_DATA]! & TlbDeny.INVALID);
        const g = (m32[e + E_LEAF]! & TlbEnt.GLOBAL) !== 0;
        const keep = valid && sel !== ALL && (g || (sel === PCID_NON_GLOBAL && (m32[e]! & TlbEnt.PCID_MASK) !== pcid));
        if (keep) { m32[list + j++] = idx; continue; }
        if (valid) dropped++;
        this.entryClear(e);
        m32[e + E_LEAF] = (m32[e + E_LEAF]! & ~TlbEnt.LISTED) >>> 0;
      }
      m32[sd + (TlbStruct.LIST_COUNT >>> 2)] = j;
    }
    return dropped;
  }

  // ── paging-structure caches (the core's pscFlush, pscDropVa) ──

  /** Drop the PSC entries of `pcid`, or of every PCID when `all`. */
  private pscFlush(all: boolean, pcid: number): void {
    const n = this.psc.count;
    if (n !== 0) this.flushListsOf(this.t32 + (TlbHdr.PSC >>> 2), n, all ? ALL : PCID_NON_GLOBAL, pcid);
  }

  /** A #PF drops the PSC entries that would translate (vaHi:vaLo) for `pcid`. */
  private pscDropVa(vaLo: number, vaHi: number, pcid: number): void {
    const n = this.psc.count;
    for (let i = 0; i < n; i++) {
      const e = this.psc.find(i, vaLo, vaHi, pcid);
      if (e >= 0) this.entryClear(e);
    }
  }

  private flushVa(vaLo: number, vaHi: number, pcid: number, sel: number): void {
    const n = this.count;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const sd = this.structAt(i);
      const sizes = this.sd(sd, TlbStruct.SIZES), h = this.pcidHash(sd, pcid);
      for (let c = TlbSize.S4K as number; c <= TlbSize.S1G; c <<= 1) {
        if (!(sizes & c)) continue;
        const sh = this.classShift(c);
        dropped += this.flushSet(sd, this.setBase(sd, vaLo, vaHi, sh, h), vaLo, vaHi, sh, pcid, sel);
        if (h !== 0 && sel === PAGE_INVLPG) dropped += this.flushSet(sd, this.setBase(sd, vaLo, vaHi, sh, 0), vaLo, vaHi, sh, pcid, sel);
      }
    }
    this.statAdd(Stat.INVALIDATED, dropped);
  }

  private flushSet(sd: number, s0: number, vaLo: number, vaHi: number, sh: number, pcid: number, sel: number): number {
    const m32 = this.m32, ways = this.sd(sd, TlbStruct.WAYS);
    let dropped = 0;
    for (let w = 0; w < ways; w++) {
      const e = s0 + w * E_WORDS;
      if (!this.entryMaps(e, vaLo, vaHi, sh, pcid)) continue;
      const own = (m32[e]! & TlbEnt.PCID_MASK) === pcid, g = (m32[e + E_LEAF]! & TlbEnt.GLOBAL) !== 0;
      if (sel === PAGE_PCID ? own && !g : own || g) { this.entryClear(e); dropped++; }
    }
    return dropped;
  }

  private linearHi(vaHi: number): number { return this.m32[C_MODE]! >= X86Mode.Ia32e4 ? vaHi : 0; }

  flushAll(includeGlobal: boolean): void {
    this.statAdd(Stat.FLUSH_FULL, 1);
    this.flushLists(includeGlobal ? ALL : NON_GLOBAL, 0);
    this.pscFlush(true, 0);
  }
  loadCr3(pcid: number): void {
    this.statAdd(Stat.FLUSH_CR3, 1);
    this.flushLists(PCID_NON_GLOBAL, pcid & TlbEnt.PCID_MASK);
    this.pscFlush(false, pcid & TlbEnt.PCID_MASK);
  }
  flushPage(vaLo: number, vaHi: number): void {
    this.statAdd(Stat.FLUSH_INVLPG, 1);
    const pcid = this.currentPcid();
    this.flushVa(vaLo >>> 0, this.linearHi(vaHi >>> 0), pcid, PAGE_INVLPG);
    this.pscFlush(false, pcid);
  }
  dropFaulting(vaLo: number, vaHi: number, pcid: number): void {
    if (this.count !== 0) this.flushVa(vaLo, vaHi, pcid, PAGE_INVLPG);
    this.pscDropVa(vaLo, vaHi, pcid);
  }
  flushPcid(type: number, pcid: number, vaLo: number, vaHi: number): void {
    this.statAdd(Stat.FLUSH_INVPCID, 1);
    const p = pcid & TlbEnt.PCID_MASK;
    if (type === 0) this.flushVa(vaLo >>> 0, this.linearHi(vaHi >>> 0), p, PAGE_PCID);
    else if (type === 1) this.flushLists(PCID_NON_GLOBAL, p);
    else if (type === 2) this.flushLists(ALL, 0);
    else this.flushLists(NON_GLOBAL, 0);
    this.pscFlush(type >= 2, p);
  }
}
