/**
 * The machine a trace runs on: an engine (the MMU and guest RAM), the kernel
 * side (page allocator, page tables, pv_ops, TLB shootdowns) and one process
 * per trace context, each with a demand-paged address space. Pages are mapped
 * on first touch by the kernel's fault handler (mm.handleFault: the zero page
 * on a read, a fresh page on a write, copy-on-write from the zero page), page
 * tables live in guest memory and are walked by the core.
 */
import { createEngine, type Engine, type EngineName, type Semantics } from "../engine/index.js";
import type { TlbConfig } from "../tlb/config.js";
import { Kernel } from "../kernel/x86/kernel.js";
import { type FaultResult, SZ_2M, SZ_4K } from "../kernel/mm.js";
import type { X86Mm as Mm } from "../kernel/x86/mm.js";
import { x86ControlFor } from "../kernel/x86/pgtable.js";
import { GEOMETRY, type PagingMode } from "../kernel/x86/pgtable-types.js";
import { type BootInfo, bootDirectMap, bootInput, type BootStrategy, plannerSupports, prepareBoot } from "./boot-map.js";

/** "4k", "2m" (every fault maps a 2 MiB page, like THP "always"), or "thp":
 *  4 KiB faults, and a 2 MiB-aligned range is collapsed into one 2 MiB page
 *  once `thpThreshold` of its 512 pages have been touched (khugepaged). */
export type RunPageSize = "4k" | "2m" | "thp";

export interface MachineOptions {
  engine?: EngineName;
  /** x86 paging mode of the machine (default "4level"). */
  mode?: PagingMode;
  /** Leaf size of the processes' anonymous memory (default 4 KiB). */
  pageSize?: RunPageSize;
  /** Guest RAM in bytes (default 1 GiB; above 3 GiB sparse backing is used). */
  memBytes?: number;
  /** Semantic profile of the core. */
  profile?: Semantics["profile"];
  /** Use PCIDs for the processes (CR4.PCIDE; 4- and 5-level only; default true). */
  pcid?: boolean;
  /** thp: touched 4 KiB pages of a 2 MiB range that make it dense enough to collapse (default 256). */
  thpThreshold?: number;
  /** TLB organisation (default: the engine's fast direct-mapped TLB). */
  tlb?: TlbConfig;
  /** Entries of the engine's batch buffers (default 65536). */
  batchCapacity?: number;
  /** How the kernel's direct map is built: the boot planner's "linux"
   *  (init_mem_mapping, the default for 4- and 5-level machines) or "hpa"
   *  strategy, or "plain" (one range, the largest pmd-level pages; the default
   *  for PAE and 2-level, which the planner does not build here). */
  boot?: BootStrategy;
}

export const DEFAULT_MEM = 1 << 30;
const DENSE_LIMIT = 3 * 1024 * 1024 * 1024;

/** What the report says about the machine. */
export interface MachineInfo {
  engine: EngineName;
  arch: "x86";
  mode: PagingMode;
  pageSize: number;
  memBytes: number;
  backing: "dense" | "sparse";
  profile: "hardware" | "qemu";
  pcid: boolean;
  /** "4k", "2m" or "thp" (see RunPageSize). */
  pagePolicy: RunPageSize;
  /** thp: the collapse threshold in touched 4 KiB pages per 2 MiB range (0 otherwise). */
  thpThreshold: number;
  /** How the kernel's direct mapping was built. */
  kernelMapping: string;
  /** The boot plan that built it (null: plain). */
  boot: BootInfo | null;
}

export class Machine {
  /** Processes by trace context (ASID/PCID). */
  private readonly procs = new Map<number, Mm>();
  private current: Mm | null = null;
  /** Frames in use by the kernel before any process ran (zero page, swapper tables, direct map). */
  readonly baseAllocated: number;
  readonly baseTables: number;

  private constructor(readonly engine: Engine, readonly kernel: Kernel, readonly info: MachineInfo) {
    this.baseAllocated = kernel.alloc.allocatedPagesCount;
    this.baseTables = kernel.nrPagetable;
  }

