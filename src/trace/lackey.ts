/**
 * valgrind lackey memory traces (`valgrind --tool=lackey --trace-mem=yes`).
 *
 * Lackey prints one line per access (lackey/lk_main.c, trace_load/trace_store/
 * trace_modify/trace_instr):
 *
 *   "I  04022ff8,3"     instruction fetch of 3 bytes
 *   " L 1ffefffd38,8"   load
 *   " S 1ffefffd38,8"   store
 *   " M 0421ef20,4"     modify: a load then a store of the same bytes
 *
 * with the address in hex and the size in decimal. Lines starting with "=="
 * are valgrind's own commentary (banner, summary) and "SB " lines come from
 * --trace-superblocks; both are skipped. An access whose bytes cross a 4 KiB
 * boundary touches two pages, so it becomes two accesses (the second at the
 * start of the next page), as a CPU translates both pages.
 */
import { Access } from "../abi.js";
import type { AccessBuffer } from "./access-buffer.js";
import type { ByteSource } from "./byte-source.js";
import { LENIENT_HINT, TraceFormatError, TraceTruncatedError } from "./errors.js";
import { MAX_SKIPPED_EXAMPLES, type ReaderOptions, type SkippedRecord, type TraceReader } from "./reader.js";

const NL = 0x0a, CR = 0x0d, SP = 0x20, COMMA = 0x2c, EQ = 0x3d;
const CH_I = 0x49, CH_L = 0x4c, CH_S = 0x53, CH_M = 0x4d, CH_B = 0x42;
/** A line longer than this is not lackey output. */
const MAX_LINE = 256;
/** Largest access one line may describe (x86 FXSAVE/XSAVE areas stay below a page). */
const MAX_SIZE = 4096;
/** A line yields at most 4 accesses (modify = load + store, each possibly split). */
const MAX_PER_LINE = 4;
/** The fast path's kind for " M" lines (not an Access: emit() turns it into a load and a store). */
const MODIFY = 3;

/** Hex digit value, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) { HEX[0x41 + c] = 10 + c; HEX[0x61 + c] = 10 + c; }

/** Result of parsing one line: accesses emitted (≥ 0), or a reason for rejection. */
const enum Parse { Malformed = -1 }

export class LackeyReader implements TraceReader {
  readonly format = "lackey" as const;
  readonly context = 0;
  skipped = 0;
  readonly skippedExamples: SkippedRecord[] = [];
  /** Accesses split in two because they crossed a page boundary. */
  splits = 0;
  /** Line number of the next line to parse (1-based). */
  private line = 1;
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Start of a line that continues in the next chunk. */
  private carry: Uint8Array | null = null;
  private ended = false;
  /** A cut-off last line, thrown once the lines before it are delivered. */
  private truncation: TraceTruncatedError | null = null;
  /** Why the last line was malformed. */
  private why = "";
  private readonly lenient: boolean;

  constructor(private readonly src: ByteSource, opts: ReaderOptions = {}) {
    this.lenient = opts.lenient ?? false;
  }

  get name(): string { return this.src.name; }

  progress(): number { return this.src.fileBytes > 0 ? this.src.fileBytesRead / this.src.fileBytes : NaN; }

  async read(dst: AccessBuffer): Promise<number> {
    if (this.truncation) throw this.truncation;
    let n = 0;
    const limit = dst.capacity - MAX_PER_LINE;
    while (n <= limit) {
      if (this.pos >= this.chunk.length) {
        if (this.ended) break;
        const next = await this.src.next();
        if (next === null) {
          this.ended = true;
          this.chunk = new Uint8Array(0);
          this.pos = 0;
          if (this.carry !== null) {
            // Lackey ends every line with a newline: a last line without one
            // is a cut-off copy, and what is left of it may still parse as a
            // different address. The lines before it are delivered first.
            this.carry = null;
            const where = `line ${this.line}`, detail = "the file ends inside this line (no newline at its end; incomplete copy?)";
            if (this.lenient) {
              this.skipped++;
              if (this.skippedExamples.length < MAX_SKIPPED_EXAMPLES) this.skippedExamples.push({ where, detail });
            } else {
              this.truncation = new TraceTruncatedError(this.src.name, where, detail);
              if (n === 0) throw this.truncation;
            }
            this.line++;
          }
          break;
        }
        this.chunk = next;
        this.pos = 0;
        if (this.carry !== null) {
          // Finish the line begun in the previous chunk.
          const nl = next.indexOf(NL);
          const head = nl < 0 ? next : next.subarray(0, nl);
          const joined = new Uint8Array(this.carry.length + head.length);
          joined.set(this.carry); joined.set(head, this.carry.length);
          if (nl < 0) {
            this.carry = joined;
            this.pos = next.length;
            if (joined.length > MAX_LINE) this.reject(`line longer than ${MAX_LINE} bytes`, true);
            continue;
          }
          this.carry = null;
          this.pos = nl + 1;
          n = this.line1(joined, 0, joined.length, dst, n);
          continue;
        }
      }
      // Parse whole lines of the current chunk while there is room.
      const b = this.chunk;
      let p = this.pos;
      while (n <= limit) {
        // Fast path: a run of well-formed access lines, parsed in one loop
        // with no search for their ends; it stops at the first line that
        // needs the general path, which parses that line and reports it.
        if (b.length - p > MAX_LINE) {
          n = this.fastLines(b, p, dst, n, limit);
          if (this.fastP !== p) { p = this.fastP; continue; }
        }
        const nl = b.indexOf(NL, p);
        if (nl < 0) {
          if (b.length - p > MAX_LINE) { this.pos = p; this.reject(`line longer than ${MAX_LINE} bytes`, true); }
          this.carry = p < b.length ? b.slice(p) : null;
          p = b.length;
          break;
        }
        n = this.line1(b, p, nl, dst, n);
        p = nl + 1;
      }
      this.pos = p;
    }
    return n;
  }

