/**
 * The sweep's worker thread (bundled as dist/sweep-worker.js, next to the
 * CLI bundle that starts it): piscina calls the default export once per
 * cell. Each cell boots its own machine, so cells share nothing.
 */
import { type CellTask, runCell } from "./cell.js";

export default function runSweepCell(task: CellTask): Promise<string> {
  return runCell(task);
}
