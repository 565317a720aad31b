/**
 * WMT: wasmmu's compact binary trace format (specified in docs/TRACE-FORMAT.md).
 *
 * Columnar blocks of up to 65,536 accesses: the block's virtual addresses
 * (u64 little-endian) then its access kinds (u8), exactly the layout of the
 * engines' batch buffers, so reading is a copy, and an end block that makes a
 * truncated file detectable. A block carries one context (ASID/PCID).
 * Compressed with gzip, Brotli or xz as a whole file, it is smaller than the
 * same trace as compressed text (the address column compresses very well).
 */
import { Access } from "../abi.js";
import type { AccessBuffer } from "./access-buffer.js";
import { ByteQueue } from "./byte-queue.js";
import { firstBadKind } from "./kinds.js";
import type { ByteSource } from "./byte-source.js";
import { FileSink } from "./file-sink.js";
import { LENIENT_HINT, TraceFormatError, TraceOpenError, TraceTruncatedError } from "./errors.js";
import { MAX_SKIPPED_EXAMPLES, type ReaderOptions, type SkippedRecord, type TraceReader, type TraceWriter } from "./reader.js";

/** "WMT1" as the first four bytes of the file. */
export const WMT_MAGIC = Uint8Array.of(0x57, 0x4d, 0x54, 0x31);
export const WMT_HEADER_FIXED = 16;
export const WMT_BLOCK_HEADER = 16;
/** Most accesses one block may hold (bounds a reader's memory). */
export const WMT_MAX_BLOCK = 65536;
/** Longest provenance note a reader accepts. */
export const WMT_MAX_NOTE = 1 << 16;

const pad8 = (x: number): number => (x + 7) & ~7;

export function isWmt(head: Uint8Array): boolean {
  return head.length >= 4 && WMT_MAGIC.every((b, i) => head[i] === b);
}

export class WmtReader implements TraceReader {
  readonly format = "wmt" as const;
  context = 0;
  skipped = 0;
  readonly skippedExamples: SkippedRecord[] = [];
  /** The provenance note from the header. */
  note = "";
  private readonly q: ByteQueue;
  private readonly lenient: boolean;
  private readonly hdr = new Uint8Array(WMT_BLOCK_HEADER);
  private readonly hdrView = new DataView(this.hdr.buffer);
  /** Staging for a block that does not fit the caller's free space. */
  private readonly stageVa = new Uint32Array(2 * WMT_MAX_BLOCK);
  private readonly stageVaBytes = new Uint8Array(this.stageVa.buffer);
  private readonly stageKind = new Uint8Array(WMT_MAX_BLOCK + 8);
  private stageLen = 0;
  private stagePos = 0;
  /** A block header read but not yet consumed (its context differs). */
  private pending: { count: number; context: number; offset: number } | null = null;
  private started = false;
  private ended = false;
  /** Records in the blocks read so far (valid or not), to check the end block. */
  private recordsInBlocks = 0;

  constructor(src: ByteSource, opts: ReaderOptions = {}) {
    this.q = new ByteQueue(src);
    this.lenient = opts.lenient ?? false;
  }

  get name(): string { return this.q.src.name; }

  progress(): number {
    const s = this.q.src;
    return s.fileBytes > 0 ? s.fileBytesRead / s.fileBytes : NaN;
  }

  /** Read and check the file header (done by the first read, or by the opener to get the note). */
  async readHeader(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const h = new Uint8Array(WMT_HEADER_FIXED);
    const got = await this.q.readExact(h, 0, h.length);
    const magicSeen = Math.min(got, WMT_MAGIC.length);
    if (!WMT_MAGIC.subarray(0, magicSeen).every((b, i) => h[i] === b))
      throw new TraceOpenError(`${this.name}: not a WMT trace (the file does not start with "WMT1")`);
    if (got < h.length) throw new TraceTruncatedError(this.name, `byte offset ${got}`, "the file header is incomplete");
    const dv = new DataView(h.buffer);
    const headerBytes = dv.getUint32(4, true), flags = dv.getUint32(8, true), noteBytes = dv.getUint32(12, true);
    if (flags !== 0)
      throw new TraceFormatError(this.name, "byte offset 8", `unknown header flags 0x${flags.toString(16)} (a newer WMT version? this reader knows version 1)`);
    if (noteBytes > WMT_MAX_NOTE || headerBytes !== pad8(WMT_HEADER_FIXED + noteBytes))
      throw new TraceFormatError(this.name, "byte offset 4", `inconsistent header size ${headerBytes} for a note of ${noteBytes} bytes`);
    const rest = new Uint8Array(headerBytes - WMT_HEADER_FIXED);
    if (await this.q.readExact(rest, 0, rest.length) < rest.length)
      throw new TraceTruncatedError(this.name, `byte offset ${this.q.offset}`, "the file header is incomplete");
    this.checkZero(rest, noteBytes, WMT_HEADER_FIXED, "header padding");
    this.note = new TextDecoder().decode(rest.subarray(0, noteBytes));
  }

