/**
 * The guest's physical-to-machine map and the entry conversions built on it
 * (arch/x86/xen/p2m.c, arch/x86/include/asm/xen/page.h, mmu_pv.c).
 *
 * A PV guest sees "pseudo-physical" frames (pfns, contiguous from 0) but the
 * hardware walks machine frames (mfns), so every page-table entry holds an
 * mfn. The kernel builds entries from pfns; make_pte and friends convert on
 * the way in, pte_val and friends on the way out. pfn→mfn is the guest's own
 * array (start_info.mfn_list); mfn→pfn reads Xen's machine_to_phys table and
 * checks the answer against the p2m, because a frame the guest does not own
 * (or a stale m2p entry) must not turn into some unrelated pfn.
 */
import { BusError, PhysMem } from "../../phys/phys-mem.js";
import { _PAGE_PRESENT, PTE_PFN_MASK } from "../../kernel/x86/pgtable-types.js";

/** INVALID_P2M_ENTRY (~0UL): no machine frame behind this pfn. */
export const INVALID_MFN = -1;

export class P2m {
  private readonly p2m: Int32Array;

  constructor(mfnList: readonly number[], private readonly m2p: Int32Array) {
    this.p2m = Int32Array.from(mfnList);
  }

  get nrPages(): number { return this.p2m.length; }

  /** __pfn_to_mfn(): INVALID_MFN for a pfn beyond the list or with no frame. */
  pfnToMfn(pfn: number): number {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this.p2m.length ? this.p2m[pfn]! : INVALID_MFN;
  }

  /** mfn_to_pfn(): the m2p answer, trusted only if the p2m maps it back. */
  mfnToPfn(mfn: number): number {
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.m2p.length) return INVALID_MFN;
    const pfn = this.m2p[mfn]!;
    return pfn >= 0 && pfn < this.p2m.length && this.p2m[pfn] === mfn ? pfn : INVALID_MFN;
  }

  /** set_phys_to_machine(): the guest changes its own p2m (balloon, grant maps). */
  setPhysToMachine(pfn: number, mfn: number): void {
    if (!(pfn >= 0 && pfn < this.p2m.length)) throw new RangeError(`pfn 0x${pfn.toString(16)} is beyond the p2m`);
    this.p2m[pfn] = mfn;
  }

  /** Machine address of pseudo-physical `pa` (virt_to_machine / phys_to_machine). */
  physToMachine(pa: number): number {
    const mfn = this.pfnToMfn(Math.floor(pa / 4096));
    if (mfn === INVALID_MFN) throw new RangeError(`pseudo-physical 0x${pa.toString(16)} has no machine frame`);
    return mfn * 4096 + (pa % 4096);
  }

  /**
   * pte_pfn_to_mfn(): a present entry's pfn becomes its mfn; a pfn with no
   * machine frame gives an empty entry (flags dropped too, as Linux does).
   */
  ptePfnToMfn(val: bigint): bigint {
    if ((val & _PAGE_PRESENT) === 0n) return val;
    const mfn = this.pfnToMfn(Number((val & PTE_PFN_MASK) >> 12n));
    if (mfn === INVALID_MFN) return 0n;
    return (val & ~PTE_PFN_MASK) | (BigInt(mfn) << 12n);
  }

  /** pte_mfn_to_pfn(): the reverse; an mfn that is not ours clears PRESENT. */
  pteMfnToPfn(val: bigint): bigint {
    if ((val & _PAGE_PRESENT) === 0n) return val;
    const pfn = this.mfnToPfn(Number((val & PTE_PFN_MASK) >> 12n));
    const flags = val & ~PTE_PFN_MASK;
    return pfn === INVALID_MFN ? flags & ~_PAGE_PRESENT : flags | (BigInt(pfn) << 12n);
  }
}

/**
 * The guest's own view of memory: pseudo-physical addresses, each frame
 * redirected through the p2m to its machine frame. Give this to kernel-side
 * code running as a Xen PV guest instead of the machine PhysMem; it behaves
 * like any PhysMem (bounds are the guest's pages, an unmapped pfn is a
 * BusError) and plain stores through it are the kernel's stores to pages it
 * has not attached anywhere. Stores to live page tables go through the
 * paravirt hooks instead, which the MMU and Xen check.
 */
export function pseudoPhysMem(machine: PhysMem, buffer: ArrayBufferLike, p2m: P2m): PhysMem {
  return new PseudoPhysMem(machine, buffer, p2m);
}

class PseudoPhysMem extends PhysMem {
  constructor(private readonly machine: PhysMem, buffer: ArrayBufferLike, private readonly p2m: P2m) {
    super(buffer, machine.layout);
    // The guest's physical address space is its pages, not the machine's RAM.
    Object.defineProperty(this, "size", { value: p2m.nrPages * 4096 });
  }

  override frameOffset(pa: number, forWrite: boolean): number {
    if (!(pa >= 0 && pa < this.size)) throw new BusError(pa, 1, this.size);
    const mfn = this.p2m.pfnToMfn(Math.floor(pa / 4096));
    if (mfn === INVALID_MFN) throw new BusError(pa, 1, this.size);
    return this.machine.frameOffset(mfn * 4096, forWrite);
  }
}
