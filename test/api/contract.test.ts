// The public API's argument contracts (docs/API-CONTRACT.md), held by a
// differential fuzz over both engines: every public engine and PhysMem call,
// with arguments drawn from valid values and from hostile ones (NaN,
// fractions, out-of-range integers, the wrong type, objects). For each call:
//   - both engines do the same thing: the same result, or the same error
//     class and message, and the same bytes of control block, statistics,
//     TLB and guest RAM afterwards;
//   - an error is a documented one (TypeError, RangeError, BusError,
//     S390OpError) with a message of its own, never an internal one such as
//     "Cannot convert … to a BigInt" or "Cannot read properties of undefined";
//   - a refused call changes nothing.
// A second part names, per parameter, values that must be refused, so that
// silent acceptance (a fraction truncated, a byte wrapped) is caught too.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Mem } from "../../src/abi.js";
import { createEngine, type Engine, type S390Methods } from "../../src/engine/index.js";
import { Kernel } from "../../src/kernel/x86/kernel.js";
import * as s390 from "../../src/kernel/s390/index.js";
import { fuzzParams } from "../fuzz.js";
import { A, CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LME, EFER_NXE, P, RW, US } from "../x86/tables.js";

type E = Engine & S390Methods;
const CONFIG = { physSize: 0x10000, batchCapacity: 64, s390TlbEntries: 16, tlb: { entries4k: 64, entriesLarge: 16, entries1g: 4 } };

/** A machine with something to translate: VA 0x1000..0x4fff → PA 0x8000..,
 *  4-level tables at 0x1000..0x4000 (so both A/D updates and TLB fills happen). */
async function machine(name: "wasm" | "ts"): Promise<E> {
  const e = await createEngine(name, CONFIG);
  e.phys.write64(0x1000, 0x2000n | P | RW | US);
  e.phys.write64(0x2000, 0x3000n | P | RW | US);
  e.phys.write64(0x3000, 0x4000n | P | RW | US);
  for (let i = 1; i < 5; i++) e.phys.write64(0x4000 + 8 * i, BigInt(0x7000 + 0x1000 * i) | P | RW | US | (i === 4 ? A : 0n));
  const t = e.setX86({ cr0: CR0_PG | CR0_WP | CR0_PE, cr4: CR4_PAE, efer: EFER_LME | EFER_NXE, cr3: 0x1000n, cpl: 3 });
  if (t.fault) throw new Error("setup faulted");
  for (let i = 0; i < 8; i++) { e.batch.va[i] = BigInt(0x1000 + 0x800 * i); e.batch.kind[i] = i % 3; }
  return e;
}

/** The bytes a call may change: control block, statistics, TLB, batch, RAM. */
function snapshot(e: E): Uint8Array {
  return new Uint8Array(e.buffer, Mem.CTL_BASE, e.layout.totalBytes - Mem.CTL_BASE).slice();
}

const HOSTILE: unknown[] = [
  NaN, Infinity, -Infinity, -1, 1.5, 2.5, -0.5, 2 ** 32, 2 ** 53, 2 ** 64, 256, 4096, 0x10000,
  "1", "", null, undefined, true, {}, [], () => 0,
  -1n, 2n ** 64n, 2n ** 63n, -(2n ** 63n) - 1n, 1n, 0n,
];
const hostile = fc.oneof(fc.constantFrom(...HOSTILE), fc.anything(), fc.double(), fc.bigInt(), fc.integer());
const arg = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostile });

const va = fc.oneof(fc.bigInt({ min: 0n, max: 0x6000n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }));
const access = fc.constantFrom(0, 1, 2);
const pa = fc.integer({ min: 0, max: 0x10000 / 8 - 1 }).map((i) => i * 8);
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const byte = fc.integer({ min: 0, max: 255 });

interface Call { name: string; args: fc.Arbitrary<unknown>[]; run(e: E, a: unknown[]): unknown; prep?(e: E): void }
const c = (name: string, args: fc.Arbitrary<unknown>[], run: (e: E, a: any[]) => unknown, prep?: (e: E) => void): Call =>
  ({ name, args, run, prep });

