import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E820Error, E820Type, formatE820, parseE820, parseE820Json, parseE820Log, sanitizeE820 } from "../../src/boot/e820.js";
import { Memblock } from "../../src/boot/memblock.js";

const LOG = `
[    0.000000] BIOS-provided physical RAM map:
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved
[    0.000000] BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved
[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable
[    0.000000] BIOS-e820: [mem 0x000000003ffe0000-0x000000003fffffff] ACPI data
[    0.000000] e820: update [mem 0x00000000-0x00000fff] usable ==> reserved
`;

describe("e820 parsing", () => {
  it("reads the kernel's boot-log lines (and ignores everything else, including update/remove edits)", () => {
    const t = parseE820Log(LOG);
    expect(t).toEqual([
      { start: 0, end: 0x9fc00, type: E820Type.Ram },
      { start: 0x9fc00, end: 0xa0000, type: E820Type.Reserved },
      { start: 0xf0000, end: 0x100000, type: E820Type.Reserved },
      { start: 0x100000, end: 0x3ffe0000, type: E820Type.Ram },
      { start: 0x3ffe0000, end: 0x40000000, type: E820Type.Acpi },
    ]);
    expect(parseE820Log(formatE820(t))).toEqual(t);   // round trip through the printed form
  });

  it("a user-defined map (memmap=exactmap) wins over the BIOS lines, as in the kernel", () => {
    const t = parseE820Log(LOG + "user: [mem 0x0000000000100000-0x0000000007ffffff] usable\n");
    expect(t).toEqual([{ start: 0x100000, end: 0x8000000, type: E820Type.Ram }]);
  });

  it("reads JSON with hex strings or numbers and string or numeric types", () => {
    expect(parseE820Json([["0x0", "0xfff", 2], [4096, 0x9efff, "usable"], { start: "0x100000", end: "0x1fffff", type: "ACPI NVS" }]))
      .toEqual([{ start: 0, end: 0x1000, type: 2 }, { start: 0x1000, end: 0x9f000, type: 1 }, { start: 0x100000, end: 0x200000, type: 4 }]);
    expect(parseE820('{"e820": [["0x0", "0xfff", "usable"]]}')).toEqual([{ start: 0, end: 0x1000, type: 1 }]);
  });

  it("bad input is a clear error", () => {
    expect(() => parseE820Log("nothing here")).toThrow(E820Error);
    expect(() => parseE820Log("BIOS-e820: [mem 0x2000-0x1000] usable")).toThrow(/below start/);
    expect(() => parseE820Log("BIOS-e820: [mem 0x0-0x1000] bogus")).toThrow(/unknown e820 type/);
    expect(() => parseE820Json({})).toThrow(E820Error);
    expect(() => parseE820Json([["0x0"]])).toThrow(/expected/);
    expect(() => parseE820Json([["zz", "0x10", 1]])).toThrow(/bad address/);
  });

  it("a line that is an e820 entry but does not parse is an error naming its line number and text", () => {
    const good = "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n";
    expect(() => parseE820Log(good + "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffffzzzz] usable\n")).toThrow(
      'line 2: not an e820 entry of the form `[mem 0xSTART-0xEND] TYPE`: "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffffzzzz] usable"');
    // No dash between start and end.
    expect(() => parseE820Log(good + "[    0.000000] BIOS-e820: [mem 0x0000000000100000 0x000000003ffdffff] usable")).toThrow(
      'line 2: not an e820 entry of the form `[mem 0xSTART-0xEND] TYPE`: "[    0.000000] BIOS-e820: [mem 0x0000000000100000 0x000000003ffdffff] usable"');
    // A BIOS-e820 line is an entry whatever follows the prefix; a hand-written `[mem …]` line too.
    expect(() => parseE820Log(good + "BIOS-e820: 0000000000100000 - 000000003ffe0000 (usable)")).toThrow(/^line 2: not an e820 entry/);
    expect(() => parseE820Log(good + "\n[mem 0x100000-0x3ffdffff]")).toThrow(/^line 3: not an e820 entry .*: "\[mem 0x100000-0x3ffdffff\]"$/);
    expect(() => parseE820Log(good + "user: [mem 0x100000-0x3ffdffff] usabel")).toThrow('line 2: unknown e820 type "usabel": "user: [mem 0x100000-0x3ffdffff] usabel"');
    expect(() => parseE820Log(good + "BIOS-e820: [mem 0x100000-0x30000000000000] usable")).toThrow(/^line 2: bad address "0x30000000000000" \(addresses here must be below 2\^53\)/);
    // Several: the first is named, the others counted.
    expect(() => parseE820Log(good + "BIOS-e820: [mem 0x1-] usable\nx\nBIOS-e820: [mem 0x2] usable\nBIOS-e820: junk")).toThrow(
      /^line 2: .*"BIOS-e820: \[mem 0x1-\] usable" \(and 2 more: lines 4, 5\)$/);
  });

  it("a map of nothing but bad entry lines says so (not \"no usable RAM\")", () => {
    expect(() => parseE820Log("BIOS-e820: [mem 0x0-0x9fbffzzzz] usable\nBIOS-e820: [mem 0x100000 0x3ffdffff] usable\n")).toThrow(
      /^none of its 2 e820 lines parses; line 1: not an e820 entry .*: "BIOS-e820: \[mem 0x0-0x9fbffzzzz\] usable" \(and 1 more: line 2\)$/);
    expect(() => parseE820("BIOS-e820: [mem 0x0-0x9fbff] usable-ish")).toThrow(/^none of its 1 e820 line parses; line 1: unknown e820 type/);
  });

  it("other kernel messages that mention [mem …] are not entries and are ignored", () => {
    const noise = [
      "[    0.000000] e820: update [mem 0x00000000-0x00000fff] usable ==> reserved",
      "[    0.000000] e820: remove [mem 0x000a0000-0x000fffff] usable",
      "[    0.004000] e820: [mem 0x80000000-0xafffffff] available for PCI devices",
      "[    0.003000] found SMP MP-table at [mem 0x000f5ba0-0x000f5baf]",
      "[    0.010000] ACPI: Reserving FACP table memory at [mem 0x7ffe1ae4-0x7ffe1bd7]",
      "[    0.020000] NODE_DATA(0) allocated [mem 0x107ffd5000-0x107fffffff]",
      "[    0.030000] PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]",
      "[    0.040000] pci_bus 0000:00: root bus resource [mem 0x000a0000-0x000bffff window]",
      "[    0.050000] e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]",
      "[    0.060000] Xen: using vcpuop timer interface",
    ].join("\n");
    expect(parseE820Log(`${noise}\n${LOG}`)).toEqual(parseE820Log(LOG));
  });

  it("every recorded boot's printed log (its raw lines) parses to the map the record holds", () => {
    const path = new URL("../fixtures/linux-boot-public.jsonl", import.meta.url).pathname;
    const records = readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; raw: string[]; e820: unknown });
    expect(records).toHaveLength(8);
    for (const r of records) expect(parseE820Log(r.raw.join("\n")), r.id).toEqual(parseE820Json(r.e820));
  });

  it("overlapping and unsorted entries are sorted and merged as e820__update_table does (larger type wins)", () => {
    const t = sanitizeE820([
      { start: 0x200000, end: 0x400000, type: E820Type.Ram },
      { start: 0, end: 0x300000, type: E820Type.Ram },
      { start: 0x280000, end: 0x290000, type: E820Type.Reserved },
      { start: 0x400000, end: 0x500000, type: E820Type.Ram },
      { start: 0x600000, end: 0x600000, type: E820Type.Ram },
    ]);
    expect(t).toEqual([
      { start: 0, end: 0x280000, type: E820Type.Ram },
      { start: 0x280000, end: 0x290000, type: E820Type.Reserved },
      { start: 0x290000, end: 0x500000, type: E820Type.Ram },
    ]);
  });

  it("property: sanitized maps are sorted, disjoint, merged, and give every byte the largest type that covered it", () => {
    const entry = fc.record({ start: fc.integer({ min: 0, max: 63 }), len: fc.integer({ min: 0, max: 20 }), type: fc.constantFrom(1, 2, 3, 4) });
    fc.assert(fc.property(fc.array(entry, { maxLength: 12 }), (es) => {
      const raw = es.map((e) => ({ start: e.start * 4096, end: (e.start + e.len) * 4096, type: e.type }));
      const t = sanitizeE820(raw);
      for (let i = 1; i < t.length; i++) {
        expect(t[i]!.start).toBeGreaterThanOrEqual(t[i - 1]!.end);
        if (t[i]!.start === t[i - 1]!.end) expect(t[i]!.type).not.toBe(t[i - 1]!.type);
      }
      for (let p = 0; p < 90; p++) {
        const want = Math.max(0, ...raw.filter((e) => e.start <= p * 4096 && p * 4096 < e.end).map((e) => e.type));
        const got = t.find((e) => e.start <= p * 4096 && p * 4096 < e.end)?.type ?? 0;
        expect(got).toBe(want);
      }
    }), { numRuns: 300 });
  });
});

