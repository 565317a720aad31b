/**
 * The embedding contract as plain numbers: every offset, bit and mask an
 * emulator needs to find the TLB in wasmmu's linear memory and inline its hit
 * test (docs/TLB-ABI.md, "Embedding"). The ABI's `const enum`s (src/abi.ts)
 * are inlined by the compilers and need not exist at run time in a caller's
 * build, so the same values are published here as frozen objects, built from
 * those enums (one source of truth).
 */
import { Abi, Access, Ctl, Mem, TlbDeny, TlbEnt, TlbFlag, TlbHdr, TlbSize, TlbStruct, X86Mode } from "./abi.js";

/** The access masks of the hit test (`accessMask` in assembly/tlb.ts): the
 *  deny bits that stop one access kind at one privilege level. AC is
 *  EFLAGS.AC; it matters to supervisor data accesses only (SMAP). */
const MASK = {
  READ_USER: TlbDeny.INVALID | TlbDeny.PKEY | TlbDeny.R_USER,
  WRITE_USER: TlbDeny.INVALID | TlbDeny.PKEY | TlbDeny.W_USER,
  FETCH_USER: TlbDeny.INVALID | TlbDeny.X_USER,
  READ_SUP: TlbDeny.INVALID | TlbDeny.PKEY | TlbDeny.SMAP,
  WRITE_SUP: TlbDeny.INVALID | TlbDeny.PKEY | TlbDeny.W_SUP | TlbDeny.SMAP,
  READ_SUP_AC: TlbDeny.INVALID | TlbDeny.PKEY,
  WRITE_SUP_AC: TlbDeny.INVALID | TlbDeny.PKEY | TlbDeny.W_SUP,
  FETCH_SUP: TlbDeny.INVALID | TlbDeny.X_SUP,
} as const;

export const EMBED = Object.freeze({
  ABI_MAGIC: Abi.MAGIC,
  ABI_VERSION: Abi.VERSION,
  /** Linear addresses of the fixed part of the memory map. */
  mem: Object.freeze({
    CTL_BASE: Mem.CTL_BASE, STATS_BASE: Mem.STATS_BASE, STATS_SIZE: Mem.STATS_SIZE,
    REGIONS_BASE: Mem.REGIONS_BASE, WASM_PAGE: Mem.WASM_PAGE,
  }),
  /** Control-block offsets (from mem.CTL_BASE): region table, x86 registers, result record. */
  ctl: Object.freeze({
    RAM_BASE: Ctl.RAM_BASE, BACKING: Ctl.BACKING, PHYS_SIZE: Ctl.PHYS_SIZE,
    TLB_BASE: Ctl.TLB_BASE, TLB_BYTES: Ctl.TLB_BYTES,
    BATCH_VA: Ctl.BATCH_VA, BATCH_KIND: Ctl.BATCH_KIND, BATCH_OUT: Ctl.BATCH_OUT, BATCH_CAP: Ctl.BATCH_CAP,
    ARCH: Ctl.ARCH, ABI_MAGIC: Ctl.ABI_MAGIC, ABI_VERSION: Ctl.ABI_VERSION,
    EMBED_BASE: Ctl.EMBED_BASE, EMBED_BYTES: Ctl.EMBED_BYTES,
    CR0: Ctl.CR0, CR3: Ctl.CR3, CR4: Ctl.CR4, EFER: Ctl.EFER, EFLAGS: Ctl.EFLAGS,
    CPL: Ctl.CPL, PKRU: Ctl.PKRU, MODE: Ctl.MODE, CR2: Ctl.CR2,
    RES_FAULT: Ctl.RES_FAULT, RES_VECTOR: Ctl.RES_VECTOR, RES_ERROR: Ctl.RES_ERROR, RES_PA: Ctl.RES_PA,
    RES_ADDR: Ctl.RES_ADDR, RES_LEAF: Ctl.RES_LEAF, RES_SHIFT: Ctl.RES_SHIFT, RES_PTE_PA: Ctl.RES_PTE_PA,
  }),
  /** Ctl.MODE values (the paging mode the registers select). */
  mode: Object.freeze({
    OFF: X86Mode.Off, LEGACY32: X86Mode.Legacy32, PAE: X86Mode.Pae, IA32E4: X86Mode.Ia32e4, IA32E5: X86Mode.Ia32e5,
  }),
  /** TLB region header (offsets from the TLB base). */
  tlbHdr: Object.freeze({
    COUNT: TlbHdr.COUNT, CLOCK: TlbHdr.CLOCK, FLAGS: TlbHdr.FLAGS, PSC_COUNT: TlbHdr.PSC_COUNT,
    STRUCTS: TlbHdr.STRUCTS, STRUCT_SIZE: TlbHdr.STRUCT_SIZE, MAX_STRUCTS: TlbHdr.MAX_STRUCTS, PSC: TlbHdr.PSC,
  }),
  tlbFlag: Object.freeze({ FAST: TlbFlag.FAST, PLRU: TlbFlag.PLRU }),
  /** A structure descriptor (offsets within its tlbHdr.STRUCT_SIZE slot). */
  tlbStruct: Object.freeze({
    ENTRIES: TlbStruct.ENTRIES, SETS_LOG2: TlbStruct.SETS_LOG2, WAYS: TlbStruct.WAYS, SIZES: TlbStruct.SIZES,
    LEVEL: TlbStruct.LEVEL, KINDS: TlbStruct.KINDS, LIST: TlbStruct.LIST, LIST_COUNT: TlbStruct.LIST_COUNT,
  }),
  tlbSize: Object.freeze({ S4K: TlbSize.S4K, LARGE: TlbSize.LARGE, S1G: TlbSize.S1G }),
  /** A TLB entry (offsets, and the LEAF word's fields). */
  tlbEnt: Object.freeze({
    KEY: TlbEnt.KEY, DATA: TlbEnt.DATA, PTE_PA: TlbEnt.PTE_PA, LEAF: TlbEnt.LEAF, STAMP: TlbEnt.STAMP,
    SIZE: TlbEnt.SIZE, SIZE_LOG2: TlbEnt.SIZE_LOG2, PCID_MASK: TlbEnt.PCID_MASK, PCID_HASH: TlbEnt.PCID_HASH,
    GLOBAL: TlbEnt.GLOBAL, SHIFT_SHIFT: TlbEnt.SHIFT_SHIFT, LISTED: TlbEnt.LISTED,
  }),
  tlbDeny: Object.freeze({
    INVALID: TlbDeny.INVALID, W_SUP: TlbDeny.W_SUP, W_USER: TlbDeny.W_USER, R_USER: TlbDeny.R_USER,
    X_SUP: TlbDeny.X_SUP, X_USER: TlbDeny.X_USER, SMAP: TlbDeny.SMAP, PKEY: TlbDeny.PKEY, MASK: TlbDeny.MASK,
  }),
  mask: Object.freeze(MASK),
  access: Object.freeze({ READ: Access.Read, WRITE: Access.Write, FETCH: Access.Fetch }),
});

