/**
 * Where a trace's bytes come from: a file, plain or compressed (gzip through
 * node:zlib, xz through the xz-decompress WebAssembly decoder), read in chunks
 * so memory stays bounded whatever the file size; or bytes in memory (tests).
 * Compression is recognised by its magic bytes, not by the file name.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import xzDecompress from "xz-decompress";
import { fileErrorMessage, TraceOpenError, TraceTruncatedError } from "./errors.js";

export type Compression = "none" | "gzip" | "xz";

export interface ByteSource {
  /** Name used in messages (the path as the user gave it). */
  readonly name: string;
  readonly compression: Compression;
  /** Size of the file on disk (compressed size for compressed files). */
  readonly fileBytes: number;
  /** File bytes consumed so far: with fileBytes, the progress fraction. */
  readonly fileBytesRead: number;
  /** The next chunk of (decompressed) bytes, or null at the end. */
  next(): Promise<Uint8Array | null>;
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

export function detectCompression(head: Uint8Array): Compression {
  if (startsWith(head, XZ_MAGIC)) return "xz";
  if (startsWith(head, GZIP_MAGIC)) return "gzip";
  return "none";
}

/** Open a trace file. Missing or unreadable files are a TraceOpenError. */
export async function openByteSource(path: string): Promise<ByteSource> {
  let size: number;
  const head = new Uint8Array(8);
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new TraceOpenError(`cannot open ${path}: ${st.isDirectory() ? "is a directory" : "not a regular file"}`);
    size = st.size;
    const fh = await open(path, "r");
    try { await fh.read(head, 0, head.length, 0); } finally { await fh.close(); }
  } catch (e) {
    if (e instanceof TraceOpenError) throw e;
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new TraceOpenError(fileErrorMessage(path, e) +
      (missing ? " (give the path of a trace file, or use --synthetic KIND for a generated workload)" : ""));
  }
  const compression = detectCompression(head);
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
    if (compression === "gzip") {
      this.decoded = raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES }));
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
