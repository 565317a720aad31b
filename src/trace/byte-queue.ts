/**
 * Exact-length reads over a chunked ByteSource, for binary formats whose
 * records may straddle chunk boundaries. Tracks the absolute byte offset so
 * that errors can name it.
 */
import type { ByteSource } from "./byte-source.js";

export class ByteQueue {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;
  /** Offset in the (decompressed) stream of the next byte to be read. */
  offset = 0;

  constructor(readonly src: ByteSource) {}

  /**
   * Copy exactly `len` bytes into dst[off..off+len). Returns the number of
   * bytes copied: less than `len` only at the end of the stream.
   */
  async readExact(dst: Uint8Array, off: number, len: number): Promise<number> {
    let got = 0;
    while (got < len) {
      if (this.pos >= this.chunk.length) {
        if (this.ended) break;
        if (this.src.readInto !== undefined) {
          // A plain file: the rest comes straight from the file into dst.
          const n = await this.src.readInto(dst, off + got, len - got);
          got += n;
          if (got < len) this.ended = true;
          break;
        }
        const next = await this.src.next();
        if (next === null) { this.ended = true; break; }
        this.chunk = next;
        this.pos = 0;
        continue;
      }
      const take = Math.min(len - got, this.chunk.length - this.pos);
      dst.set(this.chunk.subarray(this.pos, this.pos + take), off + got);
      this.pos += take;
      got += take;
    }
    this.offset += got;
    return got;
  }

  /** True when no byte is left (reads ahead one chunk if needed). */
  async atEnd(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return true;
      const next = await this.src.next();
      if (next === null) { this.ended = true; return true; }
      this.chunk = next;
      this.pos = 0;
    }
    return false;
  }
}