  static async create(opts: MachineOptions = {}): Promise<Machine> {
    const mode = opts.mode ?? "4level";
    if (!(mode in GEOMETRY)) throw new RangeError(`unknown paging mode "${mode}" (expected 2level, pae, 4level or 5level)`);
    if (opts.pageSize === "thp" && mode === "2level")
      throw new RangeError("--page-size thp collapses into 2 MiB pages: use PAE, 4level or 5level paging");
    const memBytes = opts.memBytes ?? DEFAULT_MEM;
    let strategy: BootStrategy = opts.boot ?? (plannerSupports(mode) ? "linux" : "plain");
    if (strategy !== "plain" && !plannerSupports(mode))
      throw new RangeError(`--boot ${strategy}: the boot planner builds 4level and 5level machines here; use --boot plain with ${mode}`);
    // A planned boot has a firmware memory map with holes: physical
    // addresses may reach past the RAM size.
    let booted: ReturnType<typeof bootInput> | null = null, why = "";
    if (strategy !== "plain") {
      try {
        booted = bootInput(mode, memBytes);
      } catch (e) {
        if (opts.boot !== undefined) throw e;
        // The default: a machine too small for the planner's kernel image is mapped plainly.
        strategy = "plain";
        why = `; ${memBytes / 2 ** 20} MiB of RAM is too little for the boot planner's kernel image`;
      }
    }
    const physSize = booted ? Math.max(memBytes, booted.physTop) : memBytes;
    const backing = physSize > DENSE_LIMIT ? "sparse" : "dense";
    const name = opts.engine ?? "wasm";
    const engine = await createEngine(name, {
      physSize, backing,
      ...(backing === "sparse" ? { poolBytes: 2 * 1024 * 1024 * 1024 } : {}),
      ...(opts.batchCapacity ? { batchCapacity: opts.batchCapacity } : {}),
      ...(opts.tlb ? { tlb: opts.tlb } : {}),
    });
    const profile = opts.profile ?? "hardware";
    engine.setSemantics({ profile });
    const pcid = (opts.pcid ?? true) && (mode === "4level" || mode === "5level");
    const prep = booted ? prepareBoot(booted.input, engine.phys) : null;
    const kernel = new Kernel({ mode, cpu: engine, pcid, ...(prep ? { allocator: prep.allocator } : {}) });
    const g = kernel.geometry;
    // Boot: paging on with swapper_pg_dir, then the kernel's direct mapping of
    // RAM at PAGE_OFFSET — by the boot planner (boot-map.ts), or plainly.
    const f = engine.setX86({ ...x86ControlFor(mode, { pcid }), cr3: BigInt(kernel.initMm.pgd), cpl: 0 });
    if (f.fault) throw new Error(`cannot enable ${mode} paging (fault ${f.fault}, vector ${f.vector})`);
    let kernelMapping: string, boot: BootInfo | null = null;
    if (prep && strategy !== "plain") {
      boot = bootDirectMap(kernel, prep, strategy).info;
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
      kernelMapping = `direct map of ${mib(boot.mappedBytes)} at 0x${g.pageOffset.toString(16)} by the boot planner ` +
        `(${strategy === "linux" ? "init_mem_mapping" : "hpa top-down"}, ${boot.pageSizes.join("+")} pages): ` +
        `${boot.tablePages} table pages (${boot.brkPages} from brk), highest at 0x${boot.highestTable.toString(16)}`;
    } else {
      const leaf = g.hugeLevels.length > 0 ? (mode === "2level" ? 4 << 20 : SZ_2M) : SZ_4K;
      const span = Math.min(memBytes, Number(g.vmallocStart - g.pageOffset));
      const directBytes = span - (span % leaf);
      kernel.initMm.mapRange(g.pageOffset, directBytes, { pa: 0, prot: "rw", pageSize: leaf });
      kernelMapping = `direct map of ${directBytes / 2 ** 20} MiB at 0x${g.pageOffset.toString(16)} with ${leaf / 2 ** 20} MiB pages (plain${why})`;
    }
    const info: MachineInfo = {
      engine: name, arch: "x86", mode, pageSize: opts.pageSize === "2m" ? (mode === "2level" ? 4 << 20 : SZ_2M) : SZ_4K,
      memBytes, backing, profile, pcid, pagePolicy: opts.pageSize ?? "4k",
      thpThreshold: opts.pageSize === "thp" ? opts.thpThreshold ?? 256 : 0,
      kernelMapping, boot,
    };
    return new Machine(engine, kernel, info);
  }

