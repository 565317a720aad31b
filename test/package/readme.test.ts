// The README's JavaScript examples run as written and print what they say.
// Convention: a `console.log(...)` line that ends with `// TEXT` prints TEXT
// as one line; TEXT ends at the first run of two or more spaces (what follows
// explains it: `// 0 9123 12  (the PA)` expects "0 9123 12"). A console.log
// with no comment prints output nobody checks (a loop over a log, say); the
// checked lines must still appear in order. Each block runs as a child
// process that resolves "wasmmu" to this repository's package (dist/, built
// by pretest), as an installed copy would.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const README = readFileSync(join(ROOT, "README.md"), "utf8");

interface Block { line: number; code: string }

/** Every ```js block of `markdown`, with the line its code starts on. */
function jsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```js") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

/** What the block says it prints, in order, and whether every console.log says so. */
function expectations(code: string): { expected: string[]; complete: boolean } {
  const expected: string[] = [];
  let complete = true;
  for (const line of code.split("\n")) {
    if (!line.includes("console.log(")) continue;
    const m = /console\.log\(.*\);?\s*\/\/ (.*)$/.exec(line);
    if (m) expected.push(m[1]!.split(/\s{2,}/)[0]!.trimEnd());
    else complete = false;
  }
  return { expected, complete };
}

describe("README conventions", () => {
  it("reads expectations as the README writes them", () => {
    expect(expectations([
      "console.log(r.fault, r.pa.toString(16));   // 0 9123 12  (explained)",
      "for (const e of log) console.log(e);",
      "console.log(x); // a // b",
    ].join("\n"))).toEqual({ expected: ["0 9123 12", "a // b"], complete: false });
  });
});

const dir = mkdtempSync(join(tmpdir(), "wasmmu-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "node_modules"));
symlinkSync(ROOT, join(dir, "node_modules", "wasmmu"));
const blocks = jsBlocks(README);

describe("README.md ```js examples", () => {
  it("every one imports the package (so that it runs as written)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const b of blocks) expect(b.code, `README.md line ${b.line}`).toMatch(/^import .* from "wasmmu";$/m);
  });

  for (const b of blocks) {
    it(`README.md line ${b.line} prints what its comments say`, () => {
      const { expected, complete } = expectations(b.code);
      expect(expected.length).toBeGreaterThan(0);
      const file = join(dir, `readme-${b.line}.mjs`);
      writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const printed = r.stdout.trimEnd().split("\n");
      if (complete) {
        expect(printed).toEqual(expected);
      } else {
        // The checked lines, in order, among the unchecked ones.
        let at = 0;
        const found = expected.map((want) => {
          while (at < printed.length && printed[at] !== want) at++;
          return at < printed.length ? printed[at++] : `(not printed: ${want})`;
        });
        expect(found).toEqual(expected);
      }
    });
  }
});
