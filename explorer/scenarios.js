// Bundled scenarios the explorer loads instead of building an address space
// by hand. Like space.js, this file imports nothing: `lib` is the wasmmu
// module (the page passes ../index.js, the tests dist/index.js), so the page
// and the tests build exactly the same machines; its one import, space.js,
// is as plain.
import { buildSpace, randomAccesses } from "./space.js";

export const SCENARIOS = ["x86-run", "xen", "s390"];

/** Accesses the "x86 process after a run" scenario makes. */
export const RUN_ACCESSES = 3000;

/**
 * The 4-level x86 process of space.js after a run of a synthetic workload
 * (the trace readers need node:fs, so the page cannot read the bundled trace):
 * RUN_ACCESSES random accesses over its regions, demand faults handled by the
 * kernel side.
 */
export async function x86Run(lib, engineName) {
  const space = await buildSpace(lib, engineName, "4level");
  space.run = randomAccesses(space, RUN_ACCESSES, 1);
  return space;
}

/**
 * A Xen PV guest as the domain builder leaves it: swapper_pg_dir pinned as an
 * L4 table, every page-table page typed by the hypervisor and mapped
 * read-only in the guest's direct map (arch/x86/xen/mmu_pv.c). `annotate`
 * tells the tree what Xen thinks of each table frame.
 */
export async function xenGuest(lib, engineName) {
  const cpu = await lib.createEngine(engineName, { physSize: 16 << 20 });
  const nrPages = 1024;
  const g = lib.buildXenPvGuest(cpu, { nrPages, nrVcpus: 1 });
  const annotate = (tablePa) => {
    const mfn = Math.floor(tablePa / 4096);
    const f = g.xen.frame(mfn);
    const pfn = f.m2p;
    // The guest reaches its own tables only through the direct map: a write
    // there must fault for a table Xen validated.
    const ro = cpu.probe(g.ops.va(pfn), lib.Access.Write).fault !== 0;
    return {
      text: ` — mfn ${mfn}, pfn ${pfn}: Xen type ${lib.PG_TYPE_NAMES[f.type] ?? f.type}${f.pinned ? ", pinned" : ""}, ` +
        `direct-map alias ${ro ? "read-only" : "writable"}`,
      data: { mfn: String(mfn), pfn: String(pfn), xenType: lib.PG_TYPE_NAMES[f.type] ?? String(f.type), pinned: f.pinned ? "1" : "0", ro: ro ? "1" : "0" },
    };
  };
  return {
    cpu, mode: "4level", xen: g, annotate, mm: null,
    regions: [{ start: lib.XEN_PAGE_OFFSET, bytes: nrPages * 4096, what: "direct map of the guest's pseudo-physical memory (kernel)" }],
  };
}

const MiB = 1n << 20n;
/** Where the s390 scenario's host process keeps the guest's memory. */
export const S390_GUEST_BASE = 0x1_0000_0000n;

/**
 * A KVM host on s390: a process with PGSTEs (mm->context.has_pgste) whose
 * 4 MiB mapping is the guest's memory, a gmap of 1 TiB mapping guest
 * addresses 0–4 MiB onto it (arch/s390/mm/gmap.c), and a few guest and host
 * accesses so that PTEs, PGSTE bits and gmap segment links exist.
 */
export async function s390Host(lib, engineName) {
  const s = lib.s390;
  const engine = await lib.createEngine(engineName, { physSize: 32 << 20 });
  const k = new s.S390Kernel({ engine });
  const mm = s.S390Mm.create(k, { pgste: true, skeys: true });
  mm.mmap(S390_GUEST_BASE, 4 << 20, { prot: 3 });
  const g = s.gmapCreate(mm, 1n << 40n);
  const rc = s.gmapMapSegment(g, S390_GUEST_BASE, 0n, 4n * MiB);
  if (rc !== 0) throw new Error(`gmap_map_segment failed (${rc})`);
  const guest = [[0x1234n, lib.Access.Read], [0x2000n, lib.Access.Write], [MiB + 0x3000n, lib.Access.Read]];
  for (const [ga, acc] of guest) s.gmapGuestAccess(g, ga, acc);
  // A host-only write in the third segment: a PTE with no gmap link.
  mm.access(S390_GUEST_BASE + 2n * MiB + 0x5000n, lib.Access.Write);
  // The guest sets a storage key on a page the host never touched: kept in the PGSTE.
  s.setGuestStorageKey(mm, S390_GUEST_BASE + 0x7000n, 0x30);
  return { engine, k, mm, gmap: g, guest };
}

