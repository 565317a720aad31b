// scripts/ab-bench.mjs as a child process: bad arguments are a usage error
// (exit 2) before anything is built, and a checkout compared with itself
// runs every workload of the chosen mode, checked, with a ratio per row.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const ab = (args: string[]) => spawnSync(process.execPath, ["scripts/ab-bench.mjs", ...args], { encoding: "utf8", timeout: 60_000 });

describe("scripts/ab-bench.mjs", () => {
  it("names what is wrong with its arguments and exits 2", () => {
    const none = ab([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^usage: node scripts\/ab-bench\.mjs OTHER_CHECKOUT/);
    const missing = ab(["/nonexistent/checkout"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/OTHER_CHECKOUT: a built checkout/);
    expect(ab([".", "--rounds", "0"]).stderr.trim()).toBe("--rounds: an integer in [1, 100], got 0");
    expect(ab([".", "--modes", "2level,3level"]).stderr.trim()).toBe("--modes: unknown mode 3level (expected 2level, pae, 4level)");
  });

  it("compares a checkout with itself: every workload checked and timed, each ratio the one its rates give", () => {
    const r = ab([".", "--rounds", "1", "--modes", "2level"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("2level "));
    expect(rows.map((l) => l.split(/\s+/)[1])).toEqual(["hit", "walk-hot", "walk-random", "call"]);
    for (const row of rows) {
      const [, , before, after, ratio] = row.trim().split(/\s+/).map(Number);
      expect(before).toBeGreaterThan(0);
      expect(after).toBeGreaterThan(0);
      expect(ratio).toBeCloseTo(before! / after!, 0);
    }
  }, 60_000);
});
