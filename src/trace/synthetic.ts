/**
 * Synthetic workloads for when no trace is at hand. All are deterministic for
 * a given seed (the same seed gives the same accesses on every machine), and
 * generate straight into the caller's buffer.
 *
 *   uniform  every page of the working set equally likely
 *   zipf     page of rank k with probability ∝ 1/k^alpha (hot pages first)
 *   strided  base + i·stride, wrapping at the working-set size
 *   sweep    working sets of minPages, 2·minPages, … maxPages, each swept
 *            cyclically page by page for an equal share of the accesses —
 *            the workload that exposes a TLB capacity cliff
 *
 * Addresses lie in [base, base + pages·4096) with 8-byte-aligned offsets
 * inside a page; a fraction `writeRatio` of accesses are writes, the rest reads.
 */
import { Access } from "../abi.js";
import type { AccessBuffer } from "./access-buffer.js";
import type { SkippedRecord, TraceReader } from "./reader.js";
import { TWO32 } from "../u64.js";

export type SyntheticKind = "uniform" | "zipf" | "strided" | "sweep";
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ["uniform", "zipf", "strided", "sweep"];

export interface SyntheticSpec {
  kind: SyntheticKind;
  /** Number of accesses. */
  count: number;
  /** Working set in 4 KiB pages (uniform, zipf, strided). Default 65536 (256 MiB). */
  pages?: number;
  /** First virtual address (4 KiB aligned, < 2^47). Default 0x7f0000000000. */
  base?: number;
  seed?: number;
  /** Fraction of writes in [0, 1]. Default 0.25. */
  writeRatio?: number;
  /** zipf exponent (> 0). Default 1. */
  alpha?: number;
  /** strided: bytes between accesses. Default 4160 (a page and a cache line). */
  stride?: number;
  /** sweep: smallest and largest working set in pages. Defaults 16 and 65536. */
  minPages?: number;
  maxPages?: number;
}

export const SYNTHETIC_DEFAULTS = {
  pages: 65536, base: 0x7f0000000000, seed: 1, writeRatio: 0.25, alpha: 1, stride: 4160,
  minPages: 16, maxPages: 65536,
} as const;

/** Largest zipf working set (its alias table takes 8 bytes per page). */
export const ZIPF_MAX_PAGES = 1 << 22;

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from
 * PractRand): 128 bits of state, 32-bit output, only adds, shifts and xors —
 * fast in plain JS and identical on every engine.
 */
export class Sfc32 {
  private a: number; private b: number; private c: number; private d = 1;
  constructor(seed: number) {
    // Spread the starting value with splitmix32: nearby values give unrelated streams.
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix(); this.b = mix(); this.c = mix();
    for (let i = 0; i < 12; i++) this.next();
  }
  /** Uniform u32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}

/**
 * Walker/Vose alias table for the zipf distribution over `pages` ranks:
 * one draw picks a column, a second decides between it and its alias — O(1)
 * per sample with no logarithms in the loop.
 */
export function zipfAliasTable(pages: number, alpha: number): { prob: Uint32Array; alias: Uint32Array } {
  const w = new Float64Array(pages);
  let sum = 0;
  for (let k = 0; k < pages; k++) { w[k] = 1 / Math.pow(k + 1, alpha); sum += w[k]!; }
  const scaled = new Float64Array(pages);
  for (let k = 0; k < pages; k++) scaled[k] = (w[k]! * pages) / sum;
  const prob = new Uint32Array(pages), alias = new Uint32Array(pages);
  const small = new Uint32Array(pages), large = new Uint32Array(pages);
  let ns = 0, nl = 0;
  for (let k = 0; k < pages; k++) (scaled[k]! < 1 ? (small[ns++] = k) : (large[nl++] = k));
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!, l = large[--nl]!;
    prob[s] = Math.min(TWO32 - 1, Math.floor(scaled[s]! * TWO32));
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? (small[ns++] = l) : (large[nl++] = l));
  }
  while (nl > 0) { const l = large[--nl]!; prob[l] = TWO32 - 1; alias[l] = l; }
  while (ns > 0) { const s = small[--ns]!; prob[s] = TWO32 - 1; alias[s] = s; }  // rounding leftovers
  return { prob, alias };
}

export function describeSynthetic(s: SyntheticSpec): string {
  const d = { ...SYNTHETIC_DEFAULTS, ...s };
  const common = `seed=${d.seed}, writes=${d.writeRatio}`;
  switch (s.kind) {
    case "uniform": return `synthetic uniform: ${d.count} accesses over ${d.pages} pages, ${common}`;
    case "zipf": return `synthetic zipf: ${d.count} accesses over ${d.pages} pages, alpha=${d.alpha}, ${common}`;
    case "strided": return `synthetic strided: ${d.count} accesses, stride ${d.stride} B over ${d.pages} pages, ${common}`;
    case "sweep": return `synthetic sweep: ${d.count} accesses, working sets ${d.minPages}..${d.maxPages} pages, ${common}`;
  }
}

