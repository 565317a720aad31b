/**
 * The sweep's worker thread (bundled as dist/sweep-worker.js, next to the
 * CLI bundle that starts it): piscina calls the default export once per
 * cell. Each cell boots its own machine, so cells share nothing.
 */
import { type CellTask, computeCell, type QueueCellResult, runCell } from "./cell.js";

export default function runSweepCell(task: CellTask): Promise<string> {
  return runCell(task);
}

/**
 * A cell of a queued sweep (src/sweep/queue.ts): its file is returned, not
 * written, since the machine that submitted the sweep keeps the files. An
 * error comes back as data, with whether it came from the system (a file
 * that could not be read here, worth retrying on another machine) or from
 * the cell itself (the same on every machine).
 */
export async function queueCell(task: Pick<CellTask, "cell">): Promise<QueueCellResult> {
  try {
    return { file: await computeCell(task.cell) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: (e as Error).message, system: typeof code === "string" && /^E[A-Z]+$/.test(code) };
  }
}
