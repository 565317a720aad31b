// Trace readers against hand-made fixtures (test/fixtures/traces, binary ones
// generated from docs/TRACE-FORMAT.md by make-fixtures.py) and against
// reference models, with input cut into chunks at every possible place.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access } from "../src/abi.js";
import { accessAt, newAccessBuffer } from "../src/trace/access-buffer.js";
import { memoryByteSource } from "../src/trace/byte-source.js";
import { ChampSimReader } from "../src/trace/champsim.js";
import { TraceFormatError, TraceOpenError, TraceTruncatedError } from "../src/trace/errors.js";
import { LackeyReader } from "../src/trace/lackey.js";
import { formatFromContent, formatFromName, openTrace } from "../src/trace/open.js";
import type { TraceReader } from "../src/trace/reader.js";
import { WmtReader } from "../src/trace/wmt.js";

const FIX = new URL("./fixtures/traces/", import.meta.url);
const fixture = (name: string): string => new URL(name, FIX).pathname;

type Acc = [va: bigint, kind: Access, context: number];

/** Every access of a reader, read through a buffer of `cap` entries. */
async function drain(r: TraceReader, cap = 64): Promise<Acc[]> {
  const buf = newAccessBuffer(cap);
  const all: Acc[] = [];
  for (;;) {
    const n = await r.read(buf);
    if (n === 0) break;
    expect(n).toBeLessThanOrEqual(cap);
    for (let i = 0; i < n; i++) { const a = accessAt(buf, i); all.push([a.va, a.kind, r.context]); }
  }
  await r.close();
  return all;
}

const R = Access.Read, W = Access.Write, F = Access.Fetch;
const SMALL_LACKEY: Acc[] = [
  [0x4022ff8n, F, 0],
  [0x1ffefffd38n, R, 0],
  [0x1ffefffd40n, W, 0],
  [0x421ef20n, R, 0], [0x421ef20n, W, 0],               // M = load then store
  [0x4022ffen, F, 0], [0x4023000n, F, 0],               // 4 bytes at ...ffe cross a page
  [0x7ffffffffff8n, W, 0], [0x800000000000n, W, 0],     // 16 bytes at ...ff8 cross a page
  [0n, R, 0],
];

