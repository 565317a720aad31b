import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// vite treats `import x from "./a.wasm"` as wasm-ESM integration; we want the
// bytes, exactly as esbuild's binary loader gives them in the bundles
// (scripts/build.mjs: loader ".wasm": "binary"), so tests run the same module
// the library ships (src/engine/wasm-module.ts imports build/mmu.wasm).
const wasmBinary = {
  name: "wasm-binary",
  enforce: "pre" as const,
  load(id: string) {
    if (!/\.wasm$/.test(id)) return null;
    const b64 = readFileSync(id).toString("base64");
    return `export default Uint8Array.from(atob(${JSON.stringify(b64)}), (c) => c.charCodeAt(0));`;
  },
};

export default defineConfig({
  plugins: [wasmBinary],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup-fuzz.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
