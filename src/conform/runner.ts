/**
 * The conformance runner: every case of a JSON-lines file against the chosen
 * engines and profiles. The schema of each line is recognised by its fields
 * (schemas below; add yours to SCHEMAS), so one file may even mix them.
 */
import { createEngine } from "../engine/index.js";
import type { Engine, EngineName } from "../engine/engine.js";
import type { S390Methods } from "../engine/s390.js";
import type { ConformSchema, Profile } from "./schema.js";
import { isS390Case, prepareS390Machine, runS390Case, S390_CONFORM_RAM, type S390Case } from "./s390.js";
import { x86Schema } from "./x86.js";

export type { ConformSchema, Profile } from "./schema.js";

/** s390x vectors (src/conform/s390.ts): QEMU's TCG facilities, so both profiles give the same result. */
const s390Schema: ConformSchema<S390Case> = {
  name: "s390x",
  matches: isS390Case,
  machine: { physSize: S390_CONFORM_RAM },
  prepare: prepareS390Machine,
  run: (e, c) => runS390Case(e, c),
};

export const SCHEMAS: ConformSchema<any>[] = [x86Schema, s390Schema]; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ConformFailure { id: string; engine: EngineName; profile: Profile; diffs: string[] }
export interface ConformReport { passed: number; failed: number; failures: ConformFailure[] }

export interface ConformOptions {
  engines?: readonly EngineName[];
  profiles?: readonly Profile[];
  /** Called for each failure as it happens (the CLI prints it). */
  onFailure?: (f: ConformFailure) => void;
}

/** Parse JSON lines; a line that is not JSON or matches no schema is an error naming the line. */
export function parseCases(text: string, source = "input"): { schema: ConformSchema<any>; c: { id: string } }[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let o: unknown;
    try { o = JSON.parse(line); } catch (err) {
      throw new SyntaxError(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const schema = SCHEMAS.find((s) => s.matches(o));
    if (!schema) throw new TypeError(`${source}:${i + 1}: matches no known vector schema (${SCHEMAS.map((s) => s.name).join(", ")})`);
    out.push({ schema, c: o as { id: string } });
  }
  return out;
}

/** Run parsed cases; machines are made once per (engine, schema) and reused. */
export async function runConformance(cases: ReturnType<typeof parseCases>, opts: ConformOptions = {}): Promise<ConformReport> {
  const engines = opts.engines ?? ["wasm", "ts"];
  const profiles = opts.profiles ?? ["hardware", "qemu"];
  const report: ConformReport = { passed: 0, failed: 0, failures: [] };
  for (const name of engines) {
    const machines = new Map<ConformSchema<any>, Engine & S390Methods>(); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const { schema, c } of cases) {
      let e = machines.get(schema);
      // A sparse pool fills up with (zeroed) frames; start a fresh machine in time.
      if (!e || (e.phys.sparse && e.phys.framesBacked > e.layout.poolFrames - 256)) {
        e = await createEngine(name, schema.machine);
        schema.prepare?.(e);
        machines.set(schema, e);
      }
      for (const profile of profiles) {
        let diffs: string[];
        try { diffs = schema.run(e, c, profile); } catch (err) { diffs = [`error: ${(err as Error).message}`]; }
        if (diffs.length === 0) report.passed++;
        else {
          report.failed++;
          const f = { id: c.id ?? "?", engine: name, profile, diffs };
          report.failures.push(f);
          opts.onFailure?.(f);
        }
      }
    }
  }
  return report;
}
