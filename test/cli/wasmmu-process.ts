// Runs the real command (bin/wasmmu.mjs → dist/cli.js, built by pretest) as
// a child process, for what only a process shows: exit status, what reaches
// stderr, crashes, signals.
import { spawn, spawnSync } from "node:child_process";

export const BIN = new URL("../../bin/wasmmu.mjs", import.meta.url).pathname;
export const FIXTURES = new URL("../fixtures/traces/", import.meta.url).pathname;

export interface ProcessResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `wasmmu ARGS…` to its end (killed after `timeoutMs`). */
export function wasmmu(args: string[], timeoutMs = 60_000): ProcessResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, NO_COLOR: "1" } });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Start `wasmmu ARGS…`, wait until its stdout or stderr matches `ready`, then
 * send `signal`; resolves with how it ended. Killed after `timeoutMs` (then
 * `status` is null and `signal` SIGKILL).
 */
export function wasmmuSignalled(args: string[], ready: RegExp, signal: NodeJS.Signals, timeoutMs = 60_000):
  Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "", stderr = "", sent = false;
    const poke = (): void => {
      if (!sent && ready.test(stdout + stderr)) { sent = true; child.kill(signal); }
    };
    child.stdout.setEncoding("utf8").on("data", (s: string) => { stdout += s; poke(); });
    child.stderr.setEncoding("utf8").on("data", (s: string) => { stderr += s; poke(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status, sig) => {
      clearTimeout(timer);
      resolve({ status, signal: sig, stdout, stderr });
    });
  });
}
