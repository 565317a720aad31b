// Writers and conversion: any access sequence survives a round trip through
// every format (WMT keeps contexts too), plain, gzip- and Brotli-compressed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Access } from "../src/abi.js";
import { accessAt, type AccessBuffer, newAccessBuffer } from "../src/trace/access-buffer.js";
import { convertTrace, openTraceWriter, type OutputFormat } from "../src/trace/convert.js";
import { TraceTruncatedError } from "../src/trace/errors.js";
import { openTrace } from "../src/trace/open.js";
import type { TraceReader } from "../src/trace/reader.js";
import { SyntheticReader } from "../src/trace/synthetic.js";
import { WmtReader } from "../src/trace/wmt.js";

const dir = mkdtempSync(join(tmpdir(), "wasmmu-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const tmp = (ext: string): string => join(dir, `t${seq++}${ext}`);

type Acc = [va: bigint, kind: Access, context: number];

async function drain(r: TraceReader, cap = 97): Promise<Acc[]> {
  const buf = newAccessBuffer(cap);
  const all: Acc[] = [];
  for (let n; (n = await r.read(buf)) > 0;)
    for (let i = 0; i < n; i++) { const a = accessAt(buf, i); all.push([a.va, a.kind, r.context]); }
  await r.close();
  return all;
}

function fill(accs: readonly Acc[]): AccessBuffer {
  const b = newAccessBuffer(Math.max(4, accs.length));
  accs.forEach(([va, k], i) => {
    b.va32[2 * i] = Number(va & 0xffffffffn); b.va32[2 * i + 1] = Number(va >> 32n); b.kind[i] = k;
  });
  return b;
}

/** Write `accs` in runs of one context each. */
async function writeAll(path: string, format: OutputFormat, accs: readonly Acc[]): Promise<void> {
  const w = await openTraceWriter(path, format, "property test");
  let i = 0;
  while (i < accs.length) {
    let j = i;
    while (j < accs.length && accs[j]![2] === accs[i]![2]) j++;
    await w.write(fill(accs.slice(i, j)), j - i, accs[i]![2]);
    i = j;
  }
  await w.close();
}

const vaArb = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
const kindArb = fc.constantFrom(Access.Read, Access.Write, Access.Fetch);

describe("round trips", () => {
  it("WMT keeps every access and context (property, plain and gzip)", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(vaArb, kindArb, fc.constantFrom(0, 1, 0xffffffff)), { maxLength: 300 }),
      fc.boolean(),
      async (accs, gz) => {
        const path = tmp(gz ? ".wmt.gz" : ".wmt");
        await writeAll(path, "wmt", accs);
        const r = await openTrace(path) as WmtReader;
        expect(await drain(r)).toEqual(accs);
        expect(r.note).toBe("property test");
      }), { numRuns: 60 });
  });

  it("a .br output is Brotli-compressed (decoded here by node:zlib) and reads back the same, in every format", async () => {
    const accs: Acc[] = Array.from({ length: 5000 }, (_, i) => [0x400000n + BigInt(i * 4104), (i % 3) as Access, 0]);
    const plain = tmp(".wmt"), br = tmp(".wmt.br");
    await writeAll(plain, "wmt", accs);
    await writeAll(br, "wmt", accs);
    expect(brotliDecompressSync(readFileSync(br))).toEqual(readFileSync(plain));
    expect(await drain(await openTrace(br))).toEqual(accs);
    for (const format of ["lackey", "champsim"] as const) {
      const p = tmp(format === "lackey" ? ".lackey.br" : ".champsimtrace.br");
      await writeAll(p, format, accs);
      expect(await drain(await openTrace(p))).toEqual(accs);
    }
  });

  it("lackey text and ChampSim records keep every access (property)", async () => {
    await fc.assert(fc.asyncProperty(
      // At least one access: an empty file is not a trace (test/cli/process.test.ts).
      fc.array(fc.tuple(vaArb, kindArb, fc.constant(0)), { minLength: 1, maxLength: 300 }),
      fc.constantFrom<OutputFormat>("lackey", "champsim"),
      async (accs, format) => {
        const path = tmp(format === "lackey" ? ".lackey" : ".champsimtrace");
        await writeAll(path, format, accs);
        expect(await drain(await openTrace(path))).toEqual(accs);
      }), { numRuns: 60 });
  });

  it("a WMT file cut anywhere is reported as truncated, never read short", async () => {
    const path = tmp(".wmt");
    const accs: Acc[] = Array.from({ length: 70_000 }, (_, i) => [BigInt(i) * 4096n + 8n, (i % 3) as Access, 0]);
    await writeAll(path, "wmt", accs);
    const whole = readFileSync(path);
    for (const cut of [17, 64, 100, 8 * 65536, whole.length - 17, whole.length - 1]) {
      const p = tmp(".wmt");
      writeFileSync(p, whole.subarray(0, cut));
      await expect(drain(await openTrace(p), 65536)).rejects.toThrow(TraceTruncatedError);
    }
  });

  it("converts a synthetic workload to WMT and reads back exactly the same accesses", async () => {
    const spec = { kind: "zipf" as const, count: 70_000, pages: 4096, seed: 9 };
    const path = tmp(".wmt.gz");
    const res = await convertTrace(new SyntheticReader(spec), await openTraceWriter(path, "wmt"));
    expect(res.accesses).toBe(70_000);
    const a = await drain(new SyntheticReader(spec), 65536);
    const b = await drain(await openTrace(path), 65536);
    expect(b).toEqual(a);
  });
});
