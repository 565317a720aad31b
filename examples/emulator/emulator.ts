// A worked emulator module: an AssemblyScript trace-replaying loop compiled as
// its own wasm module (examples/emulator/build.mjs), instantiated over a wasmmu
// engine's memory. It finds the TLB through the control block, inlines the
// hit test of the 4 KiB structure (docs/TLB-ABI.md, "The inline hit test") and
// calls the core's translatePa, imported straight from the core's instance
// (engine.embedding()), only on a miss: a wasm-to-wasm call, no JavaScript.
//
// It keeps its state in wasm globals and has no data segments: the memory
// below 64 KiB belongs to the core. Its buffers (the trace, the results) are
// in the embedder's region (createEngine's embedderBytes).

/** The core's miss path: VA as an f64 holding the signed 64-bit address; PA, or -1 on a fault. */
// @ts-ignore: decorator
@external("wasmmu", "translatePa") declare function mmuTranslatePa(va: f64, access: u32): f64;

// The numbers of docs/TLB-ABI.md ("Embedding"; EMBED in the package).
const CTL_BASE: usize = 0x10000;
const CTL_TLB_BASE: usize = 40;
const CTL_ABI_MAGIC: usize = 72;
const CTL_ABI_VERSION: usize = 76;
const CTL_CR3: usize = 136;
const CTL_CR4: usize = 144;
const CTL_MODE: usize = 176;
const ABI_MAGIC: u32 = 0x554d4d57;   // "WMMU"
const ABI_VERSION: u32 = 1;
const HDR_FLAGS: usize = 8;
const HDR_STRUCTS: usize = 16;       // structure 0: the 4 KiB array of the fast organisation
const FLAG_FAST: u32 = 1;
const STRUCT_ENTRIES: usize = 0;
const STRUCT_SETS_LOG2: usize = 4;
const ENT_DATA: usize = 8;
const ENT_SIZE_LOG2: u32 = 5;
const PCID_HASH: u32 = 0x045d9f3b;
const PCID_MASK: u64 = 0xfff;
const CR4_PCIDE: u64 = 17;
const MODE_IA32E4: u32 = 3;
const MODE_IA32E5: u32 = 4;
const DENY_MASK: u64 = 0xfff;

let ents: usize = 0;
let setMask: usize = 0;
let hits: u32 = 0, misses: u32 = 0, faults: u32 = 0;

/** Check the control block and find structure 0. 0: ready; 1: not a wasmmu
 *  memory; 2: another ABI version; 3: not the fast organisation. */
export function attach(): u32 {
  if (load<u32>(CTL_BASE + CTL_ABI_MAGIC) != ABI_MAGIC) return 1;
  if (load<u32>(CTL_BASE + CTL_ABI_VERSION) != ABI_VERSION) return 2;
  const tlb = <usize>load<u32>(CTL_BASE + CTL_TLB_BASE);
  if (!(load<u32>(tlb + HDR_FLAGS) & FLAG_FAST)) return 3;
  const sd = tlb + HDR_STRUCTS;
  ents = tlb + <usize>load<u32>(sd + STRUCT_ENTRIES);
  setMask = (<usize>1 << load<u32>(sd + STRUCT_SETS_LOG2)) - 1;
  return 0;
}

/**
 * Replay `n` accesses: linear addresses (u64) at `vas`, kinds (u8: 0 read,
 * 1 write, 2 fetch) at `kinds`; the physical address of each (all ones on a
 * fault) to `out`. `maskRead`/`maskWrite`/`maskFetch`: the access masks for
 * the current CPL and EFLAGS.AC (EMBED.mask). Returns the sum of the PAs of
 * the accesses that did not fault. The context (CR3, CR4, mode) is read once:
 * the registers change only between calls, through the engine.
 */
export function replay(vas: usize, kinds: usize, out: usize, n: u32, maskRead: u64, maskWrite: u64, maskFetch: u64): u64 {
  const pcid: u64 = (load<u64>(CTL_BASE + CTL_CR4) >> CR4_PCIDE) & 1 ? load<u64>(CTL_BASE + CTL_CR3) & PCID_MASK : 0;
  const h = <usize>(<u32>pcid * PCID_HASH);
  const mode = load<u32>(CTL_BASE + CTL_MODE);
  const wide = mode == MODE_IA32E4 || mode == MODE_IA32E5;
  let sum: u64 = 0;
  let i: u32 = 0;
  while (i < n) {
    // The hits, in a loop with no call in it (docs/TLB-ABI.md: an untaken
    // call still costs the loop the registers V8 saves around it) …
    const first = i;
    for (; i < n; i++) {
      let va = load<u64>(vas + (<usize>i << 3));
      if (!wide) va &= 0xffff_ffff;
      const kind = <u32>load<u8>(kinds + <usize>i);
      const mask = kind == 0 ? maskRead : kind == 1 ? maskWrite : maskFetch;
      const e = ents + ((((<usize>(va >> 12)) ^ h) & setMask) << ENT_SIZE_LOG2);
      const data = load<u64>(e, ENT_DATA);
      if (((load<u64>(e) ^ ((va & ~<u64>0xfff) | pcid)) | (data & mask)) != 0) break;
      const pa = va ^ (data & ~DENY_MASK);
      store<u64>(out + (<usize>i << 3), pa);
      sum += pa;
    }
    hits += i - first;
    if (i >= n) break;
    // … then the miss, through the core.
    misses++;
    let va = load<u64>(vas + (<usize>i << 3));
    if (!wide) va &= 0xffff_ffff;
    const r = mmuTranslatePa(<f64><i64>va, <u32>load<u8>(kinds + <usize>i));
    if (r < 0) {
      faults++;
      store<u64>(out + (<usize>i << 3), <u64>-1);
    } else {
      store<u64>(out + (<usize>i << 3), <u64>r);
      sum += <u64>r;
    }
    i++;
  }
  return sum;
}

export function hitCount(): u32 { return hits; }
export function missCount(): u32 { return misses; }
export function faultCount(): u32 { return faults; }
export function resetCounts(): void { hits = 0; misses = 0; faults = 0; }
