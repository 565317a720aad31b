// No surprise builds: scripts/build.mjs skips work when its inputs are what
// the last build saw, and bin/wasmmu.mjs in a source checkout refuses to run a
// dist/ older than its sources. Both as real child processes.
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "wasmmu-build-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function node(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/build.mjs", () => {
  it("a full build with nothing changed since the last one does nothing and says so", () => {
    // pretest has just built the repository.
    const before = readFileSync(join(ROOT, "dist/cli.js"));
    const r = node(["scripts/build.mjs"], ROOT);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("build: up to date (full; --force rebuilds)\n");
    expect(readFileSync(join(ROOT, "dist/cli.js")).equals(before)).toBe(true);
  });

  it("rebuilds when an input changes and with --force, and skips again after", () => {
    // A copy of the build's inputs and of the last build's outputs and stamps.
    const copy = join(tmp, "repo");
    mkdirSync(copy);
    for (const p of ["assembly", "src", "bench/kernels", "explorer", "build", "scripts/build.mjs", "asconfig.json", "tsconfig.json",
      "tsconfig.types.json", "package.json"]) cpSync(join(ROOT, p), join(copy, p), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    const wasm = join(copy, "build/mmu.wasm");
    const skipped = (r: { status: number | null; stderr: string }): boolean =>
      r.status === 0 && r.stderr === "build: up to date (wasm; --force rebuilds)\n";
    const WASM_MAGIC = Buffer.from([0, 0x61, 0x73, 0x6d]);

    expect(skipped(node(["scripts/build.mjs", "--wasm-only"], copy))).toBe(true);

    appendFileSync(join(copy, "assembly/index.ts"), "\n// changed\n");
    writeFileSync(wasm, "stale");                     // so that a rebuild shows
    let r = node(["scripts/build.mjs", "--wasm-only"], copy);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("up to date");
    expect(readFileSync(wasm).subarray(0, 4)).toEqual(WASM_MAGIC);

    expect(skipped(node(["scripts/build.mjs", "--wasm-only"], copy))).toBe(true);

    writeFileSync(wasm, "stale");
    r = node(["scripts/build.mjs", "--wasm-only", "--force"], copy);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("up to date");
    expect(readFileSync(wasm).subarray(0, 4)).toEqual(WASM_MAGIC);
  });
});

describe("bin/wasmmu.mjs in a source checkout", () => {
  // A stand-in checkout: the real launcher, a stub bundle that says it ran.
  function checkout(name: string, withSrc: boolean): { bin: string; cli: string; srcFile: string } {
    const dir = join(tmp, name);
    mkdirSync(join(dir, "bin"), { recursive: true });
    mkdirSync(join(dir, "dist"));
    cpSync(join(ROOT, "bin/wasmmu.mjs"), join(dir, "bin/wasmmu.mjs"));
    const cli = join(dir, "dist/cli.js");
    writeFileSync(cli, "export async function main(argv) { console.log('ran ' + argv.slice(2).join(' ')); }\n");
    const srcFile = join(dir, "src/index.ts");
    if (withSrc) { mkdirSync(join(dir, "src")); writeFileSync(srcFile, "export {};\n"); }
    return { bin: join(dir, "bin/wasmmu.mjs"), cli, srcFile };
  }
  const older = new Date(Date.UTC(2024, 0, 1)), newer = new Date(Date.UTC(2025, 0, 1));

  it("refuses a dist/ older than src/ with one line on stderr and exit 1", () => {
    const c = checkout("stale", true);
    utimesSync(c.cli, older, older);
    utimesSync(c.srcFile, newer, newer);
    const r = node([c.bin, "x"], tmp);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("wasmmu: dist/ is older than src/ — run `npm run build`\n");
  });

  it("runs a dist/ newer than src/", () => {
    const c = checkout("fresh", true);
    utimesSync(c.srcFile, older, older);
    utimesSync(c.cli, newer, newer);
    const r = node([c.bin, "x"], tmp);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ran x\n");
    expect(r.status).toBe(0);
  });

  it("an installed package (no src/) runs whatever the times", () => {
    const c = checkout("installed", false);
    utimesSync(c.cli, older, older);
    const r = node([c.bin, "x"], tmp);
    expect(r.stdout).toBe("ran x\n");
    expect(r.status).toBe(0);
  });
});
