// Guest-physical access for the core: bounds checks, dense/sparse backing,
// byte order. A physical address at or beyond PHYS_SIZE never reaches linear
// memory: callers get BAD_PA and report a bus fault (never a read of host metadata).
import { Backing, Ctl, Mem } from "../src/abi";
import { BACKING, CTL, HASH_BASE, HASH_LOG2, PHYS_SIZE, POOL_FRAMES, RAM_BASE } from "./layout";

/** Returned by physAddr() for an address outside guest memory. */
// @ts-ignore: decorator
@inline export const BAD_PA: usize = 0;
/** Returned by physAddr() for a sparse frame never written (reads as zero). */
// @ts-ignore: decorator
@inline export const ZERO_PA: usize = 1;

/** Home bucket of a pfn; must equal src/phys/frame-hash.ts frameHashHome(). */
// @ts-ignore: decorator
@inline function frameHashHome(pfn: u64): u32 {
  const lo = <u32>pfn, hi = <u32>(pfn >> 32);
  let h: u32 = (lo ^ (hi * 0x9e3779b1)) * 0x85ebca6b;
  h ^= h >> 16;
  return h & ((<u32>1 << HASH_LOG2) - 1);
}

/** Sparse: linear address of the frame of `pfn`, 0 if not backed (or, with
 *  `alloc`, backed now; 0 if the pool is exhausted). Entry layout: frame-hash.ts. */
export function sparseFrame(pfn: u64, alloc: bool): usize {
  const mask: u32 = (<u32>1 << HASH_LOG2) - 1;
  const key: u64 = (pfn + 1) << 24;
  for (let i = frameHashHome(pfn); ; i = (i + 1) & mask) {
    const e = HASH_BASE + (<usize>i << 3);
    const v = load<u64>(e);
    if (v == 0) {
      if (!alloc) return 0;
      const used = load<u32>(CTL, Ctl.POOL_USED);
      if (used >= POOL_FRAMES) return 0;
      store<u32>(CTL, used + 1, Ctl.POOL_USED);
      store<u64>(e, key | <u64>used);
      const f = RAM_BASE + (<usize>used << Mem.PAGE_SHIFT);
      memory.fill(f, 0, Mem.PAGE_SIZE);
      return f;
    }
    if ((v & ~<u64>0xffffff) == key) return RAM_BASE + (<usize>(v & 0xffffff) << Mem.PAGE_SHIFT);
  }
  return 0; // unreachable: the table is never full (2 entries per pool frame)
}

/**
 * Linear address of guest-physical `pa` for an aligned access that does not
 * cross a frame, or BAD_PA (outside guest memory) or ZERO_PA (sparse, unbacked).
 * The dense case is one compare and one add.
 */
// @ts-ignore: decorator
@inline export function physAddr(pa: u64): usize {
  if (pa >= PHYS_SIZE) return BAD_PA;
  if (BACKING == Backing.Dense) return RAM_BASE + <usize>pa;
  const f = sparseFrame(pa >> Mem.PAGE_SHIFT, false);
  return f == 0 ? ZERO_PA : f + <usize>(pa & (Mem.PAGE_SIZE - 1));
}

/** As physAddr(), but a sparse frame is backed on demand (for stores). */
export function physAddrForWrite(pa: u64): usize {
  if (pa >= PHYS_SIZE) return BAD_PA;
  if (BACKING == Backing.Dense) return RAM_BASE + <usize>pa;
  const f = sparseFrame(pa >> Mem.PAGE_SHIFT, true);
  return f == 0 ? BAD_PA : f + <usize>(pa & (Mem.PAGE_SIZE - 1));
}

/** Byte-swap helpers for big-endian (s390) tables. */
// @ts-ignore: decorator
@inline export function bswap64(v: u64): u64 { return bswap<u64>(v); }
// @ts-ignore: decorator
@inline export function bswap32(v: u32): u32 { return bswap<u32>(v); }
