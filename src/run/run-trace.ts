/**
 * A trace run from start to end: open the trace (or synthetic workload), boot
 * the machine, optionally pre-map every page the trace touches, stream the
 * accesses through demand paging and the TLB (src/run/driver.ts), and build
 * the report (src/run/report.ts). `wasmmu run` and `wasmmu info tlb` are this
 * plus their flags and what they print.
 */
import { openSource, type SourceOptions } from "../trace/source.js";
import type { TraceReader } from "../trace/reader.js";
import { bundledTracePath } from "./bundled.js";
import { drive, type DriveResult, type RunProgress, touchedPages } from "./driver.js";
import { Machine, type MachineOptions } from "./machine.js";
import { buildReport, type RunReport } from "./report.js";
import { engineTlbReport } from "./tlb-stats.js";

/**
 * What watches the accesses stream through the machine. It is started once
 * the machine is booted (and the pre-map pass is done), so that it sees only
 * the run itself, and stopped when the stream ends, however it ends.
 */
export interface RunWatch {
  /** Aborting stops the run between two chunks; the statistics so far are reported. */
  signal?: AbortSignal;
  onChunk?: (p: RunProgress) => void;
  stop?: () => void;
}

export interface RunOptions {
  /** Trace file; with neither a file nor `source.synthetic`, the bundled trace (src/run/bundled.ts). */
  trace?: string;
  /** Format and leniency of a trace file, or the synthetic workload. */
  source: SourceOptions;
  machine: MachineOptions;
  /** Map every page the trace touches before the run (a fixed layout: no demand faults; the trace is read twice). */
  premap?: boolean;
  /** Stop after the first N accesses. */
  limit?: number;
  watch?: () => RunWatch;
}

export interface RunOutcome {
  reader: TraceReader;
  machine: Machine;
  result: DriveResult;
  report: RunReport;
  /** The watch's signal stopped the run before the end of the trace. */
  aborted: boolean;
}

/** Boot the machine, stream the trace through it, build the report. */
export async function runTrace(o: RunOptions): Promise<RunOutcome> {
  const file = o.trace ?? (o.source.synthetic ? undefined : bundledTracePath());
  // Opened before the machine boots, so that a bad trace is reported at once.
  let reader = await openSource(file, o.source);
  let machine: Machine;
  try {
    machine = await Machine.create(o.machine);
  } catch (e) { await reader.close(); throw e; }
  let premapped = 0;
  if (o.premap) {
    // The first pass uses this reader and closes it before the trace is opened
    // again: one reader at a time (an xz trace can be decoded by only one).
    try {
      for (const [ctx, pages] of await touchedPages(reader, o.limit)) premapped += machine.populate(ctx, pages);
    } finally { await reader.close(); }
    machine.resetStats();
    reader = await openSource(file, o.source);
  }
  const watch = o.watch?.() ?? {};
  let result: DriveResult;
  try {
    result = await drive(reader, machine, { signal: watch.signal, limit: o.limit, onChunk: watch.onChunk });
  } finally {
    watch.stop?.();
    await reader.close();
  }
  const aborted = watch.signal?.aborted ?? false;
  if (o.limit !== undefined && result.counters.accesses >= o.limit) result.interrupted = true;
  if (result.counters.accesses === 0 && !aborted) throw noAccesses(reader);
  return { reader, machine, result, aborted, report: buildReport(reader, machine, result, engineTlbReport(machine.engine), premapped) };
}

/** A trace that ran to its end without one access: nothing to report. */
function noAccesses(reader: TraceReader): Error {
  const unit = reader.format === "lackey" ? "lines" : "records";
  return new Error(`${reader.name}: the trace has no accesses` + (reader.skipped > 0
    ? ` (all ${reader.skipped.toLocaleString("en-US")} malformed ${unit} were skipped by --lenient; ` +
      `first: ${reader.skippedExamples[0]?.where}: ${reader.skippedExamples[0]?.detail})` : ""));
}
