// Early boot: the direct-mapping plan. Public surface, exported as `boot` from the package (src/index.ts).
export { type BootInput, BootInputError, inputFromE820, inputFromMem, parseSize, qemuLikeE820, pvE820 } from "./input.js";
export { parseE820, parseE820Log, parseE820Json, sanitizeE820, formatE820, E820Type, type E820Entry } from "./e820.js";
export { Memblock } from "./memblock.js";
export { splitMemRange, type MapRange } from "./split.js";
export { planLinux } from "./init-mapping.js";
export { planHpa } from "./hpa.js";
export { plan, buildAndVerify, type BuildOptions, type BuildResult } from "./build.js";
export { formatPlan, planToJson, type BootPlan, type PlanStep, type Strategy } from "./plan.js";
export { parseRecords, inputFromRecord, compareWithRecord, type BootRecord } from "./record.js";
export { verifyTranslations, type VerifyReport } from "./verify.js";
export { xenBuildOptions } from "./xen.js";
export { BootPanic } from "./alloc-low.js";
