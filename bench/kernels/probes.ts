// Benchmark kernels (AssemblyScript, bench/kernels/ → build/bench.wasm; excluded from tsc). Not part of the
// product: minimal wasm loops that give the benchmark its reference points.
// One module, instantiated over whichever memory it measures: wasmmu's (the
// limit probe) or v86's (the v86 peer loops, calling v86's own exports).

/** v86's INVLPG (instr32_0F01_7_mem) and supervisor-read translate
 *  (translate_address_system_read_js); stubs when the module runs over
 *  wasmmu's memory. */
// @ts-ignore: decorator
@external("v86", "invlpg") declare function v86Invlpg(va: i32): void;
// @ts-ignore: decorator
@external("v86", "translate") declare function v86Translate(va: i32): i32;

/**
 * The limit probe: per element read 8 bytes and write 8 bytes — what any
 * batch translation must at least do (its VA in, its PA out). Translations
 * per second can be read as a fraction of this.
 */
export function limit(src: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const o = <usize>i << 3;
    store<u64>(dst + o, load<u64>(src + o) ^ 0x5);
  }
}

/**
 * v86's TLB hit test as its JIT inlines it (cpu.rs translate_address /
 * jit gen_safe_read): one i32 entry per 4 KiB page at tlbData + (va >> 12)
 * × 4, holding (phys page + mem8) XOR (va page) | flags; VALID = 1,
 * READONLY = 2, NO_USER = 4. Supervisor read: the entry must be VALID.
 * Output the physical address (host address − mem8). Returns the misses.
 */
export function v86InlineProbe(tlbData: usize, mem8: u32, src: usize, dst: usize, n: u32): u32 {
  let misses: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const va = load<u32>(src + (<usize>i << 2));
    const entry = load<i32>(tlbData + (<usize>(va >> 12) << 2));
    if ((entry & 1) == 1) {
      store<u32>(dst + (<usize>i << 2), ((<u32>entry & ~0xfff) ^ va) - mem8);
    } else misses++;
  }
  return misses;
}

/** Forced walks in v86: INVLPG then translate (miss + 2-level walk + fill). */
export function v86ForcedWalks(src: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const va = load<i32>(src + (<usize>i << 2));
    v86Invlpg(va);
    store<i32>(dst + (<usize>i << 2), v86Translate(va));
  }
}

/** v86's exported translate called from a wasm loop (hits and misses as they come). */
export function v86Translates(src: usize, dst: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const va = load<i32>(src + (<usize>i << 2));
    store<i32>(dst + (<usize>i << 2), v86Translate(va));
  }
}

/** The core's miss path (engine.embedding().translatePa); a stub over v86's memory. */
// @ts-ignore: decorator
@external("wasmmu", "translatePa") declare function mmuTranslatePa(va: f64, access: u32): f64;

/**
 * An emulator's own wasm loop over wasmmu's memory, as examples/emulator/emulator.ts
 * replays a trace: the 4 KiB hit test of docs/TLB-ABI.md inlined, the core's
 * translatePa imported for misses (a wasm-to-wasm call). Reads u64 VAs at
 * `src`, writes PAs (all ones on a fault) to `dst`; `mask` is the access mask
 * of a read at the current CPL. Returns the misses.
 */
