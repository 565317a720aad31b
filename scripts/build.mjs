// One build: the AssemblyScript core (debug and release) and the host bundles.
//   node scripts/build.mjs             everything
//   node scripts/build.mjs --wasm-only the core only (what the tests need)
import asc from "assemblyscript/asc";
import * as esbuild from "esbuild";
import { mkdir } from "node:fs/promises";

const wasmOnly = process.argv.includes("--wasm-only");
await mkdir("build", { recursive: true });
for (const target of ["debug", "release"]) {
  const { error, stderr } = await asc.main(["--config", "asconfig.json", "--target", target]);
  if (error) {
    console.error(stderr.toString());
    console.error(`asc (${target}) failed: ${error.message}`);
    process.exit(1);
  }
}
// Benchmark kernels (bench/kernels/probes.ts): not part of the library, bundled into the CLI only.
{
  const { error, stderr } = await asc.main(["bench/kernels/probes.ts", "--outFile", "build/bench.wasm", "-O3", "--runtime", "stub",
    "--importMemory", "--use", "abort=", "--noAssert", "--config", "none"]);
  if (error) { console.error(stderr.toString()); console.error(`asc (bench) failed: ${error.message}`); process.exit(1); }
}
if (!wasmOnly) {
  const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, loader: { ".wasm": "binary" }, logLevel: "warning" };
  await Promise.all([
    // The library: neutral platform, wasm bytes inlined → works in Node, browsers, bundlers.
    esbuild.build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js", platform: "neutral" }),
    // The command line.
    esbuild.build({ ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/cli.js", platform: "node", packages: "external" }),
  ]);
}
