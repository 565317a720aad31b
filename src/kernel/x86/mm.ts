/**
 * An x86 address space: the generic mm (../mm.ts) with its x86 context —
 * the pgd as CR3 points to it and context.tlb_gen — created by mm_alloc +
 * pgd_alloc + paravirt enter_mmap.
 */
import { KernelOomError } from "../kernel.js";
import { Mm } from "../mm.js";
import type { PvMm } from "../../paravirt/ops.js";
import type { PhysAddr } from "../types.js";
import { x86MmArch } from "./arch.js";
import type { Kernel } from "./kernel.js";
import { pgdAlloc } from "./pgalloc.js";

export class X86Mm extends Mm implements PvMm {
  declare readonly k: Kernel;
  readonly arch = x86MmArch;
  pgd: PhysAddr = 0;
  /** context.tlb_gen. */
  tlbGen = 0;

  constructor(k: Kernel, id: number, isInitMm: boolean) { super(k, id, isInitMm); }

  /** mm_alloc + pgd_alloc + paravirt enter_mmap. */
  static create(k: Kernel): X86Mm {
    const mm = new X86Mm(k, k.newMmId(), false);
    if (pgdAlloc(k, mm) === null) throw new KernelOomError("mm_alloc (pgd_alloc)");
    k.ops.enterMmap(mm);
    k.mms.add(mm);
    return mm;
  }
}
