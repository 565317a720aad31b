/**
 * The report of a trace run: one object with stable, documented field names
 * (docs/RUN-REPORT.md), printed as JSON with --json or as a readable table.
 */
import type { TraceReader } from "../trace/reader.js";
import type { TlbReport } from "./tlb-stats.js";
import type { DriveResult } from "./driver.js";
import type { Machine, MachineInfo } from "./machine.js";

export const REPORT_SCHEMA = "wasmmu-run/1";


export interface RunReport {
  schema: typeof REPORT_SCHEMA;
  trace: {
    name: string;
    format: string;
    /** Provenance note of a WMT file ("" otherwise). */
    note: string;
    /** Malformed records skipped (--lenient) and the first few of them. */
    skipped: number;
    skippedExamples: { where: string; detail: string }[];
  };
  machine: MachineInfo & { processes: number };
  accesses: { total: number; read: number; write: number; fetch: number };
  faults: {
    /** #PF handled by the kernel's fault handler. */
    pageFaults: number;
    notPresent: number;
    protection: number;
    /** Accesses the kernel could not satisfy (skipped). */
    unhandled: number;
    unhandledExamples: string[];
  };
  memory: {
    /** Page-table pages of the processes (all levels, pgds included). */
    pageTablePages: number;
    pageTableBytes: number;
    /** Data pages the processes got from the fault handler. */
    dataPages: number;
    /** NR_PAGETABLE of the whole machine (kernel tables included). */
    nrPagetable: number;
    /** 2 MiB ranges collapsed into huge pages (--page-size thp). */
    thpCollapses: number;
    /** Pages mapped before the run (--premap). */
    premapped: number;
  };
  tlb: TlbReport;
  contextSwitches: number;
  time: { seconds: number; accessesPerSecond: number; cpuSeconds: number; accessesPerCpuSecond: number };
  /** True when the run was stopped (Ctrl-C or --limit) before the trace ended. */
  interrupted: boolean;
}

export function buildReport(reader: TraceReader, m: Machine, r: DriveResult, tlb: TlbReport, premapped = 0): RunReport {
  const c = r.counters;
  const tables = m.processTablePages();
  return {
    schema: REPORT_SCHEMA,
    trace: {
      name: reader.name, format: reader.format,
      note: "note" in reader && typeof reader.note === "string" ? reader.note : "",
      skipped: reader.skipped, skippedExamples: [...reader.skippedExamples],
    },
    machine: { ...m.info, processes: m.processes },
    accesses: { total: c.accesses, read: c.reads, write: c.writes, fetch: c.fetches },
    faults: { pageFaults: c.pageFaults, notPresent: c.notPresentFaults, protection: c.protectionFaults,
      unhandled: c.unhandled, unhandledExamples: c.unhandledExamples },
    memory: { pageTablePages: tables, pageTableBytes: tables * 4096, dataPages: m.dataPages(), nrPagetable: m.kernel.nrPagetable,
      thpCollapses: m.thpCollapses, premapped },
    tlb,
    contextSwitches: c.contextSwitches,
    time: { seconds: r.seconds, accessesPerSecond: r.seconds > 0 ? c.accesses / r.seconds : 0,
      cpuSeconds: r.cpuSeconds, accessesPerCpuSecond: r.cpuSeconds > 0 ? c.accesses / r.cpuSeconds : 0 },
    interrupted: r.interrupted,
  };
}

