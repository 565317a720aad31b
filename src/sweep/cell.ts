/**
 * One cell of a sweep: its trace run with its configuration, and the file
 * that keeps the result, OUT/cells/<id>.json. The file is written under a
 * temporary name and renamed, so a cell file exists only once the cell is
 * complete: an interrupted sweep leaves finished cells and nothing half
 * written, and a rerun skips exactly the finished ones.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunReport } from "../run/report.js";
import { runTrace, type RunOptions } from "../run/run-trace.js";
import { type Cell, type CellConfig, machineOf, SOURCE_DEFAULTS, tlbConfigOf, type TraceSpec } from "./spec.js";

export const CELL_SCHEMA = "wasmmu-sweep-cell/1";

export interface CellFile {
  schema: typeof CELL_SCHEMA;
  id: string;
  trace: string;
  config: CellConfig;
  limit: number | null;
  mem: number;
  report: RunReport;
}

/** What a worker is handed: the cell and where to write it (plain data: it crosses a thread boundary). */
export interface CellTask { cell: Cell; out: string }

export const cellPath = (out: string, id: string): string => join(out, "cells", `${id}.json`);

export function runOptionsOf(cell: Cell): RunOptions {
  const t: TraceSpec = cell.trace;
  const camel = (k: string): string => k.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  const synthetic = "synthetic" in t
    ? { synthetic: t.synthetic, ...Object.fromEntries(Object.entries(t.params).map(([k, v]) => [camel(k), v])) } : {};
  return {
    trace: "file" in t ? t.file : undefined,
    source: { ...SOURCE_DEFAULTS, ...synthetic, ...("file" in t && cell.fixed.lenient ? { lenient: true } : {}) },
    machine: { ...machineOf(cell.config), memBytes: cell.fixed.mem, tlb: tlbConfigOf(cell.config) },
    limit: cell.fixed.limit,
  };
}

/** What a queued cell's run gives back: its file, or its error. */
export type QueueCellResult = { file: CellFile } | { error: string; system: boolean };

/** Run the cell: its file's contents. */
export async function computeCell(cell: Cell): Promise<CellFile> {
  const { report } = await runTrace(runOptionsOf(cell));
  return {
    schema: CELL_SCHEMA, id: cell.id, trace: cell.traceLabel, config: cell.config,
    limit: cell.fixed.limit ?? null, mem: cell.fixed.mem, report,
  };
}

/** Run the cell and write its file; returns the file's path. */
export async function runCell({ cell, out }: CellTask): Promise<string> {
  return writeCell(out, await computeCell(cell));
}

/** Write a cell's file under a temporary name, then rename it; returns its path. */
export function writeCell(out: string, file: CellFile): string {
  const path = cellPath(out, file.id);
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2) + "\n");
  renameSync(tmp, path);
  return path;
}

/** The cell's file if a previous run finished it (a file that does not parse is run again). */
/** The cells of a sweep already finished in OUT/cells (made if missing), and the ones left to run. */
export function finishedCells<C extends { id: string }>(out: string, cells: C[]): { done: Map<string, CellFile>; todo: C[] } {
  mkdirSync(join(out, "cells"), { recursive: true });
  const done = new Map<string, CellFile>();
  for (const c of cells) {
    const f = readCell(out, c.id);
    if (f) done.set(c.id, f);
  }
  return { done, todo: cells.filter((c) => !done.has(c.id)) };
}

export function readCell(out: string, id: string): CellFile | undefined {
  const path = cellPath(out, id);
  if (!existsSync(path)) return undefined;
  try {
    const f = JSON.parse(readFileSync(path, "utf8")) as CellFile;
    return f.schema === CELL_SCHEMA && f.id === id ? f : undefined;
  } catch { return undefined; }
}
