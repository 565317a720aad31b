/**
 * A conversion as `wasmmu convert` does it: a trace file or a synthetic
 * workload (src/trace/source.ts) into a file of another format
 * (src/trace/convert.ts), the format chosen by the output's name unless
 * given.
 */
import { type ConvertResult, convertTrace, openTraceWriter, type OutputFormat } from "./convert.js";
import { formatFromName } from "./open.js";
import { openSource, type SourceOptions } from "./source.js";

export interface ConvertFileOptions {
  /** Input trace; none with a synthetic workload. */
  input?: string;
  /** Output file; a name ending in .gz is written gzip-compressed, in .br Brotli-compressed. */
  out: string;
  /** Output format (default: from `out`'s name, else WMT). */
  to?: OutputFormat;
  /** Provenance note for a WMT header (default: where the accesses came from). */
  note?: string;
  /** Convert only the first N accesses. */
  limit?: number;
  source: SourceOptions;
}

export interface ConvertFileResult extends ConvertResult {
  to: OutputFormat;
  /** Wall time of reading and writing the accesses (opening the files not included). */
  seconds: number;
}

export async function convertFile(o: ConvertFileOptions): Promise<ConvertFileResult> {
  const to = o.to ?? formatFromName(o.out) ?? "wmt";
  const reader = await openSource(o.input, o.source);
  const note = o.note ?? (o.input ? `converted by wasmmu from ${o.input} (${reader.format})` : reader.name);
  let writer: Awaited<ReturnType<typeof openTraceWriter>>;
  try { writer = await openTraceWriter(o.out, to, note); } catch (e) { await reader.close(); throw e; }
  const t0 = performance.now();
  const r = await convertTrace(reader, writer, undefined, o.limit);
  return { ...r, to, seconds: (performance.now() - t0) / 1000 };
}