const CALLS: Call[] = [
  c("translate", [va, access], (e, a) => e.translate(a[0], a[1])),
  c("translatePa", [fc.integer({ min: -0x2000, max: 0x6000 }), access], (e, a) => e.translatePa(a[0], a[1])),
  c("probe", [va, access], (e, a) => e.probe(a[0], a[1])),
  c("translateBatch", [fc.integer({ min: 0, max: 64 })], (e, a) => e.translateBatch(a[0])),
  c("translateRange", [fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 })], (e, a) => e.translateRange(a[0], a[1])),
  c("invlpg", [va], (e, a) => e.invlpg(a[0])),
  c("invpcid", [fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xfff }), va], (e, a) => e.invpcid(a[0], a[1], a[2])),
  c("flushTlb", [fc.boolean()], (e, a) => e.flushTlb(a[0])),
  c("setX86", [fc.record({ cr0: u64, cr4: u64, cpl: fc.integer({ min: 0, max: 3 }), pkru: fc.nat() }, { requiredKeys: [] })], (e, a) => e.setX86(a[0])),
  c("writeCr0", [u64], (e, a) => e.writeCr0(a[0])),
  c("writeCr3", [u64], (e, a) => e.writeCr3(a[0])),
  c("writeCr4", [u64], (e, a) => e.writeCr4(a[0])),
  c("writeEfer", [u64], (e, a) => e.writeEfer(a[0])),
  c("setCpl", [fc.integer({ min: 0, max: 3 })], (e, a) => e.setCpl(a[0])),
  c("setEflags", [u64], (e, a) => e.setEflags(a[0])),
  c("setPkru", [fc.nat()], (e, a) => e.setPkru(a[0])),
  c("setSemantics", [fc.record({ profile: fc.constantFrom("hardware", "qemu"), adOnFault: fc.constantFrom("walk", "none") }, { requiredKeys: [] })],
    (e, a) => e.setSemantics(a[0])),
  c("setArch", [fc.constantFrom("x86", "s390")], (e, a) => e.setArch(a[0])),
  c("translate (s390)", [va, access], (e, a) => e.translate(a[0], a[1]), (e) => e.setArch("s390")),
  c("translateBatch (s390)", [fc.integer({ min: 0, max: 64 })], (e, a) => e.translateBatch(a[0]), (e) => e.setArch("s390")),
  c("setS390", [fc.record({ asce: u64, pswKey: fc.integer({ min: 0, max: 15 }), options: fc.integer({ min: 0, max: 31 }) }, { requiredKeys: [] })],
    (e, a) => e.setS390(a[0])),
  c("iske", [pa], (e, a) => e.iske(a[0])),
  c("sske", [pa, byte, fc.record({ mr: fc.boolean(), mc: fc.boolean() }, { requiredKeys: [] })], (e, a) => e.sske(a[0], a[1], a[2])),
  c("rrbe", [pa], (e, a) => e.rrbe(a[0])),
  c("ipte", [pa, va], (e, a) => e.ipte(a[0], a[1])),
  c("idte", [pa], (e, a) => e.idte(a[0])),
  c("pgsteGet", [pa], (e, a) => e.pgsteGet(a[0])),
  c("pgsteSet", [pa, u64], (e, a) => e.pgsteSet(a[0], a[1])),
  c("setGuestStorageKey", [pa, byte, fc.boolean()], (e, a) => e.setGuestStorageKey(a[0], a[1], a[2])),
  c("phys.read8", [pa], (e, a) => e.phys.read8(a[0])),
  c("phys.read64", [pa, fc.boolean()], (e, a) => e.phys.read64(a[0], a[1])),
  c("phys.write8", [pa, byte], (e, a) => e.phys.write8(a[0], a[1])),
  c("phys.write32", [pa, fc.integer({ min: 0, max: 0xffff_ffff })], (e, a) => e.phys.write32(a[0], a[1])),
  c("phys.write64", [pa, u64], (e, a) => e.phys.write64(a[0], a[1])),
  c("phys.readBytes", [pa, fc.integer({ min: 0, max: 64 })], (e, a) => e.phys.readBytes(a[0], a[1])),
  c("phys.fill", [pa, fc.integer({ min: 0, max: 64 }), byte], (e, a) => e.phys.fill(a[0], a[1], a[2])),
];

