// All 800 s390x vectors recorded from QEMU 7.2 (test/fixtures/s390x-public.jsonl,
// schema in test/fixtures/CONFORMANCE-README.md), replayed in both engines.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseS390Cases, prepareS390Machine, runS390Case, S390_CONFORM_RAM } from "../../src/conform/s390.js";
import { S390Opt } from "../../src/abi.js";
import { createEngine, ENGINE_NAMES } from "../../src/engine/index.js";

const cases = parseS390Cases(readFileSync(new URL("../fixtures/s390x-public.jsonl", import.meta.url), "utf8"));

describe.each(ENGINE_NAMES)("s390x conformance vectors (%s engine)", (name) => {
  it("has the 800 public cases", () => expect(cases.length).toBe(800));

  it("passes every case", async () => {
    const e = await createEngine(name, { physSize: S390_CONFORM_RAM });
    prepareS390Machine(e);
    const failures: string[] = [];
    for (const c of cases) {
      const d = runS390Case(e, c);
      if (d.length) failures.push(`${c.id} [${c.gen?.scenario} ${c.gen?.tags?.join(",")}]: ${d.join("; ")}`);
    }
    expect(failures.slice(0, 20)).toEqual([]);
    expect(failures.length).toBe(0);
  });

  it("with the hardware facilities, differs exactly where QEMU lacks EDAT-1: stores under a region P bit", async () => {
    const e = await createEngine(name, { physSize: S390_CONFORM_RAM });
    prepareS390Machine(e);
    const differing = cases.filter((c) => runS390Case(e, c, S390Opt.Hardware).length > 0).map((c) => c.id);
    const expected = cases.filter((c) => c.access === "w" && (BigInt(c.cr0) & 0x80_0000n) !== 0n &&
      c.gen?.tags?.some((t) => t.includes("region-P-needs-edat1"))).map((c) => c.id);
    expect(expected.length).toBeGreaterThan(5);
    expect(differing).toEqual(expected);
  });
});
