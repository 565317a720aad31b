// Runs before every test file (vitest.config.ts): the fast-check seed of
// every property that does not name one (test/fuzz.ts explains the two modes).
import fc from "fast-check";
import { baseSeed, FUZZING } from "./fuzz.js";

fc.configureGlobal(FUZZING ? { seed: baseSeed() ^ 0x2545f491 } : { seed: baseSeed() });
