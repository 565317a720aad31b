/**
 * The PAE pgd cache (kmem_cache "pgd_cache", arch/x86/mm/pgtable.c): with a
 * shared kernel PMD a PAE pgd is a 32-byte object (PGD_SIZE, SLAB_PANIC,
 * align 32) from a slab; the slab pages come from the page allocator and go
 * back once empty.
 */
import type { Kernel } from "./kernel.js";
import type { X86Mm as Mm } from "./mm.js";
import { PAGE_SIZE, type PhysAddr } from "../types.js";

export class PgdCache {
  private readonly slabs = new Map<number, { free: PhysAddr[]; used: number }>();
  private readonly owners = new Map<PhysAddr, { mm: Mm; pgd: PhysAddr }>();
  static readonly OBJ = 32;
  constructor(private readonly k: () => Kernel) {}

  alloc(mm: Mm): PhysAddr | null {
    let slabPfn: number | undefined;
    for (const [pfn, s] of this.slabs) if (s.free.length) { slabPfn = pfn; break; }
    if (slabPfn === undefined) {
      const pfn = this.k().alloc.allocPage({ zero: true });
      if (pfn === null) return null;
      const free: PhysAddr[] = [];
      for (let off = PAGE_SIZE - PgdCache.OBJ; off >= 0; off -= PgdCache.OBJ) free.push(pfn * PAGE_SIZE + off);
      this.slabs.set(pfn, { free, used: 0 });
      slabPfn = pfn;
    }
    const s = this.slabs.get(slabPfn)!;
    const pgd = s.free.pop()!;
    s.used++;
    this.k().phys.fill(pgd, PgdCache.OBJ, 0);
    this.owners.set(pgd, { mm, pgd });
    return pgd;
  }

  free(pgd: PhysAddr): void {
    if (!this.owners.delete(pgd)) throw new Error(`pgd_cache free of 0x${pgd.toString(16)}, which is not allocated`);
    const pfn = Math.floor(pgd / PAGE_SIZE);
    const s = this.slabs.get(pfn)!;
    s.free.push(pgd);
    if (--s.used === 0) { this.slabs.delete(pfn); this.k().alloc.freePage(pfn); }
  }

  /** The pgd object containing entry address pa, with its mm. */
  ownerOf(pa: PhysAddr): { mm: Mm; pgd: PhysAddr } | undefined {
    return this.owners.get(pa - (pa % PgdCache.OBJ));
  }
  get objects(): number { return this.owners.size; }
}
