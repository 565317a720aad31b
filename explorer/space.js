// The explorer's example address space, built by the kernel side the way
// Linux builds one (src/kernel/x86/kernel.ts): a vmalloc mapping in the kernel
// half (supervisor, global), then one process with text, data, a large page
// and a demand-paged heap touched twice. `lib` is the wasmmu module (the page
// passes ../index.js, the tests dist/index.js), so this file imports nothing.

export const MODES = ["2level", "pae", "4level", "5level"];
export const PHYS_SIZE = 64 << 20;

/** The regions, for display and for random accesses: [start, bytes, what]. */
export function regions(kernel, mode) {
  const huge = mode === "2level" ? 4 << 20 : 2 << 20;
  return [
    { start: kernel.geometry.vmallocStart, bytes: 4 * 4096, what: "vmalloc (kernel, rw, global)" },
    { start: 0x40_0000n, bytes: 4 * 4096, what: "text (user, r-x)" },
    { start: 0x40_4000n, bytes: 2 * 4096, what: "data (user, rw-)" },
    { start: BigInt(8 * huge), bytes: huge, what: `large page (${huge >> 20} MiB, user, rw-)` },
    { start: 0x1000_0000n, bytes: 8 * 4096, what: "heap (mmap, demand-paged)" },
  ];
}

/** `opts.psc`: give the engine paging-structure caches (createEngine's `tlb: { psc: true }`). */
export async function buildSpace(lib, engineName, mode, opts = {}) {
  if (!MODES.includes(mode)) throw new Error(`paging mode must be one of ${MODES.join(", ")}, got ${mode}`);
  const cpu = await lib.createEngine(engineName, { physSize: PHYS_SIZE, ...(opts.psc ? { tlb: { psc: true } } : {}) });
  const pcid = mode === "4level" || mode === "5level";
  const k = new lib.Kernel({ mode, cpu, pcid });
  cpu.setX86({ ...lib.x86ControlFor(mode, { pcid }), cr3: BigInt(k.initMm.pgd) });
  const huge = mode === "2level" ? 4 << 20 : 2 << 20;
  k.vmap(k.geometry.vmallocStart, 4 * lib.SZ_4K, 0x10_0000, "rw");
  const mm = k.mmCreate();
  mm.mapRange(0x40_0000n, 4 * lib.SZ_4K, { pa: 0x20_0000, prot: "rx" });
  mm.mapRange(0x40_4000n, 2 * lib.SZ_4K, { pa: 0x30_0000, prot: "rw" });
  mm.mapRange(BigInt(8 * huge), huge, { pa: huge, prot: "rw", pageSize: huge });
  mm.mmap(0x1000_0000n, 8 * lib.SZ_4K, { prot: "rw" });
  mm.handleFault(0x1000_0000n, 1);
  mm.handleFault(0x1000_1000n, 0);
  k.switchMm(mm);
  cpu.setCpl(3);
  cpu.resetStats();
  return { cpu, kernel: k, mm, mode, regions: regions(k, mode) };
}

/** A small deterministic generator (xorshift32), so a run can be repeated. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * `n` random accesses inside the regions at the current CPL. A #PF in the heap (first touch, or the first write
 * after a read mapped the zero page) is handled as Linux would
 * (handle_mm_fault) and the access retried; other faults are counted. Returns the counts.
 */
export function randomAccesses(space, n, seed) {
  const step = accessStream(space, seed);
  let faults = 0, demand = 0;
  for (let i = 0; i < n; i++) {
    const a = step();
    if (a.demand) demand++;
    if (a.fault) faults++;
  }
  return { faults, demand };
}

/**
 * The accesses of randomAccesses one at a time (for the TLB animation): each
 * call makes the next access and returns { va, access, hit, demand, fault },
 * `hit` saying whether its first lookup hit the L1 TLB.
 */
export function accessStream(space, seed) {
  const { cpu, mm } = space;
  const next = rng(seed);
  return () => {
    const r = space.regions[Math.floor(next() * space.regions.length)];
    const va = r.start + BigInt(Math.floor(next() * r.bytes));
    // Kinds that suit the region, as a program would use it (a #PF also drops
    // the address's TLB entries, SDM Vol. 3A §4.10.4.1, so faulting kinds
    // everywhere would leave the TLB nearly empty): text is read and executed,
    // the rest read and written.
    const access = r.what.startsWith("text") ? (next() < 0.5 ? 0 : 2) : (next() < 0.7 ? 0 : 1);
    const hits = cpu.stats().l1.hits;
    let t = cpu.translate(va, access);
    const hit = cpu.stats().l1.hits > hits;
    let demand = false;
    if (t.fault !== 0 && t.vector === 14 && r.start === 0x1000_0000n) {
      mm.handleFault(va, access);
      demand = true;
      t = cpu.translate(va, access);
    }
    return { va, access, hit, demand, fault: t.fault !== 0 };
  };
}
