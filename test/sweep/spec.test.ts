// The sweep model (src/sweep/spec.ts): grids and lists of configurations,
// their normalisation, the cells' ids, and errors that name the axis and the value.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type SweepFlags, sweepSpec } from "../../src/cli/commands/sweep.js";
import { type CellConfig, describeConfig, expandCells, normaliseConfig, parseConfigArg, parseGridArg, parseSpecFile, parseTrace,
  type SweepSpec, tlbConfigOf, traceLabel } from "../../src/sweep/spec.js";

const spec = (grid: SweepSpec["grid"], configs: CellConfig[] = [], traces = ["a.wmt", "synthetic:zipf:count=1000"]): SweepSpec =>
  ({ traces: traces.map((t) => parseTrace("test", t)), grid, configs, fixed: { mem: 1 << 30 } });

describe("sweep grid", () => {
  it("is the cartesian product of the axes' values, for every trace", () => {
    const cells = expandCells(spec({ "tlb-entries": ["64", "256", "1024"], psc: ["off", "on"], mode: ["4level", "5level"] }));
    expect(cells).toHaveLength(2 * 3 * 2 * 2);
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
    // Sorted by trace, then axis by axis, numbers as numbers.
    expect(cells.slice(0, 6).map((c) => [c.config.mode, c.config["tlb-entries"], c.config.psc])).toEqual([
      ["4level", "64", "off"], ["4level", "64", "on"], ["4level", "256", "off"], ["4level", "256", "on"], ["4level", "1024", "off"], ["4level", "1024", "on"]]);
    expect(cells[0]!.traceLabel).toBe("a.wmt");
    expect(cells[12]!.traceLabel).toBe("synthetic:zipf:count=1000");
  });

  it("gives a cell the same id whatever the order of the axes, values and traces", () => {
    const a = expandCells(spec({ "tlb-entries": ["64", "256"], psc: ["off", "on"] }));
    const b = expandCells(spec({ psc: ["on", "off"], "tlb-entries": ["256", "64"] }, [], ["synthetic:zipf:count=1000", "a.wmt"]));
    expect(new Set(b.map((c) => c.id))).toEqual(new Set(a.map((c) => c.id)));
    // Defaults spelt out or left out: the same cell.
    const c = expandCells(spec({ "tlb-entries": ["64", "256"], psc: ["off", "on"], engine: ["wasm"], tlb: ["fast"] }));
    expect(new Set(c.map((x) => x.id))).toEqual(new Set(a.map((x) => x.id)));
    // A different limit is a different cell.
    const d = expandCells({ ...spec({ "tlb-entries": ["64", "256"], psc: ["off", "on"] }), fixed: { mem: 1 << 30, limit: 5 } });
    expect(d.some((x) => a.some((y) => y.id === x.id))).toBe(false);
  });

  it("runs a trace listed twice once", () => {
    const cells = expandCells(spec({ "tlb-entries": ["64", "256"] }, [], ["a.wmt", "synthetic:zipf:count=1000", "./a.wmt", "synthetic:zipf:count=1000"]));
    expect(cells.map((c) => c.traceLabel)).toEqual(["a.wmt", "a.wmt", "synthetic:zipf:count=1000", "synthetic:zipf:count=1000"]);
  });

  it("drops axes a TLB organisation does not have, and runs identical cells once", () => {
    expect(normaliseConfig({ tlb: "research", "tlb-entries": "64" })).toEqual(
      { engine: "wasm", mode: "4level", "page-size": "4k", tlb: "research", l2: "128x8", psc: "off", replacement: "lru" });
    expect(normaliseConfig({ tlb: "off", psc: "on", replacement: "plru" })).toEqual({ engine: "wasm", mode: "4level", "page-size": "4k", tlb: "off" });
    const cells = expandCells(spec({ tlb: ["fast", "off"], "tlb-entries": ["64", "256"] }, [], ["a.wmt"]));
    expect(cells.map((c) => [c.config.tlb, c.config["tlb-entries"]])).toEqual([["fast", "64"], ["fast", "256"], ["off", undefined]]);
  });

  it("adds explicit configurations to the grid's", () => {
    const cells = expandCells(spec({ "tlb-entries": ["64"] }, [parseConfigArg("tlb=research,l2=none"), parseConfigArg("tlb=research,l2=64x8,replacement=plru")], ["a.wmt"]));
    expect(cells.map((c) => [c.config.tlb, c.config.l2 ?? c.config["tlb-entries"], c.config.replacement])).toEqual([
      ["fast", "64", undefined], ["research", "64x8", "plru"], ["research", "none", "lru"]]);
    expect(tlbConfigOf(cells[1]!.config)).toEqual({ mode: "research", l2: { unified: { sets: 64, ways: 8 }, "1g": { sets: 4, ways: 4 } }, replacement: "plru", psc: undefined });
  });

  it("sizes paging-structure caches per level", () => {
    expect(parseGridArg("psc=off,pd:16x4+pdpt:4x4")).toEqual(["psc", ["off", "pdpt:4x4+pd:16x4"]]);
    expect(tlbConfigOf(normaliseConfig({ psc: "pd:16x4" })).psc).toEqual({ pd: { sets: 16, ways: 4 } });
  });
});

