import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { BUNDLED_SORT_TRACE, BUNDLED_TRACE, bundledTracePath } from "../../run/bundled.js";
import { progressStyle } from "../../run/progress.js";
import { parseQueueUrl, runQueueSweep, runQueueWorker } from "../../sweep/queue.js";
import { readCell, runCell } from "../../sweep/cell.js";
import { defaultWorkers, runSweep, writeSummary } from "../../sweep/run.js";
import { type Axis, type CellConfig, describeConfig, expandCells, parseAxisValue, parseConfigArg, parseGridArg, parseSpecFile, parseTrace,
  type SweepSpec, type TraceSpec } from "../../sweep/spec.js";
import { interruptible } from "../interrupt.js";
import { parseCountIn, parseSizeIn, parseUintIn } from "../parse.js";

/** The default sweep's traces: the two bundled real ones, gzip compressing a text and GNU sort sorting numbers. */
export const DEFAULT_TRACES = [BUNDLED_TRACE, BUNDLED_SORT_TRACE];
/** The default sweep's grid: 4 TLB sizes × paging-structure caches off/on × 4- and 5-level paging. */
export const DEFAULT_GRID: Partial<Record<Axis, string[]>> = {
  "tlb-entries": ["64", "256", "1024", "4096"], psc: ["off", "on"], mode: ["4level", "5level"],
};

