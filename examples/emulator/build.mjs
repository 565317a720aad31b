// Compile examples/emulator/emulator.ts into its own wasm module with the
// repository's AssemblyScript: memory imported (the engine's), no runtime,
// no abort import, no data segments.
//   node examples/emulator/build.mjs [--outFile build/emulator.wasm]
import asc from "assemblyscript/asc";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf("--outFile");
const outFile = at >= 0 ? process.argv[at + 1] : join(here, "..", "..", "build", "emulator.wasm");
if (!outFile) { console.error("build.mjs: --outFile needs a path"); process.exit(2); }
const { error, stderr } = await asc.main([join(here, "emulator.ts"), "--outFile", outFile, "-O3", "--runtime", "stub",
  "--importMemory", "--use", "abort=", "--noAssert", "--config", "none"]);
if (error) { console.error(stderr.toString()); console.error(`asc (emulator) failed: ${error.message}`); process.exit(1); }
console.log(outFile);