describe("lackey reader", () => {
  it("reads the fixture: kinds, modify, page-crossing splits, commentary skipped", async () => {
    const r = await openTrace(fixture("small.lackey"));
    expect(r.format).toBe("lackey");
    expect(await drain(r)).toEqual(SMALL_LACKEY);
    expect((r as LackeyReader).splits).toBe(2);
  });

  it("reads the same accesses through gzip and xz", async () => {
    expect(await drain(await openTrace(fixture("small.lackey.gz")))).toEqual(SMALL_LACKEY);
    expect(await drain(await openTrace(fixture("small.lackey.xz")))).toEqual(SMALL_LACKEY);
  });

  it("stops at a malformed line and names its line number", async () => {
    const r = await openTrace(fixture("malformed.lackey"));
    const err = await drain(r).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceFormatError);
    expect((err as TraceFormatError).where).toBe("line 4");
    expect((err as Error).message).toMatch(/malformed\.lackey: line 4: .*zz12.*--lenient/);
  });

  it("with --lenient skips malformed lines and counts them", async () => {
    const r = await openTrace(fixture("malformed-lenient.lackey"), { lenient: true });
    expect(await drain(r)).toEqual([[0x4022ff8n, F, 0], [0x1ffefffd38n, R, 0], [0x1ffefffd40n, W, 0], [0x4023008n, F, 0]]);
    expect(r.skipped).toBe(3);
    expect(r.skippedExamples.map((s) => s.where)).toEqual(["line 4", "line 5", "line 7"]);
  });

  it("a truncated gzip file is a clear error, not a stack trace", async () => {
    const err = await drain(await openTrace(fixture("truncated.lackey.gz"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceTruncatedError);
    expect((err as Error).message).toMatch(/truncated/);
  });

  it("a truncated xz file is a clear error too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-xz-"));
    const cut = join(dir, "cut.lackey.xz");
    writeFileSync(cut, readFileSync(fixture("small.lackey.xz")).subarray(0, 150));
    await expect(drain(await openTrace(cut))).rejects.toThrow(/cut\.lackey\.xz: truncated at compressed byte \d+: the xz stream ends early/);
    rmSync(dir, { recursive: true });
  });

  it("a second xz trace opened while one is being decoded is an error, not a hang; after closing it is fine", async () => {
    // xz-decompress decodes one stream at a time: the second would wait for the first forever.
    const first = await openTrace(fixture("small.lackey.xz"));
    expect((await first.read(newAccessBuffer(4))) > 0).toBe(true);
    await expect(openTrace(fixture("small.wmt.xz"))).rejects.toThrow(/small\.wmt\.xz: cannot decode two xz streams at once \(.*small\.lackey\.xz is still open/);
    await first.close();
    expect(await drain(await openTrace(fixture("small.wmt.xz")))).toEqual(SMALL_WMT);
  });

  it("rejects an address wider than 64 bits and an oversized line", async () => {
    const wide = new TextEncoder().encode(" L 11112222333344445,8\n");
    await expect(drain(new LackeyReader(memoryByteSource(wide, "w")))).rejects.toThrow(/line 1: .*wider than 64 bits/);
    const long = new TextEncoder().encode(`I  ${"0".repeat(400)}\n`);
    await expect(drain(new LackeyReader(memoryByteSource(long, "l", 7), { lenient: true }))).rejects.toThrow(/line 1: .*longer than/);
  });

  // Reference model: a plain string parser, written for clarity, not speed.
  const model = (lines: string[]): Acc[] => {
    const out: Acc[] = [];
    for (const line of lines) {
      const m = /^(I  | L | S | M )([0-9a-f]+),(\d+)\r?$/.exec(line);
      if (!m) continue;
      const va = BigInt("0x" + m[2]!), size = BigInt(m[3]!);
      const t = m[1]!.trim();
      const kinds = t === "I" ? [F] : t === "L" ? [R] : t === "S" ? [W] : [R, W];
      const next = (va | 0xfffn) + 1n;
      const cross = (va & 0xfffn) + size > 0x1000n;
      for (const k of kinds) { out.push([va, k, 0]); if (cross) out.push([next & 0xffffffffffffffffn, k, 0]); }
    }
    return out;
  };
  const lineArb = fc.oneof(
    fc.tuple(fc.constantFrom("I  ", " L ", " S ", " M "), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 64 }))
      .map(([k, a, s]) => `${k}${a.toString(16).padStart(8, "0")},${s}`),
    fc.constantFrom("==77== Lackey", "SB 0400ff00", "", " L 0400ff00,8\r"),
  );

  it("agrees with a reference model for any lines and any chunking (property)", async () => {
    // Small chunks put line ends everywhere; large ones exercise the one-pass fast path.
    await fc.assert(fc.asyncProperty(fc.array(lineArb, { maxLength: 400 }),
      fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 300, max: 5000 })), fc.integer({ min: 4, max: 50 }),
      async (lines, chunk, cap) => {
        const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
        const got = await drain(new LackeyReader(memoryByteSource(bytes, "p", chunk)), cap);
        expect(got).toEqual(model(lines));
      }), { numRuns: 300 });
  });
});

const SMALL_CHAMPSIM: Acc[] = [
  [0x401000n, F, 0],
  [0x401004n, F, 0], [0x7ffd1000n, R, 0],
  [0x401008n, F, 0], [0x601ff0n, R, 0], [0x7ffd1008n, R, 0], [0x601ff8n, W, 0],
  [0x40100cn, F, 0],
  [0x402000n, F, 0], [0x603000n, R, 0], [0x603008n, R, 0], [0x603010n, R, 0], [0x603018n, R, 0], [0x602000n, W, 0], [0x602008n, W, 0],
];

describe("ChampSim reader", () => {
  it("reads input_instr records: fetch, loads, stores", async () => {
    const r = await openTrace(fixture("small.champsimtrace"));
    expect(r.format).toBe("champsim");
    expect(await drain(r, 8)).toEqual(SMALL_CHAMPSIM);
    expect((r as ChampSimReader).instructions).toBe(5);
  });

  it("reads xz-compressed traces", async () => {
    expect(await drain(await openTrace(fixture("small.champsimtrace.xz")))).toEqual(SMALL_CHAMPSIM);
  });

  it("delivers the whole records, then reports a truncated one with its byte offset", async () => {
    const r = await openTrace(fixture("truncated.champsimtrace"));
    const buf = newAccessBuffer(64);
    expect(await r.read(buf)).toBe(7);                 // records 0..2
    const err = await r.read(buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceTruncatedError);
    expect((err as Error).message).toMatch(/byte offset 192/);
  });

  it("reports a record with impossible branch bytes by byte offset, or skips it", async () => {
    await expect(drain(await openTrace(fixture("bad-branch.champsimtrace")))).rejects.toThrow(/byte offset 136: is_branch/);
    const r = await openTrace(fixture("bad-branch.champsimtrace"), { lenient: true });
    const got = await drain(r);
    expect(got).toEqual(SMALL_CHAMPSIM.filter((a) => a[0] !== 0x401008n && a[0] !== 0x601ff0n && a[0] !== 0x7ffd1008n && a[0] !== 0x601ff8n));
    expect(r.skipped).toBe(1);
  });
});