  /** Where fastLines stopped: the start of the first line it did not parse. */
  private fastP = 0;

  /**
   * Plain "K ADDR,SIZE\n" lines from p on, into dst from index n, while the
   * buffer has room (n ≤ limit) and more than MAX_LINE bytes follow the line's
   * start (so no byte read here is past the end of b). Returns the new fill
   * level and sets fastP; stops at commentary, a carriage return, anything
   * malformed — the general path (parseLine) then handles that line.
   * Everything lives in locals: this is the loop a lackey run spends its time in.
   */
  private fastLines(b: Uint8Array, p: number, dst: AccessBuffer, n: number, limit: number): number {
    const va = dst.va32, kd = dst.kind, hex = HEX;
    const stop = b.length - MAX_LINE;
    let lines = 0;
    while (n <= limit && p < stop) {
      const c0 = b[p]!, c1 = b[p + 1]!;
      if (b[p + 2] !== SP) break;
      let kind: number;
      if (c0 === CH_I) { if (c1 !== SP) break; kind = Access.Fetch; }
      else if (c0 !== SP) break;
      else if (c1 === CH_L) kind = Access.Read;
      else if (c1 === CH_S) kind = Access.Write;
      else if (c1 === CH_M) kind = MODIFY;
      else break;
      // Address: 1..16 hex digits, accumulated as two 32-bit halves. Lackey
      // prints at least 8 digits (lk_main.c: "%08lx"): those 8 are decoded
      // side by side (no chain of dependent steps), any further ones one by one.
      const hexStart = p + 3;
      let q = hexStart, lo = 0, hi = 0, d: number;
      const d0 = hex[b[q]!]!, d1 = hex[b[q + 1]!]!, d2 = hex[b[q + 2]!]!, d3 = hex[b[q + 3]!]!;
      const d4 = hex[b[q + 4]!]!, d5 = hex[b[q + 5]!]!, d6 = hex[b[q + 6]!]!, d7 = hex[b[q + 7]!]!;
      if ((d0 | d1 | d2 | d3 | d4 | d5 | d6 | d7) >= 0) {
        lo = ((d0 << 28) | (d1 << 24) | (d2 << 20) | (d3 << 16) | (d4 << 12) | (d5 << 8) | (d6 << 4) | d7) >>> 0;
        q += 8;
        d = hex[b[q]!]!;
      } else {
        d = d0;
      }
      while (d >= 0) {
        hi = ((hi << 4) | (lo >>> 28)) >>> 0;
        lo = ((lo << 4) | d) >>> 0;
        d = hex[b[++q]!]!;
      }
      if (b[q] !== COMMA || q === hexStart || q - hexStart > 16) break;
      // Size: 1..MAX_SIZE in decimal, then the newline (longer digit strings
      // than 5 take the general path, which reads any number of leading zeros).
      let size = 0, c = b[++q]! - 0x30;
      const sizeStart = q;
      while (c >= 0 && c <= 9 && q - sizeStart < 5) { size = size * 10 + c; c = b[++q]! - 0x30; }
      if (b[q] !== NL || q === sizeStart || size < 1 || size > MAX_SIZE) break;
      if (kind === MODIFY || (lo & 0xfff) + size > 0x1000) {
        // Rare: a modify, or an access split at a page boundary.
        n += this.emit(lo, hi, kind === MODIFY ? Access.Read : kind, size, kind === MODIFY, dst, n);
      } else {
        va[2 * n] = lo; va[2 * n + 1] = hi; kd[n] = kind; n++;
      }
      p = q + 1;
      lines++;
    }
    this.line += lines;
    this.fastP = p;
    return n;
  }

