/**
 * ChampSim traces: a stream of 64-byte `input_instr` records (ChampSim's
 * inc/trace_instruction.h, written by its Pin tracer), plain or xz/gzip/Brotli
 * compressed, little-endian:
 *
 *   offset size
 *    0      8   ip                       instruction pointer → one fetch
 *    8      1   is_branch                0 or 1
 *    9      1   branch_taken             0 or 1
 *   10      2   destination_registers[2]
 *   12      4   source_registers[4]
 *   16     16   destination_memory[2]    virtual addresses stored to (0 = none)
 *   32     32   source_memory[4]         virtual addresses loaded from (0 = none)
 *
 * Each record becomes a fetch of ip, then its loads, then its stores (an
 * instruction reads its operands before it writes its results). The format
 * has no sizes, so no access is split at a page boundary. An ip of 0 (never
 * produced by the tracer) means "no fetch": our writer uses it for records
 * that carry only data accesses, so any access sequence survives a round trip.
 */
import { Access } from "../abi.js";
import type { AccessBuffer } from "./access-buffer.js";
import { ByteQueue } from "./byte-queue.js";
import type { ByteSource } from "./byte-source.js";
import { LENIENT_HINT, TraceFormatError, TraceTruncatedError } from "./errors.js";
import { MAX_SKIPPED_EXAMPLES, type ReaderOptions, type SkippedRecord, type TraceReader } from "./reader.js";

export const CHAMPSIM_RECORD = 64;
/** Accesses one record can yield: fetch + 4 loads + 2 stores. */
const MAX_PER_RECORD = 7;
/** Records staged per refill (256 KiB). */
const STAGE_RECORDS = 4096;

export class ChampSimReader implements TraceReader {
  readonly format = "champsim" as const;
  readonly context = 0;
  skipped = 0;
  readonly skippedExamples: SkippedRecord[] = [];
  /** Instructions (records) read. */
  instructions = 0;
  private readonly q: ByteQueue;
  private readonly lenient: boolean;
  private readonly stage = new Uint8Array(STAGE_RECORDS * CHAMPSIM_RECORD);
  private readonly w = new Uint32Array(this.stage.buffer);
  private stageRecords = 0;
  private next = 0;
  /** Byte offset of stage[0] in the stream. */
  private stageOffset = 0;
  private ended = false;
  /** A truncated last record, reported after the whole records before it. */
  private truncation: TraceTruncatedError | null = null;

  constructor(src: ByteSource, opts: ReaderOptions = {}) {
    this.q = new ByteQueue(src);
    this.lenient = opts.lenient ?? false;
  }

  get name(): string { return this.q.src.name; }

  progress(): number {
    const s = this.q.src;
    return s.fileBytes > 0 ? s.fileBytesRead / s.fileBytes : NaN;
  }

  async read(dst: AccessBuffer): Promise<number> {
    let n = 0;
    const limit = dst.capacity - MAX_PER_RECORD;
    const va = dst.va32, kd = dst.kind, w = this.w, st = this.stage;
    while (n <= limit) {
      if (this.next >= this.stageRecords) {
        // A cut-off last record: the whole records before it were delivered
        // by this or an earlier call; the error comes with the next call.
        if (this.truncation) { if (n === 0) throw this.truncation; break; }
        if (this.ended) break;
        await this.refill();
        continue;
      }
      const r = this.next++;
      const b = r * CHAMPSIM_RECORD, q = b >> 2;
      if (st[b + 8]! > 1 || st[b + 9]! > 1) {
        this.reject(this.stageOffset + b + (st[b + 8]! > 1 ? 8 : 9),
          `is_branch/branch_taken byte ${Math.max(st[b + 8]!, st[b + 9]!)} is not 0 or 1 (not a ChampSim input_instr record?)`);
        continue;
      }
      this.instructions++;
      if ((w[q]! | w[q + 1]!) !== 0) { va[2 * n] = w[q]!; va[2 * n + 1] = w[q + 1]!; kd[n] = Access.Fetch; n++; }
      // source_memory[0..3] at words 8..15: loads
      for (let j = q + 8; j < q + 16; j += 2) {
        const lo = w[j]!, hi = w[j + 1]!;
        if ((lo | hi) !== 0) { va[2 * n] = lo; va[2 * n + 1] = hi; kd[n] = Access.Read; n++; }
      }
      // destination_memory[0..1] at words 4..7: stores
      for (let j = q + 4; j < q + 8; j += 2) {
        const lo = w[j]!, hi = w[j + 1]!;
        if ((lo | hi) !== 0) { va[2 * n] = lo; va[2 * n + 1] = hi; kd[n] = Access.Write; n++; }
      }
    }
    return n;
  }

  private async refill(): Promise<void> {
    this.stageOffset = this.q.offset;
    const got = await this.q.readExact(this.stage, 0, this.stage.length);
    const whole = Math.floor(got / CHAMPSIM_RECORD);
    if (got % CHAMPSIM_RECORD !== 0) {
      // The whole records before it are still delivered; the error comes after them.
      const at = this.stageOffset + whole * CHAMPSIM_RECORD;
      const detail = `the file ends inside a 64-byte record (${got % CHAMPSIM_RECORD} bytes left over); is this a ChampSim trace?`;
      if (this.lenient) {
        this.skipped++;
        if (this.skippedExamples.length < MAX_SKIPPED_EXAMPLES) this.skippedExamples.push({ where: `byte offset ${at}`, detail });
      } else {
        this.truncation = new TraceTruncatedError(this.name, `byte offset ${at}`, detail);
      }
    }
    if (got < this.stage.length) this.ended = true;
    this.stageRecords = whole;
    this.next = 0;
  }

  private reject(offset: number, detail: string): void {
    const where = `byte offset ${offset}`;
    if (!this.lenient) throw new TraceFormatError(this.name, where, detail, LENIENT_HINT);
    this.skipped++;
    if (this.skippedExamples.length < MAX_SKIPPED_EXAMPLES) this.skippedExamples.push({ where, detail });
  }

  async close(): Promise<void> { await this.q.src.close(); }
}