  async read(dst: AccessBuffer): Promise<number> {
    await this.readHeader();
    let n = 0;
    const dstVaBytes = new Uint8Array(dst.va32.buffer, dst.va32.byteOffset, dst.va32.byteLength);
    while (n < dst.capacity) {
      // Hand out what is staged first.
      if (this.stagePos < this.stageLen) {
        const m = Math.min(this.stageLen - this.stagePos, dst.capacity - n);
        dst.va32.set(this.stageVa.subarray(2 * this.stagePos, 2 * (this.stagePos + m)), 2 * n);
        dst.kind.set(this.stageKind.subarray(this.stagePos, this.stagePos + m), n);
        this.stagePos += m;
        n += m;
        continue;
      }
      if (this.ended) break;
      const blk = this.pending ?? await this.readBlockHeader();
      this.pending = null;
      if (blk === null) { this.ended = true; break; }
      if (blk.context !== this.context) {
        if (n > 0) { this.pending = blk; break; }       // one context per read
        this.context = blk.context;
      }
      const body = blk.offset + WMT_BLOCK_HEADER;
      if (blk.count <= dst.capacity - n) {
        // The common case: the columns go straight into the caller's buffer.
        await this.readColumn(dstVaBytes, 8 * n, 8 * blk.count, body);
        await this.readColumn(dst.kind, n, blk.count, body + 8 * blk.count);
        await this.skipPad(blk.count, body);
        n += this.checkKinds(dst, n, blk.count, body + 8 * blk.count);
      } else {
        await this.readColumn(this.stageVaBytes, 0, 8 * blk.count, body);
        await this.readColumn(this.stageKind, 0, blk.count, body + 8 * blk.count);
        await this.skipPad(blk.count, body);
        const stage: AccessBuffer = { va32: this.stageVa, kind: this.stageKind, capacity: WMT_MAX_BLOCK };
        this.stageLen = this.checkKinds(stage, 0, blk.count, body + 8 * blk.count);
        this.stagePos = 0;
      }
    }
    return n;
  }

  /** The next block header, or null after the end block. */
  private async readBlockHeader(): Promise<{ count: number; context: number; offset: number } | null> {
    const offset = this.q.offset;
    const got = await this.q.readExact(this.hdr, 0, WMT_BLOCK_HEADER);
    if (got === 0)
      throw new TraceTruncatedError(this.name, `byte offset ${offset}`, "the file ends without its end block (incomplete copy?)");
    if (got < WMT_BLOCK_HEADER)
      throw new TraceTruncatedError(this.name, `byte offset ${offset + got}`, "the file ends inside a block header");
    const dv = this.hdrView;
    const count = dv.getUint32(0, true), context = dv.getUint32(4, true);
    if (count === 0) {
      const declared = dv.getUint32(8, true) + dv.getUint32(12, true) * 4294967296;
      const seen = this.recordsInBlocks;
      if (context !== 0 || declared !== seen)
        throw new TraceFormatError(this.name, `byte offset ${offset}`,
          `end block declares ${declared} accesses but the blocks hold ${seen}`);
      if (!(await this.q.atEnd()))
        throw new TraceFormatError(this.name, `byte offset ${this.q.offset}`, "data after the end block");
      return null;
    }
    if (count > WMT_MAX_BLOCK)
      throw new TraceFormatError(this.name, `byte offset ${offset}`, `block of ${count} accesses (at most ${WMT_MAX_BLOCK}); not a WMT block header?`);
    if (dv.getUint32(8, true) !== 0 || dv.getUint32(12, true) !== 0)
      throw new TraceFormatError(this.name, `byte offset ${offset + 8}`, "reserved block-header bytes are not zero");
    this.recordsInBlocks += count;
    return { count, context, offset };
  }

  private async readColumn(dst: Uint8Array, off: number, len: number, at: number): Promise<void> {
    const got = await this.q.readExact(dst, off, len);
    if (got < len) throw new TraceTruncatedError(this.name, `byte offset ${at + got}`, "the file ends inside a block");
  }

  private readonly pad = new Uint8Array(8);

  /** The zero bytes that end a block at a multiple of 8. */
  private async skipPad(count: number, body: number): Promise<void> {
    const pad = pad8(9 * count) - 9 * count;
    if (pad === 0) return;
    const got = await this.q.readExact(this.pad, 0, pad);
    if (got < pad) throw new TraceTruncatedError(this.name, `byte offset ${body + 9 * count + got}`, "the file ends inside a block");
    this.checkZero(this.pad.subarray(0, pad), 0, body + 9 * count, "block padding");
  }

