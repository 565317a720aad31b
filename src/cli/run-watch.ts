/**
 * How the command line watches a trace run (src/run/run-trace.ts): a progress
 * bar or lines on stderr (src/run/progress.ts), and Ctrl-C, which stops the
 * run between chunks so that the statistics so far are printed; a second
 * Ctrl-C quits at once.
 */
import type { RunWatch } from "../run/run-trace.js";
import { progressBar, progressStyle } from "../run/progress.js";
import { interruptible } from "./interrupt.js";

/** `progress`: --progress (true), --no-progress (false), or neither. */
export function terminalWatch(progress: boolean | undefined): () => RunWatch {
  return () => {
    const ctl = interruptible(["SIGINT"]);
    const bar = progressBar(progressStyle(progress));
    return {
      signal: ctl.signal,
      onChunk: (p) => bar.update(p),
      stop: () => {
        bar.stop();
        ctl.release();
      },
    };
  };
}