type Outcome = { ok: string } | { error: string };
function outcome(e: E, call: Call, args: unknown[]): { out: Outcome; changed: boolean; before: Uint8Array; after: Uint8Array } {
  const before = snapshot(e);
  let out: Outcome;
  try {
    const r = call.run(e, args);
    out = { ok: JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? "undefined" };
  } catch (err) {
    out = { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
  const after = snapshot(e);
  return { out, changed: !Buffer.from(before).equals(Buffer.from(after)), before, after };
}

const DOCUMENTED = /^(TypeError|RangeError|BusError|S390OpError): /;
const INTERNAL = /Cannot (read|convert|mix|set)|is not a function|is not iterable|undefined \(reading|out of bounds|unreachable|Maximum call stack/;

describe("public API contract: both engines, hostile arguments", () => {
  for (const call of CALLS) {
    it(`${call.name}: same outcome in both engines, documented errors, a refused call changes nothing`, async () => {
      const w = await machine("wasm"), t = await machine("ts");
      call.prep?.(w); call.prep?.(t);
      const base = snapshot(w);
      await fc.assert(fc.asyncProperty(fc.tuple(...call.args.map(arg)), async (args) => {
        // Each case starts from the same machine: undo the previous case's effects.
        new Uint8Array(w.buffer, Mem.CTL_BASE, base.length).set(base);
        new Uint8Array(t.buffer, Mem.CTL_BASE, base.length).set(base);
        const a = outcome(w, call, args), b = outcome(t, call, args);
        expect(b.out, `args ${fmt(args)}`).toEqual(a.out);
        expect(Buffer.from(b.after).equals(Buffer.from(a.after)), `memory after ${fmt(args)}`).toBe(true);
        if ("error" in a.out) {
          expect(a.out.error, `args ${fmt(args)}`).toMatch(DOCUMENTED);
          expect(a.out.error, `args ${fmt(args)}`).not.toMatch(INTERNAL);
          expect(a.changed, `${a.out.error} changed memory`).toBe(false);
        }
      }), { ...fuzzParams(), numRuns: 150 });
    });
  }
});

// Values each parameter must refuse, with the name the error must carry.
const REFUSE: [string, (e: E) => unknown, RegExp][] = [
  ["translate access 1.5", (e) => e.translate(0x1000n, 1.5 as never), /translate: access must be/],
  ["translate access 3", (e) => e.translate(0x1000n, 3 as never), /translate: access must be/],
  ["translatePa access 2.5", (e) => e.translatePa(0x1000, 2.5 as never), /translatePa: access must be/],
  ["probe access -1", (e) => e.probe(0x1000n, -1 as never), /probe: access must be/],
  ["translate va as a Number", (e) => e.translate(0x1000 as never, 0), /translate: va must be a BigInt.*got a number \(4096\)/],
  ["translate va 2^64", (e) => e.translate(2n ** 64n, 0), /translate: va must be in \[-2\^63, 2\^64\)/],
  ["invlpg va as a Number", (e) => e.invlpg(0x1000 as never), /invlpg: va must be a BigInt/],
  ["invpcid pcid 4096", (e) => e.invpcid(1, 4096, 0n), /invpcid: pcid must be an integer in \[0, 4095\]/],
  ["invpcid type 1.5", (e) => e.invpcid(1.5 as never, 0, 0n), /invpcid: type must be an integer in \[0, 3\]/],
  ["translateBatch n 1.5", (e) => e.translateBatch(1.5), /translateBatch: n must be an integer in \[0, 64\]/],
  ["translateBatch n 65", (e) => e.translateBatch(65), /translateBatch: n must be an integer in \[0, 64\]/],
  ["setPkru NaN", (e) => e.setPkru(NaN), /setPkru: value must be an integer in \[0, 4294967295\]/],
  ["setPkru 2^32", (e) => e.setPkru(2 ** 32), /setPkru: value must be an integer/],
  ["setCpl 1.5", (e) => e.setCpl(1.5), /setCpl: cpl must be an integer in \[0, 3\]/],
  ["setEflags as a Number", (e) => e.setEflags(2 as never), /setEflags: value must be a BigInt/],
  ["writeCr0 as a Number", (e) => e.writeCr0(0x80000011 as never), /writeCr0: value must be a BigInt/],
  ["writeCr4 negative", (e) => e.writeCr4(-1n), /writeCr4: value must be in \[0, 2\^64\)/],
  ["setX86 an unknown register", (e) => e.setX86({ cr8: 0n } as never), /setX86: unknown register "cr8"/],
  ["setX86 cr3 as a Number", (e) => e.setX86({ cr3: 0x1000 } as never), /setX86: cr3 must be a BigInt/],
  ["setX86 pkru -1", (e) => e.setX86({ pkru: -1 }), /setX86: pkru must be an integer/],
  ["setSemantics a misspelt option", (e) => e.setSemantics({ adOnfault: "none" } as never), /setSemantics: unknown option "adOnfault"/],
  ["flushTlb a number", (e) => e.flushTlb(0 as never), /flushTlb: includeGlobal must be true or false/],
  ["setS390 options 2.5", (e) => e.setS390({ options: 2.5 }), /setS390: options must be an integer in \[0, 31\]/],
  ["setS390 asce as a Number", (e) => e.setS390({ asce: 0x1000 } as never), /setS390: asce must be a BigInt/],
  ["sske key 1.5", (e) => e.sske(0, 1.5), /sske: key must be an integer in \[0, 255\]/],
  ["iske pa 0.5", (e) => e.iske(0.5), /iske: pa must be an integer/],
  ["ipte ptep 8.5", (e) => e.ipte(8.5, 0n), /ipte: ptep must be an integer/],
  ["phys.write8 256", (e) => e.phys.write8(0, 256), /write8: value must be an integer in \[-128, 255\], got 256/],
  ["phys.write8 1.5", (e) => e.phys.write8(0, 1.5), /write8: value must be an integer/],
  ["phys.write32 2^32", (e) => e.phys.write32(0, 2 ** 32), /write32: value must be an integer/],
  ["phys.write64 as a Number", (e) => e.phys.write64(0, 1 as never), /write64: value must be a BigInt/],
  ["phys.read64 pa 8.5", (e) => e.phys.read64(8.5), /physical address must be an integer Number, got 8.5/],
  ["phys.read8 pa as a BigInt", (e) => e.phys.read8(8n as never), /physical address must be an integer Number, got 8n/],
  ["phys.fill byte 256", (e) => e.phys.fill(0, 8, 256), /fill: byte must be an integer in \[0, 255\]/],
];

describe("public API contract: values each parameter refuses", () => {
  it.each(REFUSE)("%s is refused, identically, and changes nothing", async (_what, call, msg) => {
    const errs: string[] = [];
    for (const name of ["wasm", "ts"] as const) {
      const e = await machine(name);
      const before = snapshot(e);
      let err: unknown;
      try { call(e); } catch (x) { err = x; }
      expect(err, `${name}: accepted`).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(msg);
      expect(Buffer.from(snapshot(e)).equals(Buffer.from(before))).toBe(true);
      errs.push(`${(err as Error).name}: ${(err as Error).message}`);
    }
    expect(errs[1]).toBe(errs[0]);
  });
});

function fmt(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === "bigint") return `${a}n`;
    try { return JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(a); } catch { return typeof a; }
  }).join(", ");
}

