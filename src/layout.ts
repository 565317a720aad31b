/**
 * Host-side layout of linear memory. The host is the one owner of the layout
 * (a wasm instance must not allocate after start-up); both engines use
 * the very same layout, so their memories can be compared byte for byte.
 */
import { Abi, Backing, Ctl, Mem } from "./abi.js";
import { machineTlb, type TlbConfig, type TlbLayout, writeTlbHeader } from "./tlb/config.js";
import { checkInt, checkKeys, checkObject, checkOneOf, show } from "./check.js";

export interface MachineConfig {
  /** Bytes of guest physical address space. Dense: all of it is backed
   *  (≤ about 3.5 GiB). Sparse: up to 2^maxPhyAddr. Default 64 MiB. */
  physSize?: number;
  /** "dense" (default, fastest) or "sparse" (frames backed on first write). */
  backing?: "dense" | "sparse";
  /** Sparse only: bytes of backing frames (default 64 MiB). */
  poolBytes?: number;
  /** Physical-address width for reserved-bit checks (default 52). */
  maxPhyAddr?: number;
  /** Entries of the batch buffers (default 65536). */
  batchCapacity?: number;
  /** Bytes reserved for the TLB region (default: what `tlb` needs, about
   *  650 KiB for the fast default). Without `tlb`, the fast default is
   *  shrunk to fit (and the TLB is off if nothing fits). */
  tlbBytes?: number;
  /** Entries of the s390 TLB (power of two, default 4096; 0 = no s390 TLB). */
  s390TlbEntries?: number;
  /** TLB organisation (src/tlb/config.ts; default: the fast direct-mapped one). */
  tlb?: TlbConfig;
  /** Bytes of linear memory reserved for the embedder (an emulator's own
   *  data next to the core's), after guest RAM at `layout.embedBase`,
   *  rounded up to 64 KiB. wasmmu never reads or writes them. Default 0. */
  embedderBytes?: number;
}

export interface Layout {
  readonly backing: Backing;
  readonly physSize: number;
  readonly maxPhyAddr: number;
  readonly ramBase: number;
  readonly ramBytes: number;      // backed bytes (dense: physSize; sparse: pool)
  readonly poolFrames: number;    // sparse only
  readonly hashBase: number;
  readonly hashLog2: number;
  readonly skeyBase: number;
  readonly skeyCount: number;
  readonly tlbBase: number;
  readonly tlbBytes: number;
  readonly s390TlbBase: number;
  readonly s390TlbEntries: number;
  /** The x86 TLB's structures (src/tlb/config.ts), in the TLB region at tlbBase. */
  readonly tlb: TlbLayout;
  readonly batchVa: number;
  readonly batchKind: number;
  readonly batchOut: number;
  readonly batchCap: number;
  /** The embedder's region (embedderBytes), 64 KiB aligned; 0 and 0 without one. */
  readonly embedBase: number;
  readonly embedBytes: number;
  readonly totalBytes: number;    // multiple of 64 KiB
}

const MiB = 1 << 20;
/** The options createEngine takes: these, and `memory` (wasm engine). */
const MACHINE_OPTIONS = ["physSize", "backing", "poolBytes", "maxPhyAddr", "batchCapacity", "tlbBytes", "s390TlbEntries", "tlb", "embedderBytes", "memory"];
/** wasm32 can address 4 GiB; keep room for metadata. */
export const MAX_LINEAR_BYTES = 4 * 1024 * MiB - Mem.WASM_PAGE;

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

