/**
 * The machine a trace runs on: an engine (the MMU and guest RAM), the kernel
 * side (page allocator, page tables, pv_ops, TLB shootdowns) and one process
 * per trace context, each with a demand-paged address space. Pages are mapped
 * on first touch by the kernel's fault handler (mm.handleFault: the zero page
 * on a read, a fresh page on a write, copy-on-write from the zero page), page
 * tables live in guest memory and are walked by the core.
 */
import { createEngine, type Engine, type EngineName, type Semantics } from "../engine/index.js";
import { Kernel } from "../kernel/kernel.js";
import { type Mm, SZ_2M, SZ_4K } from "../kernel/mm.js";
import { GEOMETRY, type PagingMode, x86ControlFor } from "../kernel/x86/pgtable.js";

export type RunPageSize = "4k" | "2m";

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
  /** Entries of the engine's batch buffers (default 65536). */
  batchCapacity?: number;
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
  /** How the kernel's direct mapping was built. */
  kernelMapping: string;
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
    const memBytes = opts.memBytes ?? DEFAULT_MEM;
    const backing = memBytes > DENSE_LIMIT ? "sparse" : "dense";
    const name = opts.engine ?? "wasm";
    const engine = await createEngine(name, {
      physSize: memBytes, backing,
      ...(backing === "sparse" ? { poolBytes: 2 * 1024 * 1024 * 1024 } : {}),
      ...(opts.batchCapacity ? { batchCapacity: opts.batchCapacity } : {}),
    });
    const profile = opts.profile ?? "hardware";
    engine.setSemantics({ profile });
    const pcid = (opts.pcid ?? true) && (mode === "4level" || mode === "5level");
    const kernel = new Kernel({ mode, cpu: engine, pcid });
    const g = kernel.geometry;
    // Boot: paging on with swapper_pg_dir, then the kernel's direct mapping of
    // all RAM at PAGE_OFFSET. Until the boot planner (issue 9) drives this, the
    // mapping is built plainly: one range, the largest pmd-level pages.
    const f = engine.setX86({ ...x86ControlFor(mode, { pcid }), cr3: BigInt(kernel.initMm.pgd), cpl: 0 });
    if (f.fault) throw new Error(`cannot enable ${mode} paging (fault ${f.fault}, vector ${f.vector})`);
    const leaf = g.hugeLevels.length > 0 ? (mode === "2level" ? 4 << 20 : SZ_2M) : SZ_4K;
    const directBytes = Math.min(memBytes, Number(g.vmallocStart - g.pageOffset)) - (Math.min(memBytes, Number(g.vmallocStart - g.pageOffset)) % leaf);
    kernel.initMm.mapRange(g.pageOffset, directBytes, { pa: 0, prot: "rw", pageSize: leaf });
    const info: MachineInfo = {
      engine: name, arch: "x86", mode, pageSize: opts.pageSize === "2m" ? (mode === "2level" ? 4 << 20 : SZ_2M) : SZ_4K,
      memBytes, backing, profile, pcid,
      kernelMapping: `direct map of ${directBytes / 2 ** 20} MiB at 0x${g.pageOffset.toString(16)} with ${leaf / 2 ** 20} MiB pages (plain, not the boot planner)`,
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

  get processes(): number { return this.procs.size; }

  /** Page-table pages of all processes (pgds included). */
  processTablePages(): number {
    return this.kernel.nrPagetable - this.baseTables;
  }

  /** Frames handed out since boot that are not page tables: the processes' data pages. */
  dataPages(): number {
    return this.kernel.alloc.allocatedPagesCount - this.baseAllocated - this.processTablePages();
  }
}
