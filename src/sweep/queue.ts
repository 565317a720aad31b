/**
 * A sweep across machines, on BullMQ and Redis. `wasmmu sweep --queue URL`
 * submits the sweep as one flow: a parent job with one child job per cell
 * not already in OUT/cells (BullMQ FlowProducer). `wasmmu worker --queue URL`,
 * on any number of machines, takes cells from the queue and runs each in a
 * worker thread (the event loop stays free to renew the job's lock while a
 * long cell runs), returning the cell's file as the job's result; the
 * submitting process writes the files to OUT/cells and, once every cell is
 * done, the same summary and report as a local sweep.
 *
 * A worker that dies mid-cell stops renewing its lock; another worker's
 * stalled-job check then puts the cell back in the queue (BullMQ "stalled
 * jobs"). A cell whose run throws fails at once with its error
 * (UnrecoverableError: a run is deterministic, so it would fail the same way
 * anywhere), unless the error came from the system (a trace that could not
 * be read on that machine), which is tried again, up to ATTEMPTS times.
 */
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { type CellFile, type QueueCellResult, finishedCells, writeCell } from "./cell.js";
import { writeSummary } from "./run.js";
import { type Cell, describeConfig } from "./spec.js";

/** The queue of cells, and the queue of the sweeps (the flows' parents). */
export const CELL_QUEUE = "wasmmu-cells";
export const SWEEP_QUEUE = "wasmmu-sweeps";
/** Tries of a cell whose run failed for a system reason (crashes and kills count as stalls instead). */
export const ATTEMPTS = 3;

/** How long a worker holds a cell without renewing its lock, and how often stalled cells are looked for. */
export function lockMs(): number {
  const v = process.env.WASMMU_QUEUE_LOCK_MS;
  if (v === undefined) return 30_000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100) throw new Error(`WASMMU_QUEUE_LOCK_MS: expected milliseconds (an integer ≥ 100), got "${v}"`);
  return n;
}

/** redis://HOST:PORT[/DB] (or rediss://) of --queue, checked before anything connects. */
export function parseQueueUrl(v: string): string {
  let u: URL;
  try { u = new URL(v); } catch { throw new Error(`--queue: expected redis://HOST:PORT, got "${v}"`); }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`--queue: expected redis://HOST:PORT, got "${v}"`);
  return v;
}

async function connect(url: string): Promise<import("ioredis").Redis> {
  const { Redis } = await import("ioredis");
  // BullMQ's workers block on Redis and must not give up on a command (maxRetriesPerRequest: null).
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  // ioredis prints connection errors nobody listens to; BullMQ reports those that matter after the first connection.
  let last: Error | undefined;
  redis.on("error", (e: Error) => { last = e; });
  // An unreachable server is an error here, not an endless reconnect loop.
  try { await redis.connect(); } catch (e) {
    redis.disconnect();
    throw new Error(`--queue: cannot connect to ${url}: ${(last ?? (e as Error)).message}`);
  }
  return redis;
}

/** What a cell's job carries: the cell, with its trace file's absolute path (the same on every machine: shared storage). */
interface CellJob { cell: Cell }

export interface QueueSweepOptions {
  url: string;
  out: string;
  progress: "bar" | "lines" | "none";
  signal?: AbortSignal;
  /** How often the submitter looks at the cells' jobs. */
  pollMs?: number;
}

export interface QueueSweepOutcome {
  total: number;
  ran: number;
  reused: number;
  interrupted: boolean;
  /** Cells that failed, with their errors (no summary is written then). */
  failed: { cell: Cell; error: string }[];
}