const SMALL_WMT: Acc[] = [
  [0x4022ff8n, F, 0], [0x1ffefffd38n, R, 0], [0x1ffefffd40n, W, 0],
  [0xffff800000001000n, R, 7], [0x7ffffffff000n, W, 7],
];

describe("WMT reader", () => {
  it("reads blocks with their contexts and the provenance note", async () => {
    const r = await openTrace(fixture("small.wmt")) as WmtReader;
    expect(await drain(r)).toEqual(SMALL_WMT);
    expect(r.note).toBe("fixture: two blocks, contexts 0 and 7");
  });

  it("never mixes contexts in one read, whatever the buffer size", async () => {
    for (const cap of [4, 5, 64]) {
      const r = await openTrace(fixture("small.wmt"));
      const buf = newAccessBuffer(cap);
      expect(await r.read(buf)).toBe(3);
      expect(r.context).toBe(0);
      expect(await r.read(buf)).toBe(2);
      expect(r.context).toBe(7);
      expect(await r.read(buf)).toBe(0);
    }
  });

  it("reads xz-compressed WMT", async () => {
    expect(await drain(await openTrace(fixture("small.wmt.xz")))).toEqual(SMALL_WMT);
  });

  it("a file without its end block is truncated", async () => {
    await expect(drain(await openTrace(fixture("truncated.wmt")))).rejects.toThrow(TraceTruncatedError);
    await expect(drain(await openTrace(fixture("truncated.wmt")))).rejects.toThrow(/byte offset 144.*without its end block/);
    await expect(drain(await openTrace(fixture("truncated-block.wmt")))).rejects.toThrow(/truncated at byte offset 80: the file ends inside a block$/);
    const cut = readFileSync(fixture("small.wmt")).subarray(0, 60);
    await expect(drain(new WmtReader(memoryByteSource(cut, "cut")))).rejects.toThrow(/truncated at byte offset 56: the file ends inside a block header/);
  });

  it("a bad access kind is reported at its byte offset, or skipped with --lenient", async () => {
    await expect(drain(await openTrace(fixture("bad-kind.wmt")))).rejects.toThrow(/byte offset 97: access kind 9/);
    const r = await openTrace(fixture("bad-kind.wmt"), { lenient: true });
    expect(await drain(r)).toEqual([SMALL_WMT[0], SMALL_WMT[2], SMALL_WMT[3], SMALL_WMT[4]]);
    expect(r.skipped).toBe(1);
  });

  it("checks the end block's total", async () => {
    await expect(drain(await openTrace(fixture("wrong-total.wmt")))).rejects.toThrow(/declares 6 accesses but the blocks hold 5/);
  });

  it("a file that is not WMT is a clear error", async () => {
    await expect(drain(new WmtReader(memoryByteSource(new TextEncoder().encode("hello, world"), "x")))).rejects.toThrow(TraceOpenError);
  });
});

describe("opening traces", () => {
  it("guesses the format from the name, then from the content", () => {
    expect(formatFromName("a/b.wmt.xz")).toBe("wmt");
    expect(formatFromName("gzip.lackey.gz")).toBe("lackey");
    expect(formatFromName("600.perlbench_s-210B.champsimtrace.xz")).toBe("champsim");
    expect(formatFromName("trace.bin")).toBeNull();
    expect(formatFromContent(readFileSync(fixture("small.wmt")))).toBe("wmt");
    expect(formatFromContent(readFileSync(fixture("small.lackey")))).toBe("lackey");
    expect(formatFromContent(readFileSync(fixture("small.champsimtrace")))).toBeNull();
  });

  it("a missing file and an unknown format say what to do", async () => {
    await expect(openTrace(fixture("nope.wmt"))).rejects.toThrow(/no such file/);
    await expect(openTrace(fixture("make-fixtures.py"))).rejects.toThrow(/--format lackey\|champsim\|wmt/);
  });

  it("--format overrides the name", async () => {
    const r = await openTrace(fixture("small.champsimtrace"), { format: "champsim" });
    expect((await drain(r)).length).toBe(SMALL_CHAMPSIM.length);
  });
});
