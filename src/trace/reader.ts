/**
 * The one interface every trace reader implements: fill an AccessBuffer from
 * the start, return how many accesses were written (0 at the end). A reader
 * never holds more than one input chunk plus one record, so memory is bounded
 * whatever the trace size.
 */
import type { AccessBuffer } from "./access-buffer.js";

export type TraceFormat = "lackey" | "champsim" | "wmt" | "synthetic";
export const FILE_FORMATS: readonly TraceFormat[] = ["lackey", "champsim", "wmt"];

export interface ReaderOptions {
  /** Skip malformed records (counting them) instead of stopping at the first. */
  lenient?: boolean;
}

export interface SkippedRecord {
  /** "line N" or "byte offset N". */
  where: string;
  detail: string;
}

export interface TraceReader {
  readonly format: TraceFormat;
  readonly name: string;
  /**
   * Fill `dst` from index 0 with up to dst.capacity accesses and return the
   * count; 0 means the trace has ended. All accesses of one call share one
   * context (`context`): a reader returns early when the context changes.
   */
  read(dst: AccessBuffer): Promise<number>;
  /** ASID/PCID of the accesses returned by the last read (0 when the format has none). */
  readonly context: number;
  /** Malformed records skipped so far (lenient mode). */
  readonly skipped: number;
  /** The first few skipped records, for the report. */
  readonly skippedExamples: readonly SkippedRecord[];
  /** Progress in [0, 1], or NaN when unknown. */
  progress(): number;
  close(): Promise<void>;
}

export const MAX_SKIPPED_EXAMPLES = 5;

/** Writes accesses in one file format (see src/trace/convert.ts). */
export interface TraceWriter {
  readonly format: Exclude<TraceFormat, "synthetic">;
  /** Accesses written so far. */
  readonly count: number;
  /** Append buf[0..n), all with the given context (ASID/PCID). */
  write(buf: AccessBuffer, n: number, context?: number): Promise<void>;
  close(): Promise<void>;
}
