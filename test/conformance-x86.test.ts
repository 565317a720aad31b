// Every x86 vector recorded from QEMU 7.2, on both engines and both profiles:
// qemu → `expect`; hardware → `sdm_expect` when present, else `expect`.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCases, runConformance } from "../src/conform/runner.js";
import { ENGINE_NAMES } from "../src/engine/index.js";

const text = readFileSync(new URL("./fixtures/x86-public.jsonl", import.meta.url), "utf8");
const cases = parseCases(text, "x86-public.jsonl");

describe("x86 conformance vectors", () => {
  it("the fixture holds all 1500 cases", () => {
    expect(cases).toHaveLength(1500);
  });

  describe.each(ENGINE_NAMES)("%s engine", (engine) => {
    it.each(["hardware", "qemu"] as const)("profile %s: every case passes", async (profile) => {
      const r = await runConformance(cases, { engines: [engine], profiles: [profile] });
      expect(r.failures.slice(0, 10)).toEqual([]);
      expect(r.passed).toBe(1500);
      expect(r.failed).toBe(0);
    });
  });
});
