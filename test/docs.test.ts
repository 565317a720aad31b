// The documentation and the comments name files of this repository; every
// one they name must exist, so that a reader can follow each pointer. Paths
// are the ones written from the repository root (`src/kernel/mm.ts`,
// `docs/SEMANTICS.md`, `test/boot/xen.test.ts`, a directory such as
// `src/paravirt/xen/`); markdown links are also followed relative to their
// file, down to the heading they name.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const TOP = ["src", "assembly", "docs", "test", "bench", "scripts", "bin", "examples", "traces"];

/** Repository paths written from the root in `text`, with the line each is on. */
function repoPaths(text: string): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  // Not inside a longer path or a URL (no word character, '.', '/' or '-'
  // right before it); the path ends on a word character or a slash, so a
  // sentence's full stop or a markdown link's ')' is not part of it.
  const re = new RegExp(`(?<![\\w./-])(?:${TOP.join("|")})/(?:[\\w./-]*[\\w/])?`, "g");
  text.split("\n").forEach((l, i) => {
    for (const m of l.matchAll(re)) out.push({ path: m[0], line: i + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");

function filesUnder(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) { if (rel !== join("test", "fixtures")) out.push(...filesUnder(rel, keep)); }
    else if (keep(rel)) out.push(rel);
  }
  return out;
}

const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

function missingIn(files: readonly string[]): { missing: string[]; seen: number } {
  const missing: string[] = [];
  let seen = 0;
  for (const f of files) {
    for (const { path, line } of repoPaths(readFileSync(join(ROOT, f), "utf8"))) {
      seen++;
      if (!existsSync(join(ROOT, path))) missing.push(`${f}:${line}: ${path}`);
    }
  }
  return { missing, seen };
}

it("the path extractor takes root-relative paths and leaves URLs, absolute paths and punctuation alone", () => {
  const text = [
    "See `src/kernel/mm.ts`, [docs/SEMANTICS.md](docs/SEMANTICS.md#x86-kernel-side).",
    "The tables (src/paravirt/xen/) and assembly/x86/walk.ts: done.",
    "Not https://github.com/o/r/src/a.ts nor /usr/share/src/b.ts nor ../src/c.ts nor mysrc/d.ts.",
  ].join("\n");
  expect(repoPaths(text)).toEqual([
    { path: "src/kernel/mm.ts", line: 1 }, { path: "docs/SEMANTICS.md", line: 1 }, { path: "docs/SEMANTICS.md", line: 1 },
    { path: "src/paravirt/xen/", line: 2 }, { path: "assembly/x86/walk.ts", line: 2 },
  ]);
  expect(slug("Early boot: the `linux` and `hpa` strategies (`src/boot/`)")).toBe("early-boot-the-linux-and-hpa-strategies-srcboot");
});

it("every repository path named in README.md and docs/*.md exists", () => {
  const { missing, seen } = missingIn(DOCS);
  expect(seen).toBeGreaterThan(100);
  expect(missing).toEqual([]);
});

it("every repository path named in the sources, scripts and build configuration exists", () => {
  const code = (f: string): boolean => /\.(ts|mjs|js)$/.test(f);
  const files = [...filesUnder("src", code), ...filesUnder("assembly", code), ...filesUnder("bench", code),
    ...filesUnder("scripts", code), "vitest.config.ts"];
  const { missing, seen } = missingIn(files);
  expect(seen).toBeGreaterThan(50);
  expect(missing).toEqual([]);
});

it("every relative markdown link in README.md and docs/*.md reaches its file and heading", () => {
  const bad: string[] = [];
  let links = 0;
  for (const f of DOCS) {
    const text = readFileSync(join(ROOT, f), "utf8");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;   // http:, mailto:
      links++;
      const [file, anchor] = target.split("#") as [string, string | undefined];
      const path = file ? join(dirname(join(ROOT, f)), file) : join(ROOT, f);
      if (!existsSync(path)) { bad.push(`${f}: ${target} (no such file)`); continue; }
      if (anchor === undefined || !statSync(path).isFile()) continue;
      const headings = readFileSync(path, "utf8").split("\n").filter((l) => /^#+ /.test(l)).map((l) => slug(l.replace(/^#+ /, "")));
      if (!headings.includes(anchor)) bad.push(`${f}: ${target} (no heading #${anchor} in ${relative(ROOT, path)})`);
    }
  }
  expect(links).toBeGreaterThan(5);
  expect(bad).toEqual([]);
});
