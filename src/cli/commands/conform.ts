import { type Command, Option } from "commander";
import { readCaseFile } from "../../conform/file.js";
import { runConformance, type Profile } from "../../conform/runner.js";
import type { EngineName } from "../../engine/engine.js";

/** `wasmmu conform FILE.jsonl`: replay conformance vectors (x86 or s390x schema). */
export function registerConform(program: Command): void {
  program.command("conform")
    .description("run conformance vectors (JSON lines, x86 or s390x schema) and report every failing case")
    .argument("<file>", "vectors, one JSON object per line")
    .addOption(new Option("--engine <engine>", "engine(s) to run").choices(["wasm", "ts", "both"]).default("both"))
    .addOption(new Option("--profile <profile>", "semantic profile(s): hardware checks sdm_expect when present")
      .choices(["hardware", "qemu", "both"]).default("both"))
    .action(async (file: string, o: { engine: string; profile: string }) => {
      const cases = await readCaseFile(file);
      const engines: EngineName[] = o.engine === "both" ? ["wasm", "ts"] : [o.engine as EngineName];
      const profiles: Profile[] = o.profile === "both" ? ["hardware", "qemu"] : [o.profile as Profile];
      const r = await runConformance(cases, {
        engines, profiles,
        onFailure: (f) => console.log(`FAIL ${f.id} [${f.engine}/${f.profile}]: ${f.diffs.join("; ")}`),
      });
      console.log(`${r.passed} passed, ${r.failed} failed`);
      if (r.failed > 0) process.exitCode = 1;
    });
}