const TT_NAMES = ["segment", "region-third", "region-second", "region-first"];

/**
 * The s390 DAT tables under an ASCE, read from guest memory (big-endian):
 * { kind, pa, entries: [{ index, pa, value, flags, child, pgste }] }, with
 * empty entries left out. Written from the z/Architecture Principles of
 * Operation (ch. 3, "Dynamic Address Translation") and the Linux bit names of
 * arch/s390/include/asm/pgtable.h; it shares no code with the walkers.
 */
export function s390Tables(lib, phys, asce) {
  const D = { I: 0x20n, P: 0x200n, IEP: 0x100n, FC: 0x400n, PTE_I: 0x400n, PTE_P: 0x200n, PTE_IEP: 0x100n };
  const read = (pa) => phys.read64(pa, true);
  const crst = (pa, tt) => {
    const table = { kind: TT_NAMES[tt], pa, entries: [] };
    for (let i = 0; i < 2048; i++) {
      const epa = pa + i * 8;
      const v = read(epa);
      const invalid = (v & D.I) !== 0n;
      if (invalid && (v & ~0xfffn) === 0n) continue;               // _REGION_ENTRY_EMPTY / _SEGMENT_ENTRY_EMPTY
      const ett = Number((v >> 2n) & 3n);
      const e = { index: i, pa: epa, value: v, invalid, protect: (v & D.P) !== 0n, tt: TT_NAMES[ett], large: tt === 0 && (v & D.FC) !== 0n };
      e.flags = [TT_NAMES[ett], invalid ? "I" : "", e.protect ? "P" : "", (v & D.IEP) ? "IEP" : "", e.large ? "FC (1 MiB)" : ""].filter(Boolean).join(" ");
      if (!invalid && !e.large) e.child = tt > 0 ? crst(Number(v & ~0xfffn), tt - 1) : pageTable(Number(v & ~0x7ffn));
      table.entries.push(e);
    }
    return table;
  };
  const pageTable = (pa) => {
    const table = { kind: "page", pa, entries: [] };
    for (let i = 0; i < 256; i++) {
      const epa = pa + i * 8;
      const v = read(epa);
      const pgste = read(epa + lib.Pgste.OFFSET);
      if (v === D.PTE_I && pgste === 0n) continue;                  // pte_none with a clear PGSTE
      const invalid = (v & D.PTE_I) !== 0n;
      const e = { index: i, pa: epa, value: v, invalid, protect: (v & D.PTE_P) !== 0n, pgste, pgsteText: pgsteText(lib, pgste) };
      e.flags = [invalid ? "I" : "", e.protect ? "P" : "", (v & D.PTE_IEP) ? "IEP" : "", invalid ? "" : `frame 0x${(v & ~0xfffn).toString(16)}`].filter(Boolean).join(" ") || "valid";
      table.entries.push(e);
    }
    return table;
  };
  return crst(Number(asce & ~0xfffn), Number((asce >> 2n) & 3n));
}

/** The PGSTE fields by name: ACC key, the guest and host R/C bits, and the software bits. */
export function pgsteText(lib, v) {
  const P = lib.Pgste;
  const b = (n) => (v >> BigInt(n)) & 1n;
  const parts = [];
  const acc = Number((v >> BigInt(P.ACC)) & 0xfn);
  if (acc) parts.push(`ACC=${acc}`);
  for (const n of ["FP", "PCL", "HR", "HC", "GR", "GC", "UC", "IN", "VSIE", "GPS_ZERO", "GPS_NODAT"]) if (b(P[n])) parts.push(n);
  return parts.join(" ") || "(clear)";
}