describe("sweep errors name the axis and the value", () => {
  it.each([
    ["tlb-entries=64,100", /--grid: axis tlb-entries: bad value "100": expected a power of two from 1 to 4M/],
    ["mode=4level,6level", /--grid: axis mode: bad value "6level": expected one of 2level, pae, 4level, 5level/],
    ["l2=128x8,12x8", /--grid: axis l2: bad value "12x8": the number of sets must be a power of two/],
    ["psc=on,pte:1x1", /--grid: axis psc: bad value "pte:1x1": expected off, on, or LEVEL:SETSxWAYS/],
    ["tlb-size=64", /--grid: unknown axis "tlb-size" \(axes: engine, mode, page-size, tlb, tlb-entries, l2, replacement, psc\)/],
    ["tlb-entries", /--grid: expected AXIS=VALUE\[,VALUE…\]/],
  ])("--grid %s", (arg, msg) => {
    expect(() => parseGridArg(arg)).toThrow(msg);
  });

  it("an axis that applies to no configuration", () => {
    expect(() => expandCells(spec({ tlb: ["research"], "tlb-entries": ["64"] }))).toThrow(/axis tlb-entries applies to no configuration.*add tlb=fast/);
  });

  it("plru with ways that are not a power of two", () => {
    expect(() => expandCells(spec({ tlb: ["research"], l2: ["64x6"], replacement: ["plru"] })))
      .toThrow(/configuration tlb=research l2=64x6 replacement=plru: replacement plru needs a power-of-two number of ways, got 6/);
  });

  it("a sweep file names the file and the field", () => {
    expect(() => parseSpecFile("s.json", "{")).toThrow(/^s\.json: not valid JSON/);
    expect(() => parseSpecFile("s.json", '{"grid": {"psc": ["off", "maybe"]}}')).toThrow(/^s\.json: grid: axis psc: bad value "maybe"/);
    expect(() => parseSpecFile("s.json", '{"configs": [{"tlb": "research", "l2": "1x0"}]}')).toThrow(/^s\.json: configs\[0\]: axis l2: bad value "1x0"/);
    expect(() => parseSpecFile("s.json", '{"grids": {}}')).toThrow(/^s\.json: unknown field "grids"/);
    expect(() => parseSpecFile("s.json", '{"traces": ["synthetic:zipf:cnt=5"]}')).toThrow(/^s\.json: traces\[0\]: trace "synthetic:zipf:cnt=5": "cnt=5" is not KEY=VALUE/);
  });

  it("a YAML sweep file (*.yaml, *.yml) is the same sweep as its JSON", () => {
    const json = { traces: ["t.lackey"], grid: { "tlb-entries": [64, 256], psc: ["off", "on"] }, configs: [{ tlb: "research", l2: "64x8" }], limit: 1000 };
    const yaml = ["traces:", "  - t.lackey", "grid:", "  tlb-entries: [64, 256]", "  psc: [\"off\", \"on\"]",
      "configs:", "  - { tlb: research, l2: 64x8 }", "limit: 1000", ""].join("\n");
    expect(parseSpecFile("s.yaml", yaml)).toEqual(parseSpecFile("s.json", JSON.stringify(json)));
    expect(parseSpecFile("s.yml", yaml)).toEqual(parseSpecFile("s.json", JSON.stringify(json)));
    expect(() => parseSpecFile("s.yaml", "grid: [unclosed")).toThrow(/^s\.yaml: not valid YAML/);
    expect(() => parseSpecFile("s.yaml", "- a\n- b\n")).toThrow(/^s\.yaml: expected a YAML mapping/);
    expect(() => parseSpecFile("s.yaml", "grid:\n  psc: [off, maybe]\n")).toThrow(/^s\.yaml: grid: axis psc: bad value "maybe"/);
  });

  it("a sweep file's grid, list, traces and fixed options", () => {
    const f = parseSpecFile("s.json", JSON.stringify({ traces: ["t.lackey", "synthetic:uniform:count=10k,pages=64"],
      grid: { "tlb-entries": [64, 256], psc: ["off", "on"] }, configs: [{ tlb: "off" }], limit: "1M", mem: "256M", lenient: true }));
    expect(f).toEqual({ traces: [{ file: "t.lackey" }, { synthetic: "uniform", params: { count: 10_000, pages: 64 } }],
      grid: { "tlb-entries": ["64", "256"], psc: ["off", "on"] }, configs: [{ tlb: "off" }], limit: 1_000_000, mem: 256 << 20, lenient: true });
    expect(() => parseSpecFile("s.json", '{"lenient": "yes"}')).toThrow('s.json: lenient: expected true or false, got "yes"');
  });
});

