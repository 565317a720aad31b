/**
 * TLB management on the kernel side (arch/x86/mm/tlb.c): mm switches with
 * PCID/ASID bookkeeping and the ranged flushes that follow page-table changes.
 *
 * Each mm carries a generation (context.tlb_gen) bumped by every flush
 * request; each of the CPU's ASID slots remembers which mm it last held and
 * at which generation. A flush for an mm that is not loaded only bumps the
 * generation; switching to it later finds the slot stale and loads CR3
 * without NOFLUSH, which drops that PCID's entries (SDM 4.10.4.1). This is
 * why no stale translation survives in a PCID the mm is not running in.
 */
import { TLB_FLUSH_ALL } from "../../paravirt/ops.js";
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import { X86_CR3_PCID_NOFLUSH, X86_CR4_PCIDE } from "./pgtable-types.js";

/** TLB_NR_DYN_ASIDS: dynamic ASID slots per CPU. */
export const TLB_NR_DYN_ASIDS = 6;

/** Per-CPU TLB state (struct tlb_state): which mm is loaded, and each ASID slot's mm and tlb_gen. */
export interface TlbState {
  loadedMm: Mm;
  /** CR3 was loaded by switchMm at least once (before that the kernel has not touched the CPU). */
  cr3Loaded: boolean;
  loadedAsid: number;
  ctxs: { ctxId: number; tlbGen: number }[];
  nextAsid: number;
}

/** kern_pcid(asid): PCID 0 is left to the no-PCID case. */
export const kernPcid = (asid: number): number => asid + 1;

function pcidEnabled(k: Kernel): boolean {
  return k.pcid && k.cpu !== undefined && (k.cpu.x86().cr4 & X86_CR4_PCIDE) !== 0n;
}

/** choose_new_asid: reuse the slot that held this mm (flush if its generation is stale), else take the next one. */
function chooseNewAsid(k: Kernel, next: Mm): { asid: number; needFlush: boolean } {
  const t = k.tlb;
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++)
    if (t.ctxs[asid]!.ctxId === next.id) return { asid, needFlush: t.ctxs[asid]!.tlbGen < next.tlbGen };
  let asid = t.nextAsid++;
  if (asid >= TLB_NR_DYN_ASIDS) { asid = 0; t.nextAsid = 1; }
  return { asid, needFlush: true };
}

/** build_cr3: pgd | PCID (| NOFLUSH). */
export function buildCr3(k: Kernel, mm: Mm, asid: number, noflush: boolean): bigint {
  let cr3 = BigInt(mm.pgd);
  if (pcidEnabled(k)) cr3 |= BigInt(kernPcid(asid)) | (noflush ? X86_CR3_PCID_NOFLUSH : 0n);
  return cr3;
}

/** switch_mm_irqs_off: make `next` the mm the CPU translates with. */
export function switchMm(k: Kernel, next: Mm): void {
  const t = k.tlb;
  if (next.pgd === 0) throw new Error(`switch_mm to mm ${next.id}, which has no pgd (destroyed?)`);
  if (t.loadedMm === next && t.cr3Loaded) {
    const ctx = t.ctxs[t.loadedAsid]!;
    if (ctx.tlbGen === next.tlbGen) return;
    ctx.tlbGen = next.tlbGen;
    k.ops.writeCr3(buildCr3(k, next, t.loadedAsid, false));
    return;
  }
  let asid = 0, needFlush = true;
  if (pcidEnabled(k)) ({ asid, needFlush } = chooseNewAsid(k, next));
  t.ctxs[asid] = { ctxId: next.id, tlbGen: next.tlbGen };
  k.ops.writeCr3(buildCr3(k, next, asid, !needFlush));
  t.loadedMm = next;
  t.loadedAsid = asid;
  t.cr3Loaded = true;
}

/**
 * flush_tlb_mm_range: bump the mm's generation; if it is loaded, flush now
 * through pv_ops (INVLPG per page up to the ceiling, else a full local
 * flush) and record the slot as current. Kernel (init_mm) ranges go to
 * flush_tlb_kernel_range.
 */
export function flushTlbMmRange(k: Kernel, mm: Mm, start: bigint, end: bigint, strideShift: number, freedTables: boolean): void {
  if (mm.isInitMm) { flushTlbKernelRange(k, start, end); return; }
  mm.tlbGen++;
  const t = k.tlb;
  if (t.loadedMm !== mm || !t.cr3Loaded) return;
  k.ops.flushTlbMulti([0], { mm, start, end, strideShift, freedTables });
  t.ctxs[t.loadedAsid]!.tlbGen = mm.tlbGen;
}

/** flush_tlb_mm. */
export function flushTlbMm(k: Kernel, mm: Mm): void { flushTlbMmRange(k, mm, 0n, TLB_FLUSH_ALL, 12, true); }

/** flush_tlb_kernel_range: kernel translations are global, so every PCID is affected. */
export function flushTlbKernelRange(k: Kernel, start: bigint, end: bigint): void {
  k.ops.flushTlbMulti([0], { mm: null, start, end, strideShift: 12, freedTables: false });
}
