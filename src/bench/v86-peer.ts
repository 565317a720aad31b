/**
 * v86 (npm v86@0.5.462) as a benchmark peer, driven directly through its
 * shipped build/v86.wasm: stub imports,
 * rust_init, allocate_memory, 2-level or PAE page tables written into its
 * guest RAM, CR4/CR3/CR0 through `mov crN, eax` (instr_0F22). Its TLB (`tlb_data`,
 * one i32 per 4 KiB page, not exported) is located by filling two known
 * pages and finding their entries, so the JIT-style inline probe can run
 * over it. Every path is checked against the expected physical addresses
 * before it is timed.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const REG_EAX = 64, CR_BASE = 580, RAM_SIZE_AT = 812;
const PG = 0x8000_0000, PE = 1, PSE = 0x10, PAE = 0x20;

export interface V86Exports {
  memory: WebAssembly.Memory;
  rust_init(): void;
  allocate_memory(size: number): number;
  instr_0F22(reg: number, creg: number): void;
  translate_address_system_read_js(va: number): number;
  instr32_0F01_7_mem(va: number): void;
  full_clear_tlb(): void;
  get_valid_tlb_entries_count(): number;
}

export class V86Peer {
  readonly ex: V86Exports;
  /** Linear address of guest physical 0 in v86's memory. */
  readonly mem8: number;
  /** Linear address of tlb_data (found, not exported). */
  tlbData = -1;
  private readonly ramSize: number;

  private constructor(ex: V86Exports, mem8: number, ramSize: number) { this.ex = ex; this.mem8 = mem8; this.ramSize = ramSize; }

  /** Load v86.wasm from the installed package; null (with the reason) if it is not installed. */
  static async create(ramSize = 96 << 20): Promise<V86Peer | string> {
    let bytes: Uint8Array<ArrayBuffer>;
    const from = [import.meta.url, `${process.cwd()}/`];
    const path = from.map((f) => { try { return createRequire(f).resolve("v86/build/v86.wasm"); } catch { return null; } }).find((x) => x);
    if (!path) return "v86 is not installed (npm i -D v86@0.5.462)";
    bytes = new Uint8Array(readFileSync(path));
    const mod = await WebAssembly.compile(bytes);
    const env: Record<string, unknown> = {
      __indirect_function_table: new WebAssembly.Table({ initial: 900 + 1024, element: "anyfunc" }),
    };
    for (const imp of WebAssembly.Module.imports(mod)) {
      if (imp.kind === "function") env[imp.name] = (): number => 0;
    }
    const inst = await WebAssembly.instantiate(mod, { env: env as WebAssembly.ModuleImports });
    const ex = inst.exports as unknown as V86Exports;
    ex.rust_init();
    new DataView(ex.memory.buffer).setUint32(RAM_SIZE_AT, ramSize, true);
    const mem8 = ex.allocate_memory(ramSize);
    return new V86Peer(ex, mem8, ramSize);
  }

  get u32(): Uint32Array { return new Uint32Array(this.ex.memory.buffer); }

  /** mov crN, eax. */
  private movCr(n: number, v: number): void {
    this.u32[REG_EAX >>> 2] = v >>> 0;
    this.ex.instr_0F22(0, n);
  }

  /**
   * 2-level paging (v86 has no long mode): a page directory at `pd`, page
   * tables after it, mapping `pages` 4 KiB pages from VA `vaBase` to
   * frames frameOf(i). Then CR4 = PSE, CR3 = pd, CR0 = PG|PE.
   */
  mapPages(pd: number, vaBase: number, pages: number, frameOf: (i: number) => number): void {
    const m = this.u32, g = this.mem8 >>> 2;
    const pts = pd + 4096;
    if (pts + Math.ceil(pages / 1024) * 4096 > this.ramSize) throw new RangeError("v86: page tables do not fit its RAM");
    m.fill(0, g + (pd >>> 2), g + (pd >>> 2) + 1024);
    for (let i = 0; i < pages; i++) {
      const va = vaBase + i * 4096;
      const pdi = va >>> 22, pt = pts + (pdi - (vaBase >>> 22)) * 4096;
      if ((va & 0x3f_ffff) === 0 || i === 0) {
        m.fill(0, g + (pt >>> 2), g + (pt >>> 2) + 1024);
        m[g + (pd >>> 2) + pdi] = (pt | 0x27) >>> 0;     // P RW US A
      }
      m[g + (pt >>> 2) + ((va >>> 12) & 0x3ff)] = (frameOf(i) | 0x67) >>> 0;   // P RW US A D
    }
    this.movCr(4, PSE);
    this.movCr(3, pd);
    this.movCr(0, PG | PE);
    this.ex.full_clear_tlb();
  }

  /**
   * PAE paging, as src/bench/machine.ts writes it for the engines: a PDPT at
   * `pdpt` (its 4 entries P only), then per GiB a PD and per 2 MiB a PT of
   * 8-byte entries. Then CR4 = PAE, CR3 = pdpt, CR0 = PG|PE. Whether v86
   * walks these is for the caller to check (v86 was written for 32-bit paging).
   */
  mapPagesPae(pdpt: number, vaBase: number, pages: number, frameOf: (i: number) => number): void {
    const m = this.u32, g = this.mem8 >>> 2;
    let next = pdpt + 4096, pd = 0, pt = 0;
    const table = (): number => {
      const pa = next; next += 4096;
      if (next > this.ramSize) throw new RangeError("v86: page tables do not fit its RAM");
      m.fill(0, g + (pa >>> 2), g + (pa >>> 2) + 1024);
      return pa;
    };
    const set = (pa: number, v: number): void => { m[g + (pa >>> 2)] = v >>> 0; m[g + (pa >>> 2) + 1] = 0; };
    m.fill(0, g + (pdpt >>> 2), g + (pdpt >>> 2) + 1024);
    for (let i = 0; i < pages; i++) {
      const va = vaBase + i * 4096;
      if (i === 0 || va % 2 ** 30 === 0) { pd = table(); set(pdpt + Math.floor(va / 2 ** 30) * 8, pd | 1); }
      if (i === 0 || va % 2 ** 21 === 0) { pt = table(); set(pd + (Math.floor(va / 2 ** 21) % 512) * 8, pt | 0x27); }
      set(pt + (Math.floor(va / 4096) % 512) * 8, frameOf(i) | 0x67);
    }
    this.movCr(4, PAE);
    this.movCr(3, pdpt);
    this.movCr(0, PG | PE);
    this.ex.full_clear_tlb();
  }

  translate(va: number): number { return this.ex.translate_address_system_read_js(va) >>> 0; }

  /** Find tlb_data: fill two pages and look for their entries 4 × (page distance) apart. */
  locateTlb(va1: number, va2: number): number {
    this.ex.full_clear_tlb();
    const p1 = this.translate(va1), p2 = this.translate(va2);
    const want1 = (((p1 & ~0xfff) + this.mem8) ^ (va1 & ~0xfff)) & ~0xfff;
    const want2 = (((p2 & ~0xfff) + this.mem8) ^ (va2 & ~0xfff)) & ~0xfff;
    const m = this.u32, step = (va2 >>> 12) - (va1 >>> 12);
    for (let i = 0; i + step < m.length; i++) {
      if (((m[i]! & ~0xfff) >>> 0) === (want1 >>> 0) && (m[i]! & 1) === 1 && ((m[i + step]! & ~0xfff) >>> 0) === (want2 >>> 0)) {
        this.tlbData = (i - (va1 >>> 12)) * 4;
        return this.tlbData;
      }
    }
    throw new Error("v86: tlb_data not found in its memory");
  }
}