  /** The process running trace context `ctx`: created (execve-like, one
   *  demand-paged area over the user half) on first use, then switched to. */
  switchTo(ctx: number): Mm {
    let mm = this.procs.get(ctx);
    if (!mm) {
      mm = this.kernel.mmCreate();
      const g = this.kernel.geometry, ps = BigInt(this.info.pageSize);
      // mmap_min_addr (64 KiB) up to TASK_SIZE, aligned to the page size.
      const start = ((0x10000n + ps - 1n) / ps) * ps;
      const end = (g.taskSize / ps) * ps;
      // mmap takes a byte count as a number: a 5-level user half (2^56) is
      // mapped as adjacent areas of at most 2^52 bytes.
      const chunk = 1n << 52n;
      for (let s = start; s < end; s += chunk) {
        const e = s + chunk < end ? s + chunk : end;
        mm.mmap(s, Number(e - s), { prot: "rwx", pageSize: this.info.pageSize });
      }
      this.procs.set(ctx, mm);
    }
    if (this.current !== mm) {
      this.kernel.switchMm(mm);
      this.engine.setCpl(3);
      this.current = mm;
    }
    return mm;
  }

  /** thp: touched pages per 2 MiB range of the current process (key: ctx, range number). */
  private readonly touched = new Map<string, number>();
  /** 2 MiB ranges collapsed into huge pages (thp). */
  thpCollapses = 0;

  /**
   * The kernel's page-fault handler for the current process (handle_mm_fault),
   * plus the thp policy: after a first touch, a range that became dense is
   * collapsed as khugepaged does (collapse_huge_page: the 4 KiB mappings go,
   * one 2 MiB page comes in their place).
   */
  fault(ctx: number, va: bigint, access: 0 | 1 | 2, notPresent: boolean): FaultResult {
    const mm = this.switchTo(ctx);
    const r = mm.handleFault(va, access);
    if (r.ok && notPresent && this.info.pagePolicy === "thp") {
      const huge = BigInt(SZ_2M);
      const start = va & ~(huge - 1n);
      const key = `${ctx}:${start}`;
      const n = (this.touched.get(key) ?? 0) + 1;
      this.touched.set(key, n);
      const vma = mm.vmas.find((v) => v.start <= start && start + huge <= v.end);
      if (n >= this.info.thpThreshold && vma && vma.pageSize === SZ_4K) {
        mm.munmap(start, SZ_2M);
        mm.mmap(start, SZ_2M, { prot: "rwx", pageSize: SZ_2M });
        this.touched.delete(key);
        this.thpCollapses++;
        return mm.handleFault(va, 1);       // the collapsed page holds data: mapped writable, dirty
      }
    }
    return r;
  }

  /** Map every page in `pages` (4 KiB page numbers) writable before the run: a fixed, pre-mapped layout. */
  populate(ctx: number, pages: Iterable<number>): number {
    const mm = this.switchTo(ctx);
    let n = 0;
    for (const p of pages) {
      const r = mm.handleFault(BigInt(p) * 4096n, 1);
      if (r.ok) n++;
    }
    return n;
  }

  /** Zero the engine's statistics (so that set-up work is not counted). */
  resetStats(): void { this.engine.resetStats(); }

  get processes(): number { return this.procs.size; }

  /** The process that ran last (null before any access). */
  get currentMm(): Mm | null { return this.current; }

  /** Page-table pages of all processes (pgds included). */
  processTablePages(): number {
    return this.kernel.nrPagetable - this.baseTables;
  }

  /** Frames handed out since boot that are not page tables: the processes' data pages. */
  dataPages(): number {
    return this.kernel.alloc.allocatedPagesCount - this.baseAllocated - this.processTablePages();
  }
}
