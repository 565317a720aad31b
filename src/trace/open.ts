/**
 * Open a trace file as a TraceReader: the format comes from --format, else
 * from the file name (ignoring a .gz/.xz/.br suffix), else from the content.
 */
import { ChampSimReader } from "./champsim.js";
import { type ByteSource, openByteSource } from "./byte-source.js";
import { TraceOpenError } from "./errors.js";
import { LackeyReader } from "./lackey.js";
import { FILE_FORMATS, type ReaderOptions, type TraceFormat, type TraceReader } from "./reader.js";
import { isWmt, WmtReader } from "./wmt.js";

export type FileFormat = Exclude<TraceFormat, "synthetic">;

/** Format implied by a file name, or null. */
export function formatFromName(path: string): FileFormat | null {
  const base = path.toLowerCase().replace(/\.(gz|xz|br)$/, "");
  if (base.endsWith(".wmt")) return "wmt";
  if (/\.(lackey|lk)$/.test(base)) return "lackey";
  if (/\.champsim(trace)?$/.test(base) || base.endsWith(".champsim.trace")) return "champsim";
  return null;
}

/** Format recognised from the first decompressed bytes, or null. */
export function formatFromContent(head: Uint8Array): FileFormat | null {
  if (isWmt(head)) return "wmt";
  // Lackey starts with valgrind's banner ("==PID== Lackey…") or with a record.
  const text = new TextDecoder("latin1").decode(head.subarray(0, 64));
  if (/^==\d+==/.test(text) || /^(I  | [LSM] )[0-9a-fA-F]+,\d+\r?\n/.test(text)) return "lackey";
  return null;
}

export function readerFor(format: FileFormat, src: ByteSource, opts: ReaderOptions): TraceReader {
  switch (format) {
    case "lackey": return new LackeyReader(src, opts);
    case "champsim": return new ChampSimReader(src, opts);
    case "wmt": return new WmtReader(src, opts);
  }
}

/** A ByteSource whose first chunk was peeked at and is handed out again. */
function unread(src: ByteSource, first: Uint8Array | null): ByteSource {
  let pending = first;
  const readInto = src.readInto?.bind(src);
  return {
    get name() { return src.name; },
    get compression() { return src.compression; },
    get fileBytes() { return src.fileBytes; },
    get fileBytesRead() { return src.fileBytesRead; },
    async next() {
      if (pending !== null) { const c = pending; pending = null; return c; }
      return src.next();
    },
    ...(readInto === undefined ? {} : {
      async readInto(dst: Uint8Array, off: number, len: number): Promise<number> {
        let got = 0;
        if (pending !== null) {
          // The peeked bytes first, then the file.
          got = Math.min(len, pending.length);
          dst.set(pending.subarray(0, got), off);
          pending = got < pending.length ? pending.subarray(got) : null;
        }
        return got < len ? got + await readInto(dst, off + got, len - got) : got;
      },
    }),
    close: () => src.close(),
  };
}

export interface OpenOptions extends ReaderOptions {
  /** Force a format instead of detecting it. */
  format?: FileFormat;
}

export async function openTrace(path: string, opts: OpenOptions = {}): Promise<TraceReader> {
  if (opts.format !== undefined && !FILE_FORMATS.includes(opts.format))
    throw new TraceOpenError(`unknown trace format "${opts.format as string}" (expected ${FILE_FORMATS.join(", ")})`);
  const src = await openByteSource(path);
  // An empty file is an error whatever the format (not a trace of no accesses).
  let first: Uint8Array | null;
  try {
    first = await src.next();
    while (first !== null && first.length === 0) first = await src.next();
  } catch (e) { await src.close(); throw e; }
  if (first === null) {
    await src.close();
    throw new TraceOpenError(`${path}: the file is empty${src.compression !== "none" ? ` once decompressed (${src.compression})` : ""}`);
  }
  const format: FileFormat | null = opts.format ?? formatFromName(path) ?? formatFromContent(first);
  if (format === null) {
    await src.close();
    throw new TraceOpenError(`${path}: cannot tell the trace format from the name or the content; ` +
      `pass --format lackey|champsim|wmt (ChampSim files are best named *.champsimtrace[.xz])`);
  }
  return readerFor(format, unread(src, first), opts);
}
