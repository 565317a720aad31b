/** What a conformance schema (one file format of vectors) provides to the runner. */
import type { Engine, EngineOptions } from "../engine/engine.js";
import type { S390Methods } from "../engine/s390.js";

export type Profile = "hardware" | "qemu";

export interface ConformSchema<C = unknown> {
  /** Short name printed in reports ("x86", "s390x"). */
  readonly name: string;
  /** Does this parsed JSON line belong to this schema? */
  matches(o: unknown): boolean;
  /** Options of the machine the cases run on (one machine serves many cases). */
  readonly machine: EngineOptions;
  /** Once per new machine, before its first case (e.g. pre-fill memory). */
  prepare?(engine: Engine & S390Methods): void;
  /** Run one case; returns what differed (empty = pass). Must leave memory as it found it. */
  run(engine: Engine & S390Methods, c: C, profile: Profile): string[];
}
