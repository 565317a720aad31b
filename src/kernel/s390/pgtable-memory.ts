/**
 * Page-table memory of many small processes under each PTE-table allocator
 * profile — the saving that motivated 2 KiB fragments when they came in
 * (Linux 2.6.25, arch/s390/mm/pgtable.c; docs/SEMANTICS.md): a process
 * that maps a little memory in many different megabytes needs one PTE table
 * per megabyte, and with fragments two of them share a page.
 *
 * The workload: `processes` address spaces, each with `mappings` one-page
 * mappings placed `stride` bytes apart (default 1 MiB, so each needs its own
 * PTE table), all touched. Counted after the last process is set up:
 * NR_PAGETABLE (every level, 4 KiB pages) and its PTE-table part.
 */
import { createEngine, type EngineName } from "../../engine/index.js";
import { PgtLevel } from "../types.js";
import { S390Kernel, type PgtableProfile } from "./kernel.js";
import { S390Mm } from "./mm.js";

export interface PgtableMemoryOptions {
  processes: number;
  mappings: number;
  /** Bytes between mappings (default 1 MiB: one PTE table each). */
  stride?: number;
  profile: PgtableProfile;
  /** Processes with PGSTEs (KVM hosts): full-page tables whatever the profile. */
  pgste?: boolean;
  /** 31-bit ESA/390 address spaces (profile "flags"): 1 KiB tables, four to a page, an 8 KiB segment table. */
  esa390?: boolean;
  engine?: EngineName;
}

export interface PgtableMemory {
  profile: PgtableProfile;
  pgste: boolean;
  esa390: boolean;
  processes: number;
  mappings: number;
  /** PTE tables in use (mm nr_ptes summed). */
  pteTables: number;
  /** Pages holding PTE tables. */
  ptePages: number;
  /** All page-table pages (NR_PAGETABLE): PTE tables plus CRST tables. */
  totalPages: number;
  bytesPerProcess: number;
}

export async function measurePgtableMemory(o: PgtableMemoryOptions): Promise<PgtableMemory> {
  const stride = BigInt(o.stride ?? 1 << 20);
  const need = o.processes * (o.mappings + 16) * 4096 * 2 + (64 << 20);
  const engine = await createEngine(o.engine ?? "wasm", { physSize: 2 ** Math.ceil(Math.log2(need)) });
  const k = new S390Kernel({ engine, profile: o.profile, debug: false, esa390: o.esa390 ?? false });
  const mms: S390Mm[] = [];
  for (let p = 0; p < o.processes; p++) {
    const mm = S390Mm.create(k, { pgste: o.pgste ?? false });
    mms.push(mm);
    for (let i = 0; i < o.mappings; i++) {
      const va = 0x1000_0000n + BigInt(i) * stride;
      mm.mapRange(va, 4096, { pa: 0x10_0000, prot: 3 });
    }
  }
  let ptePages = 0;
  for (const d of k.ptdescs.all()) if (d.pgtable && d.level === PgtLevel.Pte) ptePages += d.pages;
  const pteTables = mms.reduce((n, mm) => n + mm.nrPtes, 0);
  return {
    profile: o.profile, pgste: o.pgste ?? false, esa390: o.esa390 ?? false, processes: o.processes, mappings: o.mappings,
    pteTables, ptePages, totalPages: k.nrPagetable, bytesPerProcess: (k.nrPagetable * 4096) / o.processes,
  };
}

/**
 * The allocators compared, in the order they are reported: 2 KiB fragments
 * (S390_FRAGREF), full pages (S390_FULLPAGE), fragments with PGSTEs (a KVM
 * host: full pages whatever the profile) and 31-bit ESA/390 (S390_FLAGS,
 * 1 KiB tables).
 */
const COMPARED = [
  { profile: "fragref", pgste: false, esa390: false },
  { profile: "fullPage", pgste: false, esa390: false },
  { profile: "fragref", pgste: true, esa390: false },
  { profile: "flags", pgste: false, esa390: true },
] as const;

/** The same workload under each allocator of COMPARED. */
export async function comparePgtableMemory(o: { processes: number; mappings: number }): Promise<PgtableMemory[]> {
  const rows: PgtableMemory[] = [];
  for (const c of COMPARED) rows.push(await measurePgtableMemory({ processes: o.processes, mappings: o.mappings, ...c }));
  return rows;
}
