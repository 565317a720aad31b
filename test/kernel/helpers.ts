// Test helpers for the kernel side: a machine (engine + kernel in a paging
// mode) and a shadow TLB that holds the kernel to the SDM's invalidation rules.
import { Access, FaultKind } from "../../src/abi.js";
import { createEngine, type Engine, type EngineName } from "../../src/engine/index.js";
import { Kernel, type KernelOptions } from "../../src/kernel/x86/kernel.js";
import { x86ControlFor } from "../../src/kernel/x86/pgtable.js";
import { X86_CR4_PCIDE, type PagingMode } from "../../src/kernel/x86/pgtable-types.js";
import type { MmuCpu } from "../../src/paravirt/ops.js";

interface Cached { pcid: number; base: bigint; size: bigint; pa: number; write: boolean; global: boolean }

/**
 * A TLB model kept beside the engine (whatever TLB the engine has): every
 * successful translate() is cached per PCID; CR3 loads, INVLPG, INVPCID and
 * flushes invalidate exactly what the SDM (Vol. 3A §4.10.4.1) says they do;
 * a #PF drops the faulting address. `stale()` lists cached translations of
 * the current PCID (and global ones) that the page tables no longer allow —
 * a kernel that forgot an invalidation shows up here even while the engine's
 * own TLB is still a stub.
 */
export class ShadowTlb implements MmuCpu {
  private readonly entries = new Map<string, Cached>();
  invalidations: string[] = [];
  /** Size of the page mapping va in the current tables (set once the kernel exists). */
  sizeOf: (va: bigint) => number = () => 4096;
  constructor(readonly engine: Engine, readonly pageOffset: bigint) {}
  get phys() { return this.engine.phys; }

  private pcidOf(cr3: bigint): number {
    return (this.engine.x86().cr4 & X86_CR4_PCIDE) !== 0n ? Number(cr3 & 0xfffn) : 0;
  }
  private get pcid(): number { return this.pcidOf(this.engine.x86().cr3); }

  x86() { return this.engine.x86(); }
  writeCr3(v: bigint) {
    const noflush = (v & (1n << 63n)) !== 0n && (this.engine.x86().cr4 & X86_CR4_PCIDE) !== 0n;
    const r = this.engine.writeCr3(v);
    const pcid = this.pcidOf(v & ~(1n << 63n));
    this.invalidations.push(`cr3 ${(v & ~(1n << 63n)).toString(16)}${noflush ? " noflush" : ""}`);
    if (!noflush) for (const [key, e] of this.entries) if (!e.global && e.pcid === pcid) this.entries.delete(key);
    return r;
  }
  invlpg(va: bigint) {
    this.engine.invlpg(va);
    this.invalidations.push(`invlpg ${va.toString(16)}`);
    const pcid = this.pcid;
    for (const [key, e] of this.entries) if (hit(e, va) && (e.global || e.pcid === pcid)) this.entries.delete(key);
  }
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint) {
    this.engine.invpcid(type, pcid, va);
    this.invalidations.push(`invpcid ${type}`);
    for (const [key, e] of this.entries) {
      if (type === 0 ? e.pcid === pcid && hit(e, va) && !e.global
        : type === 1 ? e.pcid === pcid && !e.global : type === 2 ? true : !e.global) this.entries.delete(key);
    }
  }
  flushTlb(includeGlobal = true) {
    this.engine.flushTlb(includeGlobal);
    this.invalidations.push(`flush ${includeGlobal}`);
    for (const [key, e] of this.entries) if (includeGlobal || !e.global) this.entries.delete(key);
  }

  /** Translate through the engine and cache the result like a TLB fill. */
  translate(va: bigint, access: Access) {
    const t = this.engine.translate(va, access);
    if (t.fault !== FaultKind.None) {
      for (const [k2, e] of this.entries) if (hit(e, va)) this.entries.delete(k2);
      return t;
    }
    const size = BigInt(this.sizeOf(va));
    const base = va & ~(size - 1n);
    const global = va >= this.pageOffset;
    const key = `${global ? -1 : this.pcid}:${base}`;
    const old = this.entries.get(key);
    this.entries.set(key, { pcid: global ? -1 : this.pcid, base, size, pa: t.pa - Number(va - base), global,
      write: access === Access.Write || (old?.write ?? false) });
    return t;
  }

  /** Cached translations the tables no longer back (for the current PCID and global pages). */
  stale(): string[] {
    const out: string[] = [];
    const pcid = this.pcid;
    for (const e of this.entries.values()) {
      if (!e.global && e.pcid !== pcid) continue;
      const va = e.base;
      const r = this.engine.probe(va, e.write ? Access.Write : Access.Read);
      if (r.fault !== FaultKind.None || r.pa !== e.pa)
        out.push(`${va.toString(16)} cached → ${e.pa.toString(16)}${e.write ? " (w)" : ""}, tables now: ${r.fault ? "fault" : r.pa.toString(16)}`);
    }
    return out;
  }
  get size(): number { return this.entries.size; }
}

const hit = (e: Cached, va: bigint): boolean => e.base <= va && va < e.base + e.size;

export interface Machine { engine: Engine; cpu: ShadowTlb; k: Kernel }

export async function machine(engine: EngineName, mode: PagingMode, opts: Partial<KernelOptions> & { physSize?: number; backing?: "dense" | "sparse"; pcid?: boolean } = {}): Promise<Machine> {
  const e = await createEngine(engine, { physSize: opts.physSize ?? 64 << 20, backing: opts.backing, poolBytes: opts.backing === "sparse" ? 16 << 20 : undefined });
  if (opts.backing === "sparse") opts = { ...opts, allocator: undefined };
  const k0 = { pageOffset: mode === "4level" ? 0xffff_8880_0000_0000n : mode === "5level" ? 0xff11_0000_0000_0000n : 0xc000_0000n };
  const cpu = new ShadowTlb(e, k0.pageOffset);
  const { physSize: _size, backing: _backing, ...kernelOpts } = opts;
  const k = new Kernel({ mode, cpu, ...kernelOpts });
  cpu.sizeOf = (va) => k.tlb.loadedMm.lookup(va)?.size ?? 4096;
  const fault = e.setX86({ ...x86ControlFor(mode, { pcid: opts.pcid ?? true }), cr3: BigInt(k.initMm.pgd), cpl: 0 });
  if (fault.fault !== FaultKind.None) throw new Error(`setX86 failed: ${JSON.stringify(fault)}`);
  return { engine: e, cpu, k };
}

export const MODES: readonly PagingMode[] = ["2level", "pae", "4level", "5level"];