const num = (n: number): string => Math.round(n).toLocaleString("en-US");
/** A percentage with two decimals, or two significant digits when that would read 0.00. */
const pct = (a: number, b: number): string => {
  if (!(b > 0)) return "-";
  const p = (100 * a) / b;
  return `${p > 0 && p < 0.01 ? p.toPrecision(2) : p.toFixed(2)} %`;
};
const bytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M/s` : `${(n / 1e3).toFixed(1)} K/s`);
const plural = (n: number, one: string, many = `${one}s`): string => `${num(n)} ${n === 1 ? one : many}`;

/** The text report is at most this wide: long values continue on the next lines, under the value column. */
export const REPORT_COLUMNS = 100;

/** `text` in lines of at most `width` characters, broken between words (a longer word is cut). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.split(" ")) {
    while (word.length > width) {              // a path or a number longer than the column
      if (line) { lines.push(line); line = ""; }
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (line && line.length + 1 + word.length > width) { lines.push(line); line = ""; }
    line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

/** Two columns, sections separated by a title line; every line fits REPORT_COLUMNS. */
function table(sections: [string, [string, string][]][]): string {
  const w = Math.max(...sections.flatMap(([, rows]) => rows.map(([k]) => k.length)));
  const indent = " ".repeat(2 + w + 2);
  const out: string[] = [];
  for (const [title, rows] of sections) {
    if (rows.length === 0) continue;
    out.push(title);
    for (const [k, v] of rows) {
      const [first, ...rest] = wrap(v, REPORT_COLUMNS - indent.length);
      out.push(`  ${k.padEnd(w)}  ${first}`);
      for (const r of rest) out.push(indent + r);
    }
  }
  return out.join("\n");
}

/** Paging levels, i.e. the entries a complete walk of a 4 KiB page reads. */
const LEVELS: Record<string, number> = { "2level": 2, pae: 3, "4level": 4, "5level": 5 };

/**
 * The report as a table. Figures that look odd without knowing the model
 * carry a short explanation on their line (docs/RUN-REPORT.md has the rest).
 */
export function formatReport(r: RunReport): string {
  const a = r.accesses, f = r.faults, m = r.machine, mem = r.memory;
  const procs = m.processes === 1 ? "the process" : "the processes";
  const kernelTables = mem.nrPagetable - mem.pageTablePages;
  const bootTables = m.boot ? m.boot.tablePages : 0;
  const sections: [string, [string, string][]][] = [
    ["trace", [
      ["file", r.trace.name], ["format", r.trace.format],
      ...(r.trace.note ? [["recorded", r.trace.note.split("\n")[0]!] as [string, string]] : []),
      ...(r.trace.skipped ? [["skipped (malformed)", `${num(r.trace.skipped)} (first: ${r.trace.skippedExamples[0]?.where}: ${r.trace.skippedExamples[0]?.detail})`] as [string, string]] : []),
    ]],
    ["machine", [
      ["engine", m.engine], ["paging", `x86 ${m.mode}, ${m.pagePolicy === "thp" ? "4 KiB pages collapsed to 2 MiB where dense" : `${m.pageSize / 1024} KiB pages`} for the process${m.pcid ? ", PCID" : ""}`],
      ["guest RAM", `${bytes(m.memBytes)} (${m.backing})`], ["profile", m.profile], ["kernel mapping", m.kernelMapping],
      ["processes", String(m.processes)],
    ]],
    ["accesses", [
      ["total", num(a.total)], ["read", `${num(a.read)}  (${pct(a.read, a.total)})`],
      ["write", `${num(a.write)}  (${pct(a.write, a.total)})`], ["fetch", `${num(a.fetch)}  (${pct(a.fetch, a.total)})`],
    ]],
    ["page faults (demand paging)", [
      ["handled", `${num(f.pageFaults)}  (${pct(f.pageFaults, a.total)} of accesses)`],
      ["  not present (first touch)", num(f.notPresent)], ["  protection (write after read)", num(f.protection)],
      ["unhandled (skipped)", f.unhandled ? `${num(f.unhandled)}  e.g. ${f.unhandledExamples[0]}` : "0"],
    ]],
    ["memory", [
      ["page tables", `${plural(mem.pageTablePages, "page")} (${bytes(mem.pageTableBytes)}), all levels, of ${procs}`],
      ["data pages", `${num(mem.dataPages)} (${bytes(mem.dataPages * 4096)}): given to ${procs} by the fault handler`],
      // NR_PAGETABLE counts table pages that went through a ctor, the kernel's too;
      // boot-time tables from brk/memblock never did (src/run/boot-map.ts).
      ["NR_PAGETABLE (machine)", `${num(mem.nrPagetable)} = ${num(mem.pageTablePages)} of ${procs} + ${num(kernelTables)} of the kernel (init_mm)` +
        (bootTables ? `; the ${plural(bootTables, "boot-time table")} from brk/memblock ${bootTables === 1 ? "is" : "are"} not counted` : "")],
      ...(m.pagePolicy === "thp" ? [["2 MiB collapses (thp)", `${num(mem.thpCollapses)} (threshold ${m.thpThreshold} of 512 pages)`] as [string, string]] : []),
      ...(mem.premapped ? [["pre-mapped pages", num(mem.premapped)] as [string, string]] : []),
    ]],
    ["tlb", tlbRows(r)],
    ["time", [
      ["elapsed", `${r.time.seconds.toFixed(3)} s (CPU ${r.time.cpuSeconds.toFixed(3)} s)`],
      ["throughput", `${rate(r.time.accessesPerSecond)} (parse + translate + faults + statistics; ${rate(r.time.accessesPerCpuSecond)} per CPU second)`],
      ...(r.interrupted ? [["status", "INTERRUPTED: statistics so far"] as [string, string]] : []),
    ]],
  ];
  return table(sections);
}

const geom = (s: { name: string; sets: number; ways: number }): string =>
  `${s.name} ${s.sets * s.ways}${s.ways === 1 ? " direct" : ` (${s.sets}×${s.ways})`}`;

/** The walk histogram in words: "456 read 4 entries, 4 read 3, 1 read 1" (longest first; bucket 7 is "7 or more"). */
function walkLengths(refs: readonly number[]): string {
  const parts: string[] = [];
  for (let i = refs.length - 1; i >= 0; i--) {
    const n = refs[i]!;
    if (n === 0) continue;
    const len = `${i}${i === 7 ? " or more" : ""}`;
    parts.push(parts.length === 0 ? `${num(n)} read ${len} ${i === 1 ? "entry" : "entries"}` : `${num(n)} read ${len}`);
  }
  return parts.join(", ");
}

/** The TLB section of the table. */
function tlbRows(r: RunReport): [string, string][] {
  const t = r.tlb;
  const lvl = (name: string, l: TlbReport["l1"]): [string, string][] => l.accesses === 0 ? [] : [
    [`${name} hits / misses`, `${num(l.hits)} / ${num(l.misses)}  (${pct(l.hits, l.accesses)} hits)`],
    [`  read / write / fetch misses`, `${num(l.read.misses)} / ${num(l.write.misses)} / ${num(l.fetch.misses)}`],
  ];
  // An access that faults is looked up again once the fault is handled (and
  // one that stays unhandled once more), so lookups exceed accesses.
  const retries = t.l1.accesses - r.accesses.total, afterFault = Math.min(retries, r.faults.pageFaults);
  const lookups: [string, string][] = t.l1.accesses === 0 ? [] : [["L1 lookups", `${num(t.l1.accesses)} = ${num(r.accesses.total)} accesses` +
    (afterFault ? ` + ${num(afterFault)} retried after a page fault` : "") + (retries > afterFault ? ` + ${num(retries - afterFault)} other retries` : "")]];
  const levels = LEVELS[r.machine.mode] ?? 4;
  const rows: [string, string][] = [
    ["organisation", `${t.organisation}: ${t.structures.map(geom).join(", ") || "nothing cached"}`],
    ...lookups, ...lvl("L1", t.l1), ...lvl("L2", t.l2),
    ["page walks", `${num(t.walks)}  (${t.refsPerWalk.toFixed(2)} memory references per walk)`],
    ["walks by length", t.walks === 0 ? "-" : walkLengths(t.walkRefs) +
      `  (a complete ${r.machine.mode} walk reads ${levels}; fewer: it stopped at a not-present entry or a large page` +
      `${t.pagingStructureCaches.length ? ", or began at a paging-structure cache" : ""})`],
  ];
  if (t.pagingStructureCaches.length > 0) {
    const p = t.psc;
    rows.push(["paging-structure caches", `PML5E ${num(p.pml5.hits)}, PML4E ${num(p.pml4.hits)}, PDPTE ${num(p.pdpt.hits)}, PDE ${num(p.pd.hits)} hits`]);
  }
  rows.push(
    ["A / D bits written", `${num(t.aWrites)} / ${num(t.dWrites)}  (set by the walker; PTEs made by the fault handler have A, ` +
      "and D for a write, already)"],
    ["flushes", `CR3 ${num(t.flushes.cr3)}, INVLPG ${num(t.flushes.invlpg)}, INVPCID ${num(t.flushes.invpcid)}, full ${num(t.flushes.full)}`],
    ["evictions / invalidated", `${num(t.evictions)} / ${num(t.invalidated)}`],
  );
  return rows;
}
