#!/usr/bin/env node
// The wasmmu command. The bundle is built by `npm run build` (run by npm ci
// through the "prepare" script).
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = join(root, "dist", "cli.js");
if (!existsSync(bundle)) {
  console.error("wasmmu: dist/cli.js is missing; run `npm run build` first");
  process.exit(1);
}

/** The newest modification time of the files under `dir` (0 if none). */
function newestUnder(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const d of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (d.isFile()) newest = Math.max(newest, statSync(join(d.parentPath ?? d.path, d.name)).mtimeMs);
  }
  return newest;
}

// In a source checkout (src/ beside bin/; an installed package ships no src/),
// running a bundle older than its sources would silently run old code. The
// trees are the ones scripts/build.mjs bundles; a build that finds nothing to
// do freshens dist/'s times, so an unchanged checkout passes.
if (existsSync(join(root, "src"))) {
  const sources = Math.max(...["src", "assembly", "bench/kernels"].map((d) => newestUnder(join(root, d))));
  if (sources > statSync(bundle).mtimeMs) {
    console.error("wasmmu: dist/ is older than src/ — run `npm run build`");
    process.exit(1);
  }
}

const { main } = await import(pathToFileURL(bundle).href);
try {
  await main(process.argv);
} catch (err) {
  console.error(`wasmmu: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
