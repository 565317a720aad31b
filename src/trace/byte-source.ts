/**
 * Where a trace's bytes come from: a file, plain or compressed (gzip and
 * Brotli through node:zlib, xz through the xz-decompress WebAssembly decoder),
 * read in chunks so memory stays bounded whatever the file size; or bytes in
 * memory (tests). gzip and xz are recognised by their magic bytes whatever the
 * file's name; a Brotli stream has no magic bytes, so a name ending in ".br"
 * is what says a file is Brotli-compressed.
 */
import { createReadStream, readSync, type ReadStream } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip } from "node:zlib";
import xzDecompress from "xz-decompress";
import { fileErrorMessage, TraceOpenError, TraceTruncatedError } from "./errors.js";

export type Compression = "none" | "gzip" | "xz" | "brotli";

export interface ByteSource {
  /** Name used in messages (the path as the user gave it). */
  readonly name: string;
  readonly compression: Compression;
  /** Size of the file on disk (compressed size for compressed files). */
  readonly fileBytes: number;
  /** File bytes consumed so far: with fileBytes, the progress fraction. */
  readonly fileBytesRead: number;
  /**
   * The next chunk of (decompressed) bytes, or null at the end. A chunk may
   * be a view of a buffer the source reuses: it is valid until the next call
   * of next() or readInto() (copy what must outlive that).
   */
  next(): Promise<Uint8Array | null>;
  /**
   * Plain files only: read the next bytes straight into dst[off..off+len),
   * with no intermediate chunk, and return how many were read — fewer than
   * `len` only at the end of the file. Binary readers use it to move columns
   * from the file into the engine's batch buffers with one copy.
   */
  readInto?(dst: Uint8Array, off: number, len: number): Promise<number>;
  close(): Promise<void>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
/** Large chunks keep the per-chunk overhead (one await) far below the per-access cost. */
const CHUNK_BYTES = 1 << 20;

/** xz-embedded's enum xz_ret (linux/include/linux/xz.h), for the error codes the decoder reports. */
const XZ_ERRORS: Record<number, string> = {
  2: "unsupported integrity check", 3: "out of memory", 4: "needs a larger dictionary than the decoder allows",
  5: "not an xz stream", 6: "unsupported xz options", 7: "the compressed data is damaged",
};

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/** A name that says "Brotli" (the format has no magic bytes to tell it by). */
export const isBrotliName = (path: string): boolean => path.toLowerCase().endsWith(".br");

/**
 * The compression of a file from its first bytes, and from its name for
 * Brotli, which has no magic bytes: a ".br" name decides before the content.
 */
export function detectCompression(head: Uint8Array, name = ""): Compression {
  if (isBrotliName(name)) return "brotli";
  if (startsWith(head, XZ_MAGIC)) return "xz";
  if (startsWith(head, GZIP_MAGIC)) return "gzip";
  return "none";
}

/** Open a trace file. Missing or unreadable files are a TraceOpenError. */
export async function openByteSource(path: string): Promise<ByteSource> {
  let size: number;
  const head = new Uint8Array(8);
  let fh: FileHandle | null = null;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new TraceOpenError(`cannot open ${path}: ${st.isDirectory() ? "is a directory" : "not a regular file"}`);
    size = st.size;
    fh = await open(path, "r");
    await fh.read(head, 0, head.length, 0);
  } catch (e) {
    await fh?.close();
    if (e instanceof TraceOpenError) throw e;
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new TraceOpenError(fileErrorMessage(path, e) +
      (missing ? " (give the path of a trace file, or use --synthetic KIND for a generated workload)" : ""));
  }
  const compression = detectCompression(head, path);
  if (compression === "none") return new FileByteSource(path, size, fh);
  await fh.close();
  // xz-decompress decodes one stream at a time (XzReadableStream serialises
  // its decoder contexts with a mutex): a second xz stream opened while the
  // first is unfinished would wait, unseen, until the first ends or is closed,
  // and a caller that reads the second first would hang. Say so instead.
  if (compression === "xz" && xzBusy !== null)
    throw new Error(`${path}: cannot decode two xz streams at once (${xzBusy.name} is still open; close it first)`);
  const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  return new StreamByteSource(path, compression, size, raw);
}

/** The xz source that holds the decoder, if any. */
let xzBusy: StreamByteSource | null = null;

class StreamByteSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly decoded: Readable;
  /**
   * The first error of the file or the decoder. The decoder runs ahead of the
   * reader (a pipe starts flowing at once, and `run` sets up the machine or
   * pre-scans the trace before its first read), and a stream's async iterator
   * attaches its own listener only on its first next(): without this listener
   * an early decoder error would be an unhandled 'error' event that kills the
   * process. next() throws it instead.
   */
  private failure: unknown = null;

  constructor(readonly name: string, readonly compression: Compression, readonly fileBytes: number,
    private readonly raw: ReadStream) {
    const note = (e: unknown): void => { this.failure ??= e; this.releaseXz(); };
    raw.on("error", note);
    if (compression === "gzip" || compression === "brotli") {
      this.decoded = raw.pipe(compression === "gzip" ? createGunzip({ chunkSize: CHUNK_BYTES }) : createBrotliDecompress({ chunkSize: CHUNK_BYTES }));
      raw.on("error", (e) => this.decoded.destroy(e));
    } else if (compression === "xz") {
      const web = Readable.toWeb(raw) as unknown as ReadableStream<Uint8Array>;
      this.decoded = Readable.fromWeb(new xzDecompress.XzReadableStream(web) as import("node:stream/web").ReadableStream<Uint8Array>);
    } else {
      this.decoded = raw;
    }
    if (this.decoded !== raw) this.decoded.on("error", note);
    if (compression === "xz") xzBusy = this;
    this.it = this.decoded[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  get fileBytesRead(): number { return this.raw.bytesRead; }

  async next(): Promise<Uint8Array | null> {
    if (this.failure !== null) throw this.describe(this.failure);
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.describe(this.failure ?? e);
    }
    // A stream destroyed by an error may end its iteration without rethrowing it.
    if (this.failure !== null) throw this.describe(this.failure);
    if (r.done) { this.releaseXz(); return null; }
    return r.value;
  }

  /** The decoder frees its context when its stream ends, fails or is cancelled. */
  private releaseXz(): void {
    if (xzBusy === this) xzBusy = null;
  }

  /** Decoder errors become messages a user can act on. */
  private describe(e: unknown): Error {
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as NodeJS.ErrnoException).code;
    if (this.compression === "gzip") {
      if (code === "Z_BUF_ERROR" || /unexpected end/i.test(msg))
        return new TraceTruncatedError(this.name, `compressed byte ${this.raw.bytesRead}`, "the gzip stream ends early (incomplete download or copy?)");
      return new TraceOpenError(`${this.name}: corrupt gzip data (${msg})`);
    }
    if (this.compression === "brotli") {
      if (code === "Z_BUF_ERROR" || /unexpected end/i.test(msg))
        return new TraceTruncatedError(this.name, `compressed byte ${this.raw.bytesRead}`, "the Brotli stream ends early (incomplete download or copy?)");
      // node:zlib names Brotli's decoder error (BROTLI_DECODER_ERROR_FORMAT_…) in the code.
      return new TraceOpenError(`${this.name}: corrupt Brotli data (not a Brotli stream, or damaged: ${code ?? msg}); ` +
        `a name ending in ".br" says Brotli — rename the file if it is not compressed that way`);
    }
    if (this.compression === "xz") {
      const xzCode = /error code (\d+)/.exec(msg)?.[1];
      // xz-embedded's XZ_BUF_ERROR (8) means "no progress possible": the input ended early.
      if (xzCode === "8")
        return new TraceTruncatedError(this.name, `compressed byte ${this.raw.bytesRead}`, `the xz stream ends early (${msg})`);
      const what = xzCode !== undefined ? XZ_ERRORS[Number(xzCode)] : undefined;
      return new TraceOpenError(`${this.name}: corrupt xz data (${what ? `${what}; ` : ""}${msg})`);
    }
    return new TraceOpenError(`${this.name}: read error (${msg})`);
  }

  async close(): Promise<void> {
    this.decoded.destroy();
    this.raw.destroy();
    this.releaseXz();
  }
}

/**
 * A plain file, read with positioned reads into one reused buffer (no
 * allocation per chunk, so no garbage for the collector whatever the file
 * size), or straight into the caller's memory through readInto.
 */
class FileByteSource implements ByteSource {
  readonly compression = "none" as const;
  /** File offset of the next read. */
  private pos = 0;
  private buf: Uint8Array | null = null;
  private closed = false;

  constructor(readonly name: string, readonly fileBytes: number, private readonly fh: FileHandle) {}

  get fileBytesRead(): number { return this.pos; }

  async next(): Promise<Uint8Array | null> {
    this.buf ??= new Uint8Array(CHUNK_BYTES);
    const n = await this.readAt(this.buf, 0, this.buf.length);
    return n === 0 ? null : this.buf.subarray(0, n);
  }

  async readInto(dst: Uint8Array, off: number, len: number): Promise<number> {
    let got = 0;
    while (got < len) {
      const n = await this.readAt(dst, off + got, len - got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /**
   * One positioned read. It is synchronous on purpose: for a file in the page
   * cache a read is a memory copy, far cheaper than a trip to libuv's thread
   * pool and back (which cost a WMT run about a sixth of its CPU time), and
   * nothing else would run meanwhile — the reader waits for these bytes. The
   * run driver still gives the event loop a turn every few chunks
   * (src/run/driver.ts), so Ctrl-C and the progress display are unaffected.
   */
  private async readAt(dst: Uint8Array, off: number, len: number): Promise<number> {
    if (this.closed) return 0;
    let n: number;
    try {
      n = readSync(this.fh.fd, dst, off, len, this.pos);
    } catch (e) {
      throw new TraceOpenError(`${this.name}: read error (${e instanceof Error ? e.message : String(e)})`);
    }
    this.pos += n;
    // Closed at the end of the file, as a read stream closes itself: a caller
    // that reads to the end and never calls close() leaves no descriptor open.
    if (n === 0 && len > 0) await this.close();
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Bytes in memory, handed out in chunks of `chunk` bytes (tests use odd sizes
 *  to put record boundaries everywhere). */
export function memoryByteSource(bytes: Uint8Array, name = "<memory>", chunk = CHUNK_BYTES): ByteSource {
  let pos = 0;
  return {
    name,
    compression: "none",
    fileBytes: bytes.length,
    get fileBytesRead() { return pos; },
    async next() {
      if (pos >= bytes.length) return null;
      const end = Math.min(bytes.length, pos + chunk);
      const c = bytes.subarray(pos, end);
      pos = end;
      return c;
    },
    async close() { pos = bytes.length; },
  };
}

/** Size of a file (for ETA of sources that know only their byte position). */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
