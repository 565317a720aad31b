// examples/js-inline-probe.mjs as a user runs it (a child process importing the
// built package): each read it prints has the physical address its mappings
// give — four 4 KiB pages at 0x40_0000 → 0x10_0000, one 2 MiB page at
// 0x4000_0000 → 0x20_0000, nothing else — and is an inline hit exactly when
// its 4 KiB page was read before (the probe inlines only the 4 KiB structure).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

function expected(va: number): number {
  if (va >= 0x40_0000 && va < 0x40_4000) return 0x10_0000 + (va - 0x40_0000);
  if (va >= 0x4000_0000 && va < 0x4020_0000) return 0x20_0000 + (va - 0x4000_0000);
  return -1;
}

it("examples/js-inline-probe.mjs: addresses, hits, misses and faults as the mappings give them", () => {
  const out = execFileSync(process.execPath, [join(ROOT, "examples/js-inline-probe.mjs")], { cwd: ROOT, encoding: "utf8" });
  const lines = out.trim().split("\n");
  const seen = new Set<number>();
  const tally = { hit: 0, miss: 0, fault: 0 };
  const reads = lines.slice(0, -1);
  expect(reads.length).toBe(10);
  for (const l of reads) {
    const m = /^read (0x[0-9a-f]+) -> (0x[0-9a-f]+|fault) (hit|miss|fault)$/.exec(l);
    expect(m, l).not.toBeNull();
    const va = Number(m![1]), pa = expected(va);
    const how = pa < 0 ? "fault" : pa < 0x20_0000 && seen.has(va >>> 12) ? "hit" : "miss";
    if (pa >= 0 && pa < 0x20_0000) seen.add(va >>> 12);
    expect(m![2], l).toBe(pa < 0 ? "fault" : `0x${pa.toString(16)}`);
    expect(m![3], l).toBe(how);
    tally[how]++;
  }
  expect(tally.hit).toBeGreaterThan(0);
  expect(lines.at(-1)).toBe(`hits ${tally.hit} misses ${tally.miss} faults ${tally.fault}`);
});
