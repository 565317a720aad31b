/**
 * The ABI shared by the wasm core (assembly/) and the host (src/).
 *
 * This file is compiled twice: by AssemblyScript as part of the core and by
 * TypeScript/esbuild as part of the host. It therefore holds only `const enum`s
 * of small integers (bit positions, kinds, byte offsets), which both compilers
 * inline. 64-bit masks are written as bit positions (a u64 mask would not fit
 * a JS number exactly); derive the mask at the use site.
 */

/** Kind of memory access. The numbering matches TinyEMU's ACCESS_* and the
 *  order of the #PF error-code W and I/D bits' meaning. */
export const enum Access { Read = 0, Write = 1, Fetch = 2 }

/** What a translation produced. `None` is success. */
export const enum FaultKind {
  None = 0,
  /** x86 exception: `vector` (14 #PF, 13 #GP) and `errorCode` are set. */
  X86 = 1,
  /** The walk (or the access) reached a physical address outside guest RAM. */
  Bus = 2,
  /** s390 program interruption: `vector` is the program-interruption code,
   *  `errorCode` the low 12 bits of the translation-exception identification. */
  S390 = 3,
}

export const enum Vector { GP = 13, PF = 14 }

/** #PF error-code bits (Intel SDM Vol. 3A §4.7). */
export const enum PfErr { P = 1, W = 2, U = 4, RSVD = 8, ID = 16, PK = 32 }

/** x86 paging mode, derived from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57. */
export const enum X86Mode { Off = 0, Legacy32 = 1, Pae = 2, Ia32e4 = 3, Ia32e5 = 4 }

/** Which architecture's walker `translate` runs (Ctl.ARCH). */
export const enum Arch { X86 = 0, S390 = 1 }

/** Physical-memory backing. */
export const enum Backing { Dense = 0, Sparse = 1 }

/** Semantic-profile bits (CTL_QUIRKS). Each is one of QEMU 7.2's documented
 *  deviations from the SDM (shared/conformance/README.md); `hardware` = 0. */
export const enum Quirk {
  RsvdEcNoP = 1,          // reserved-bit #PF pushes RSVD without P
  PaePdpteA = 2,          // PAE PDPTEs re-read at walk time and get A (bit 5)
  PaePdpteWalkCheck = 4,  // PDPTE reserved bits 63:MAXPHYADDR checked at walk time (#PF)
  OneGAEarly = 8,         // 1 GiB leaf gets A before its checks
  All = 15,
}

/** Option bits (CTL_OPTIONS). */
export const enum Opt {
  /** Set no A bit at all on a faulting walk (KVM's observation of Intel). */
  AdOnFaultNone = 1,
}

/**
 * Linear-memory map, fixed part. Everything from REGIONS_BASE on is laid out
 * by the host (src/layout.ts) and published in the control block.
 *
 *   0x00000 ┌──────────────────────────────┐
 *           │ AssemblyScript data + stack  │
 *   0x10000 ├──────────────────────────────┤ CTL_BASE
 *           │ control block (4 KiB)        │ registers, region table, result
 *   0x11000 ├──────────────────────────────┤ STATS_BASE
 *           │ statistics (4 KiB, u64s)     │
 *   0x12000 ├──────────────────────────────┤ REGIONS_BASE
 *           │ TLB, batch buffers, storage  │ sizes chosen at creation
 *           │ keys, sparse frame hash      │
 *           ├──────────────────────────────┤ RAM base (64 KiB aligned)
 *           │ guest RAM (dense) or frame   │
 *           │ pool (sparse)                │
 *           └──────────────────────────────┘
 */
export const enum Mem {
  CTL_BASE = 0x10000,
  STATS_BASE = 0x11000,
  STATS_SIZE = 0x1000,
  REGIONS_BASE = 0x12000,
  PAGE_SHIFT = 12,
  PAGE_SIZE = 4096,
  WASM_PAGE = 65536,
}

/**
 * Control-block byte offsets (relative to CTL_BASE). u64 fields are 8-aligned.
 * The host writes the region table once at creation; registers are written
 * through the engines' setters so that their architectural effects happen.
 */
export const enum Ctl {
  // ── region table (written by the host at creation) ──
  RAM_BASE = 0,        // u32 linear address of guest RAM / frame pool
  BACKING = 4,         // u32 Backing
  PHYS_SIZE = 8,       // u64 bytes of guest physical address space (a PA ≥ this is a bus fault)
  POOL_FRAMES = 16,    // u32 sparse: frames in the pool
  POOL_USED = 20,      // u32 sparse: frames handed out so far
  HASH_BASE = 24,      // u32 sparse: pfn→slot hash table (u64 entries)
  HASH_LOG2 = 28,      // u32 sparse: log2(entries)
  SKEY_BASE = 32,      // u32 storage keys, one byte per frame (dense) or per pool slot (sparse)
  SKEY_COUNT = 36,     // u32
  TLB_BASE = 40,       // u32
  TLB_BYTES = 44,      // u32
  BATCH_VA = 48,       // u32 u64[cap]
  BATCH_KIND = 52,     // u32 u8[cap]
  BATCH_OUT = 56,      // u32 u64[cap]
  BATCH_CAP = 60,      // u32
  MAXPHYADDR = 64,     // u32 bits (reserved-bit checks)
  ARCH = 68,           // u32 Arch: which walker translate() runs

  // ── x86 context ──
  CR0 = 128,           // u64
  CR3 = 136,           // u64
  CR4 = 144,           // u64
  EFER = 152,          // u64
  EFLAGS = 160,        // u64 (only AC, bit 18, matters)
  CPL = 168,           // u32
  PKRU = 172,          // u32
  MODE = 176,          // u32 X86Mode, derived
  QUIRKS = 180,        // u32 Quirk bits
  OPTIONS = 184,       // u32 Opt bits
  PDPTE0 = 192,        // u64 × 4: PAE PDPTE registers (loaded on CR3 write)

  // ── s390 context ──
  S390_CR0 = 256,      // u64
  S390_ASCE = 264,     // u64 primary ASCE (CR1)
  S390_PSW_MASK = 272, // u64
  S390_PSW_KEY = 280,  // u32
  S390_OPTIONS = 284,  // u32

  // ── result of the last single translation ──
  RES_FAULT = 512,     // u32 FaultKind
  RES_VECTOR = 516,    // u32 x86 vector / s390 program-interruption code
  RES_ERROR = 520,     // u32 x86 error code / s390 TEID low bits
  RES_PA = 528,        // u64 physical address (success) or the failing PA (bus)
  RES_ADDR = 536,      // u64 CR2 (x86 #PF) or TEID address (s390)

  CTL_SIZE = 4096,
}

/**
 * Batch output word for one access (u64): a physical address (< 2^52), or a
 * fault: bit 63 set, FaultKind in bits 48..55, vector / program code in bits
 * 32..47, error code (x86) or TEID low bits (s390) in bits 0..31.
 */
export const enum BatchOut {
  FAULT_BIT = 63,
  KIND_SHIFT = 48,
  VECTOR_SHIFT = 32,
}
