/**
 * Conversion between trace formats: any reader (lackey, ChampSim, WMT,
 * synthetic) into any writer. WMT is the target of choice — compact, fast to
 * read, with provenance — and lackey text and ChampSim records can be written
 * too, so that the same accesses can be timed in every format.
 */
import { Access } from "../abi.js";
import { type AccessBuffer, newAccessBuffer } from "./access-buffer.js";
import { CHAMPSIM_RECORD } from "./champsim.js";
import { FileSink } from "./file-sink.js";
import type { TraceFormat, TraceReader, TraceWriter } from "./reader.js";
import { WmtWriter } from "./wmt.js";

const HEXDIGITS = "0123456789abcdef";

/**
 * Lackey text. Sizes are not kept by the other formats, so every access is
 * written with size 1 (it never crosses a page), which makes reading the text
 * back give exactly the accesses that were written.
 */
export class LackeyWriter implements TraceWriter {
  readonly format = "lackey" as const;
  count = 0;
  private readonly buf = new Uint8Array(1 << 20);
  private fill = 0;
  private constructor(private readonly sink: FileSink) {}

  static async create(path: string, note = ""): Promise<LackeyWriter> {
    const w = new LackeyWriter(await FileSink.create(path));
    // Provenance as valgrind-style commentary lines, which readers skip.
    for (const line of note.split("\n").filter((l) => l.length > 0))
      await w.sink.write(new TextEncoder().encode(`==0== ${line}\n`));
    return w;
  }

  async write(a: AccessBuffer, n: number): Promise<void> {
    const b = this.buf;
    for (let i = 0; i < n; i++) {
      if (this.fill > b.length - 64) { await this.sink.write(b.slice(0, this.fill)); this.fill = 0; }
      let p = this.fill;
      const k = a.kind[i]!;
      if (k === Access.Fetch) { b[p++] = 0x49; b[p++] = 0x20; b[p++] = 0x20; }
      else { b[p++] = 0x20; b[p++] = k === Access.Write ? 0x53 : 0x4c; b[p++] = 0x20; }
      const lo = a.va32[2 * i]!, hi = a.va32[2 * i + 1]!;
      // At least 8 digits, as lackey prints them (%08lx).
      let started = false;
      for (let s = 28; s >= 0; s -= 4) {
        const d = (hi >>> s) & 15;
        if (d !== 0 || started) { b[p++] = HEXDIGITS.charCodeAt(d); started = true; }
      }
      for (let s = 28; s >= 0; s -= 4) b[p++] = HEXDIGITS.charCodeAt((lo >>> s) & 15);
      b[p++] = 0x2c; b[p++] = 0x31; b[p++] = 0x0a;   // ",1\n"
      this.fill = p;
    }
    this.count += n;
  }

  async close(): Promise<void> {
    await this.sink.close(this.buf.slice(0, this.fill));
  }
}

/**
 * ChampSim input_instr records. A fetch starts a record; the loads and stores
 * that follow fill its four source and two destination slots. A record is
 * closed early when a slot kind is full or a load follows a store (the reader
 * yields loads before stores); the continuation has ip 0 ("no fetch").
 */
export class ChampSimWriter implements TraceWriter {
  readonly format = "champsim" as const;
  count = 0;
  private readonly out = new Uint8Array(4096 * CHAMPSIM_RECORD);
  private readonly w = new Uint32Array(this.out.buffer);
  private rec = 0;          // records filled in `out`
  private open = false;     // record `rec` is being filled
  private loads = 0;
  private stores = 0;
  private constructor(private readonly sink: FileSink) {}

  static async create(path: string): Promise<ChampSimWriter> {
    return new ChampSimWriter(await FileSink.create(path));
  }

  private async finish(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.rec++;
    if (this.rec * CHAMPSIM_RECORD === this.out.length) {
      await this.sink.write(this.out.slice());
      this.rec = 0;
    }
  }

  private begin(lo: number, hi: number): void {
    const q = this.rec * 16;
    this.w.fill(0, q, q + 16);
    this.w[q] = lo; this.w[q + 1] = hi;
    this.open = true;
    this.loads = 0;
    this.stores = 0;
  }

  async write(a: AccessBuffer, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const k = a.kind[i]!, lo = a.va32[2 * i]!, hi = a.va32[2 * i + 1]!;
      if (k === Access.Fetch) { await this.finish(); this.begin(lo, hi); continue; }
      if (!this.open || (k === Access.Read && (this.loads === 4 || this.stores > 0)) || (k === Access.Write && this.stores === 2)) {
        await this.finish();
        this.begin(0, 0);
      }
      const q = this.rec * 16;
      // A zero address would read back as "no operand"; ChampSim cannot express it.
      if ((lo | hi) === 0) throw new RangeError("ChampSim records cannot hold a data access at virtual address 0");
      if (k === Access.Read) { this.w[q + 8 + 2 * this.loads] = lo; this.w[q + 9 + 2 * this.loads] = hi; this.loads++; }
      else { this.w[q + 4 + 2 * this.stores] = lo; this.w[q + 5 + 2 * this.stores] = hi; this.stores++; }
    }
    this.count += n;
  }

  async close(): Promise<void> {
    if (this.open) { this.open = false; this.rec++; }
    await this.sink.close(this.out.slice(0, this.rec * CHAMPSIM_RECORD));
  }
}

export type OutputFormat = Exclude<TraceFormat, "synthetic">;

export async function openTraceWriter(path: string, format: OutputFormat, note = ""): Promise<TraceWriter> {
  switch (format) {
    case "wmt": return WmtWriter.create(path, note);
    case "lackey": return LackeyWriter.create(path, note);
    case "champsim": return ChampSimWriter.create(path);
  }
}

export interface ConvertResult { accesses: number; skipped: number }

/** Copy every access of `reader` (or the first `limit`) into `writer` (both are closed at the end). */
export async function convertTrace(reader: TraceReader, writer: TraceWriter, onChunk?: (done: number) => void,
  limit = Infinity): Promise<ConvertResult> {
  const buf = newAccessBuffer(65536);
  try {
    while (writer.count < limit) {
      const n = Math.min(await reader.read(buf), limit - writer.count);
      if (n === 0) break;
      await writer.write(buf, n, reader.context);
      onChunk?.(writer.count);
    }
  } finally {
    await reader.close();
  }
  await writer.close();
  return { accesses: writer.count, skipped: reader.skipped };
}
