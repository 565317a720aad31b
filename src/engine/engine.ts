/**
 * The contract both engines keep: the same results and the same memory side
 * effects (core-engine.ts implements it once over either engine's cores).
 *
 * An engine is one emulated MMU plus the guest physical memory it walks:
 * the wasm engine keeps them in WebAssembly linear memory, the TS engine in an
 * ArrayBuffer laid out identically (src/layout.ts), so that results *and*
 * memory side effects can be compared byte for byte.
 *
 * Conventions: physical addresses are numbers (< 2^52, exact); virtual
 * addresses and register values are bigints on this API (64-bit); hot loops
 * never see either — they run inside the engine over linear memory.
 */
import type { Access, FaultKind, Quirk } from "../abi.js";
import type { Layout, MachineConfig } from "../layout.js";
import type { PhysMem } from "../phys/phys-mem.js";
import type { TlbStats } from "../tlb/stats.js";

export type EngineName = "wasm" | "ts";
export const ENGINE_NAMES: readonly EngineName[] = ["wasm", "ts"];

/** Outcome of one translation. Pass one in to avoid allocation. */
export interface Translation {
  /** FaultKind.None on success. */
  fault: FaultKind;
  /** Success: the physical address. Bus fault: the physical address that was out of range. */
  pa: number;
  /** x86: exception vector (14 #PF, 13 #GP). s390: program-interruption code. */
  vector: number;
  /** x86: error code. s390: low 12 bits of the translation-exception identification. */
  errorCode: number;
  /** x86 #PF: the value written to CR2. s390: the TEID address (page of the VA). */
  addr: bigint;
  /** Success: Leaf bits (abi.ts): the permissions folded over every level, D, G, pkey. */
  leaf: number;
  /** Success: log2 of the page size (12, 21, 22, 30). */
  shift: number;
  /** Success: physical address of the leaf entry (0 with paging off). */
  ptePa: number;
}

export function newTranslation(): Translation {
  return { fault: 0 as FaultKind, pa: 0, vector: 0, errorCode: 0, addr: 0n, leaf: 0, shift: 0, ptePa: 0 };
}

/** Views of the batch buffers in linear memory (zero-copy). */
export interface BatchViews {
  /** Virtual addresses in. */
  readonly va: BigUint64Array;
  /** Access kinds in (Access). */
  readonly kind: Uint8Array;
  /** Results out: a PA, or a fault word (see BatchOut in abi.ts). */
  readonly out: BigUint64Array;
  /** Same memory as `va`/`out` as 32-bit halves (little-endian lo, hi), for
   *  callers that avoid BigInt. */
  readonly va32: Uint32Array;
  readonly out32: Uint32Array;
  readonly capacity: number;
}

export interface EngineOptions extends MachineConfig {
  /** wasm only: a WebAssembly.Memory to use (imported), e.g. shared with an
   *  emulator's RAM; shared (`shared: true`) or not. It is grown to
   *  layout.totalBytes if smaller. Guest RAM is then at `layout.ramBase` in it,
   *  the embedder's own bytes belong at `layout.embedBase` (embedderBytes). An
   *  unshared memory must not grow while the engine uses it: that detaches
   *  every view the engine holds (docs/TLB-ABI.md, "Embedding"). */
  memory?: WebAssembly.Memory;
}

export interface EngineBase {
  readonly name: EngineName;
  readonly layout: Layout;
  /** Host view of guest physical memory (same bytes the walker reads). */
  readonly phys: PhysMem;
  /** The whole linear memory (for byte-for-byte comparison and for tools). */
  readonly buffer: ArrayBufferLike;
  readonly batch: BatchViews;
}

/** x86 context (Intel SDM Vol. 3A ch. 2, 4). Register values are bigints. */
export interface X86State {
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  /** IA32_EFER; LMA (bit 10) is derived (= LME && CR0.PG) and read back. */
  efer: bigint;
  /** Only AC (bit 18) matters to translation (SMAP). */
  eflags: bigint;
  cpl: number;
  pkru: number;
  /** Page-fault linear address, written on every #PF by translate (not by probe). */
  cr2: bigint;
}

/** Semantic options (docs/SEMANTICS.md has the choices behind the defaults). */
export interface Semantics {
  /** "hardware" (default): the Intel SDM. "qemu": QEMU 7.2's four deviations (Quirk.All). */
  profile?: "hardware" | "qemu";
  /** Explicit Quirk bits; overrides `profile`. */
  quirks?: Quirk | number;
  /** "walk" (default): non-leaf A bits are set as the walk passes them even if it
   *  then faults. "none": a faulting walk writes nothing (docs/SEMANTICS.md). */
  adOnFault?: "walk" | "none";
  /** PAE PDPTE reserved-bit #GP: "load" (default, SDM §4.4.1): at the CR3 load,
   *  for any present PDPTE; "use": when an access uses the bad PDPTE (what the
   *  conformance corpus's SDM model assumes). Ignored under Quirk.PaePdpteWalkCheck. */
  pdpteGp?: "load" | "use";
}

/** The full engine contract: both engines implement it with identical results. */
export interface Engine extends EngineBase {
  setSemantics(s: Semantics): void;
  /** Full reload of the x86 context as after reset: derives the mode, loads the
   *  PAE PDPTE registers, flushes the TLB. A #GP (inconsistent registers, reserved
   *  PDPTE bits) or a bus fault (PDPT beyond RAM) is returned as a fault and
   *  leaves the previous context unchanged. */
  setX86(state: Partial<X86State>): Translation;
  /** MOV to CR0/CR3/CR4, WRMSR EFER: the architectural effects (consistency
   *  #GP, PDPTE loads, TLB flushes). On a fault the register keeps its value. */
  writeCr0(v: bigint): Translation;
  writeCr3(v: bigint): Translation;
  writeCr4(v: bigint): Translation;
  writeEfer(v: bigint): Translation;
  setCpl(n: number): void;
  setEflags(v: bigint): void;
  /** WRPKRU. No TLB effect (PKRU is consulted on every access). */
  setPkru(v: number): void;
  x86(): X86State;
  /** Why the last setX86 / writeCr* / writeEfer faulted, in words ("" if it did not). */
  readonly x86Error: string;
  /** One access: physical address or fault, with the A/D (and CR2) side effects. */
  translate(va: bigint, access: Access, out?: Translation): Translation;
  /**
   * The cheapest single translation from JS, for emulators calling per access:
   * `va` as a Number — a canonical address as a signed integer, so every
   * IA-32e address is exact (0xffff_8880_0000_0000 is -0x7780_0000_0000) —
   * returns the physical address as a Number, or -1 on a fault. Side effects
   * as translate(); on a fault (only) the result record is written: read it
   * with lastTranslation().
   */
  translatePa(va: number, access: Access): number;
  /** The result record of the last translate/probe, or of a translatePa that returned -1. */
  lastTranslation(out?: Translation): Translation;
  /** The same walk with no side effects at all (debuggers, ptdump). */
  probe(va: bigint, access: Access, out?: Translation): Translation;
  /** Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the number of faults. */
  translateBatch(n: number): number;
  /** Translate batch entries [start, end) in order, stopping at the first fault:
   *  returns its index (fault word in batch.out), or `end`. Entries after the
   *  fault are untouched, so a demand pager can map the page and resume there. */
  translateRange(start: number, end: number): number;
  invlpg(va: bigint): void;
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void;
  flushTlb(includeGlobal?: boolean): void;
  /** TLB, walk and fault statistics (src/tlb/stats.ts), read from linear memory. */
  stats(): TlbStats;
  resetStats(): void;
}