describe("public API contract: construction options", () => {
  it.each([
    [{ tlbBytes: -1 }, /createEngine: tlbBytes must be an integer in \[0, \d+\], got -1/],
    [{ tlbBytes: NaN }, /createEngine: tlbBytes must be an integer/],
    [{ tlbBytes: 1.5 }, /createEngine: tlbBytes must be an integer/],
    [{ backing: "sprase" }, /createEngine: backing must be "dense" or "sparse", got "sprase"/],
    [{ physSize: "16M" }, /createEngine: physSize must be a Number, got "16M"/],
    [{ physsize: 1 << 20 }, /createEngine: unknown option "physsize"/],
    [{ tlb: { entries: 3 } }, /createEngine: unknown tlb option "entries"/],
  ])("createEngine(%o) is refused by both engines alike", async (opts, msg) => {
    const errs: string[] = [];
    for (const name of ["wasm", "ts"] as const) {
      const err = await createEngine(name, opts as never).then(() => null, (x: Error) => x);
      expect(err, name).toBeInstanceOf(Error);
      expect(err!.message).toMatch(msg);
      errs.push(err!.message);
    }
    expect(errs[1]).toBe(errs[0]);
  });

  it.each([
    [{ mode: "6level" }, /Kernel: mode must be "2level", "pae", "4level" or "5level", got "6level"/],
    [{ mode: "4level", nrCpus: NaN }, /Kernel: nrCpus must be an integer in \[1, 8192\], got NaN/],
    [{ mode: "4level", nrCpus: 0 }, /Kernel: nrCpus must be an integer in \[1, 8192\], got 0/],
    [{ mode: "4level", splitPtlockCpus: 2.5 }, /Kernel: splitPtlockCpus must be an integer/],
    [{ mode: "4level", lockdep: "warn" }, /Kernel: lockdep must be "throw", "record" or "off", got "warn"/],
    [{ mode: "4level", pti: 1 }, /Kernel: pti must be true or false, got 1/],
    [{ mode: "4level", nrcpus: 4 }, /Kernel: unknown option "nrcpus"/],
  ])("new Kernel(%o) is refused with the option named", async (opts, msg) => {
    const e = await createEngine("ts", { physSize: 1 << 22 });
    expect(() => new Kernel({ cpu: e, ...opts } as never)).toThrow(msg);
  });

  it.each([
    [{ profile: "frag" }, /S390Kernel: profile must be "fragref", "refcount", "flags" or "fullPage", got "frag"/],
    [{ nrCpus: -1 }, /S390Kernel: nrCpus must be an integer in \[1, 8192\], got -1/],
    [{ esa390: "yes" }, /S390Kernel: esa390 must be true or false/],
  ])("new S390Kernel(%o) is refused with the option named", async (opts, msg) => {
    const e = await createEngine("ts", { physSize: 1 << 22 });
    expect(() => new s390.S390Kernel({ engine: e, ...opts } as never)).toThrow(msg);
  });
});

