/**
 * The trace, machine and run flags shared by `run` and `info tlb`, and what
 * they become: the options of a trace run (src/run/run-trace.ts).
 */
import { type Command, Option } from "commander";
import type { EngineName } from "../engine/engine.js";
import type { PagingMode } from "../kernel/x86/pgtable.js";
import type { BootStrategy } from "../run/boot-map.js";
import type { RunPageSize } from "../run/machine.js";
import type { RunOptions } from "../run/run-trace.js";
import type { TlbConfig } from "../tlb/config.js";
import type { SourceOptions } from "../trace/source.js";
import { human, parseCountIn, parsePowerOfTwo, parseSizeIn } from "./parse.js";
import { terminalWatch } from "./run-watch.js";
import { addSourceOptions, givenOptions } from "./trace-source.js";

/** The flags addRunOptions adds, as commander hands them over. */
export interface RunFlags extends SourceOptions {
  engine: EngineName;
  mode: PagingMode;
  pageSize: RunPageSize;
  mem: number;
  profile: "hardware" | "qemu";
  pcid: boolean;
  limit?: number;
  /** --progress (true), --no-progress (false), or neither. */
  progress?: boolean;
  thpThreshold: number;
  premap?: boolean;
  tlb: "fast" | "research" | "off";
  tlbEntries?: number;
  psc?: boolean;
  replacement?: "lru" | "plru";
  l2?: string;
  boot?: BootStrategy;
}

/**
 * Guest RAM the machine can be built with: one large page of the direct map
 * (4 MiB on 2-level paging), up to what the sparse backing holds.
 */
const MIN_MEM = 4 << 20, MAX_MEM = 2 ** 45;

/** "SETSxWAYS" → geometry, or null for "none"; the limits are those of src/tlb/config.ts. */
function parseGeometry(v: string, plru: boolean): { sets: number; ways: number } | null {
  if (v === "none") return null;
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new Error(`--l2: expected SETSxWAYS (e.g. 128x8) or "none", got "${v}"`);
  const sets = Number(m[1]), ways = Number(m[2]);
  if (!(sets >= 1 && sets <= 1 << 22 && (sets & (sets - 1)) === 0))
    throw new Error(`--l2: the number of sets must be a power of two from 1 to 4,194,304, got ${m[1]}`);
  if (!(ways >= 1 && ways <= 32)) throw new Error(`--l2: the number of ways must be 1 to 32, got ${m[2]}`);
  if (plru && (ways & (ways - 1)) !== 0) throw new Error(`--l2: --replacement plru needs a power-of-two number of ways, got ${ways}`);
  return { sets, ways };
}

function tlbConfig(o: RunFlags): TlbConfig {
  const cfg: TlbConfig = { mode: o.tlb };
  if (o.tlbEntries !== undefined) {
    if (o.tlb !== "fast") throw new Error("--tlb-entries sets the fast TLB's 4 KiB entries; with --tlb research use --l2");
    cfg.entries4k = o.tlbEntries;
  }
  if (o.psc) cfg.psc = true;
  if (o.replacement) cfg.replacement = o.replacement;
  if (o.l2 !== undefined) {
    if (o.tlb !== "research") throw new Error("--l2 shapes the research TLB's second level: add --tlb research");
    const g = parseGeometry(o.l2, o.replacement === "plru");
    cfg.l2 = g ? { unified: g, "1g": { sets: 4, ways: 4 } } : null;
  }
  return cfg;
}

export function addRunOptions(cmd: Command): Command {
  return addSourceOptions(cmd.argument("[trace]", "trace file; default: the bundled valgrind-lackey trace of gzip"))
    .addOption(new Option("--engine <engine>", "MMU engine").choices(["wasm", "ts"]).default("wasm"))
    .addOption(new Option("--mode <mode>", "x86 paging mode").choices(["2level", "pae", "4level", "5level"]).default("4level"))
    .addOption(new Option("--page-size <size>", "process memory: 4k, 2m (every fault maps 2 MiB), or thp (4 KiB, collapsed to 2 MiB where dense)")
      .choices(["4k", "2m", "thp"]).default("4k"))
    .option("--thp-threshold <pages>", "thp: touched 4 KiB pages (of 512) that make a 2 MiB range dense", parseCountIn(1, 512), 256)
    .option("--premap", "pre-map every page the trace touches before the run (a fixed layout: no demand faults; reads the trace twice)")
    .addOption(new Option("--mem <bytes>", `guest RAM, ${human(MIN_MEM)} to ${human(MAX_MEM)} in 4 KiB steps (e.g. 1G; above 3G sparse backing is used)`)
      .argParser(parseSizeIn(MIN_MEM, MAX_MEM, 4096)).default(1 << 30, "1G"))
    .addOption(new Option("--boot <strategy>", "how the kernel's direct map is built: the boot planner's linux (init_mem_mapping; " +
      "default for 4level/5level) or hpa (top-down) strategy, or plain (one range; default for pae/2level)").choices(["linux", "hpa", "plain"]))
    .addOption(new Option("--profile <profile>", "semantic profile of the core").choices(["hardware", "qemu"]).default("hardware"))
    .option("--no-pcid", "run without PCIDs (CR4.PCIDE clear)")
    .addOption(new Option("--tlb <organisation>", "TLB: fast (large direct-mapped, the default), research (L1 i/d + L2, sets × ways), off (every access walks)")
      .choices(["fast", "research", "off"]).default("fast"))
    .option("--tlb-entries <n>", "fast TLB: 4 KiB entries (a power of two up to 4M; default 16384)", parsePowerOfTwo(1, 1 << 22))
    .option("--l2 <geometry>", "research TLB: unified L2 as SETSxWAYS (default 128x8), or none")
    .option("--psc", "add paging-structure caches (PML5E/PML4E/PDPTE/PDE): a miss starts its walk lower")
    .addOption(new Option("--replacement <policy>", "set-associative replacement").choices(["lru", "plru"]))
    .option("--limit <n>", "stop after the first N accesses (of a trace file or a synthetic workload)", parseCountIn(1))
    .option("--progress", "report progress on stderr even when it is not a terminal (plain lines, about one a second); " +
      "on a terminal a progress bar is drawn anyway")
    .option("--no-progress", "never report progress");
}

/** The run the flags of `cmd` describe, watched from the terminal (progress, Ctrl-C). */
export function runOptions(trace: string | undefined, o: RunFlags, cmd: Command): RunOptions {
  const tlb = tlbConfig(o);
  return {
    trace,
    source: { ...o, given: givenOptions(cmd) },
    machine: { engine: o.engine, mode: o.mode, pageSize: o.pageSize, memBytes: o.mem, profile: o.profile,
      pcid: o.pcid, thpThreshold: o.thpThreshold, tlb, ...(o.boot ? { boot: o.boot } : {}) },
    premap: o.premap,
    limit: o.limit,
    watch: terminalWatch(o.progress),
  };
}
