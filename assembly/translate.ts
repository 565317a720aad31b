// Single and batch translation: TLB probe → walk → fill (DESIGN.md). The TLB
// (tlb.ts, issue 3) plugs into tlbLookup/tlbFill; the walker leaves its
// result in the walk globals either way, so the callers below do not change.
import { BatchOut, Ctl, FaultKind, Opt, Vector, X86Mode } from "../src/abi";
import { BATCH_KIND, BATCH_OUT, BATCH_VA, CTL } from "./layout";
import { tlbFill, tlbLookup } from "./tlb";
import { walkError, walkFault, walkLeaf, walkPa, walkPtePa, walkShift, walkVector, x86Walk } from "./x86/walk";

/** The linear address as CR2 holds it: 32 bits outside IA-32e mode. */
// @ts-ignore: decorator
@inline export function linearOf(va: u64): u64 {
  return load<u32>(CTL, Ctl.MODE) >= <u32>X86Mode.Ia32e4 ? va : va & 0xffff_ffff;
}

/**
 * One access with side effects: A/D bits, CR2 on #PF. With the option
 * AdOnFaultNone a walk first runs without side effects and only a
 * successful one is repeated for real, so a faulting walk writes nothing.
 */
export function translateOne(va: u64, access: u32): u32 {
  // (Arch.S390 dispatches to the DAT walker when it lands.)
  if (tlbLookup(va, access)) return FaultKind.None;
  let f: u32;
  if (load<u32>(CTL, Ctl.OPTIONS) & Opt.AdOnFaultNone) {
    f = x86Walk(va, access, false);
    if (f == FaultKind.None) f = x86Walk(va, access, true);
  } else f = x86Walk(va, access, true);
  if (f == FaultKind.None) tlbFill(va, access);
  else if (f == FaultKind.X86 && walkVector == Vector.PF) store<u64>(CTL, linearOf(va), Ctl.CR2);
  return f;
}

/** Copy the walk outputs into the result record of the control block
 *  (layout mirrored by src/engine/result.ts). `addr`: CR2 value of a #PF. */
export function writeResult(f: u32, addr: u64): void {
  const ok = f == FaultKind.None;
  store<u32>(CTL, f, Ctl.RES_FAULT);
  store<u32>(CTL, ok ? 0 : walkVector, Ctl.RES_VECTOR);
  store<u32>(CTL, ok ? 0 : walkError, Ctl.RES_ERROR);
  store<u64>(CTL, ok || f == FaultKind.Bus ? walkPa : 0, Ctl.RES_PA);
  store<u64>(CTL, f == FaultKind.X86 && walkVector == Vector.PF ? addr : 0, Ctl.RES_ADDR);
  store<u32>(CTL, ok ? walkLeaf : 0, Ctl.RES_LEAF);
  store<u32>(CTL, ok ? walkShift : 0, Ctl.RES_SHIFT);
  store<u64>(CTL, ok ? walkPtePa : 0, Ctl.RES_PTE_PA);
}

/** Translate batch.va[0..n) / batch.kind[0..n) into batch.out; returns the fault count. */
export function translateBatch(n: u32): u32 {
  let faults: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const va = load<u64>(BATCH_VA + (<usize>i << 3));
    const kind = <u32>load<u8>(BATCH_KIND + <usize>i);
    const f = translateOne(va, kind);
    let out: u64;
    if (f == FaultKind.None) out = walkPa;
    else {
      faults++;
      out = (<u64>1 << BatchOut.FAULT_BIT) | (<u64>f << BatchOut.KIND_SHIFT)
        | (<u64>(walkVector & 0xffff) << BatchOut.VECTOR_SHIFT) | <u64>walkError;
    }
    store<u64>(BATCH_OUT + (<usize>i << 3), out);
  }
  return faults;
}

/**
 * Translate batch entries [start, end) in order and stop at the first fault:
 * returns its index (its fault word is in batch.out), or `end`. Entries after
 * a fault are not touched — no TLB fill, no A/D bit, no statistic — so a
 * caller that handles the fault (demand paging) and resumes at the returned
 * index sees exactly what a CPU restarting the faulting access would.
 */
export function translateRange(start: u32, end: u32): u32 {
  for (let i: u32 = start; i < end; i++) {
    const va = load<u64>(BATCH_VA + (<usize>i << 3));
    const f = translateOne(va, <u32>load<u8>(BATCH_KIND + <usize>i));
    if (f != FaultKind.None) {
      store<u64>(BATCH_OUT + (<usize>i << 3), (<u64>1 << BatchOut.FAULT_BIT) | (<u64>f << BatchOut.KIND_SHIFT)
        | (<u64>(walkVector & 0xffff) << BatchOut.VECTOR_SHIFT) | <u64>walkError);
      return i;
    }
    store<u64>(BATCH_OUT + (<usize>i << 3), walkPa);
  }
  return end;
}
