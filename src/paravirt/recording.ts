/**
 * A recording wrapper around any backend: every hook call is logged with its
 * arguments (and result) and then forwarded. Tests use it to check hook order
 * and pairing: the alloc-before-use / release-before-free contract stated in
 * ops.ts, and the order pgd_alloc and pgd_free issue their hooks in.
 */
import { PV_MMU_OP_NAMES, type PvMmuOpName, type PvMmuOps } from "./ops.js";

export interface PvCall {
  /** Position in the log since creation (not reset by clear()). */
  readonly seq: number;
  readonly op: PvMmuOpName;
  readonly args: readonly unknown[];
  readonly result: unknown;
}

export interface RecordingOptions {
  /** Hooks not to log (they are still forwarded), e.g. the *Val/make* conversions. */
  ignore?: readonly PvMmuOpName[];
}

export type RecordingMmuOps = PvMmuOps & {
  /** The calls so far. */
  readonly log: PvCall[];
  readonly inner: PvMmuOps;
  /** Forget the log. */
  clear(): void;
  /** Just the calls of these hooks, in order. */
  calls(...ops: PvMmuOpName[]): PvCall[];
};

export function recordingMmuOps(inner: PvMmuOps, opts: RecordingOptions = {}): RecordingMmuOps {
  const ignore = new Set(opts.ignore ?? []);
  const log: PvCall[] = [];
  let seq = 0;
  const rec = {
    get name() { return `recording(${inner.name})`; },
    get sharedKernelPmd() { return inner.sharedKernelPmd; },
    log, inner,
    clear() { log.length = 0; },
    calls(...ops: PvMmuOpName[]) { return log.filter((c) => ops.includes(c.op)); },
  } as Record<string, unknown>;
  if (inner.bindFixmap) rec.bindFixmap = inner.bindFixmap.bind(inner);
  for (const op of PV_MMU_OP_NAMES) {
    const fn = inner[op] as (...a: unknown[]) => unknown;
    rec[op] = (...args: unknown[]): unknown => {
      const result = fn.apply(inner, args);
      if (!ignore.has(op)) log.push({ seq: seq++, op, args, result });
      return result;
    };
  }
  return rec as unknown as RecordingMmuOps;
}
