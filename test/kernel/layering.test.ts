// The generic kernel (src/kernel/*.ts) reaches an architecture only through
// the MmArch interface (src/kernel/arch.ts): no generic file imports
// src/kernel/x86/ or src/kernel/s390/, and none imports a paravirt backend —
// the x86 kernel (or its caller) supplies pv_ops.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const KERNEL = join(import.meta.dirname, "../../src/kernel");

/** Every module specifier a file imports or re-exports (static, dynamic, type-only). */
function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of source.matchAll(/\bimport\s*\(?\s*["']([^"']+)["']/g)) out.push(m[1]!);
  return out;
}

it("generic kernel files import neither an architecture nor a paravirt backend", () => {
  const files = readdirSync(KERNEL).filter((f) => f.endsWith(".ts"));
  expect(files).toContain("mm.ts");
  const bad: string[] = [];
  for (const f of files) {
    const src = readFileSync(join(KERNEL, f), "utf8");
    for (const s of specifiers(src))
      if (/^\.\/(x86|s390)\//.test(s) || /^\.\.\/paravirt\//.test(s)) bad.push(`${f} imports ${s}`);
  }
  expect(bad).toEqual([]);
});

it("the import scan sees multi-line, type-only, re-export and dynamic imports", () => {
  const src = [
    'import {\n  a,\n  b,\n} from "./x86/one.js";',
    'import type { T } from "./s390/two.js";',
    'export * from "../paravirt/three.js";',
    'const m = await import("./x86/four.js");',
  ].join("\n");
  expect(specifiers(src)).toEqual(["./x86/one.js", "./s390/two.js", "../paravirt/three.js", "./x86/four.js"]);
});