export function inlineReplay(src: usize, dst: usize, n: u32, mask: u64): u32 {
  const ctl: usize = 0x10000;                       // EMBED.mem.CTL_BASE
  const tlb = <usize>load<u32>(ctl + 40);           // ctl.TLB_BASE
  const sd = tlb + 16;                              // tlbHdr.STRUCTS: structure 0, the 4 KiB array
  const ents = tlb + <usize>load<u32>(sd);          // tlbStruct.ENTRIES
  const setMask = (<usize>1 << load<u32>(sd, 4)) - 1;   // tlbStruct.SETS_LOG2
  const pcid: u64 = (load<u64>(ctl + 144) >> 17) & 1 ? load<u64>(ctl + 136) & 0xfff : 0;   // CR4.PCIDE, CR3
  const h = <usize>(<u32>pcid * 0x045d9f3b);        // tlbEnt.PCID_HASH
  let misses: u32 = 0;
  let i: u32 = 0;
  while (i < n) {
    // Hits in a loop with no call in it (an untaken call still costs the
    // loop registers), the miss after it.
    for (; i < n; i++) {
      const va = load<u64>(src + (<usize>i << 3));
      const e = ents + ((((<usize>(va >> 12)) ^ h) & setMask) << 5);
      const data = load<u64>(e, 8);
      if (((load<u64>(e) ^ ((va & ~<u64>0xfff) | pcid)) | (data & mask)) != 0) break;
      store<u64>(dst + (<usize>i << 3), va ^ (data & ~<u64>0xfff));
    }
    if (i >= n) break;
    misses++;
    const r = mmuTranslatePa(<f64><i64>load<u64>(src + (<usize>i << 3)), 0);
    store<u64>(dst + (<usize>i << 3), r < 0 ? <u64>-1 : <u64>r);
    i++;
  }
  return misses;
}

/**
 * The minimal walks: what this machine can do for a TLB miss. Per element
 * one u64 VA in from `src` (a wasmmu batch), the dependent entry loads of
 * the paging mode over the guest RAM at `ram` (the engine's memory, its
 * tables, rooted at `cr3`), index arithmetic and address masks only — no
 * present/permission checks, no A/D — and the PA out as a u64 to `dst`.
 */
const ADDR64: u64 = 0x000f_ffff_ffff_f000;   // the frame bits of a PAE / IA-32e entry (MAXPHYADDR 52)

/** IA-32e 4-level: PML4E → PDPTE → PDE → PTE, 8-byte entries, 9 index bits each. */
export function walk4(ram: usize, cr3: u64, src: usize, dst: usize, n: u32): void {
  const root = cr3 & ADDR64;
  for (let i: u32 = 0; i < n; i++) {
    const va = load<u64>(src + (<usize>i << 3));
    let e = load<u64>(ram + <usize>(root | (((va >> 39) & 511) << 3)));
    e = load<u64>(ram + <usize>((e & ADDR64) | (((va >> 30) & 511) << 3)));
    e = load<u64>(ram + <usize>((e & ADDR64) | (((va >> 21) & 511) << 3)));
    e = load<u64>(ram + <usize>((e & ADDR64) | (((va >> 12) & 511) << 3)));
    store<u64>(dst + (<usize>i << 3), (e & ADDR64) | (va & 0xfff));
  }
}

/** PAE: PDPTE (VA bits 31:30, PDPT at CR3 bits 31:5) → PDE → PTE, 8-byte entries. */
export function walkPae(ram: usize, cr3: u32, src: usize, dst: usize, n: u32): void {
  const root = <usize>(cr3 & 0xffff_ffe0);
  for (let i: u32 = 0; i < n; i++) {
    const va = load<u32>(src + (<usize>i << 3));
    let e = load<u64>(ram + (root | (<usize>(va >> 30) << 3)));
    e = load<u64>(ram + <usize>((e & ADDR64) | <u64>(((va >> 21) & 511) << 3)));
    e = load<u64>(ram + <usize>((e & ADDR64) | <u64>(((va >> 12) & 511) << 3)));
    store<u64>(dst + (<usize>i << 3), (e & ADDR64) | <u64>(va & 0xfff));
  }
}

/** 32-bit 2-level: PDE (VA bits 31:22) → PTE (21:12), 4-byte entries. */
export function walk2(ram: usize, cr3: u32, src: usize, dst: usize, n: u32): void {
  const root = <usize>(cr3 & 0xffff_f000);
  for (let i: u32 = 0; i < n; i++) {
    const va = load<u32>(src + (<usize>i << 3));
    let e = load<u32>(ram + (root | (<usize>(va >> 22) << 2)));
    e = load<u32>(ram + <usize>((e & 0xffff_f000) | (((va >> 12) & 1023) << 2)));
    store<u64>(dst + (<usize>i << 3), <u64>((e & 0xffff_f000) | (va & 0xfff)));
  }
}
