/**
 * The run driver: stream a trace through a machine in chunks, translating
 * each chunk in the engine's batch buffers. Faults are handled the way a CPU
 * and a kernel handle them: translation stops at the faulting access
 * (translateRange), the kernel's fault handler maps the page, and the same
 * access is retried — so nothing after a fault is translated twice and the
 * statistics count exactly what the hardware would have done.
 */
import { Access, FaultKind, PfErr, Vector } from "../abi.js";
import { newAccessBuffer } from "../trace/access-buffer.js";
import { countKinds } from "../trace/kinds.js";
import type { TraceReader } from "../trace/reader.js";
import type { Machine } from "./machine.js";
import { batchFaultKind, batchFaultVector, batchIsFault } from "../engine/batch.js";

export interface RunCounters {
  accesses: number;
  reads: number;
  writes: number;
  fetches: number;
  /** #PF handled by the kernel: not-present (first touch) and protection (write to a zero-page/COW mapping). */
  pageFaults: number;
  notPresentFaults: number;
  protectionFaults: number;
  /** Accesses the kernel could not satisfy (SIGSEGV for a real process): skipped and counted. */
  unhandled: number;
  unhandledExamples: string[];
  /** Context switches between processes (trace contexts). */
  contextSwitches: number;
}

export interface RunProgress {
  accesses: number;
  /** Fraction of the input consumed, or NaN when unknown. */
  fraction: number;
}

export interface DriveOptions {
  /** Stop between chunks when aborted (Ctrl-C); the counters so far stay valid. */
  signal?: AbortSignal;
  onChunk?: (p: RunProgress) => void;
  /** Stop after this many accesses (for sampling a long trace). */
  limit?: number;
}

export interface DriveResult {
  counters: RunCounters;
  seconds: number;
  /** CPU time of this process during the run (user + system): on a busy machine a fairer measure than wall time. */
  cpuSeconds: number;
  interrupted: boolean;
}

const MAX_EXAMPLES = 5;
/** Chunks between two turns of the event loop (see drive). */
const YIELD_EVERY_CHUNKS = 8;
const KIND_NAMES = ["read", "write", "fetch"] as const;

export function newCounters(): RunCounters {
  return { accesses: 0, reads: 0, writes: 0, fetches: 0, pageFaults: 0, notPresentFaults: 0, protectionFaults: 0,
    unhandled: 0, unhandledExamples: [], contextSwitches: 0 };
}

function hexVa(lo: number, hi: number): string {
  return "0x" + (hi ? hi.toString(16) + lo.toString(16).padStart(8, "0") : lo.toString(16));
}

/** Run `reader` to its end (or the limit, or an abort) on `m`. */
export async function drive(reader: TraceReader, m: Machine, opts: DriveOptions = {}): Promise<DriveResult> {
  const e = m.engine, batch = e.batch;
  const c = newCounters();
  m.resetStats();                 // the report counts the run, not the boot
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let interrupted = false;
  let ctx = -1;
  const limit = opts.limit ?? Infinity;
  const kinds = { writes: 0, fetches: 0 };
  for (let chunk = 0; ; chunk++) {
    // A reader that never waits for I/O (a synthetic workload, bytes already
    // in memory) resolves its reads as microtasks, which would keep signal
    // handlers (Ctrl-C) and timers from ever running: give the event loop a
    // turn every few chunks (a few microseconds per ~ten milliseconds of work).
    if (chunk % YIELD_EVERY_CHUNKS === YIELD_EVERY_CHUNKS - 1) await new Promise<void>((r) => setImmediate(r));
    if (opts.signal?.aborted) { interrupted = true; break; }
    let n = await reader.read(batch);
    if (n === 0) break;
    if (c.accesses + n > limit) n = limit - c.accesses;
    if (reader.context !== ctx) {
      if (ctx !== -1) c.contextSwitches++;
      ctx = reader.context;
      m.switchTo(ctx);
    }
    // Accesses by kind (kinds are 0..2, checked by the readers), four at a time.
    const kd = batch.kind;
    countKinds(kd, 0, n, kinds);
    c.accesses += n;

    let i = 0;
    let retried = -1;
    while ((i = e.translateRange(i, n)) < n) {
      const hi = batch.out32[2 * i + 1]!, err = batch.out32[2 * i]!;
      const kind = batchFaultKind(hi), vector = batchFaultVector(hi);
      const vaLo = batch.va32[2 * i]!, vaHi = batch.va32[2 * i + 1]!;
      const access = kd[i]! as Access;
      if (batchIsFault(hi) && kind === FaultKind.X86 && vector === Vector.PF && retried !== i) {
        const va = (BigInt(vaHi) << 32n) | BigInt(vaLo);
        const r = m.fault(ctx, va, access as 0 | 1 | 2, (err & PfErr.P) === 0);
        if (r.ok) {
          c.pageFaults++;
          if (err & PfErr.P) c.protectionFaults++; else c.notPresentFaults++;
          retried = i;           // retry the same access once
          continue;
        }
        noteUnhandled(c, `${hexVa(vaLo, vaHi)} ${KIND_NAMES[access]}: ${r.error === "segv" ? "outside the process's address space (SIGSEGV)" : "out of memory"}`);
      } else {
        const what = kind === FaultKind.X86 ? (vector === Vector.PF ? `#PF error 0x${err.toString(16)} again after the fault handler` : `#GP (vector ${vector}; a non-canonical address?)`)
          : kind === FaultKind.Bus ? "bus fault (page table or page outside guest RAM)" : `fault kind ${kind}`;
        noteUnhandled(c, `${hexVa(vaLo, vaHi)} ${KIND_NAMES[access]}: ${what}`);
      }
      i++;
      retried = -1;
    }
    opts.onChunk?.({ accesses: c.accesses, fraction: reader.progress() });
    if (c.accesses >= limit) break;
  }
  c.writes = kinds.writes; c.fetches = kinds.fetches; c.reads = c.accesses - c.writes - c.fetches;
  const cpu = process.cpuUsage(cpu0);
  return { counters: c, seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, interrupted };
}

function noteUnhandled(c: RunCounters, what: string): void {
  c.unhandled++;
  if (c.unhandledExamples.length < MAX_EXAMPLES) c.unhandledExamples.push(what);
}

/** Pre-pass for --premap: the 4 KiB pages each context touches (page number = va / 4096). */
export async function touchedPages(reader: TraceReader, limit = Infinity): Promise<Map<number, Set<number>>> {
  const buf = newAccessBuffer(65536);
  const out = new Map<number, Set<number>>();
  let seen = 0;
  for (let n; seen < limit && (n = await reader.read(buf)) > 0;) {
    let set = out.get(reader.context);
    if (!set) out.set(reader.context, (set = new Set()));
    const m = Math.min(n, limit - seen);
    for (let i = 0; i < m; i++) set.add(buf.va32[2 * i + 1]! * 1048576 + (buf.va32[2 * i]! >>> 12));
    seen += m;
  }
  return out;
}
