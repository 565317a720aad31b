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
import { TraceOpenError, TraceTruncatedError } from "./errors.js";

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
    if (!st.isFile()) throw new TraceOpenError(`${path}: not a regular file`);
    size = st.size;
    const fh = await open(path, "r");
    try { await fh.read(head, 0, head.length, 0); } finally { await fh.close(); }
  } catch (e) {
    if (e instanceof TraceOpenError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceOpenError(code === "ENOENT"
      ? `${path}: no such file (give the path of a trace file, or use --synthetic KIND for a generated workload)`
      : `${path}: cannot read (${code ?? String(e)})`);
  }
  const compression = detectCompression(head);
  const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  return new StreamByteSource(path, compression, size, raw);
}

class StreamByteSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly decoded: Readable;

  constructor(readonly name: string, readonly compression: Compression, readonly fileBytes: number,
    private readonly raw: ReadStream) {
    if (compression === "gzip") {
      this.decoded = raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES }));
      raw.on("error", (e) => this.decoded.destroy(e));
    } else if (compression === "xz") {
      const web = Readable.toWeb(raw) as unknown as ReadableStream<Uint8Array>;
      this.decoded = Readable.fromWeb(new xzDecompress.XzReadableStream(web) as import("node:stream/web").ReadableStream<Uint8Array>);
    } else {
      this.decoded = raw;
    }
    this.it = this.decoded[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  get fileBytesRead(): number { return this.raw.bytesRead; }

  async next(): Promise<Uint8Array | null> {
    try {
      const r = await this.it.next();
      return r.done ? null : r.value;
    } catch (e) {
      throw this.describe(e);
    }
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
    // xz-embedded's XZ_BUF_ERROR (8) means "no progress possible": the input ended early.
    if (this.compression === "xz")
      return /error code 8\b/.test(msg)
        ? new TraceTruncatedError(this.name, `compressed byte ${this.raw.bytesRead}`, `the xz stream ends early (${msg})`)
        : new TraceOpenError(`${this.name}: corrupt xz data (${msg})`);
    return new TraceOpenError(`${this.name}: read error (${msg})`);
  }

  async close(): Promise<void> {
    this.decoded.destroy();
    this.raw.destroy();
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
