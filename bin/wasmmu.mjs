#!/usr/bin/env node
// The wasmmu command. The bundle is built by `npm run build` (run by npm ci
// through the "prepare" script).
import { existsSync } from "node:fs";
const bundle = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(bundle)) {
  console.error("wasmmu: dist/cli.js is missing; run `npm run build` first");
  process.exit(1);
}
const { main } = await import(bundle.href);
try {
  await main(process.argv);
} catch (err) {
  console.error(`wasmmu: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
