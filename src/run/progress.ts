/**
 * Progress of a run on stderr. On a terminal: a bar with accesses/s and ETA.
 * Elsewhere (a pipe, CI, a file) nothing by default, so that the final report
 * is the only output; `--progress` asks for plain lines there instead (the
 * first when the first chunk is done, then at most one a second).
 */
import cliProgress from "cli-progress";
import type { RunProgress } from "./driver.js";

export interface Progress {
  update(p: RunProgress): void;
  stop(): void;
}

/** "bar" on a terminal, "lines" for logs, or "none". */
export type ProgressStyle = "bar" | "lines" | "none";

const NONE: Progress = { update() {}, stop() {} };

/**
 * The style for a --progress / --no-progress choice (undefined: neither
 * given) and whether stderr is a terminal.
 */
export function progressStyle(wanted: boolean | undefined, tty = process.stderr.isTTY === true): ProgressStyle {
  if (wanted === false) return "none";
  if (tty) return "bar";
  return wanted === true ? "lines" : "none";
}

const rateOf = (accesses: number, start: number): string => {
  const s = (performance.now() - start) / 1000;
  return s > 0 ? `${(accesses / s / 1e6).toFixed(1)} M/s` : "-";
};

export function progressBar(style: ProgressStyle = progressStyle(undefined)): Progress {
  if (style === "none") return NONE;
  const start = performance.now();
  if (style === "lines") {
    let last = -Infinity;
    return {
      update(p) {
        const now = performance.now();
        if (now - last < 1000) return;
        last = now;
        const pct = Number.isFinite(p.fraction) ? `, ${(100 * Math.min(1, p.fraction)).toFixed(1)} %` : "";
        process.stderr.write(`progress: ${p.accesses.toLocaleString("en-US")} accesses${pct}, ${rateOf(p.accesses, start)}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "{bar} {percentage}% | {accesses} accesses | {rate} | ETA {eta_formatted}",
    hideCursor: true, clearOnComplete: true, fps: 5, etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  bar.start(1000, 0, { accesses: "0", rate: "-" });
  return {
    update(p) {
      const payload = { accesses: p.accesses.toLocaleString("en-US"), rate: rateOf(p.accesses, start) };
      bar.update(Number.isFinite(p.fraction) ? Math.round(1000 * Math.min(1, p.fraction)) : 0, payload);
    },
    stop() { bar.stop(); },
  };
}
