import { readFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { parseCases, runConformance, type Profile } from "../../conform/runner.js";
import type { EngineName } from "../../engine/engine.js";
import { fileErrorMessage } from "../../trace/errors.js";

/** `wasmmu conform FILE.jsonl`: replay conformance vectors (x86 or s390x schema). */
export function registerConform(program: Command): void {
  program.command("conform")
    .description("run conformance vectors (JSON lines, x86 or s390x schema) and report every failing case")
    .argument("<file>", "vectors, one JSON object per line")
    .addOption(new Option("--engine <engine>", "engine(s) to run").choices(["wasm", "ts", "both"]).default("both"))
    .addOption(new Option("--profile <profile>", "semantic profile(s): hardware checks sdm_expect when present")
      .choices(["hardware", "qemu", "both"]).default("both"))
    .action(async (file: string, o: { engine: string; profile: string }) => {
      let text: string;
      try { text = await readFile(file, "utf8"); } catch (e) { throw new Error(fileErrorMessage(file, e)); }
      const cases = parseCases(text, file);
      // Nothing run is not a pass: an empty file (or a wrong one) must not look like success.
      if (cases.length === 0) throw new Error(`${file}: no conformance vectors (the file ${text.length === 0 ? "is empty" : "has only blank lines"})`);
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
