// One build: the AssemblyScript core (debug and release), the host bundles and
// the public API's type declarations.
//   node scripts/build.mjs             everything
//   node scripts/build.mjs --wasm-only the core only (what the tests need)
//   node scripts/build.mjs --force     rebuild even if nothing changed
// A build is skipped when its outputs exist and its inputs hash to what the
// last build of the same kind recorded in build/ (npm start, test, bench and
// fuzz all run it first, and a rebuild costs 3–17 s). Hashing contents rather
// than comparing times keeps a checkout or a `touch` from forcing a rebuild.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const wasmOnly = process.argv.includes("--wasm-only");
const force = process.argv.includes("--force");
const kind = wasmOnly ? "wasm" : "full";

// Everything a build reads from the repository. bin/wasmmu.mjs compares the
// same source trees with dist/ in a git checkout.
const INPUT_DIRS = ["assembly", "src", "bench/kernels", "explorer"];
const INPUT_FILES = ["asconfig.json", "tsconfig.json", "tsconfig.types.json", "package.json", "scripts/build.mjs"];
const WASM_OUTPUTS = ["build/mmu.wasm", "build/mmu.debug.wasm", "build/bench.wasm"];
const FULL_OUTPUTS = [...WASM_OUTPUTS, "dist/index.js", "dist/cli.js", "dist/sweep-worker.js", "dist/types/index.d.ts", "dist/explorer/index.html"];
const outputs = wasmOnly ? WASM_OUTPUTS : FULL_OUTPUTS;

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name));
}

function inputHash() {
  const h = createHash("sha256");
  const files = [...INPUT_DIRS.flatMap(filesUnder), ...INPUT_FILES.filter((f) => existsSync(f))].sort();
  for (const f of files) h.update(f).update("\0").update(readFileSync(f)).update("\0");
  return h.digest("hex");
}

const stamp = `build/.inputs-${kind}.sha256`;
const hash = inputHash();
if (!force && existsSync(stamp) && readFileSync(stamp, "utf8") === hash && outputs.every((f) => existsSync(f))) {
  // Up to date. Freshen the outputs' times so that bin/wasmmu.mjs's check
  // (dist/ not older than src/) agrees after a checkout that changed no content.
  const now = new Date();
  for (const f of outputs) utimesSync(f, now, now);
  console.error(`build: up to date (${kind}; --force rebuilds)`);
  process.exit(0);
}
rmSync(stamp, { force: true });

// Loaded only when there is something to build: the compiler takes a while to load.
const { default: asc } = await import("assemblyscript/asc");
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

/** The public API's declarations (tsconfig.types.json) into dist/types, JSDoc kept. */
function declarations() {
  rmSync("dist/types", { recursive: true, force: true });
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, "-p", "tsconfig.types.json"], { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => code === 0 ? resolve() : reject(new Error(`tsc (declarations) exited with status ${code}`)));
  });
}

if (!wasmOnly) {
  const { build } = await import("esbuild");
  const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, loader: { ".wasm": "binary" }, logLevel: "warning" };
  try {
    await Promise.all([
      // The library: neutral platform, wasm bytes inlined → works in Node, browsers, bundlers.
      build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js", platform: "neutral" }),
      // The command line.
      build({ ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/cli.js", platform: "node", packages: "external" }),
      // The sweep's worker threads (src/sweep/run.ts): an entry of their own, found beside dist/cli.js.
      build({ ...common, entryPoints: ["src/sweep/worker.ts"], outfile: "dist/sweep-worker.js", platform: "node", packages: "external" }),
      declarations(),
    ]);
    // The browser explorer (explorer/): static files that import ../index.js, the library bundle above
    // (the .d.ts files there type them for the tests only).
    rmSync("dist/explorer", { recursive: true, force: true });
    cpSync("explorer", "dist/explorer", { recursive: true, filter: (f) => !f.endsWith(".d.ts") });
  } catch (err) {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
// A full build is also a wasm-only build.
writeFileSync(stamp, hash);
if (!wasmOnly) writeFileSync("build/.inputs-wasm.sha256", hash);