export function computeLayout(cfg: MachineConfig = {}): Layout {
  checkObject("createEngine", "options", cfg);
  checkKeys("createEngine", "option", cfg, MACHINE_OPTIONS);
  if (cfg.backing !== undefined) checkOneOf("createEngine", "backing", cfg.backing, ["dense", "sparse"]);
  if (cfg.tlbBytes !== undefined) checkInt("createEngine", "tlbBytes", cfg.tlbBytes, 0, MAX_LINEAR_BYTES);
  if (cfg.embedderBytes !== undefined) checkInt("createEngine", "embedderBytes", cfg.embedderBytes, 0, MAX_LINEAR_BYTES);
  for (const k of ["physSize", "poolBytes", "maxPhyAddr", "batchCapacity", "s390TlbEntries"] as const)
    if (cfg[k] !== undefined && typeof cfg[k] !== "number")
      throw new TypeError(`createEngine: ${k} must be a Number, got ${show(cfg[k])}`);
  if (cfg.tlb !== undefined) checkObject("createEngine", "tlb", cfg.tlb);
  const backing = cfg.backing === "sparse" ? Backing.Sparse : Backing.Dense;
  const maxPhyAddr = cfg.maxPhyAddr ?? 52;
  if (!Number.isInteger(maxPhyAddr) || maxPhyAddr < 32 || maxPhyAddr > 52)
    throw new RangeError(`maxPhyAddr must be an integer in [32, 52], got ${maxPhyAddr}`);
  const physSize = cfg.physSize ?? 64 * MiB;
  if (!Number.isSafeInteger(physSize) || physSize <= 0 || physSize % Mem.PAGE_SIZE !== 0)
    throw new RangeError(`physSize must be a positive multiple of 4096, got ${physSize}`);
  if (physSize > 2 ** maxPhyAddr)
    throw new RangeError(`physSize ${physSize} exceeds 2^maxPhyAddr (${maxPhyAddr} bits)`);
  const batchCap = cfg.batchCapacity ?? 65536;
  if (!Number.isInteger(batchCap) || batchCap < 1 || batchCap > 1 << 24)
    throw new RangeError(`batchCapacity must be in [1, 2^24], got ${batchCap}`);
  const s390TlbEntries = cfg.s390TlbEntries ?? 4096;
  if (!Number.isInteger(s390TlbEntries) || s390TlbEntries < 0 || s390TlbEntries > 1 << 20 ||
      (s390TlbEntries & (s390TlbEntries - 1)) !== 0)
    throw new RangeError(`s390TlbEntries must be 0 or a power of two up to 2^20, got ${s390TlbEntries}`);
  const tlb = machineTlb(cfg.tlb, cfg.tlbBytes);
  const tlbBytes = alignUp(cfg.tlbBytes ?? tlb.bytes, 64);

  let ramBytes: number, poolFrames = 0, hashLog2 = 0, skeyCount: number;
  if (backing === Backing.Dense) {
    ramBytes = physSize;
    skeyCount = physSize / Mem.PAGE_SIZE;
  } else {
    const poolBytes = cfg.poolBytes ?? 64 * MiB;
    if (!Number.isSafeInteger(poolBytes) || poolBytes <= 0 || poolBytes % Mem.PAGE_SIZE !== 0)
      throw new RangeError(`poolBytes must be a positive multiple of 4096, got ${poolBytes}`);
    poolFrames = poolBytes / Mem.PAGE_SIZE;
    if (poolFrames >= 1 << 24) throw new RangeError(`poolBytes too large (max 64 GiB of slots)`);
    ramBytes = poolBytes;
    hashLog2 = Math.max(4, Math.ceil(Math.log2(poolFrames * 2)));
    skeyCount = poolFrames;
  }

  let p: number = Mem.REGIONS_BASE;
  const tlbBase = p; p += tlbBytes;
  const s390TlbBase = alignUp(p, 64); p = s390TlbBase + s390TlbEntries * 32;   // S390Tlb entries
  const batchVa = alignUp(p, 8); p = batchVa + 8 * batchCap;
  const batchOut = alignUp(p, 8); p = batchOut + 8 * batchCap;
  const batchKind = p; p += batchCap;
  const skeyBase = alignUp(p, 8); p = skeyBase + skeyCount;
  const hashBase = alignUp(p, 8); p = hashBase + (hashLog2 ? 8 * 2 ** hashLog2 : 0);
  const ramBase = alignUp(p, Mem.WASM_PAGE);
  const embedBytes = alignUp(cfg.embedderBytes ?? 0, Mem.WASM_PAGE);
  const embedBase = embedBytes ? alignUp(ramBase + ramBytes, Mem.WASM_PAGE) : 0;
  const totalBytes = alignUp(ramBase + ramBytes, Mem.WASM_PAGE) + embedBytes;
  if (totalBytes > MAX_LINEAR_BYTES)
    throw new RangeError(
      `guest memory does not fit wasm32: needs ${totalBytes} bytes of linear memory ` +
      `(limit ${MAX_LINEAR_BYTES}); use backing "sparse" for large machines`);
  return { backing, physSize, maxPhyAddr, ramBase, ramBytes, poolFrames, hashBase, hashLog2,
    skeyBase, skeyCount, tlbBase, tlbBytes, tlb, s390TlbBase, s390TlbEntries, batchVa, batchKind, batchOut, batchCap, embedBase, embedBytes, totalBytes };
}

/** Publish the region table into the control block of a fresh memory. */
export function writeRegionTable(buf: ArrayBufferLike, l: Layout): void {
  const dv = new DataView(buf, Mem.CTL_BASE, Ctl.CTL_SIZE);
  dv.setUint32(Ctl.RAM_BASE, l.ramBase, true);
  dv.setUint32(Ctl.BACKING, l.backing, true);
  dv.setBigUint64(Ctl.PHYS_SIZE, BigInt(l.physSize), true);
  dv.setUint32(Ctl.POOL_FRAMES, l.poolFrames, true);
  dv.setUint32(Ctl.POOL_USED, 0, true);
  dv.setUint32(Ctl.HASH_BASE, l.hashBase, true);
  dv.setUint32(Ctl.HASH_LOG2, l.hashLog2, true);
  dv.setUint32(Ctl.SKEY_BASE, l.skeyBase, true);
  dv.setUint32(Ctl.SKEY_COUNT, l.skeyCount, true);
  dv.setUint32(Ctl.TLB_BASE, l.tlbBase, true);
  dv.setUint32(Ctl.TLB_BYTES, l.tlbBytes, true);
  dv.setUint32(Ctl.BATCH_VA, l.batchVa, true);
  dv.setUint32(Ctl.BATCH_KIND, l.batchKind, true);
  dv.setUint32(Ctl.BATCH_OUT, l.batchOut, true);
  dv.setUint32(Ctl.BATCH_CAP, l.batchCap, true);
  dv.setUint32(Ctl.MAXPHYADDR, l.maxPhyAddr, true);
  dv.setUint32(Ctl.S390_TLB_BASE, l.s390TlbBase, true);
  dv.setUint32(Ctl.S390_TLB_ENTRIES, l.s390TlbEntries, true);
  dv.setUint32(Ctl.EMBED_BASE, l.embedBase, true);
  dv.setUint32(Ctl.EMBED_BYTES, l.embedBytes, true);
  dv.setUint32(Ctl.ABI_MAGIC, Abi.MAGIC, true);
  dv.setUint32(Ctl.ABI_VERSION, Abi.VERSION, true);
  writeTlbHeader(buf, l.tlbBase, l.tlb);
}