describe("memblock", () => {
  const mb = (): Memblock => {
    const m = new Memblock();
    m.addMemory(0x1000, 0x9f000); m.addMemory(0x100000, 0x40000000);
    m.reserve(0, 0x100000); m.reserve(0x1000000, 0x4411000);
    return m;
  };

  it("top-down allocation returns the highest free aligned block and reserves it", () => {
    const m = mb();
    expect(m.findInRange(0x100000, 0x40000000, 0x200000, 0x200000)).toBe(0x3fe00000);
    expect(m.allocRange(4096, 4096, 0x3fc00000, 0x40000000)).toBe(0x3ffff000);
    expect(m.allocRange(4096, 4096, 0x3fc00000, 0x40000000)).toBe(0x3fffe000);
    m.free(0x3fffe000, 0x40000000);
    expect(m.allocRange(4096, 4096, 0x3fc00000, 0x40000000)).toBe(0x3ffff000);
  });

  it("bottom-up allocation returns the lowest free block; reserved ranges are skipped", () => {
    const m = mb();
    m.bottomUp = true;
    expect(m.allocRange(4096, 4096, 0x1000000, 0x8000000)).toBe(0x4411000);
    expect(m.allocRange(4096, 4096, 0, 0x8000000)).toBe(0x100000);   // the first MiB is reserved
    const bare = new Memblock(); bare.addMemory(0, 0x100000); bare.bottomUp = true;
    expect(bare.allocRange(4096, 4096, 0, 0x100000)).toBe(0x1000);   // page 0 is never handed out
  });

  it("fails (0) when nothing fits", () => {
    const m = mb();
    expect(m.findInRange(0x1000000, 0x4411000, 4096, 4096)).toBe(0);
    expect(m.allocRange(0x200000, 0x200000, 0x9e000, 0x100000)).toBe(0);
  });

  it("memblock_is_region_memory needs one region to hold the whole range", () => {
    const m = mb();
    expect(m.isRegionMemory(0x100000, 0x40000000)).toBe(true);
    expect(m.isRegionMemory(0, 0x200000)).toBe(false);
    expect(m.isRegionMemory(0x1000, 0x200000)).toBe(false);
  });

  it("from e820: RAM rounded inward to pages (memblock_trim_memory)", () => {
    const m = Memblock.fromE820([{ start: 0x1000, end: 0x9fc00, type: 1 }, { start: 0x9fc00, end: 0xa0000, type: 2 }, { start: 0x100000, end: 0x3ffe0000, type: 1 }]);
    expect(m.memory.map((r) => [r.base, r.end])).toEqual([[0x1000, 0x9f000], [0x100000, 0x3ffe0000]]);
  });
});