/** Submit the cells not yet in OUT/cells, wait for every one, write their files and the summary. */
export async function runQueueSweep(cells: Cell[], o: QueueSweepOptions): Promise<QueueSweepOutcome> {
  const { done, todo } = finishedCells(o.out, cells);
  const reused = done.size;
  const log = (s: string): void => { if (o.progress !== "none") process.stderr.write(s + "\n"); };
  const submitted = (): void => log(`sweep: ${cells.length} cells, ${reused} reused from ${join(o.out, "cells")}, ${todo.length} submitted to ${o.url}`);
  const failed: { cell: Cell; error: string }[] = [];
  let interrupted = false;
  if (todo.length === 0) submitted();
  else {
    const { FlowProducer, Queue } = await import("bullmq");
    const connection = await connect(o.url);
    const flows = new FlowProducer({ connection });
    const queue = new Queue(CELL_QUEUE, { connection });
    // Job ids are unique to this submission: a cell submitted again (after an interrupted sweep) is a new job.
    const token = randomUUID();
    const jobId = (c: Cell): string => `${token}.${c.id}`;
    const node = await flows.add({
      name: "sweep", queueName: SWEEP_QUEUE, opts: { jobId: token }, data: { cells: todo.length },
      children: todo.map((c) => ({
        name: "cell", queueName: CELL_QUEUE,
        data: { cell: { ...c, trace: "file" in c.trace ? { file: resolve(c.trace.file) } : c.trace } } satisfies CellJob,
        // A failed cell leaves the parent waiting on the others rather than failing it.
        opts: { jobId: jobId(c), attempts: ATTEMPTS, backoff: { type: "fixed", delay: 1000 }, ignoreDependencyOnFailure: true },
      })),
    });
    submitted();
    try {
      const pending = new Map(todo.map((c) => [jobId(c), c]));
      while (pending.size > 0 && !o.signal?.aborted) {
        for (const [id, cell] of pending) {
          // The state first, then the job: a job read while running has no result yet, even if it completes a moment later.
          const state = await queue.getJobState(id);
          if (state !== "completed" && state !== "failed") {
            if (state === "unknown") { failed.push({ cell, error: "its job vanished from the queue" }); pending.delete(id); }
            continue;
          }
          const job = (await queue.getJob(id))!;
          if (state === "completed") {
            const r = job.returnvalue as QueueCellResult;
            if ("file" in r && r.file.id === cell.id) {
              writeCell(o.out, r.file);
              done.set(cell.id, r.file);
              log(`sweep: [${done.size}/${cells.length}] cell ${cell.id} done: ${cell.traceLabel}, ${describeConfig(cell.config)}`);
            } else failed.push({ cell, error: "error" in r ? r.error : "the worker returned another cell" });
            pending.delete(id);
          } else {
            failed.push({ cell, error: job.failedReason });
            pending.delete(id);
          }
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
      }
      interrupted = pending.size > 0;
      // Withdraw the cells not yet run, one by one: a cell a worker holds cannot be removed, and must not stop the others' removal.
      for (const id of pending.keys()) await queue.remove(id).catch(() => undefined);
    } finally {
      // The parent and its children: the results are in OUT/cells now (or, interrupted, the cells are not wanted any more).
      await node.job.remove().catch(() => undefined);
      await queue.close();
      await flows.close();
      connection.disconnect();
    }
  }
  const outcome = { total: cells.length, ran: done.size - reused, reused, interrupted, failed };
  if (!interrupted && failed.length === 0) writeSummary(o.out, cells, done);
  return outcome;
}

export interface QueueWorkerOptions {
  url: string;
  concurrency: number;
  /** Worker script (dist/sweep-worker.js beside the CLI bundle). */
  workerFile: URL;
  signal: AbortSignal;
  log: (s: string) => void;
}

/** Run cells from the queue until the signal; returns once the cells in hand are finished. */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<void> {
  const { UnrecoverableError, Worker } = await import("bullmq");
  const { Piscina } = await import("piscina");
  const connection = await connect(o.url);
  const pool = new Piscina<Pick<{ cell: Cell }, "cell">, QueueCellResult>({ filename: o.workerFile.href,
    minThreads: o.concurrency, maxThreads: o.concurrency, concurrentTasksPerWorker: 1 });
  const lock = lockMs();
  const worker = new Worker<CellJob, QueueCellResult>(CELL_QUEUE, async (job) => {
    const { cell } = job.data;
    o.log(`worker: cell ${cell.id} (${cell.traceLabel}, ${describeConfig(cell.config)}), attempt ${job.attemptsMade + 1}`);
    const r = await pool.run({ cell }, { name: "queueCell" });
    if ("error" in r) {
      o.log(`worker: cell ${cell.id} failed: ${r.error}`);
      throw r.system ? new Error(r.error) : new UnrecoverableError(r.error);
    }
    return r;
  }, { connection, concurrency: o.concurrency, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2 });
  worker.on("error", (e) => o.log(`worker: ${e.message}`));
  await worker.waitUntilReady();
  o.log(`worker: taking cells from ${o.url} (${o.concurrency} at a time)`);
  await new Promise<void>((r) => { if (o.signal.aborted) r(); else o.signal.addEventListener("abort", () => r(), { once: true }); });
  await worker.close();
  await pool.destroy();
  connection.disconnect();
}
