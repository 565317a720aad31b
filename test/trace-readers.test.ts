// Trace readers against hand-made fixtures (test/fixtures/traces, binary ones
// generated from docs/TRACE-FORMAT.md by make-fixtures.py) and against
// reference models, with input cut into chunks at every possible place.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Access } from "../src/abi.js";
import { accessAt, newAccessBuffer } from "../src/trace/access-buffer.js";
import { detectCompression, memoryByteSource } from "../src/trace/byte-source.js";
import { ChampSimReader } from "../src/trace/champsim.js";
import { TraceFormatError, TraceOpenError, TraceTruncatedError } from "../src/trace/errors.js";
import { LackeyReader } from "../src/trace/lackey.js";
import { formatFromContent, formatFromName, openTrace } from "../src/trace/open.js";
import type { TraceReader } from "../src/trace/reader.js";
import { WmtReader } from "../src/trace/wmt.js";
import { BUNDLED_SORT_TRACE, BUNDLED_TRACE, bundledTracePath } from "../src/run/bundled.js";

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

describe("lackey reader against an independent reference, malformed lines included", () => {
  // The reference reads the bytes as Latin-1 (one character per byte, as the
  // reader counts them) and judges each line with regular expressions:
  // blank, valgrind commentary ("==" …, at least 5 bytes) and "SB " lines
  // are skipped; an access line is "I  ", " L ", " S " or " M ", 1 to 16 hex
  // digits, a comma and a decimal size from 1 to 4096, and an optional
  // carriage return; anything else is malformed; a last line with no newline
  // is a cut-off copy.
  interface Expected { accesses: Acc[]; bad: number[]; accessesBefore: (line: number) => Acc[] }
  const reference = (bytes: Uint8Array): Expected => {
    const lines = Buffer.from(bytes).toString("latin1").split("\n");
    const last = lines.pop()!;                     // after the last newline: "" unless cut off
    const perLine: Acc[][] = [];
    const bad: number[] = [];
    lines.forEach((raw, i) => {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const acc: Acc[] = [];
      perLine.push(acc);
      if (line === "") return;
      if (line.length >= 5 && (line.startsWith("==") || line.startsWith("SB "))) return;
      const m = /^(I  | L | S | M )([0-9a-fA-F]{1,16}),([0-9]+)$/.exec(line);
      const size = m ? Number(m[3]) : 0;
      if (!m || size < 1 || size > 4096) { bad.push(i + 1); return; }
      const va = BigInt("0x" + m[2]!);
      const kinds = m[1] === "I  " ? [F] : m[1] === " L " ? [R] : m[1] === " S " ? [W] : [R, W];
      const cross = (va & 0xfffn) + BigInt(size) > 0x1000n;
      const next = ((va | 0xfffn) + 1n) & 0xffffffffffffffffn;
      for (const k of kinds) { acc.push([va, k, 0]); if (cross) acc.push([next, k, 0]); }
    });
    if (last !== "") bad.push(lines.length + 1);
    return { accesses: perLine.flat(), bad, accessesBefore: (n) => perLine.slice(0, n - 1).flat() };
  };

  const hexDigits = (n: number, upper: boolean): fc.Arbitrary<string> =>
    fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: n, maxLength: n })
      .map((d) => (upper ? d.join("").toUpperCase() : d.join("")));
  const kindArb = fc.constantFrom("I  ", " L ", " S ", " M ");
  // Addresses of 1 to 16 digits (lackey prints at least 8; other writers
  // fewer), or ones in the last bytes of a page, so that accesses end exactly
  // at, or one byte past, a page boundary.
  const addrArb = fc.oneof(fc.integer({ min: 1, max: 16 }).chain((n) => hexDigits(n, false)),
    fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }), fc.integer({ min: 0xff0, max: 0xfff }))
      .map(([page, off]) => ((page << 12n) | BigInt(off)).toString(16).padStart(8, "0")));
  const sizeArb = fc.oneof(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 4096 }));
  // Well-formed lines, in either case, some with a carriage return.
  const goodArb = fc.tuple(kindArb, addrArb, fc.boolean(), sizeArb, fc.boolean())
    .map(([k, a, upper, size, cr]) => `${k}${upper ? a.toUpperCase() : a},${size}${cr ? "\r" : ""}`);
  // A well-formed line with one thing wrong, in every part of the line.
  const nearArb = fc.tuple(kindArb, addrArb, sizeArb, fc.integer({ min: 0, max: 6 }),
    fc.constantFrom("I ", " X ", "i  ", " l ", "  L ", "L  ", "SB", "=", ""),
    fc.integer({ min: 17, max: 18 }).chain((n) => hexDigits(n, false)),
    fc.constantFrom(";", "", ", ", ",,"),
    fc.constantFrom("0", "4097", "", "12a", "99999999999", "-4", " 8", "8 ", "0x8"),
    fc.constantFrom(" ", "\r\r", "x", "g"))
    .map(([k, a, size, defect, badKind, wideAddr, badComma, badSize, tail]) => {
      const part = [k, a, ",", String(size), ""];
      if (defect === 0) part[0] = badKind;
      else if (defect === 1) part[1] = wideAddr;
      else if (defect === 2) part[1] = "";
      else if (defect === 3) part[2] = badComma;
      else if (defect === 4) part[3] = badSize;
      else if (defect === 5) part[4] = tail;
      else part[1] = a.slice(0, 3) + tail + a.slice(3);                // inside the address
      return part.join("");
    });
  // Anything at all, non-ASCII bytes included (UTF-8 "é" is two bytes).
  const junkArb = fc.array(fc.constantFrom(..."IL SMB=,0123456789abcdefABCDEFxé\t\r"), { maxLength: 30 }).map((c) => c.join(""));
  const otherArb = fc.constantFrom("==77== Lackey, an example Valgrind tool", "==1==", "==12=", "SB 0400ff00", "SB ", "");
  const lineArb = fc.oneof({ weight: 6, arbitrary: goodArb }, { weight: 2, arbitrary: nearArb },
    { weight: 1, arbitrary: junkArb }, { weight: 1, arbitrary: otherArb });
  // Mostly well-formed traces (long runs for the fast path) with a few bad lines.
  // ("max": fast-check would otherwise keep arrays to a few lines, too short for the fast path.)
  const textArb = fc.tuple(fc.array(goodArb, { maxLength: 300, size: "max" }), fc.array(fc.tuple(fc.nat(), lineArb), { maxLength: 6 }),
    fc.boolean())
    .map(([good, inserts, cutOff]) => {
      const lines = [...good];
      for (const [at, l] of inserts) lines.splice(at % (lines.length + 1), 0, l);
      return new TextEncoder().encode(lines.join("\n") + (cutOff && lines.length > 0 ? "" : "\n"));
    });
  const chunkArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 257, max: 5000 }), fc.constant(1 << 20));

  /** Accesses until the end or the first error (which is returned, not thrown). */
  async function readAll(r: TraceReader, cap: number): Promise<{ got: Acc[]; error: Error | null }> {
    const buf = newAccessBuffer(cap);
    const got: Acc[] = [];
    try {
      for (let n; (n = await r.read(buf)) > 0;)
        for (let i = 0; i < n; i++) { const a = accessAt(buf, i); got.push([a.va, a.kind, 0]); }
      return { got, error: null };
    } catch (e) {
      return { got, error: e as Error };
    } finally { await r.close(); }
  }

  it("--lenient: the same accesses, the same malformed lines skipped and named by number (property)", async () => {
    await fc.assert(fc.asyncProperty(textArb, chunkArb, fc.integer({ min: 4, max: 70 }), async (bytes, chunk, cap) => {
      const want = reference(bytes);
      const r = new LackeyReader(memoryByteSource(bytes, "p", chunk), { lenient: true });
      const { got, error } = await readAll(r, cap);
      expect(error).toBeNull();
      expect(got).toEqual(want.accesses);
      expect(r.skipped).toBe(want.bad.length);
      expect(r.skippedExamples.map((x) => x.where)).toEqual(want.bad.slice(0, 5).map((n) => `line ${n}`));
    }), { numRuns: 400 });
  });

  it("strict: the accesses before the first malformed line, then an error naming that line (property)", async () => {
    await fc.assert(fc.asyncProperty(textArb, chunkArb, fc.integer({ min: 4, max: 70 }), async (bytes, chunk, cap) => {
      const want = reference(bytes);
      const { got, error } = await readAll(new LackeyReader(memoryByteSource(bytes, "p", chunk)), cap);
      if (want.bad.length === 0) {
        expect(error).toBeNull();
        expect(got).toEqual(want.accesses);
        return;
      }
      const first = want.bad[0]!;
      expect(error?.message).toMatch(new RegExp(`^p: (truncated at )?line ${first}: `));
      // A read that meets the bad line throws: what came before it in that read is not delivered.
      expect(want.accessesBefore(first).slice(0, got.length)).toEqual(got);
    }), { numRuns: 400 });
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

  it("a cut-off record after 4096 whole ones (one refill of the reader) is still reported, whatever the read size", async () => {
    // One fetch per record; a buffer of 4102 lets the first read end exactly on the 4096th record.
    const bytes = new Uint8Array(4096 * 64 + 10), dv = new DataView(bytes.buffer);
    for (let i = 0; i < 4096; i++) dv.setUint32(64 * i, 0x1000 + i, true);
    for (const cap of [8, 4102, 65536]) {
      const r = new ChampSimReader(memoryByteSource(bytes, "cut", 5000));
      const buf = newAccessBuffer(cap);
      let total = 0;
      const err = await (async () => { for (let n; (n = await r.read(buf)) > 0;) total += n; })().catch((e: unknown) => e);
      expect(total).toBe(4096);
      expect(err).toBeInstanceOf(TraceTruncatedError);
      expect((err as Error).message).toBe("cut: truncated at byte offset 262144: the file ends inside a 64-byte record (10 bytes left over); is this a ChampSim trace?");
    }
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
    await expect(drain(new WmtReader(memoryByteSource(cut, "cut")))).rejects.toThrow(/truncated at byte offset 60: the file ends inside a block header/);
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

  it("a name ending in .br means Brotli (the format has no magic bytes): read by name, the trace format from the rest of the name", async () => {
    expect(formatFromName("a/b.wmt.br")).toBe("wmt");
    expect(formatFromName("gzip.lackey.br")).toBe("lackey");
    expect(detectCompression(Uint8Array.of(0x1b, 0x4e), "t.wmt.br")).toBe("brotli");
    expect(detectCompression(Uint8Array.of(0x1b, 0x4e), "t.wmt")).toBe("none");
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-br-"));
    try {
      const br = (name: string, bytes: Uint8Array): string => {
        const out = join(dir, name);
        writeFileSync(out, brotliCompressSync(bytes));
        return out;
      };
      expect(await drain(await openTrace(br("small.wmt.br", readFileSync(fixture("small.wmt")))))).toEqual(SMALL_WMT);
      expect(await drain(await openTrace(br("small.lackey.br", readFileSync(fixture("small.lackey")))))).toEqual(SMALL_LACKEY);
      expect(await drain(await openTrace(br("small.champsimtrace.br", readFileSync(fixture("small.champsimtrace")))))).toEqual(SMALL_CHAMPSIM);
      // No format in the name: the decompressed content tells.
      expect(await drain(await openTrace(br("trace.br", readFileSync(fixture("small.wmt")))))).toEqual(SMALL_WMT);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it("the bundled traces are Brotli-compressed WMT, found and read by their names", async () => {
    for (const t of [BUNDLED_TRACE, BUNDLED_SORT_TRACE]) {
      expect(t).toMatch(/\.wmt\.br$/);
      const r = await openTrace(bundledTracePath(t));
      expect(r.format).toBe("wmt");
      await (r as WmtReader).readHeader();
      expect((r as WmtReader).note).toMatch(/^valgrind-3\.19\.0 --tool=lackey --trace-mem=yes /);
      const buf = newAccessBuffer(1024);
      expect(await r.read(buf)).toBe(1024);
      await r.close();
    }
  });

  it("a damaged, cut-off or mislabelled .br file is a one-line error naming the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-br-"));
    try {
      // Enough accesses that the compressed stream is several kilobytes.
      const lines = Array.from({ length: 20000 }, (_, i) => ` L ${(0x400000 + i * 8 * ((i % 7) + 1)).toString(16).padStart(8, "0")},8\n`).join("");
      const good = brotliCompressSync(new TextEncoder().encode(lines));
      const flipped = Buffer.from(good);
      for (let i = flipped.length >> 1; i < (flipped.length >> 1) + 8; i++) flipped[i] = flipped[i]! ^ 0xff;
      const cases: [string, Uint8Array, RegExp][] = [
        ["flipped.lackey.br", flipped, /flipped\.lackey\.br: corrupt Brotli data \(not a Brotli stream, or damaged: /],
        ["cut.lackey.br", good.subarray(0, good.length >> 1), /cut\.lackey\.br: truncated at compressed byte \d+: the Brotli stream ends early/],
        ["plain.lackey.br", new TextEncoder().encode(lines), /plain\.lackey\.br: corrupt Brotli data .*rename the file/],
      ];
      for (const [name, bytes, message] of cases) {
        writeFileSync(join(dir, name), bytes);
        const err = await openTrace(join(dir, name)).then((r) => drain(r)).then(() => null, (e: unknown) => e as Error);
        expect(err, name).toBeInstanceOf(Error);
        expect(err!.message).toMatch(message);
        expect(err!.message).not.toContain("\n");
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it("a plain trace read to its end closes its file even if the reader is never closed", async () => {
    // Descriptors of this process open on `path` (Linux: /proc/self/fd).
    const openOn = (path: string): number => readdirSync("/proc/self/fd").filter((fd) => {
      try { return readlinkSync(`/proc/self/fd/${fd}`) === path; } catch { return false; }
    }).length;
    for (const f of ["small.wmt", "small.lackey", "small.champsimtrace"]) {
      const r = await openTrace(fixture(f));
      expect(openOn(fixture(f)), f).toBe(1);
      const buf = newAccessBuffer(64);
      while (await r.read(buf) > 0);
      expect(openOn(fixture(f)), f).toBe(0);
    }
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

// Truncation, property-tested on random valid traces encoded here from
// docs/TRACE-FORMAT.md and ChampSim's input_instr layout (not by our writers):
// a file cut anywhere but at a record boundary is an error naming the place,
// after the whole records before the cut; a cut at a boundary is a shorter
// valid trace; and how the bytes arrive (chunk sizes) changes nothing.
describe("truncated traces (property)", () => {
  interface Outcome { accesses: Acc[]; error: string | null; skipped: number }

  /** Everything a reader yields, and the error that ended it, if any. */
  async function outcome(r: TraceReader, cap: number): Promise<Outcome> {
    const buf = newAccessBuffer(cap);
    const accesses: Acc[] = [];
    let error: string | null = null;
    try {
      for (let n; (n = await r.read(buf)) > 0;)
        for (let i = 0; i < n; i++) { const a = accessAt(buf, i); accesses.push([a.va, a.kind, r.context]); }
    } catch (e) {
      if (!(e instanceof TraceTruncatedError)) throw e;     // only truncation is expected here
      error = e.message;
    }
    await r.close();
    return { accesses, error, skipped: r.skipped };
  }

  type Make = (bytes: Uint8Array, chunk: number, lenient: boolean) => TraceReader;
  type Expect = (cut: number) => { accesses: Acc[]; where: string | null };

  /**
   * For every cut point of `bytes`: strict reading ends with a truncation
   * error naming `where` (or none at a record boundary) after exactly the
   * accesses `expected` gives; the same for input chunks of `chunk` bytes
   * and for the whole input at once; lenient reading (when the format skips
   * a cut-off record) gives the same accesses and counts the cut record.
   */
  async function checkEveryCut(bytes: Uint8Array, make: Make, expected: Expect, chunk: number, cap: number,
    opts: { lenientSkips: boolean; prefixOnly?: boolean }): Promise<void> {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const part = bytes.slice(0, cut);
      const want = expected(cut);
      const whole = await outcome(make(part, Math.max(1, cut), false), cap);
      const chunked = await outcome(make(part, chunk, false), cap);
      expect(chunked).toEqual(whole);
      if (want.where === null) {
        expect(whole.error).toBeNull();
        expect(whole.accesses).toEqual(want.accesses);
        continue;
      }
      expect(whole.error).toContain(`t: truncated at ${want.where}:`);
      if (opts.prefixOnly) expect(want.accesses.slice(0, whole.accesses.length)).toEqual(whole.accesses);
      else expect(whole.accesses).toEqual(want.accesses);
      if (opts.lenientSkips) {
        const lenient = await outcome(make(part, chunk, true), cap);
        expect(lenient).toEqual({ accesses: want.accesses, error: null, skipped: 1 });
      }
    }
  }

  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const addr = fc.oneof(fc.constant(0n), u64);
  const chunkArb = fc.integer({ min: 1, max: 97 });
  const capArb = fc.integer({ min: 8, max: 40 });

  it("lackey: a last line without its newline is a truncation at that line", async () => {
    const valid = fc.oneof(
      fc.tuple(fc.constantFrom("I  ", " L ", " S ", " M "), u64, fc.integer({ min: 1, max: 64 }))
        .map(([k, a, sz]) => `${k}${a.toString(16)},${sz}`),
      fc.constantFrom("==77== Lackey", "SB 0400ff00", "", " L 0400ff00,8\r"));
    const model = (text: string): Acc[] => {
      const out: Acc[] = [];
      for (const line of text.split("\n")) {
        const m = /^(I  | L | S | M )([0-9a-f]+),(\d+)\r?$/.exec(line);
        if (!m) continue;
        const va = BigInt("0x" + m[2]!), size = BigInt(m[3]!), t = m[1]!.trim();
        const next = ((va | 0xfffn) + 1n) & 0xffffffffffffffffn, cross = (va & 0xfffn) + size > 0x1000n;
        for (const k of t === "I" ? [F] : t === "L" ? [R] : t === "S" ? [W] : [R, W]) { out.push([va, k, 0]); if (cross) out.push([next, k, 0]); }
      }
      return out;
    };
    await fc.assert(fc.asyncProperty(fc.array(valid, { minLength: 1, maxLength: 25 }), chunkArb, capArb, async (lines, chunk, cap) => {
      const text = lines.map((l) => l + "\n").join("");
      const bytes = new TextEncoder().encode(text);
      await checkEveryCut(bytes, (b, c, lenient) => new LackeyReader(memoryByteSource(b, "t", c), { lenient }), (cut) => {
        const done = cut === 0 ? 0 : text.lastIndexOf("\n", cut - 1) + 1;   // length of the complete lines
        const lineNo = text.slice(0, done).split("\n").length;  // the line the cut is in
        return { accesses: model(text.slice(0, done)), where: done === cut ? null : `line ${lineNo}` };
      }, chunk, cap, { lenientSkips: true });
    }), { numRuns: 40 });
  });

  it("ChampSim: a file cut inside a 64-byte record is a truncation at that record", async () => {
    const rec = fc.record({
      ip: addr, branch: fc.integer({ min: 0, max: 1 }), taken: fc.integer({ min: 0, max: 1 }),
      regs: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      dst: fc.array(addr, { minLength: 2, maxLength: 2 }), src: fc.array(addr, { minLength: 4, maxLength: 4 }),
    });
    type Rec = typeof rec extends fc.Arbitrary<infer T> ? T : never;
    const encode = (rs: Rec[]): Uint8Array => {
      const b = new Uint8Array(64 * rs.length), dv = new DataView(b.buffer);
      rs.forEach((r, i) => {
        const o = 64 * i;
        dv.setBigUint64(o, r.ip, true); b[o + 8] = r.branch; b[o + 9] = r.taken; b.set(r.regs, o + 10);
        r.dst.forEach((a, j) => dv.setBigUint64(o + 16 + 8 * j, a, true));
        r.src.forEach((a, j) => dv.setBigUint64(o + 32 + 8 * j, a, true));
      });
      return b;
    };
    const model = (rs: Rec[]): Acc[] => rs.flatMap((r) => [
      ...(r.ip ? [[r.ip, F, 0] as Acc] : []),
      ...r.src.filter((a) => a !== 0n).map((a): Acc => [a, R, 0]),
      ...r.dst.filter((a) => a !== 0n).map((a): Acc => [a, W, 0]),
    ]);
    await fc.assert(fc.asyncProperty(fc.array(rec, { minLength: 1, maxLength: 8 }), chunkArb, capArb, async (rs, chunk, cap) => {
      await checkEveryCut(encode(rs), (b, c, lenient) => new ChampSimReader(memoryByteSource(b, "t", c), { lenient }), (cut) => {
        const whole = Math.floor(cut / 64);
        return { accesses: model(rs.slice(0, whole)), where: cut % 64 === 0 ? null : `byte offset ${64 * whole}` };
      }, chunk, cap, { lenientSkips: true });
    }), { numRuns: 40 });
  });

  it("WMT: every cut before the end block's last byte is a truncation at the cut", async () => {
    const block = fc.record({ ctx: fc.constantFrom(0, 1, 7), acc: fc.array(fc.tuple(u64, fc.constantFrom(R, W, F)), { minLength: 1, maxLength: 20 }) });
    const pad = (n: number): number => (n + 7) & ~7;
    const encode = (note: string, blocks: { ctx: number; acc: [bigint, Access][] }[]): Uint8Array => {
      const nb = new TextEncoder().encode(note);
      const parts: Uint8Array[] = [];
      const h = new Uint8Array(pad(16 + nb.length)), hv = new DataView(h.buffer);
      h.set([0x57, 0x4d, 0x54, 0x31]); hv.setUint32(4, h.length, true); hv.setUint32(12, nb.length, true); h.set(nb, 16);
      parts.push(h);
      let total = 0;
      for (const { ctx, acc } of blocks) {
        const n = acc.length, b = new Uint8Array(16 + pad(9 * n)), bv = new DataView(b.buffer);
        bv.setUint32(0, n, true); bv.setUint32(4, ctx, true);
        acc.forEach(([va, k], i) => { bv.setBigUint64(16 + 8 * i, va, true); b[16 + 8 * n + i] = k; });
        parts.push(b);
        total += n;
      }
      const end = new Uint8Array(16);
      new DataView(end.buffer).setBigUint64(8, BigInt(total), true);
      parts.push(end);
      return Uint8Array.from(parts.flatMap((p) => [...p]));
    };
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 12 }), fc.array(block, { maxLength: 5 }), chunkArb, capArb,
      async (note, blocks, chunk, cap) => {
        const bytes = encode(note, blocks);
        const all = blocks.flatMap(({ ctx, acc }) => acc.map(([va, k]): Acc => [va, k, ctx]));
        // Only the complete file has its end block; a reader may stop mid-call, so what it delivered is a prefix.
        await checkEveryCut(bytes, (b, c) => new WmtReader(memoryByteSource(b, "t", c)),
          (cut) => ({ accesses: all, where: cut === bytes.length ? null : `byte offset ${cut}` }),
          chunk, cap, { lenientSkips: false, prefixOnly: true });
      }), { numRuns: 40 });
  });

  it("WMT: non-zero padding after a block or the note is an error at its byte offset", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("small.wmt")));
    // small.wmt: a 56-byte header (note of 37 bytes, 3 padding bytes at 53..55),
    // then a block of 3 accesses: 16 + 27 bytes, padded to 48 (5 bytes at 99..103).
    for (const [at, what] of [[54, "header padding"], [101, "block padding"]] as const) {
      const bad = bytes.slice();
      bad[at] = 0x5a;
      await expect(drain(new WmtReader(memoryByteSource(bad, "p")))).rejects.toThrow(`p: byte offset ${at}: ${what} byte 0x5a is not zero`);
    }
  });
});