describe("sweep command line", () => {
  const flags = (o: Partial<SweepFlags> = {}): SweepFlags => ({ grid: [], config: [], out: "sweep-out", ...o });

  it("with nothing given: the two bundled traces × 16 configurations", () => {
    const s = sweepSpec([], flags());
    expect(s.traces.map(traceLabel)).toEqual(["gzip-gpl3.wmt.br", "sort-nums.wmt.br"]);
    for (const t of s.traces) expect(existsSync((t as { file: string }).file)).toBe(true);
    const cells = expandCells(s);
    expect(cells).toHaveLength(32);
    expect(new Set(cells.map((c) => describeConfig(c.config))).size).toBe(16);
    expect(new Set(cells.map((c) => c.config["tlb-entries"]))).toEqual(new Set(["64", "256", "1024", "4096"]));
  });

  it("--engine sets every cell's engine, the listed configurations' too", () => {
    const only = expandCells(sweepSpec(["t.wmt"], flags({ engine: "ts", config: ["tlb=off", "tlb=fast,tlb-entries=64"] })));
    expect(only.map((c) => [c.config.engine, c.config.tlb])).toEqual([["ts", "fast"], ["ts", "off"]]);
    const grid = expandCells(sweepSpec(["t.wmt"], flags({ engine: "ts", grid: ["tlb-entries=64,128"], config: ["tlb=off"] })));
    expect(grid.map((c) => [c.config.engine, c.config.tlb, c.config["tlb-entries"]])).toEqual(
      [["ts", "fast", "64"], ["ts", "fast", "128"], ["ts", "off", undefined]]);
  });

  it("an axis given twice on the command line", () => {
    expect(() => sweepSpec([], flags({ grid: ["psc=on", "psc=off"] }))).toThrow("--grid: axis psc is given twice");
  });
});
