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
