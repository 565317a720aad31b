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
 *  deviations from the SDM (test/fixtures/CONFORMANCE-README.md); `hardware` = 0. */
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
  /** PAE: latch the PDPTE registers at the CR3 load without checking them and
   *  raise the #GP(0) only when an access uses a present PDPTE with reserved
   *  bits (the conformance corpus's SDM model, x86_model.py). Default: the SDM
   *  rule, any bad present PDPTE makes the load itself #GP (§4.4.1). */
  PdpteGpOnUse = 2,
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
 *           ├──────────────────────────────┤ EMBED_BASE (64 KiB aligned)
 *           │ embedder's region (optional) │ never read or written by wasmmu
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
 * Identification of the layout in the control block (Ctl.ABI_MAGIC,
 * Ctl.ABI_VERSION), written by the host at creation and checked by the core's
 * init() and by an embedder before it inlines anything. VERSION changes with
 * any change to the offsets, structures or bits docs/TLB-ABI.md describes.
 */
export const enum Abi {
  /** "WMMU" read as a little-endian u32. */
  MAGIC = 0x554d_4d57,
  VERSION = 1,
  /** What the core's init() returns. */
  OK = 0, BAD_MAGIC = 1, BAD_VERSION = 2,
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
  ABI_MAGIC = 72,      // u32 Abi.MAGIC ("WMMU"): this memory is laid out by wasmmu
  ABI_VERSION = 76,    // u32 Abi.VERSION of the layout the host wrote
  EMBED_BASE = 80,     // u32 linear address of the embedder's region (0 if none)
  EMBED_BYTES = 84,    // u32 its size (createEngine's embedderBytes, rounded up to 64 KiB)

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
  CR2 = 224,           // u64 page-fault linear address (written by translate on #PF)
  DBG_RACE_PA = 232,   // u64 debug: entry PA at which a simulated remote cmpxchg happens
  DBG_RACE_VAL = 240,  // u64 debug: the value that remote store writes
  DBG_RACE_ON = 248,   // u32 debug: 1 = armed (fires once, just before the walker's CAS)

  // ── s390 context ──
  S390_CR0 = 256,      // u64
  S390_ASCE = 264,     // u64 primary ASCE (CR1)
  S390_PSW_MASK = 272, // u64
  S390_PSW_KEY = 280,  // u32 access key, derived from PSW bits 8-11
  S390_OPTIONS = 284,  // u32 S390Opt bits (facilities, table format)
  S390_SASCE = 288,    // u64 secondary ASCE (CR7)
  S390_HASCE = 296,    // u64 home ASCE (CR13)
  S390_PREFIX = 304,   // u64 prefix register (real ↔ absolute, 8 KiB)
  S390_DAT = 312,      // u32 PSW bit 5 (DAT mode), derived
  S390_ASC = 316,      // u32 PSW bits 16-17: 0 primary, 2 secondary, 3 home (TEID bits 62-63)
  S390_AMODE = 320,    // u32 addressing mode in bits: 24, 31 or 64, derived from PSW bits 31-32
  S390_STATUS = 324,   // u32 S390Status of the last key/PGSTE operation
  S390_TLB_BASE = 328, // u32 s390 TLB region (written by the host at creation)
  S390_TLB_ENTRIES = 332, // u32 entries (power of two; 0 = no s390 TLB)

  // ── result of the last single translation ──
  RES_FAULT = 512,     // u32 FaultKind
  RES_VECTOR = 516,    // u32 x86 vector / s390 program-interruption code
  RES_ERROR = 520,     // u32 x86 error code / s390 TEID low bits
  RES_PA = 528,        // u64 physical address (success) or the failing PA (bus)
  RES_ADDR = 536,      // u64 CR2 (x86 #PF) or TEID address (s390)
  RES_LEAF = 544,      // u32 Leaf bits of the translation (success): folded permissions
  RES_SHIFT = 548,     // u32 log2 of the page size (12, 21, 22, 30)
  RES_PTE_PA = 552,    // u64 physical address of the leaf entry (success)

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

// ───────────────────────────── s390 ─────────────────────────────
// IBM numbers bits from the left (bit 0 = MSB of the 64-bit word); the values
// below are ordinary LSB-0 masks of the low word, as Linux writes them.

/** Program-interruption codes the DAT and storage-key checks report
 *  (z/Architecture Principles of Operation, ch. 6 "Program-Interruption
 *  Conditions"; QEMU target/s390x/cpu.h PGM_*). */
export const enum Pgm {
  Protection = 0x04,
  Addressing = 0x05,
  SegmentTranslation = 0x10,
  PageTranslation = 0x11,
  TranslationSpec = 0x12,
  AsceType = 0x38,
  Region1Translation = 0x39,
  Region2Translation = 0x3a,
  Region3Translation = 0x3b,
}

/** Low 12 bits of the translation-exception identification (TEID). Bits
 *  0-51 hold the page of the failing address; bits 62-63 the address space
 *  (Ctl.S390_ASC). PoP ch. 3 "Suppression on Protection" (ESOP-1/-2). */
export const enum Teid {
  Fetch = 0x800,     // bits 52-53 = 10: the access was a fetch
  Store = 0x400,     // bits 52-53 = 01: the access was a store
  Dat = 0x4,         // bit 61: DAT protection
  Lap = 0x80,        // bit 56: low-address protection
  Iep = 0x84,        // bits 56 and 61: instruction-execution protection
}

/** Storage-key byte, one per 4 KiB frame (arch/s390/include/asm/page.h:
 *  _PAGE_ACC_BITS, _PAGE_FP_BIT, _PAGE_REFERENCED, _PAGE_CHANGED). */
export const enum Skey {
  ACC = 0xf0, ACC_SHIFT = 4, F = 0x08, R = 0x04, C = 0x02,
  /** The seven architected bits (bit 7 of the byte is unused). */
  MASK = 0xfe,
}

/** Options of an s390 context (Ctl.S390_OPTIONS): installed facilities and
 *  the table format. `Hardware` is a z14-class machine; QEMU 7.2's TCG
 *  (the conformance vectors) lacks EDAT-1/-2 and key-controlled protection. */
export const enum S390Opt {
  Edat1 = 1,          // enhanced DAT 1: 1 MiB segment frames, region-entry P (when CR0.EDAT)
  Edat2 = 2,          // enhanced DAT 2: 2 GiB region-third frames
  KeyProtection = 4,  // key-controlled protection against the PSW key
  Esop = 8,           // enhanced suppression on protection (ptep_test_and_clear_uc)
  Esa390 = 16,        // 31-bit ESA/390 tables: 4-byte entries, 1 KiB page tables
  Hardware = 15,
  Qemu = 8,
}

/** CR0 controls the walk looks at (low word; IBM bit n = 1 << (63 - n)). */
export const enum S390Cr0 {
  LowAddressProtection = 0x10000000,   // bit 35
  FetchProtOverride = 0x02000000,      // bit 38
  StorageProtOverride = 0x01000000,    // bit 39
  Edat = 0x00800000,                   // bit 40
  Iep = 0x00100000,                    // bit 43
}

/** DAT-table entry bits (PoP ch. 3 "Translation Tables"; Linux
 *  arch/s390/include/asm/pgtable.h _ASCE_*, _REGION_ENTRY_*, _SEGMENT_ENTRY_*,
 *  _PAGE_*; QEMU cpu.h). Origins are the entry with these low bits cleared. */
export const enum Dat {
  // address-space-control element
  ASCE_PRIVATE = 0x100, ASCE_REAL = 0x20, ASCE_DT_SHIFT = 2, ASCE_TL = 0x03,
  // region- and segment-table entries ("crst" entries)
  CRST_FC = 0x400, CRST_P = 0x200, CRST_IEP = 0x100, CRST_TF_SHIFT = 6,
  CRST_I = 0x20, CRST_CS = 0x10, CRST_TT_SHIFT = 2, CRST_TL = 0x03,
  // page-table entries
  PTE_BIT52 = 0x800, PTE_I = 0x400, PTE_P = 0x200, PTE_IEP = 0x100,
  // ESA/390 (31-bit): STD bit 23 = private space, STL bits 25-31; segment-table
  // entry I, C, PTL; PTE bits 0, 20, 23 must be zero (z/VM HCPSEG39/HCPPAG39).
  STD_PRIVATE = 0x100, STD_STL = 0x7f, STE31_PTL = 0x0f,
}

/** Linux software/hardware PTE bits the PGSTE operations test (arch/s390/include/asm/pgtable.h). */
export const enum LinuxPte { PRESENT = 0x001, WRITE = 0x020, PROTECT = 0x200, INVALID = 0x400 }

/** PGSTE bit positions (LSB 0) of the 64-bit PGSTE at PTE + 2048 (docs/SEMANTICS.md "s390 PGSTEs",
 *  ≤ 6.13 layout). The mask of field X is 1 << X (ACC: 0xf << ACC). */
export const enum Pgste {
  ACC = 60, FP = 59, PCL = 55, HR = 54, HC = 53, GR = 50, GC = 49,
  UC = 47, IN = 46, VSIE = 45, GPS_ZERO = 31, GPS_NODAT = 30,
  /** Byte distance PTE → PGSTE in a 4 KiB PGSTE table. */
  OFFSET = 2048,
}

/**
 * s390 TLB entry (assembly/s390/tlb.ts), 32 bytes, direct-mapped by page:
 *   +0  u64 tag: (va >> 12) + 1, 0 = empty
 *   +8  u64 the ASCE the translation was made with (entries are tagged by ASCE)
 *   +16 u64 absolute page address | S390Tlb permission bits
 */
export const enum S390Tlb {
  ENTRY_SHIFT = 5, TAG = 0, ASCE = 8, PAGE = 16,
  /** Permission bits: bit (1 << Access) set = a hit may serve that access.
   *  Write is granted only once C is set (C recorded lazily, like x86 D). */
  READ_OK = 1, WRITE_OK = 2, EXEC_OK = 4,
}

/** Outcome of a storage-key or PGSTE operation (Ctl.S390_STATUS). */
export const enum S390Status {
  Ok = 0,
  Addressing = 1,    // the frame / PTE / PGSTE is outside guest memory
  BadPtep = 2,       // not an 8-aligned PTE slot of the first half of a 4 KiB table
  LockHeld = 3,      // PCL already set: the caller would spin forever
  NotLocked = 4,     // unlock of a PGSTE whose PCL is clear (double unlock)
  PteValid = 5,      // pgste_set_key on a PTE that is still valid (VM_BUG_ON)
  PoolExhausted = 6, // sparse: no frame to back the storage key
}

/**
 * Leaf information of a successful walk, the permissions folded over every
 * level (what a TLB entry stores; v86 `tlb_data`, QEMU `prot`). The page is
 * [pa >> shift << shift, +2^shift). RES_LEAF in the control block.
 */
export const enum Leaf {
  W = 1,            // R/W set at every level (writes allowed for CPL3 or CR0.WP=1)
  U = 2,            // U/S set at every level: a user-mode address
  X = 4,            // no level has XD (with EFER.NXE)
  D = 8,            // the leaf's Dirty bit is set (after this access)
  G = 16,           // the leaf's Global bit (CR4.PGE makes it survive CR3 loads)
  PKEY_SHIFT = 8,   // protection key (bits 62:59 of the leaf) in bits 8..11
}

/**
 * x86 control-register and EFLAGS bit positions (Intel SDM Vol. 3A §2.5, §4.1).
 * The host's bigint masks (X86_CR0_PG, EFER_LME, …) are derived from these in
 * src/kernel/x86/pgtable-types.ts.
 */
export const enum Cr {
  CR0_PE = 0, CR0_WP = 16, CR0_PG = 31,
  CR4_PSE = 4, CR4_PAE = 5, CR4_PGE = 7, CR4_LA57 = 12, CR4_PCIDE = 17,
  CR4_SMEP = 20, CR4_SMAP = 21, CR4_PKE = 22,
  EFER_LME = 8, EFER_LMA = 10, EFER_NXE = 11,
  EFLAGS_AC = 18,
  CR3_NOFLUSH = 63,
}

/** The protection controls the access rules read (assembly/x86/access.ts and
 *  its TS twin), packed into one word: CR0.WP, CR4.SMEP, CR4.SMAP, and
 *  CR4.PKE where it takes effect (IA-32e paging only). */
export const enum PermCtl { WP = 1, SMEP = 2, SMAP = 4, PKE = 8 }

/**
 * Bits of an x86 paging-structure entry (Intel SDM Vol. 3A §4.3–4.5, tables
 * 4-4 … 4-20). The host's Linux-named bigint masks (_PAGE_PRESENT, …) are
 * derived from these in src/kernel/x86/pgtable-types.ts.
 */
export const enum Pte {
  P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256,
  /** Bit 12 of a large-page entry is PAT; the page frame starts above it. */
  LARGE_PAT = 4096,
  /** XD is bit 63; protection key bits 62:59 (both in the high word). */
  XD_BIT = 63, PKEY_BIT = 59,
}

// ───────────────────────────── TLB ─────────────────────────────
// The TLB lives in the TLB region (Ctl.TLB_BASE). Its geometry is chosen by
// the host (src/tlb/config.ts) and published in a header at the start of the
// region; the core and the TS engine read it from there. docs/TLB-ABI.md is
// the stable description of everything below.

/** TLB region header (byte offsets from Ctl.TLB_BASE). */
export const enum TlbHdr {
  COUNT = 0,          // u32 number of structures (0 = TLB off: nothing is cached)
  CLOCK = 4,          // u32 LRU clock (ticks on every hit and fill of a set-associative structure)
  FLAGS = 8,          // u32 TlbFlag
  PSC_COUNT = 12,     // u32 paging-structure caches (0 = none)
  STRUCTS = 16,       // TlbStruct descriptors, STRUCT_SIZE bytes each
  STRUCT_SIZE = 32,
  MAX_STRUCTS = 12,
  PSC = STRUCTS + MAX_STRUCTS * STRUCT_SIZE,   // TlbStruct descriptors of the paging-structure caches
  MAX_PSC = 4,
  SIZE = 1024,        // entries and lists start here (≥ PSC + MAX_PSC × STRUCT_SIZE: checked in src/tlb/config.ts)
}

/** Header flags. */
export const enum TlbFlag {
  /** Structure 0 is a direct-mapped 4 KiB L1 for every access kind: the
   *  batch loop and the single translate probe it inline (TLB-ABI.md). */
  FAST = 1,
  /** Replacement of set-associative structures: tree-PLRU (else LRU). */
  PLRU = 2,
}

/** A structure descriptor (byte offsets within its STRUCT_SIZE slot). */
export const enum TlbStruct {
  ENTRIES = 0,        // u32 byte offset of the entry array from TLB_BASE
  SETS_LOG2 = 4,      // u32
  WAYS = 8,           // u32
  SIZES = 12,         // u32 TlbSize bits this structure holds
  LEVEL = 16,         // u32 1 (L1) or 2 (L2); PSC: the paging-structure level (5..2)
  KINDS = 20,         // u32 bit (1 << Access) per access kind served (L1 i/d split)
  LIST = 24,          // u32 byte offset of the valid-entry list (u32 entry indexes)
  LIST_COUNT = 28,    // u32 entries in the list
}

/** Page-size classes of an entry. */
export const enum TlbSize { S4K = 1, LARGE = 2, S1G = 4 }

/**
 * One TLB entry, 32 bytes (TLB-ABI.md has the diagram):
 *   KEY    u64  linear page base (bits 63:12, aligned to the page size) | PCID (11:0)
 *   DATA   u64  (physical page base XOR linear page base) | TlbDeny bits (11:0)
 *   PTE_PA u64  physical address of the leaf entry
 *   LEAF   u32  Leaf bits (0..11) | GLOBAL | page shift << SHIFT_SHIFT | LISTED
 *   STAMP  u32  LRU stamp; for way 0 of a set under PLRU, the tree bits
 * Hit: ((KEY ^ (va & ~0xfff | pcid)) | (DATA & accessMask)) == 0; then
 * pa = va ^ (DATA & ~0xfff).
 */
export const enum TlbEnt {
  KEY = 0, DATA = 8, PTE_PA = 16, LEAF = 24, STAMP = 28, SIZE = 32, SIZE_LOG2 = 5,
  SHIFT_SHIFT = 16, LISTED = 0x8000_0000, PCID_MASK = 0xfff,
  /** LEAF bit 12: a global entry (Leaf.G with CR4.PGE at fill): kept across CR3 loads, valid for every PCID. */
  GLOBAL = 0x1000,
  /** LEAF bits that are the walk's Leaf bits. */
  LEAF_BITS = 0xfff,
  /** Direct-mapped structures spread PCIDs over the sets: set = ((va >> shift) ^ pcid × PCID_HASH) & (sets − 1);
   *  global entries use hash 0 (the set of the VA alone). */
  PCID_HASH = 0x045d_9f3b,
}

/** Negative-sense permission bits in DATA (v86's TLB_READONLY idea): an
 *  access whose mask (accessMask in assembly/tlb.ts) shares a set bit with DATA misses. */
export const enum TlbDeny {
  INVALID = 1,        // empty slot (every access mask contains it)
  W_SUP = 2,          // supervisor write: read-only with CR0.WP, or D clear (lazy D)
  W_USER = 4,         // user write: read-only, supervisor page, or D clear
  R_USER = 8,         // user read: supervisor page
  X_SUP = 16,         // supervisor fetch: XD, or user page with CR4.SMEP
  X_USER = 32,        // user fetch: XD or supervisor page
  SMAP = 64,          // supervisor data access to a user page with CR4.SMAP (checked when EFLAGS.AC=0)
  PKEY = 128,         // data access subject to protection keys: always re-walked (PKRU changes flush nothing)
  MASK = 0xfff,
}

/**
 * A paging-structure-cache entry (Intel SDM Vol. 3A §4.10.3), in a TlbEnt slot
 * of a PSC structure (descriptors at TlbHdr.PSC, in the order PML5E, PML4E,
 * PDPTE, PDE; LEVEL 5..2):
 *   KEY    u64  linear address bits 63:TAG (TAG = 48, 39, 30, 21) | PCID (11:0)
 *   DATA   u64  physical address of the next paging structure (51:12) | PscData bits
 *   PTE_PA u64  physical address of the cached paging-structure entry
 *   LEAF   u32  TAG << TlbEnt.SHIFT_SHIFT | LISTED (never GLOBAL: SDM §4.10.3.1)
 *   STAMP  u32  as in a TLB entry
 */
export const enum PscData {
  /** Empty slot (TlbDeny.INVALID). */
  INVALID = 1,
  /** R/W and U/S ANDed over the entries down to and including this one (Pte bit positions). */
  RW = 2, US = 4,
  /** XD ORed over the same entries. */
  XD = 8,
}

/** Statistics: u64 counters at Mem.STATS_BASE + offset (src/tlb/stats.ts
 *  reads them). Each offset follows from the one before and the sizes, so a
 *  counter is added by naming it and its count in the right place. */
export const enum Stat {
  COUNTER = 8,
  /** ACCESS[level 1..2][kind Access][0 hit / 1 miss], u64 (COUNTER bytes) each: the offset of
   *  one counter is ACCESS + (level − 1)·LEVEL_STRIDE + kind·KIND_STRIDE + miss·COUNTER. */
  ACCESS = 0,
  KIND_STRIDE = 2 * COUNTER,
  LEVEL_STRIDE = 3 * KIND_STRIDE,
  WALKS = ACCESS + 2 * LEVEL_STRIDE,   // page walks started by translate (not probe)
  WALK_REFS = WALKS + COUNTER,             // [0..7] histogram: paging-structure memory reads per walk (7 = 7 or more)
  WALK_REFS_BUCKETS = 8,
  PSC_HIT = WALK_REFS + WALK_REFS_BUCKETS * COUNTER,   // [0..3] paging-structure-cache probes that hit: PML5E, PML4E, PDPTE, PDE
  PSC_LEVELS = 4,
  PSC_MISS = PSC_HIT + PSC_LEVELS * COUNTER,           // [0..3] … that missed (a walk probes PDE first, then upward until a hit)
  A_WRITES = PSC_MISS + PSC_LEVELS * COUNTER,          // A bits set by the walker
  D_WRITES = A_WRITES + COUNTER,                       // D bits set by the walker
  FAULT_PF = D_WRITES + COUNTER,
  FAULT_GP = FAULT_PF + COUNTER,
  FAULT_BUS = FAULT_GP + COUNTER,
  FAULT_S390 = FAULT_BUS + COUNTER,
  FLUSH_CR3 = FAULT_S390 + COUNTER,
  FLUSH_INVLPG = FLUSH_CR3 + COUNTER,
  FLUSH_INVPCID = FLUSH_INVLPG + COUNTER,
  FLUSH_FULL = FLUSH_INVPCID + COUNTER,
  EVICTIONS = FLUSH_FULL + COUNTER,        // valid entries replaced by a fill (capacity / conflict)
  INVALIDATED = EVICTIONS + COUNTER,       // entries dropped by flushes of any cause
  END = INVALIDATED + COUNTER,
}
