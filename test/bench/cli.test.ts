// `wasmmu bench` option validation, as a child process: a bad --modes or
// --workloads value is a one-line error naming the option, exit status 1,
// before any machine is built.
import { describe, expect, it } from "vitest";
import { wasmmu } from "../cli/wasmmu-process.js";

describe("wasmmu bench options", () => {
  it("rejects an unknown paging mode, naming it and the valid ones", () => {
    const r = wasmmu(["bench", "--modes", "2level,3level"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe("wasmmu: option '--modes <list>' argument '2level,3level' is invalid. unknown mode(s) 3level (expected 2level, pae, 4level) (run with --help for usage)");
  });

  it("rejects an empty --modes list", () => {
    const r = wasmmu(["bench", "--modes", " , "]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^wasmmu: option '--modes <list>' argument ' , ' is invalid\. no mode given \(expected 2level, pae, 4level\)/);
  });

  it("still rejects an unknown workload the same way", () => {
    const r = wasmmu(["bench", "--workloads", "hit,miss"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^wasmmu: option '--workloads <list>' argument 'hit,miss' is invalid\. unknown workload\(s\) miss \(expected hit, call, walk-hot, walk-random, sweep, limit\)/);
  });
});