describe("public API contract: address spaces", () => {
  it.each([
    ["S390Mm.create with a misspelt option", (k: s390.S390Kernel) => s390.S390Mm.create(k, { pgstes: true } as never), /S390Mm\.create: unknown option "pgstes"/],
    ["S390Mm.create with pgste 1", (k: s390.S390Kernel) => s390.S390Mm.create(k, { pgste: 1 } as never), /S390Mm\.create: pgste must be true or false, got 1/],
    ["s390 mmap of a NaN size", (k: s390.S390Kernel) => s390.S390Mm.create(k, {}).mmap(0x1000n, NaN, { prot: 3 }), /mmap: size must be a positive integer, got NaN/],
    ["s390 mmap with a Number address", (k: s390.S390Kernel) => s390.S390Mm.create(k, {}).mmap(0x1000 as never, 4096, { prot: 3 }), /mmap: va must be a BigInt/],
    ["s390 handleFault of kind 7", (k: s390.S390Kernel) => s390.S390Mm.create(k, {}).handleFault(0x1000n, 7 as never), /handleFault: access must be/],
  ])("%s is refused, on both engines", async (_what, call, msg) => {
    for (const name of ["wasm", "ts"] as const) {
      const k = new s390.S390Kernel({ engine: await createEngine(name, { physSize: 1 << 24 }) });
      expect(() => call(k)).toThrow(msg);
    }
  });
});
