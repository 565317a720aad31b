/**
 * An output file for trace writers: gzip-compressed when the name ends in
 * ".gz", Brotli-compressed when it ends in ".br", with back-pressure honoured
 * so memory stays bounded.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { constants, createBrotliCompress, createGzip } from "node:zlib";
import { fileErrorMessage } from "./errors.js";

export class FileSink {
  private constructor(private readonly file: WriteStream, private readonly out: Writable) {}

  static async create(path: string): Promise<FileSink> {
    if (path.endsWith(".xz"))
      throw new Error(`${path}: writing xz is not supported (no encoder is bundled); write ${path.slice(0, -3)} and run \`xz -9\` on it, or use .br or .gz`);
    const file = createWriteStream(path);
    try {
      await once(file, "open");       // rejects with the 'error' event's error
    } catch (e) {
      throw new Error(fileErrorMessage(path, e, true));
    }
    let out: Writable = file;
    if (path.endsWith(".gz") || path.endsWith(".br")) {
      // Brotli at its best (quality 11) with a 16 MiB window: slow to write
      // (about 1 MB of input a second) but written once; it is how the
      // bundled traces are made (README "The default workload").
      const z = path.endsWith(".gz") ? createGzip({ level: 9 })
        : createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 } });
      z.pipe(file);
      out = z;
    }
    return new FileSink(file, out);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.out.write(bytes)) await once(this.out, "drain");
  }

  async close(last?: Uint8Array): Promise<void> {
    this.out.end(last);
    await once(this.file, "close");
  }
}
