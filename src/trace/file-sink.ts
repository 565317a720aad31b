/**
 * An output file for trace writers: gzip-compressed when the name ends in
 * ".gz", with back-pressure honoured so memory stays bounded.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { createGzip } from "node:zlib";
import { fileErrorMessage } from "./errors.js";

export class FileSink {
  private constructor(private readonly file: WriteStream, private readonly out: Writable) {}

  static async create(path: string): Promise<FileSink> {
    if (path.endsWith(".xz"))
      throw new Error(`${path}: writing xz is not supported (no encoder is bundled); write ${path.slice(0, -3)} and run \`xz -9\` on it, or use .gz`);
    const file = createWriteStream(path);
    try {
      await once(file, "open");       // rejects with the 'error' event's error
    } catch (e) {
      throw new Error(fileErrorMessage(path, e, true));
    }
    let out: Writable = file;
    if (path.endsWith(".gz")) {
      const gz = createGzip({ level: 9 });
      gz.pipe(file);
      out = gz;
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