  /** Padding must be zero (docs/TRACE-FORMAT.md): anything else means the sizes are off. */
  private checkZero(b: Uint8Array, from: number, offsetOfB: number, what: string): void {
    for (let i = from; i < b.length; i++)
      if (b[i] !== 0)
        throw new TraceFormatError(this.name, `byte offset ${offsetOfB + i}`, `${what} byte 0x${b[i]!.toString(16)} is not zero (not a WMT file, or damaged)`);
  }

  /**
   * Access kinds must be 0, 1 or 2. A bad one stops the run, or (lenient) the
   * record is dropped. Returns how many records remain at buf[from..].
   */
  private checkKinds(buf: AccessBuffer, from: number, count: number, kindsAt: number): number {
    const k = buf.kind;
    const bad = firstBadKind(k, from, from + count);
    if (bad < 0) return count;
    let w = bad;
    for (let i = bad, end = from + count; i < end; i++) {
      if (k[i]! > Access.Fetch) {
        const where = `byte offset ${kindsAt + (i - from)}`;
        const detail = `access kind ${k[i]} (expected 0 read, 1 write or 2 fetch)`;
        if (!this.lenient) throw new TraceFormatError(this.name, where, detail, LENIENT_HINT);
        this.skipped++;
        if (this.skippedExamples.length < MAX_SKIPPED_EXAMPLES) this.skippedExamples.push({ where, detail });
        continue;
      }
      buf.va32[2 * w] = buf.va32[2 * i]!; buf.va32[2 * w + 1] = buf.va32[2 * i + 1]!; k[w] = k[i]!;
      w++;
    }
    return w - from;
  }

  async close(): Promise<void> { await this.q.src.close(); }
}

/**
 * Writes a WMT file (gzip- or Brotli-compressed when the path ends in ".gz"
 * or ".br"). Accesses are collected into blocks; a change of context starts a
 * new block.
 */
export class WmtWriter implements TraceWriter {
  readonly format = "wmt" as const;
  private readonly va = new Uint32Array(2 * WMT_MAX_BLOCK);
  private readonly kind = new Uint8Array(WMT_MAX_BLOCK);
  private fill = 0;
  private context = 0;
  /** Accesses written so far. */
  count = 0;

  private constructor(private readonly sink: FileSink) {}

  static async create(path: string, note = ""): Promise<WmtWriter> {
    const noteBytes = new TextEncoder().encode(note);
    if (noteBytes.length > WMT_MAX_NOTE) throw new RangeError(`WMT note longer than ${WMT_MAX_NOTE} bytes`);
    const w = new WmtWriter(await FileSink.create(path));
    const h = new Uint8Array(pad8(WMT_HEADER_FIXED + noteBytes.length));
    h.set(WMT_MAGIC);
    const dv = new DataView(h.buffer);
    dv.setUint32(4, h.length, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, noteBytes.length, true);
    h.set(noteBytes, WMT_HEADER_FIXED);
    await w.sink.write(h);
    return w;
  }

  /** Append buf[0..n) with the given context. */
  async write(buf: AccessBuffer, n: number, context = 0): Promise<void> {
    if (context !== this.context && this.fill > 0) await this.flushBlock();
    this.context = context;
    let i = 0;
    while (i < n) {
      const m = Math.min(n - i, WMT_MAX_BLOCK - this.fill);
      this.va.set(buf.va32.subarray(2 * i, 2 * (i + m)), 2 * this.fill);
      this.kind.set(buf.kind.subarray(i, i + m), this.fill);
      this.fill += m;
      i += m;
      if (this.fill === WMT_MAX_BLOCK) await this.flushBlock();
    }
  }

  private async flushBlock(): Promise<void> {
    const n = this.fill;
    if (n === 0) return;
    const bytes = new Uint8Array(WMT_BLOCK_HEADER + pad8(9 * n));
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, n, true);
    dv.setUint32(4, this.context, true);
    bytes.set(new Uint8Array(this.va.buffer, 0, 8 * n), WMT_BLOCK_HEADER);
    bytes.set(this.kind.subarray(0, n), WMT_BLOCK_HEADER + 8 * n);
    this.count += n;
    this.fill = 0;
    await this.sink.write(bytes);
  }

  /** Write the end block and close the file. */
  async close(): Promise<void> {
    await this.flushBlock();
    const end = new Uint8Array(WMT_BLOCK_HEADER);
    const dv = new DataView(end.buffer);
    dv.setUint32(8, this.count % 4294967296, true);
    dv.setUint32(12, Math.floor(this.count / 4294967296), true);
    await this.sink.close(end);
  }
}
