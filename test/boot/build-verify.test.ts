// Build the plan in guest memory through the paravirt hooks, then translate
// every mapped 2 MiB region (every 4 KiB page of partial ones) through the
// engine's walker: both engines, every mode, both strategies.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildAndVerify } from "../../src/boot/build.js";
import { type InputOptions, inputFromMem } from "../../src/boot/input.js";
import { inputFromRecord, parseRecords } from "../../src/boot/record.js";
import { ENGINE_NAMES } from "../../src/engine/index.js";
import { directVa, geometry } from "../../src/boot/geometry.js";
import { Access } from "../../src/abi.js";

const GiB = 2 ** 30;
const CASES: [string, number, InputOptions][] = [
  ["x86-64 4G 2M+1G", 4 * GiB, {}],
  ["la57 3G 2M", 3 * GiB, { mode: "5level", gbpages: false }],
  ["x86-64 1G 4k only", GiB, { pse: false, pgtBufPages: 40 }],
  ["pae 2G", 2 * GiB, { mode: "pae" }],
  ["2level 1G", GiB, { mode: "2level" }],
  ["x86-64 1T 1G, sparse", 1024 * GiB, {}],
];

describe.each(ENGINE_NAMES)("built tables translate identity + PAGE_OFFSET (%s engine)", (engine) => {
  it.each(CASES)("%s, both strategies", async (_n, size, o) => {
    for (const strategy of ["linux", "hpa"] as const) {
      const r = await buildAndVerify(strategy, inputFromMem(size, o), { engine });
      expect(r.verify.mismatches, strategy).toEqual([]);
      expect(r.verify.tablesFromUnmapped).toEqual([]);
      expect(r.verify.endFaults).toBe(true);
      expect(r.verify.ok).toBe(true);
      expect(r.verify.translated).toBeGreaterThan(100);
      // CR3 points at the planned pgd
      expect(r.engine.x86().cr3 & ~0xfffn).toBe(BigInt(r.plan.pgd));
    }
  });
});

describe("both strategies give identical translations", () => {
  it.each(CASES.slice(0, 5))("%s", async (_n, size, o) => {
    const input = inputFromMem(size, o);
    const [a, b] = [await buildAndVerify("linux", input), await buildAndVerify("hpa", input)];
    const g = geometry(input.mode);
    // sample across the whole physical range, mapped or not: same PA or same fault
    const top = input.maxPfn * 4096;
    for (let i = 0; i < 4000; i++) {
      const pa = Math.floor((i * 2654435761) % (top / 4096)) * 4096 + (i % 4096);
      if (!g.is64 && pa >= input.maxLowPfn * 4096) continue;
      const ta = a.engine.probe(directVa(g, pa), Access.Read), tb = b.engine.probe(directVa(g, pa), Access.Read);
      expect(ta.fault).toBe(tb.fault);
      if (!ta.fault) expect(ta.pa).toBe(tb.pa);
    }
  });
});

describe("the recorded boots, built and translated", () => {
  const records = parseRecords(readFileSync(new URL("../fixtures/linux-boot-public.jsonl", import.meta.url), "utf8"));
  it.each(records.map((r) => [r.id, r] as const))("%s", async (_id, rec) => {
    const r = await buildAndVerify("linux", inputFromRecord(rec));
    expect(r.verify.ok).toBe(true);
  });
});