export function validateSynthetic(s: SyntheticSpec): void {
  const d = { ...SYNTHETIC_DEFAULTS, ...s };
  const int = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new RangeError(`synthetic ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  if (!SYNTHETIC_KINDS.includes(s.kind)) throw new RangeError(`unknown synthetic workload "${s.kind}" (expected ${SYNTHETIC_KINDS.join(", ")})`);
  int("count", d.count, 0, Number.MAX_SAFE_INTEGER);
  int("pages", d.pages, 1, 2 ** 35);
  if (d.base % 4096 !== 0 || d.base < 0 || d.base + d.pages * 4096 > 2 ** 47)
    throw new RangeError(`synthetic base 0x${d.base.toString(16)} must be 4 KiB aligned with base + pages·4096 ≤ 2^47`);
  if (!(d.writeRatio >= 0 && d.writeRatio <= 1)) throw new RangeError(`write ratio must be in [0, 1], got ${d.writeRatio}`);
  if (s.kind === "zipf") {
    int("pages (zipf)", d.pages, 1, ZIPF_MAX_PAGES);
    if (!(d.alpha > 0 && d.alpha < 100)) throw new RangeError(`zipf alpha must be in (0, 100), got ${d.alpha}`);
  }
  if (s.kind === "strided") int("stride", d.stride, 1, 2 ** 32);
  if (s.kind === "sweep") {
    int("minPages", d.minPages, 1, 2 ** 30);
    int("maxPages", d.maxPages, d.minPages, 2 ** 30);
    if (d.base + d.maxPages * 4096 > 2 ** 47) throw new RangeError(`sweep: base + maxPages·4096 exceeds 2^47`);
  }
}

export class SyntheticReader implements TraceReader {
  readonly format = "synthetic" as const;
  readonly context = 0;
  readonly skipped = 0;
  readonly skippedExamples: readonly SkippedRecord[] = [];
  readonly name: string;
  private readonly d: Required<SyntheticSpec>;
  private readonly rng: Sfc32;
  private done = 0;
  /** strided: offset of the next access from base. */
  private cursor = 0;
  private readonly writeCut: number;
  private zipf: { prob: Uint32Array; alias: Uint32Array } | null = null;
  /** sweep: working-set sizes and accesses per phase. */
  private readonly phases: number[] = [];
  private readonly perPhase: number = 0;

  constructor(spec: SyntheticSpec) {
    validateSynthetic(spec);
    this.d = { ...SYNTHETIC_DEFAULTS, ...spec } as Required<SyntheticSpec>;
    this.name = describeSynthetic(spec);
    this.rng = new Sfc32(this.d.seed);
    this.writeCut = Math.floor(this.d.writeRatio * TWO32);
    if (spec.kind === "zipf") this.zipf = zipfAliasTable(this.d.pages, this.d.alpha);
    if (spec.kind === "sweep") {
      for (let ws = this.d.minPages; ws <= this.d.maxPages; ws *= 2) this.phases.push(ws);
      this.perPhase = Math.ceil(this.d.count / this.phases.length);
    }
  }

  progress(): number { return this.d.count > 0 ? this.done / this.d.count : 1; }

  async read(dst: AccessBuffer): Promise<number> {
    const n = Math.min(dst.capacity, this.d.count - this.done);
    if (n <= 0) return 0;
    const va = dst.va32, kd = dst.kind, rng = this.rng, base = this.d.base, cut = this.writeCut;
    const start = this.done;
    switch (this.d.kind) {
      case "uniform": {
        const pages = this.d.pages;
        for (let i = 0; i < n; i++) {
          const page = Math.floor((rng.next() / TWO32) * pages);
          const a = base + page * 4096 + (rng.next() & 0xff8);
          va[2 * i] = a >>> 0; va[2 * i + 1] = Math.floor(a / TWO32);
          kd[i] = rng.next() < cut ? Access.Write : Access.Read;
        }
        break;
      }
      case "zipf": {
        const { prob, alias } = this.zipf!;
        const pages = this.d.pages;
        for (let i = 0; i < n; i++) {
          const col = Math.floor((rng.next() / TWO32) * pages);
          const r = rng.next();
          const page = r < prob[col]! ? col : alias[col]!;
          const a = base + page * 4096 + (r & 0xff8);
          va[2 * i] = a >>> 0; va[2 * i + 1] = Math.floor(a / TWO32);
          kd[i] = rng.next() < cut ? Access.Write : Access.Read;
        }
        break;
      }
      case "strided": {
        const span = this.d.pages * 4096, stride = this.d.stride % span;
        let off = this.cursor;
        for (let i = 0; i < n; i++) {
          const a = base + off;
          va[2 * i] = a >>> 0; va[2 * i + 1] = Math.floor(a / TWO32);
          kd[i] = rng.next() < cut ? Access.Write : Access.Read;
          off += stride;
          if (off >= span) off -= span;
        }
        this.cursor = off;
        break;
      }
      case "sweep": {
        for (let i = 0; i < n; i++) {
          const j = start + i;
          const ws = this.phases[Math.min(this.phases.length - 1, Math.floor(j / this.perPhase))]!;
          const a = base + ((j % this.perPhase) % ws) * 4096 + (rng.next() & 0xff8);
          va[2 * i] = a >>> 0; va[2 * i + 1] = Math.floor(a / TWO32);
          kd[i] = rng.next() < cut ? Access.Write : Access.Read;
        }
        break;
      }
    }
    this.done += n;
    return n;
  }

  async close(): Promise<void> { this.done = this.d.count; }
}
