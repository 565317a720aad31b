/**
 * Running a sweep: the cells not already in OUT/cells go to a pool of worker
 * threads (piscina, one per core by default), a progress bar follows the
 * whole sweep, and once every cell is done the summary and the HTML report
 * are written from the cell files. Ctrl-C stops the pool: the cells finished
 * so far stay in OUT/cells and the same command runs the rest.
 */
import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { type CellFile, type CellTask, finishedCells, readCell } from "./cell.js";
import { htmlReport } from "./html.js";
import { type Cell, describeConfig } from "./spec.js";
import { summaryCsv, summaryRow, summaryText } from "./summary.js";

export interface SweepRunOptions {
  out: string;
  workers?: number;
  /** Worker script (dist/sweep-worker.js beside the CLI bundle). */
  workerFile: URL;
  /** Progress on stderr: a bar on a terminal, else one line per cell. */
  progress: "bar" | "lines" | "none";
  signal?: AbortSignal;
}

export interface SweepOutcome {
  total: number;
  ran: number;
  reused: number;
  /** Stopped by the signal before every cell was done. */
  interrupted: boolean;
}

export const defaultWorkers = (): number => availableParallelism();

export async function runSweep(cells: Cell[], o: SweepRunOptions): Promise<SweepOutcome> {
  const { done, todo } = finishedCells(o.out, cells);
  const reused = done.size;
  const workers = Math.max(1, Math.min(o.workers ?? defaultWorkers(), Math.max(1, todo.length)));
  const log = (s: string): void => { if (o.progress !== "none") process.stderr.write(s + "\n"); };
  log(`sweep: ${cells.length} cells, ${reused} reused from ${join(o.out, "cells")}, ${todo.length} to run on ${workers} worker${workers === 1 ? "" : "s"}`);

  let interrupted = false;
  if (todo.length > 0) {
    const bar = o.progress === "bar" ? new cliProgress.SingleBar({
      stream: process.stderr, format: "{bar} {value}/{total} cells | {reused} reused | ETA {eta_formatted}",
      hideCursor: true, clearOnComplete: true, fps: 5,
    }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(cells.length, reused, { reused });
    // Loaded here rather than at the top: every other command of the CLI bundle starts without it.
    const { Piscina } = await import("piscina");
    const pool = new Piscina<CellTask, string>({ filename: o.workerFile.href, minThreads: workers, maxThreads: workers,
      concurrentTasksPerWorker: 1, idleTimeout: 1000 });
    const stop = new AbortController();
    // Every queued cell listens to it (piscina cancels a task on abort).
    setMaxListeners(0, stop.signal);
    const onAbort = (): void => stop.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    let firstError: Error | undefined;
    try {
      await Promise.all(todo.map(async (cell) => {
        try {
          await pool.run({ cell, out: o.out }, { signal: stop.signal });
        } catch (e) {
          if (stop.signal.aborted) return;
          firstError ??= new Error(`cell ${cell.id} (${cell.traceLabel}, ${describeConfig(cell.config)}): ${(e as Error).message}`);
          stop.abort();
          return;
        }
        const f = readCell(o.out, cell.id);
        if (!f) { firstError ??= new Error(`cell ${cell.id}: its file was not written`); stop.abort(); return; }
        done.set(cell.id, f);
        bar?.increment(1, { reused });
        if (o.progress === "lines")
          log(`sweep: [${done.size}/${cells.length}] cell ${cell.id} done: ${cell.traceLabel}, ${describeConfig(cell.config)}`);
      }));
    } finally {
      o.signal?.removeEventListener("abort", onAbort);
      bar?.stop();
      await pool.destroy();
    }
    if (firstError) throw firstError;
    interrupted = done.size < cells.length;
  }
  if (interrupted) return { total: cells.length, ran: done.size - reused, reused, interrupted };

  writeSummary(o.out, cells, done);
  return { total: cells.length, ran: done.size - reused, reused, interrupted };
}

/** OUT/summary.txt, summary.csv and report.html from the files of every cell. */
export function writeSummary(out: string, cells: Cell[], done: Map<string, CellFile>): void {
  const rows = cells.map((c) => summaryRow(done.get(c.id)!));
  const traces = new Set(cells.map((c) => c.traceLabel)).size;
  const header = `wasmmu sweep: ${cells.length} cells (${traces} trace${traces === 1 ? "" : "s"} × ${cells.length / traces} configurations)`;
  writeFileSync(join(out, "summary.txt"), summaryText(rows, header));
  writeFileSync(join(out, "summary.csv"), summaryCsv(rows));
  writeFileSync(join(out, "report.html"), htmlReport(rows, header));
}
