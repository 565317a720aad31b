// Seeds of the property and differential tests.
//
// `npm test` is deterministic: every fast-check property runs from a fixed
// seed (the global configuration in test/setup-fuzz.ts, or the seed a test
// names), so a run that passed passes again. `npm run fuzz` (scripts/fuzz.mjs)
// sets WASMMU_FUZZ=1 and a fresh WASMMU_FUZZ_SEED per round: then every
// property draws new cases, including the ones that name a seed here.
// fast-check prints `{ seed, path }` for a failure; pass them to the test's
// fuzzParams() call to make the failure a regression case.
import type { Parameters } from "fast-check";

export const FUZZING = process.env.WASMMU_FUZZ === "1";

/** The base seed: fixed for `npm test`, taken from the environment when fuzzing. */
export function baseSeed(): number {
  const s = Number(process.env.WASMMU_FUZZ_SEED ?? "0x5eed");
  return Number.isInteger(s) ? s | 0 : 0x5eed;
}

/** A test's fast-check parameters: its own fixed seed under `npm test`, a
 *  fresh one (derived from WASMMU_FUZZ_SEED) under `npm run fuzz`. */
export function fuzzParams<T>(p: Parameters<T> = {}): Parameters<T> {
  if (!FUZZING) return p;
  const { seed, path, ...rest } = p;
  void seed; void path;
  return rest;
}
