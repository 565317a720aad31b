/**
 * The one implementation of the engine contract (engine.ts). An engine is a
 * linear memory laid out by src/layout.ts plus two cores that work on it —
 * an X86Core (x86-core.ts) and an S390Core (s390.ts) — and the wasm and TS
 * engines differ only in the cores they pass: the AssemblyScript exports, or
 * their TypeScript twins (ts/core.ts, ts/s390/core.ts). Every API method, and
 * every argument check (src/check.ts), is therefore written once, here.
 *
 * Results come back through the control block's result record (result.ts);
 * bulk work goes through the batch buffers, never one call per address.
 */
import { Access, Arch, Ctl, FaultKind, Mem } from "../abi.js";
import { badAccess, checkAccess, checkBool, checkInt, checkS64 } from "../check.js";
import type { Layout } from "../layout.js";
import { PhysMem } from "../phys/phys-mem.js";
import { readStats, resetStats, type TlbStats } from "../tlb/stats.js";
import { batchViews, checkInvpcid, checkRange } from "./batch.js";
import {
  type BatchViews, type Engine, type EngineName, newTranslation, type Semantics, type Translation, type X86State,
} from "./engine.js";
import { badPaVa, readResult, translatePaVia } from "./result.js";
import { S390Methods, type S390Core } from "./s390.js";
import type { X86Core } from "./x86-core.js";
import { setOk, X86Control } from "./x86-control.js";
import { TWO32 } from "../u64.js";

const ARCH = (Mem.CTL_BASE + Ctl.ARCH) >>> 2;

/** What an engine is made of. */
export interface EngineParts {
  name: EngineName;
  layout: Layout;
  /** The linear memory (the wasm instance's buffer, or the TS engine's ArrayBuffer). */
  buffer: ArrayBufferLike;
  x86: X86Core;
  s390: S390Core;
}

/**
 * translatePa's argument checks (result.ts badPaVa, then the kind), in a few
 * operations, as this is an emulator's per-access call. WasmEngine repeats
 * translatePa's two-line dispatch around this same check (see there why).
 */
export function checkPaArgs(va: number, access: Access): void {
  // Number.isInteger refuses non-Numbers too; ±2^63 bound the signed 64-bit
  // range (literals: a module constant would cost a hole check per call).
  if (!Number.isInteger(va) || va < -9223372036854775808 || va >= 9223372036854775808) throw badPaVa(va);
  if (access !== Access.Read && access !== Access.Write && access !== Access.Fetch) throw badAccess("translatePa", access);
}

let rawX86: (e: CoreEngine) => X86Core;
/** The raw x86 core of an engine: for the project's own tests and tools, not
 *  exported by the package (the engine keeps it in a private field). */
export function x86CoreOf(e: CoreEngine): X86Core { return rawX86(e); }

export class CoreEngine extends S390Methods implements Engine {
  readonly name: EngineName;
  readonly layout: Layout;
  readonly buffer: ArrayBufferLike;
  readonly phys: PhysMem;
  readonly batch: BatchViews;
  /** The x86 core; private at run time, not only to the type checker (see x86-core.ts). */
  readonly #x86: X86Core;
  private readonly x86ctl: X86Control;
  private readonly m32: Uint32Array;
  static {
    rawX86 = (e) => e.#x86;
  }

  protected constructor(p: EngineParts) {
    super();
    this.name = p.name;
    this.layout = p.layout;
    this.buffer = p.buffer;
    this.#x86 = p.x86;
    this.phys = new PhysMem(p.buffer, p.layout);
    this.batch = batchViews(p.buffer, p.layout);
    this.m32 = new Uint32Array(p.buffer);
    this.s390Init(p.s390);
    const core = p.x86, m32 = this.m32;
    this.x86ctl = new X86Control(p.buffer, {
      loadPdptes: (cr3, out) => core.x86LoadPdptes(cr3) === FaultKind.None ? setOk(out) : readResult(m32, out),
      flushTlb: (g) => core.tlbFlushAll(g ? 1 : 0),
      loadCr3: (pcid) => core.tlbLoadCr3(pcid),
    }, p.layout.maxPhyAddr);
  }

  // ── x86 context (x86-control.ts: MOV CR, WRMSR EFER and their effects) ──
  setSemantics(s: Semantics): void { this.x86ctl.setSemantics(s); this.s390Profile(s.profile); }
  setX86(state: Partial<X86State>): Translation { return this.x86ctl.setX86(state, newTranslation()); }
  writeCr0(v: bigint): Translation { return this.x86ctl.writeCr0(v, newTranslation()); }
  writeCr3(v: bigint): Translation { return this.x86ctl.writeCr3(v, newTranslation()); }
  writeCr4(v: bigint): Translation { return this.x86ctl.writeCr4(v, newTranslation()); }
  writeEfer(v: bigint): Translation { return this.x86ctl.writeEfer(v, newTranslation()); }
  setCpl(n: number): void { this.x86ctl.setCpl(n); }
  setEflags(v: bigint): void { this.x86ctl.setEflags(v); }
  setPkru(v: number): void { this.x86ctl.setPkru(v); }
  x86(): X86State { return this.x86ctl.state(); }
  /** Why the last register write faulted ("" if it did not). */
  get x86Error(): string { return this.x86ctl.lastError; }
  /** The result record of the last translate/probe, or of a translatePa that returned -1. */
  lastTranslation(out: Translation = newTranslation()): Translation { return readResult(this.m32, out); }

  // ── translation: the walker follows setArch (Ctl.ARCH), x86 here, s390 in S390Methods ──
  translate(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[ARCH] === Arch.S390) return this.translateS390(va, access, out);
    this.#x86.translate(checkS64("translate", "va", va), checkAccess("translate", access));
    return readResult(this.m32, out);
  }

  translatePa(va: number, access: Access): number {
    checkPaArgs(va, access);
    if (this.m32[ARCH] === Arch.S390) return translatePaVia(this, va, access);
    return this.#x86.translatePa(va, access);
  }

  probe(va: bigint, access: Access, out: Translation = newTranslation()): Translation {
    if (this.m32[ARCH] === Arch.S390) return this.probeS390(va, access, out);
    this.#x86.probe(checkS64("probe", "va", va), checkAccess("probe", access));
    return readResult(this.m32, out);
  }

  translateBatch(n: number): number {
    if (this.m32[ARCH] === Arch.S390) return this.translateBatchS390(n);
    return this.#x86.translateBatch(checkInt("translateBatch", "n", n, 0, this.layout.batchCap));
  }

  translateRange(start: number, end: number): number {
    checkRange(start, end, this.layout.batchCap, this.m32[ARCH]!);
    return this.#x86.translateRange(start, end);
  }

  // ── TLB control ──
  invlpg(va: bigint): void { this.#x86.tlbFlushPage(checkS64("invlpg", "va", va)); }
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void {
    const a = checkInvpcid(type, pcid, va);
    this.#x86.tlbFlushPcid(type, pcid, a);
  }
  flushTlb(includeGlobal = true): void {
    this.#x86.tlbFlushAll(checkBool("flushTlb", "includeGlobal", includeGlobal) ? 1 : 0);
    this.purgeTlb();
  }

  // ── statistics ──
  stats(): TlbStats { return readStats(this.buffer); }
  resetStats(): void { resetStats(this.buffer); }
}
