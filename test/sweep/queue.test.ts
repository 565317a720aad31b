// `wasmmu sweep --queue` and `wasmmu worker`: a sweep across processes on a
// real Redis server (started here on a free port, nothing saved to disk).
// One worker is killed (SIGKILL) in the middle of a cell: the cell goes back
// to the queue once its lock expires and the other worker runs it; the cells
// and summary are those of the same sweep run locally. A cell whose trace is
// malformed fails once, with its error. Without redis-server the file says
// plainly that these tests did not run.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellFile } from "../../src/sweep/cell.js";
import { BIN, FIXTURES, wasmmu } from "../cli/wasmmu-process.js";

const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
const NOT_RUN = "wasmmu: THE REDIS QUEUE TESTS (test/sweep/queue.test.ts) DID NOT RUN: no redis-server on the PATH. " +
  "Enable them with `apt-get install redis-server`.";
if (!hasRedis) console.warn(NOT_RUN);

it("the queue tests run only with redis-server installed (this says whether they ran)", () => {
  if (!hasRedis) console.warn(NOT_RUN);
  expect(typeof hasRedis).toBe("boolean");
});

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  }).on("error", reject);
});

/** A child process and everything it wrote to stderr so far. */
interface Running { child: ChildProcess; stderr: () => string; exited: Promise<number | null> }

function start(cmd: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => { err += s; });
  child.stdout!.resume();
  return { child, stderr: () => err, exited: new Promise((r) => child.on("exit", (code) => r(code))) };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() - t0 > ms) throw new Error(`gave up waiting for ${what}`);
}

const cellFiles = (out: string): string[] => readdirSync(join(out, "cells")).filter((f) => f.endsWith(".json")).sort();
const readCells = (out: string): CellFile[] => cellFiles(out).map((f) => JSON.parse(readFileSync(join(out, "cells", f), "utf8")) as CellFile);
const untimed = (c: CellFile): unknown => JSON.parse(JSON.stringify(c, (k, v: unknown) => (k === "time" || k === "planMs" ? undefined : v)));
const csvWithoutThroughput = (out: string): string =>
  readFileSync(join(out, "summary.csv"), "utf8").trimEnd().split("\n").map((l) => l.replace(/,[^,]*$/, "")).join("\n");

