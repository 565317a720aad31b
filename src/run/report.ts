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
const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(2)} %` : "-");
const bytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M/s` : `${(n / 1e3).toFixed(1)} K/s`);

/** Two columns, sections separated by a title line. */
function table(sections: [string, [string, string][]][]): string {
  const w = Math.max(...sections.flatMap(([, rows]) => rows.map(([k]) => k.length)));
  const out: string[] = [];
  for (const [title, rows] of sections) {
    if (rows.length === 0) continue;
    out.push(title);
    for (const [k, v] of rows) out.push(`  ${k.padEnd(w)}  ${v}`);
  }
  return out.join("\n");
}

export function formatReport(r: RunReport): string {
  const a = r.accesses, f = r.faults, m = r.machine;
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
      ["page tables", `${num(r.memory.pageTablePages)} pages (${bytes(r.memory.pageTableBytes)})`],
      ["data pages", `${num(r.memory.dataPages)} (${bytes(r.memory.dataPages * 4096)})`],
      ["NR_PAGETABLE (machine)", num(r.memory.nrPagetable)],
      ...(m.pagePolicy === "thp" ? [["2 MiB collapses (thp)", `${num(r.memory.thpCollapses)} (threshold ${m.thpThreshold} of 512 pages)`] as [string, string]] : []),
      ...(r.memory.premapped ? [["pre-mapped pages", num(r.memory.premapped)] as [string, string]] : []),
    ]],
    ["tlb", tlbRows(r.tlb)],
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

/** The TLB section of the table. */
function tlbRows(t: TlbReport): [string, string][] {
  const lvl = (name: string, l: TlbReport["l1"]): [string, string][] => l.accesses === 0 ? [] : [
    [`${name} hits / misses`, `${num(l.hits)} / ${num(l.misses)}  (${pct(l.hits, l.accesses)} hits)`],
    [`  read / write / fetch misses`, `${num(l.read.misses)} / ${num(l.write.misses)} / ${num(l.fetch.misses)}`],
  ];
  const rows: [string, string][] = [
    ["organisation", `${t.organisation}: ${t.structures.map(geom).join(", ") || "nothing cached"}`],
    ...lvl("L1", t.l1), ...lvl("L2", t.l2),
    ["page walks", `${num(t.walks)}  (${t.refsPerWalk.toFixed(2)} memory references per walk)`],
    ["walk references", t.walkRefs.map((n, i) => (n ? `${i}${i === 7 ? "+" : ""}: ${num(n)}` : "")).filter(Boolean).join(", ") || "-"],
  ];
  if (t.pagingStructureCaches.length > 0) {
    const p = t.psc;
    rows.push(["paging-structure caches", `PML5E ${num(p.pml5.hits)}, PML4E ${num(p.pml4.hits)}, PDPTE ${num(p.pdpt.hits)}, PDE ${num(p.pd.hits)} hits`]);
  }
  rows.push(
    ["A / D bits written", `${num(t.aWrites)} / ${num(t.dWrites)}`],
    ["flushes", `CR3 ${num(t.flushes.cr3)}, INVLPG ${num(t.flushes.invlpg)}, INVPCID ${num(t.flushes.invpcid)}, full ${num(t.flushes.full)}`],
    ["evictions / invalidated", `${num(t.evictions)} / ${num(t.invalidated)}`],
  );
  return rows;
}