/** The access mask of the hit test for one access at `cpl` with EFLAGS.AC = `ac`. */
export function accessMask(access: Access, cpl: number, ac: boolean): number {
  const user = cpl === 3;
  if (access === Access.Fetch) return user ? MASK.FETCH_USER : MASK.FETCH_SUP;
  if (access === Access.Write) return user ? MASK.WRITE_USER : ac ? MASK.WRITE_SUP_AC : MASK.WRITE_SUP;
  return user ? MASK.READ_USER : ac ? MASK.READ_SUP_AC : MASK.READ_SUP;
}

/**
 * What a core's init() code means, as the error the host raises; "" for
 * Abi.OK. The control block's own words are named so that an embedder who
 * handed in a memory laid out by something else sees what was there.
 */
export function abiInitError(code: number, buffer: ArrayBufferLike): string {
  if (code === Abi.OK) return "";
  const dv = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  const hex = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
  if (code === Abi.BAD_MAGIC)
    return `wasmmu core: control block at 0x${Mem.CTL_BASE.toString(16)} has ABI magic ${hex(dv.getUint32(Ctl.ABI_MAGIC, true))}, ` +
      `not ${hex(Abi.MAGIC)} ("WMMU"): the memory was not laid out by this host`;
  if (code === Abi.BAD_VERSION)
    return `wasmmu core: control block has ABI version ${dv.getUint32(Ctl.ABI_VERSION, true)}, the core speaks ${Abi.VERSION}`;
  return `wasmmu core: init() returned unknown code ${code}`;
}

/** The TypeScript twin of the core's init() check (assembly/layout.ts loadLayout). */
export function abiInitCode(buffer: ArrayBufferLike): number {
  const dv = new DataView(buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  if (dv.getUint32(Ctl.ABI_MAGIC, true) !== Abi.MAGIC) return Abi.BAD_MAGIC;
  if (dv.getUint32(Ctl.ABI_VERSION, true) !== Abi.VERSION) return Abi.BAD_VERSION;
  return Abi.OK;
}