  /** Write the accesses of one parsed line at index n; returns how many. */
  private emit(lo: number, hi: number, kind: number, size: number, modify: boolean, dst: AccessBuffer, n: number): number {
    const crosses = (lo & 0xfff) + size > 0x1000;
    let lo2 = 0, hi2 = 0;
    if (crosses) {
      lo2 = ((lo | 0xfff) + 1) >>> 0;
      hi2 = lo2 === 0 ? (hi + 1) >>> 0 : hi;
    }
    const va = dst.va32, kd = dst.kind;
    let i = n;
    va[2 * i] = lo; va[2 * i + 1] = hi; kd[i] = kind; i++;
    if (crosses) { va[2 * i] = lo2; va[2 * i + 1] = hi2; kd[i] = kind; i++; }
    if (modify) {
      va[2 * i] = lo; va[2 * i + 1] = hi; kd[i] = Access.Write; i++;
      if (crosses) { va[2 * i] = lo2; va[2 * i + 1] = hi2; kd[i] = Access.Write; i++; }
    }
    if (crosses) this.splits += modify ? 2 : 1;
    return i - n;
  }

  /** Parse one line [s, e) and count it; returns the new fill level. */
  private line1(b: Uint8Array, s: number, e: number, dst: AccessBuffer, n: number): number {
    const r = this.parseLine(b, s, e, dst, n);
    if (r === Parse.Malformed) this.reject(this.why, false);
    this.line++;
    return r === Parse.Malformed ? n : n + r;
  }

  private reject(detail: string, fatal: boolean): void {
    if (!this.lenient || fatal)
      throw new TraceFormatError(this.src.name, `line ${this.line}`, `not a lackey trace line: ${detail}`,
        fatal ? undefined : LENIENT_HINT);
    this.skipped++;
    if (this.skippedExamples.length < MAX_SKIPPED_EXAMPLES)
      this.skippedExamples.push({ where: `line ${this.line}`, detail });
  }

  /**
   * The hot path: bytes → (lo, hi, kind) straight into the buffer.
   * Returns the number of accesses written at index n.
   */
  private parseLine(b: Uint8Array, s: number, e: number, dst: AccessBuffer, n: number): number {
    if (e > s && b[e - 1] === CR) e--;
    if (e - s < 5) {
      if (e === s) return 0;                                  // blank line
      this.why = describe(b, s, e);
      return Parse.Malformed;
    }
    const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!;
    let kind: number;
    let modify = false;
    if (c0 === CH_I && c1 === SP && c2 === SP) kind = Access.Fetch;
    else if (c0 === SP && c2 === SP) {
      if (c1 === CH_L) kind = Access.Read;
      else if (c1 === CH_S) kind = Access.Write;
      else if (c1 === CH_M) { kind = Access.Read; modify = true; }
      else { this.why = describe(b, s, e); return Parse.Malformed; }
    } else if (c0 === EQ && c1 === EQ) return 0;               // valgrind commentary
    else if (c0 === CH_S && c1 === CH_B && c2 === SP) return 0; // --trace-superblocks
    else { this.why = describe(b, s, e); return Parse.Malformed; }

    // Address: 1..16 hex digits, accumulated as two 32-bit halves.
    let p = s + 3, lo = 0, hi = 0;
    const hexStart = p;
    for (; p < e; p++) {
      const d = HEX[b[p]!]!;
      if (d < 0) break;
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | d) >>> 0;
    }
    const digits = p - hexStart;
    if (digits === 0 || digits > 16 || p >= e || b[p] !== COMMA) {
      this.why = digits > 16 ? "address wider than 64 bits" : `expected "ADDRESS,SIZE" after the kind: ${describe(b, s, e)}`;
      return Parse.Malformed;
    }
    // Size: decimal, 1..MAX_SIZE, to the end of the line.
    let size = 0;
    p++;
    const sizeStart = p;
    for (; p < e; p++) {
      const d = b[p]! - 0x30;
      if (d < 0 || d > 9 || size > MAX_SIZE) break;
      size = size * 10 + d;
    }
    if (p !== e || p === sizeStart || size < 1 || size > MAX_SIZE) {
      this.why = `size must be a decimal number from 1 to ${MAX_SIZE}: ${describe(b, s, e)}`;
      return Parse.Malformed;
    }

    return this.emit(lo, hi, kind, size, modify, dst, n);
  }

  async close(): Promise<void> { await this.src.close(); }
}

/** The offending line, quoted and shortened for a message. */
function describe(b: Uint8Array, s: number, e: number): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(b.subarray(s, Math.min(e, s + 60)));
  return JSON.stringify(text + (e - s > 60 ? "…" : ""));
}
