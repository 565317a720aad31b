// Region table of linear memory, read once from the control block at init().
// The host owns the layout (src/layout.ts); the core only caches it in globals
// so that hot paths use them as plain wasm globals.
import { Abi, Ctl, Mem, TlbFlag, TlbHdr, TlbStruct } from "../src/abi";

export let RAM_BASE: usize = 0;
export let BACKING: u32 = 0;
export let PHYS_SIZE: u64 = 0;
export let POOL_FRAMES: u32 = 0;
export let HASH_BASE: usize = 0;
export let HASH_LOG2: u32 = 0;
export let SKEY_BASE: usize = 0;
export let SKEY_COUNT: u32 = 0;
export let TLB_BASE: usize = 0;
export let TLB_BYTES: u32 = 0;
export let BATCH_VA: usize = 0;
export let BATCH_KIND: usize = 0;
export let BATCH_OUT: usize = 0;
export let BATCH_CAP: u32 = 0;
export let MAXPHYADDR: u32 = 52;
/** The TLB's structure 0 when it is the direct-mapped 4 KiB array of the fast
 *  organisation (TLB_FAST): its first entry and set mask. The TLB header is
 *  written with the layout and never changes after (src/layout.ts), so these
 *  are read once here: a single translation then starts its probe one
 *  dependent load sooner. */
export let TLB_FAST: bool = false;
export let TLB_ENTS0: usize = 0;
export let TLB_SETMASK0: usize = 0;

// @ts-ignore: decorator
@inline export const CTL: usize = <usize>Mem.CTL_BASE;
// @ts-ignore: decorator
@inline export const STATS: usize = <usize>Mem.STATS_BASE;

/** What translateBatch/translateRange and the s390 batch return for a count
 *  or range outside the batch buffers: no element is touched. */
// @ts-ignore: decorator
@inline export const BATCH_REFUSED: u32 = 0xffff_ffff;

/** Read the region table, or refuse (Abi.BAD_MAGIC, Abi.BAD_VERSION) a
 *  control block that another layout, or no host, wrote: every offset below
 *  would then be meaningless. Returns Abi.OK when the table is loaded. */
export function loadLayout(): u32 {
  if (load<u32>(CTL, Ctl.ABI_MAGIC) != Abi.MAGIC) return Abi.BAD_MAGIC;
  if (load<u32>(CTL, Ctl.ABI_VERSION) != Abi.VERSION) return Abi.BAD_VERSION;
  RAM_BASE = <usize>load<u32>(CTL, Ctl.RAM_BASE);
  BACKING = load<u32>(CTL, Ctl.BACKING);
  PHYS_SIZE = load<u64>(CTL, Ctl.PHYS_SIZE);
  POOL_FRAMES = load<u32>(CTL, Ctl.POOL_FRAMES);
  HASH_BASE = <usize>load<u32>(CTL, Ctl.HASH_BASE);
  HASH_LOG2 = load<u32>(CTL, Ctl.HASH_LOG2);
  SKEY_BASE = <usize>load<u32>(CTL, Ctl.SKEY_BASE);
  SKEY_COUNT = load<u32>(CTL, Ctl.SKEY_COUNT);
  TLB_BASE = <usize>load<u32>(CTL, Ctl.TLB_BASE);
  TLB_BYTES = load<u32>(CTL, Ctl.TLB_BYTES);
  BATCH_VA = <usize>load<u32>(CTL, Ctl.BATCH_VA);
  BATCH_KIND = <usize>load<u32>(CTL, Ctl.BATCH_KIND);
  BATCH_OUT = <usize>load<u32>(CTL, Ctl.BATCH_OUT);
  BATCH_CAP = load<u32>(CTL, Ctl.BATCH_CAP);
  MAXPHYADDR = load<u32>(CTL, Ctl.MAXPHYADDR);
  const sd = TLB_BASE + TlbHdr.STRUCTS;
  TLB_FAST = (load<u32>(TLB_BASE, TlbHdr.FLAGS) & TlbFlag.FAST) != 0 && load<u32>(TLB_BASE, TlbHdr.COUNT) != 0;
  TLB_ENTS0 = TLB_BASE + <usize>load<u32>(sd, TlbStruct.ENTRIES);
  TLB_SETMASK0 = TLB_FAST ? (<usize>1 << load<u32>(sd, TlbStruct.SETS_LOG2)) - 1 : 0;
  return Abi.OK;
}