describe.runIf(hasRedis)("wasmmu sweep --queue on Redis", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-queue-"));
  let redis: Running, url: string;
  const workers: Running[] = [];
  // Short locks: a killed worker's cell is back in the queue within about two seconds.
  const startWorker = (): Running => {
    const w = start(process.execPath, [BIN, "worker", "--queue", url, "--concurrency", "1"], { WASMMU_QUEUE_LOCK_MS: "1000" });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    const port = await freePort();
    redis = start("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    let out = "";
    redis.child.stdout!.removeAllListeners("data");
    redis.child.stdout!.setEncoding("utf8").on("data", (s: string) => { out += s; });
    await until("redis-server", () => /Ready to accept connections/.test(out));
    url = `redis://127.0.0.1:${port}`;
  }, 30_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    redis?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a sweep on two workers, survives one killed mid-cell, and matches the local sweep", async () => {
    // 2 traces × 4 configurations; cells of a few tenths of a second, so the kill lands in the middle of one.
    const spec = ["synthetic:zipf:count=300000,pages=4096", "synthetic:uniform:count=300000,pages=2048",
      "--grid", "tlb-entries=64,256", "--grid", "psc=off,on"];
    const local = join(dir, "local"), queued = join(dir, "queued");
    expect(wasmmu(["sweep", ...spec, "--workers", "1", "--out", local]).status).toBe(0);

    const doomed = startWorker(), survivor = startWorker();
    await until("the workers", () => [doomed, survivor].every((w) => /worker: taking cells/.test(w.stderr())));
    const sweep = start(process.execPath, [BIN, "sweep", ...spec, "--queue", url, "--out", queued, "--progress"]);
    let stdout = "";
    sweep.child.stdout!.removeAllListeners("data");
    sweep.child.stdout!.setEncoding("utf8").on("data", (s: string) => { stdout += s; });
    // SIGKILL the first worker as soon as it has started a cell.
    await until("a cell on the first worker", () => /worker: cell [0-9a-f]{16} /.test(doomed.stderr()));
    doomed.child.kill("SIGKILL");
    const lost = /worker: cell ([0-9a-f]{16}) /.exec(doomed.stderr())![1]!;
    expect(await doomed.exited).toBe(null);
    const status = await sweep.exited;
    // On failure, what the sweep said is in the message.
    expect({ status, stderr: status === 0 ? "" : sweep.stderr() }).toEqual({ status: 0, stderr: "" });

    expect(stdout).toMatch(/^sweep: 8 cells \(8 run, 0 reused\) → .*queued\/summary\.txt, summary\.csv, report\.html\n$/);
    expect(sweep.stderr()).toMatch(/^sweep: 8 cells, 0 reused from .*, 8 submitted to redis:\/\/127\.0\.0\.1:\d+\n/);
    // The killed worker's cell was run again, by the other one.
    expect(doomed.stderr()).not.toMatch(new RegExp(`cell ${lost} failed`));
    expect(survivor.stderr()).toContain(`worker: cell ${lost} `);
    expect(cellFiles(queued)).toEqual(cellFiles(local));
    expect(readCells(queued).map(untimed)).toEqual(readCells(local).map(untimed));
    expect(csvWithoutThroughput(queued)).toBe(csvWithoutThroughput(local));
    expect(existsSync(join(queued, "report.html"))).toBe(true);
  }, 120_000);

  it("reports a cell that fails with its error, once, and keeps the others", async () => {
    if (workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length === 0) startWorker();
    const out = join(dir, "failing"), bad = join(FIXTURES, "malformed-lenient.lackey");
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const s = start(process.execPath, [BIN, "sweep", bad, "synthetic:zipf:count=20000,pages=1024", "--grid", "tlb-entries=64",
        "--queue", url, "--out", out, "--no-progress"]);
      let stdout = "";
      s.child.stdout!.removeAllListeners("data");
      s.child.stdout!.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
      void s.exited.then((status) => resolve({ status, stdout, stderr: s.stderr() }));
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^wasmmu: cell ([0-9a-f]{16}) \(malformed-lenient\.lackey, engine=wasm .*tlb-entries=64 psc=off\): .*malformed-lenient\.lackey: line 4: .* \(1 of 2 cells failed; the 1 done are kept in .*failing\/cells\)\n$/);
    const id = /cell ([0-9a-f]{16})/.exec(r.stderr)![1]!;
    // Not retried: a malformed trace fails the same way on every machine.
    const tries = workers.map((w) => w.stderr()).join("").split("\n").filter((l) => l.startsWith(`worker: cell ${id} (`));
    expect(tries).toHaveLength(1);
    expect(tries[0]).toMatch(/attempt 1$/);
    const [good] = readCells(out);
    expect(cellFiles(out)).toHaveLength(1);
    expect(good!.trace).toBe("synthetic:zipf:count=20000,pages=1024");
    expect(existsSync(join(out, "summary.csv"))).toBe(false);
  }, 60_000);

  it("Ctrl-C withdraws the cells not yet run and keeps the finished ones", async () => {
    // No worker takes cells now: the first test's are gone (killed or stopped here).
    for (const w of workers) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    const waiting = (): number => Number(spawnSync("redis-cli", ["-u", url, "llen", "bull:wasmmu-cells:wait"], { encoding: "utf8" }).stdout);
    expect(waiting()).toBe(0);
    const out = join(dir, "sigint");
    const s = start(process.execPath, [BIN, "sweep", "synthetic:zipf:count=20000,pages=1024", "--grid", "tlb-entries=64,256,1024",
      "--queue", url, "--out", out, "--progress"]);
    await until("the submission", () => /3 submitted to/.test(s.stderr()));
    expect(waiting()).toBe(3);
    s.child.kill("SIGINT");
    expect(await s.exited).toBe(130);
    expect(s.stderr()).toMatch(/sweep: interrupted: 0 of 3 cells done \(kept in .*sigint\/cells\); run the same command again to finish the rest\n$/);
    expect(waiting()).toBe(0);
  }, 60_000);

  it.each([
    [["sweep", "--queue", "http://x"], /^wasmmu: --queue: expected redis:\/\/HOST:PORT, got "http:\/\/x"\n$/],
    [["worker", "--queue", "nonsense"], /^wasmmu: --queue: expected redis:\/\/HOST:PORT, got "nonsense"\n$/],
    [["sweep", "synthetic:zipf:count=1000", "--queue", "redis://127.0.0.1:1", "--workers", "2"], /^wasmmu: --workers: not with --queue/],
    [["sweep", "synthetic:zipf:count=1000", "--queue", "redis://127.0.0.1:1", "--out", join(dir, "unreachable")],
      /^wasmmu: --queue: cannot connect to redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/],
    [["worker", "--queue", "redis://127.0.0.1:1"], /^wasmmu: --queue: cannot connect to redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/],
  ])("bad input %j: one line naming it", (args, msg) => {
    const r = wasmmu(args, 30_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(msg);
  });
});
