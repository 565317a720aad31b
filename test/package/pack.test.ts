// The package as a user gets it: `npm pack`, unpacked into a project outside
// the repository as node_modules/wasmmu, typechecked against by a TypeScript
// consumer (moduleResolution bundler and node16) and run by a JavaScript one.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const tmp = mkdtempSync(join(tmpdir(), "wasmmu-pack-"));
const project = join(tmp, "consumer");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface PackReport { filename: string; files: { path: string }[] }

/** `npm pack ARGS --json` in the repository (scripts off: pretest has built dist/). */
function npmPack(args: string[]): PackReport {
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", ...args], { cwd: ROOT, encoding: "utf8" });
  return (JSON.parse(out) as PackReport[])[0]!;
}

beforeAll(() => {
  const report = npmPack(["--pack-destination", tmp]);
  mkdirSync(join(project, "node_modules"), { recursive: true });
  execFileSync("tar", ["-xzf", join(tmp, report.filename), "-C", join(project, "node_modules")]);
  renameSync(join(project, "node_modules/package"), join(project, "node_modules/wasmmu"));
  // The runtime dependencies, resolvable without the network: the repository's copies.
  for (const dep of Object.keys(PKG.dependencies)) {
    const link = join(project, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), link);
  }
  // The embedder's own build tool for its wasm module (the emulator example).
  symlinkSync(join(ROOT, "node_modules", "assemblyscript"), join(project, "node_modules", "assemblyscript"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(join(project, "consumer.ts"), CONSUMER_TS);
  writeFileSync(join(project, "consumer.mjs"), CONSUMER_MJS);
}, 60_000);

// Uses the engine, its records, its options and statistics types by name.
const CONSUMER_TS = `
import { Access, createEngine, FaultKind, type Engine, type TlbConfig, type TlbStats, type Translation } from "wasmmu";

const tlb: TlbConfig = { mode: "research", replacement: "plru" };
const engine: Engine = await createEngine("wasm", { physSize: 1 << 20, tlb });
const r: Translation = engine.translate(0x1000n, Access.Read);
const faulted: boolean = r.fault !== FaultKind.None;
const pa: number = r.pa;
const cr2: bigint = r.addr;
const stats: TlbStats = engine.stats();
const walks: number = stats.walks;
// @ts-expect-error a translation's PA is a Number, not a BigInt
const wrong: bigint = r.pa;
export { cr2, faulted, pa, walks, wrong };
`;

// 32-bit paging, one 4 KiB page: VA 0x40_1000 → PA 0x7000 (PDE 1 → PT at 0x3000, PTE 1).
const CONSUMER_MJS = `
import { Access, createEngine } from "wasmmu";
const e = await createEngine("ts", { physSize: 1 << 20 });
e.phys.write32(0x2000 + 4 * 1, 0x3000 | 0x7);
e.phys.write32(0x3000 + 4 * 1, 0x7000 | 0x7);
e.setX86({ cr0: 0x8000_0001n, cr3: 0x2000n });
const r = e.translate(0x40_1234n, Access.Read);
console.log(r.fault, r.pa.toString(16));
`;

function typecheck(compilerOptions: Record<string, unknown>): { status: number | null; output: string } {
  const name = `tsconfig.${String(compilerOptions["moduleResolution"])}.json`;
  writeFileSync(join(project, name), JSON.stringify({
    compilerOptions: { target: "ES2022", lib: ["ES2022", "DOM"], types: [], strict: true, noEmit: true, skipLibCheck: false, ...compilerOptions },
    files: ["consumer.ts"],
  }));
  const r = spawnSync(process.execPath, [TSC, "-p", name], { cwd: project, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe("the packed package in a project of its own", () => {
  it("ships the declarations the exports name, with their documentation", () => {
    const types = join(project, "node_modules/wasmmu/dist/types/index.d.ts");
    expect(existsSync(types)).toBe(true);
    expect(readFileSync(join(project, "node_modules/wasmmu/dist/types/engine/index.d.ts"), "utf8"))
      .toContain("/** Create an engine:");
  });

  it("typechecks a consumer under moduleResolution bundler", () => {
    const r = typecheck({ module: "ESNext", moduleResolution: "bundler" });
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it("typechecks a consumer under moduleResolution node16", () => {
    const r = typecheck({ module: "Node16", moduleResolution: "node16" });
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it("runs a consumer: a translation through the installed package", () => {
    const r = spawnSync(process.execPath, ["consumer.mjs"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0 7234\n");
    expect(r.status).toBe(0);
  });

  it("runs the JavaScript embedding example (the inline probe over the engine's memory)", () => {
    const r = spawnSync(process.execPath, ["node_modules/wasmmu/examples/js-inline-probe.mjs"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^read 0x403000 -> 0x103000 hit$/m);
    expect(r.stdout).toMatch(/^hits \d+ misses \d+ faults \d+$/m);
    expect(r.status).toBe(0);
  });

  it("builds and runs the wasm emulator example: inline hits, the core's translatePa on a miss, every result as translate() gives it", () => {
    const r = spawnSync(process.execPath, ["node_modules/wasmmu/examples/emulator/run.mjs"], { cwd: project, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    const passes = [...r.stdout.matchAll(/^pass \d: (\d+) inline hits, (\d+) misses to the core, (\d+) faults$/gm)];
    expect(passes).toHaveLength(2);
    for (const [, hits, misses] of passes) { expect(Number(hits)).toBeGreaterThan(1000); expect(Number(misses)).toBeGreaterThan(100); }
    expect(r.stdout).toMatch(/^every result agrees with translate\(\): yes$/m);
    expect(r.status).toBe(0);
  }, 60_000);

  it("runs the installed command", () => {
    const r = spawnSync(process.execPath, ["node_modules/wasmmu/bin/wasmmu.mjs", "--help"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: wasmmu /);
    expect(r.status).toBe(0);
  });
});

describe("a sweep from the installed package", () => {
  it("finds its worker threads' script beside the command's bundle", () => {
    const r = spawnSync(process.execPath, ["node_modules/wasmmu/bin/wasmmu.mjs", "sweep", "synthetic:zipf:count=2000,pages=64",
      "--grid", "tlb-entries=16,64", "--workers", "2", "--out", "sweep"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^sweep: 2 cells \(2 run, 0 reused\) → /);
    expect(r.status).toBe(0);
    expect(readFileSync(join(project, "sweep/summary.csv"), "utf8").trimEnd().split("\n")).toHaveLength(3);
  });
});

describe("the library bundle", () => {
  it("imports nothing from Node, so it runs unbundled in a browser", () => {
    const lib = readFileSync(join(ROOT, "dist/index.js"), "utf8");
    expect(lib.match(/\bfrom\s*["']node:[^"']*["']|\brequire\(|\bimport\(["']node:/g)).toBeNull();
    expect(lib).not.toMatch(/\bprocess\.(env|argv|exit)|\bBuffer\./);
  });
});

describe("npm pack --dry-run", () => {
  const files = npmPack(["--dry-run"]).files.map((f) => f.path);

  it("contains the library, its declarations, the command, the documents and the bundled trace", () => {
    for (const f of ["dist/index.js", "dist/types/index.d.ts", "dist/cli.js", "dist/sweep-worker.js", "bin/wasmmu.mjs", "README.md", "LICENSE",
      "CHANGELOG.md", "traces/gzip-gpl3.wmt.br", "traces/sort-nums.wmt.br", "examples/e820-qemu-64g.txt", "package.json"]) expect(files).toContain(f);
    const docs = files.filter((f) => /^docs\/[^/]+\.md$/.test(f));
    expect(docs.sort()).toEqual(["docs/API-CONTRACT.md", "docs/ARCHITECTURE.md", "docs/RUN-REPORT.md", "docs/SEMANTICS.md",
      "docs/SWEEP.md", "docs/TLB-ABI.md", "docs/TRACE-FORMAT.md"]);
  });

  it("leaves out the sources, the tests and the build's scratch files", () => {
    const outside = files.filter((f) => /^(src|test|assembly|bench|scripts|build|node_modules)\//.test(f));
    expect(outside).toEqual([]);
  });

  it("every relative link in README.md and docs/*.md points to a packed file", () => {
    const broken: string[] = [];
    for (const doc of files.filter((f) => f === "README.md" || /^docs\/.*\.md$/.test(f))) {
      const text = readFileSync(join(ROOT, doc), "utf8");
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;   // an absolute URL
        const path = normalize(join(dirname(doc), target));
        if (!files.includes(path)) broken.push(`${doc} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