export interface SweepFlags {
  grid: string[];
  config: string[];
  spec?: string;
  engine?: string;
  out: string;
  workers?: number;
  limit?: number;
  mem?: number;
  lenient?: boolean;
  progress?: boolean;
  queue?: string;
  listCells?: boolean;
  cell?: number;
  summaryOnly?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/**
 * `wasmmu sweep [TRACE…]`: traces × configurations, each cell a trace run on
 * a pool of worker threads, then OUT/summary.txt, OUT/summary.csv and
 * OUT/report.html. With nothing given, a small default sweep.
 */
export function registerSweep(program: Command): void {
  program.command("sweep")
    .description("run traces × TLB/paging configurations on all cores (a grid or a list; docs/SWEEP.md) and write a summary " +
      "and an HTML report; with no arguments a small default sweep over the two bundled traces")
    .argument("[traces...]", "trace files, or synthetic:KIND[:KEY=VALUE,…] (default: the bundled traces, " + DEFAULT_TRACES.join(" and ") + ")")
    .option("--grid <axis=values>", "an axis and its values, e.g. tlb-entries=64,256,1024 (repeatable; the cells are the " +
      "cartesian product; axes: engine, mode, page-size, tlb, tlb-entries, l2, replacement, psc)", collect, [])
    .option("--config <axis=value,...>", "one explicit configuration, e.g. tlb=research,l2=64x8 (repeatable; added to the grid's)", collect, [])
    .option("--spec <file>", "a sweep file (JSON, or YAML when named *.yaml/*.yml: traces, grid, configs, limit, mem, lenient; docs/SWEEP.md)")
    .addOption(new Option("--engine <engine>", "MMU engine of every cell (same as --grid engine=ENGINE)").choices(["wasm", "ts"]))
    .option("--out <dir>", "output directory (cells/, summary.txt, summary.csv, report.html)", "sweep-out")
    .option("--workers <n>", `worker threads (default: one per core, here ${defaultWorkers()})`, parseCountIn(1, 1024))
    .option("--limit <n>", "stop each run after its first N accesses", parseCountIn(1))
    .addOption(new Option("--mem <bytes>", "guest RAM of every cell (default 1G)").argParser(parseSizeIn(4 << 20, 2 ** 45, 4096)))
    .option("--lenient", "trace files: skip malformed records and count them instead of stopping at the first")
    .option("--queue <url>", "run the cells on `wasmmu worker`s of a Redis server, redis://HOST:PORT, instead of here " +
      "(trace files must be at the same absolute path on every worker: docs/SWEEP.md)", parseQueueUrl)
    .option("--list-cells", "print the sweep's cells, one a line (index, id, trace, configuration), and run nothing")
    .option("--cell <n>", "run only cell N (0-based, as --list-cells numbers them) into OUT/cells: one task of a job array",
      parseUintIn(0, 2 ** 31))
    .option("--summary-only", "run nothing: write the summary and report from OUT/cells, which must hold every cell")
    .option("--progress", "report progress on stderr even when it is not a terminal (one line per cell)")
    .option("--no-progress", "never report progress")
    .action(async (args: string[], o: SweepFlags) => {
      const spec = sweepSpec(args, o);
      for (const t of spec.traces)
        if ("file" in t && !existsSync(t.file)) throw new Error(`trace file ${t.file} not found`);
      const cells = expandCells(spec);
      const picked = [o.listCells && "--list-cells", o.cell !== undefined && "--cell", o.summaryOnly && "--summary-only", o.queue && "--queue"]
        .filter(Boolean);
      if (picked.length > 1) throw new Error(`${picked[0]}: not with ${picked[1]}`);
      if (o.listCells) {
        const w = String(cells.length - 1).length;
        for (const [i, c] of cells.entries()) console.log(`${String(i).padStart(w)}  ${c.id}  ${c.traceLabel}  ${describeConfig(c.config)}`);
        return;
      }
      if (o.cell !== undefined) {
        const c = cells[o.cell];
        if (!c) throw new Error(`--cell: cell ${o.cell} does not exist: the sweep has ${cells.length} cells, 0 to ${cells.length - 1}`);
        mkdirSync(join(o.out, "cells"), { recursive: true });
        if (readCell(o.out, c.id)) {
          console.log(`sweep: cell ${o.cell} (${c.id}) is already in ${resolve(o.out)}/cells`);
          return;
        }
        try {
          console.log(`sweep: cell ${o.cell} (${c.id}) → ${resolve(await runCell({ cell: c, out: o.out }))}`);
        } catch (e) {
          throw new Error(`cell ${c.id} (${c.traceLabel}, ${describeConfig(c.config)}): ${(e as Error).message}`);
        }
        return;
      }
      if (o.summaryOnly) {
        const done = new Map(cells.flatMap((c) => { const f = readCell(o.out, c.id); return f ? [[c.id, f] as const] : []; }));
        const missing = cells.map((c, i) => [c, i] as const).filter(([c]) => !done.has(c.id)).map(([, i]) => i);
        if (missing.length > 0)
          throw new Error(`--summary-only: ${missing.length} of ${cells.length} cells are not in ${resolve(o.out)}/cells ` +
            `(--cell ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""})`);
        writeSummary(o.out, cells, done);
        sweepEnded({ total: cells.length, ran: 0, reused: cells.length, interrupted: false }, resolve(o.out));
        return;
      }
      const ctl = interruptible(["SIGINT"], "\nsweep: interrupted; stopping the workers (Ctrl-C again to quit at once)\n");
      const style = progressStyle(o.progress);
      if (o.queue) {
        if (o.workers !== undefined) throw new Error("--workers: not with --queue (each `wasmmu worker` sets its own --concurrency)");
        const q = await runQueueSweep(cells, { url: o.queue, out: o.out, progress: style === "none" ? "none" : "lines", signal: ctl.signal })
          .finally(ctl.release);
        const out = resolve(o.out);
        if (q.failed.length > 0) {
          for (const f of q.failed.slice(1))
            console.error(`wasmmu: cell ${f.cell.id} (${f.cell.traceLabel}, ${describeConfig(f.cell.config)}): ${f.error}`);
          const f = q.failed[0]!;
          throw new Error(`cell ${f.cell.id} (${f.cell.traceLabel}, ${describeConfig(f.cell.config)}): ${f.error}` +
            ` (${q.failed.length} of ${q.total} cells failed; the ${q.reused + q.ran} done are kept in ${out}/cells)`);
        }
        sweepEnded(q, out);
        return;
      }
      const r = await runSweep(cells, {
        out: o.out, workers: o.workers, workerFile: new URL("./sweep-worker.js", import.meta.url),
        progress: style === "none" ? "none" : style, signal: ctl.signal,
      }).finally(ctl.release);
      sweepEnded(r, resolve(o.out));
    });
}

/** The last line of a sweep, local or queued: where the results are, or (exit
 *  status 130) how far an interrupted one got and how to finish it. */
function sweepEnded(r: { total: number; ran: number; reused: number; interrupted: boolean }, out: string): void {
  if (r.interrupted) {
    process.exitCode = 130;
    console.error(`sweep: interrupted: ${r.reused + r.ran} of ${r.total} cells done (kept in ${out}/cells); ` +
      "run the same command again to finish the rest");
    return;
  }
  console.log(`sweep: ${r.total} cells (${r.ran} run, ${r.reused} reused) → ${out}/summary.txt, summary.csv, report.html`);
}

/**
 * `wasmmu worker --queue URL`: run the cells of queued sweeps (`wasmmu sweep
 * --queue URL`) until SIGINT or SIGTERM, then finish the cells in hand.
 */
export function registerWorker(program: Command): void {
  program.command("worker")
    .description("run the cells of sweeps submitted with `wasmmu sweep --queue URL`, on this machine, until stopped (docs/SWEEP.md)")
    .requiredOption("--queue <url>", "the Redis server of the queue, redis://HOST:PORT", parseQueueUrl)
    .option("--concurrency <n>", `cells at a time (default: one per core, here ${defaultWorkers()})`, parseCountIn(1, 1024))
    .action(async (o: { queue: string; concurrency?: number }) => {
      const ctl = interruptible(["SIGINT", "SIGTERM"], "worker: stopping once the cells in hand are done (again to quit at once)\n");
      await runQueueWorker({ url: o.queue, concurrency: o.concurrency ?? defaultWorkers(),
        workerFile: new URL("./sweep-worker.js", import.meta.url), signal: ctl.signal, log: (s) => process.stderr.write(s + "\n") });
    });
}

/** The sweep the arguments describe: --spec first, then the command line adds to it. */
export function sweepSpec(args: string[], o: SweepFlags): SweepSpec {
  const file = o.spec ? parseSpecFile(o.spec, readSpec(o.spec)) : undefined;
  const traces: TraceSpec[] = [...(file?.traces ?? []), ...args.map((t) => parseTrace("TRACE", t))];
  const grid = { ...(file?.grid ?? {}) };
  // An axis on the command line replaces the file's values for it.
  const given = new Set<string>();
  for (const g of o.grid) {
    const [axis, values] = parseGridArg(g);
    if (given.has(axis)) throw new Error(`--grid: axis ${axis} is given twice`);
    given.add(axis);
    grid[axis] = values;
  }
  let configs: CellConfig[] = [...(file?.configs ?? []), ...o.config.map(parseConfigArg)];
  if (o.engine) {
    // Every cell's engine: the listed configurations' too, without adding a default one to them.
    const engine = parseAxisValue("--engine", "engine", o.engine);
    configs = configs.map((c) => ({ ...c, engine }));
    if (Object.keys(grid).length > 0 || configs.length === 0) grid.engine = [engine];
  }
  const nothing = !o.spec && o.grid.length === 0 && o.config.length === 0;
  if (nothing) Object.assign(grid, DEFAULT_GRID);
  if (traces.length === 0) traces.push(...DEFAULT_TRACES.map((t) => ({ file: bundledTracePath(t) })));
  const limit = o.limit ?? file?.limit, lenient = o.lenient ?? file?.lenient;
  return { traces, grid, configs, fixed: { ...(limit !== undefined ? { limit } : {}), mem: o.mem ?? file?.mem ?? 1 << 30,
    ...(lenient ? { lenient } : {}) } };
}

function readSpec(path: string): string {
  try { return readFileSync(path, "utf8"); } catch (e) {
    throw new Error(`--spec: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}


