/**
 * A progress bar with accesses/s and ETA — on a terminal only: when stderr is
 * not a TTY (a pipe, CI, a file) nothing is drawn and the final report is the
 * only output.
 */
import cliProgress from "cli-progress";
import type { RunProgress } from "./driver.js";

export interface Progress {
  update(p: RunProgress): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

export function progressBar(enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return NONE;
  const start = performance.now();
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "{bar} {percentage}% | {accesses} accesses | {rate} | ETA {eta_formatted}",
    hideCursor: true, clearOnComplete: true, fps: 5, etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  bar.start(1000, 0, { accesses: "0", rate: "-" });
  return {
    update(p) {
      const s = (performance.now() - start) / 1000;
      const payload = { accesses: p.accesses.toLocaleString("en-US"), rate: s > 0 ? `${(p.accesses / s / 1e6).toFixed(1)} M/s` : "-" };
      bar.update(Number.isFinite(p.fraction) ? Math.round(1000 * Math.min(1, p.fraction)) : 0, payload);
    },
    stop() { bar.stop(); },
  };
}
