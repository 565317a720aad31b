/**
 * A small Xen machine for hypervisor-level tests: 4 MiB of machine memory,
 * domain 1 (the guest under test, 128 pages) and domain 2 (a neighbour whose
 * frames are foreign to domain 1). Domain 1 gets a 4-level hierarchy built by
 * hand, as a domain builder would:
 *
 *   pgd (pfn 0) ─[0]→ pud (pfn 1) ─[0]→ pmd (pfn 2) ─[1]→ pte A (pfn 3)
 *                                                   └[2]→ pte B (pfn 4)
 *   pte A maps VA 0x200000 + pfn·4 KiB → mfn(pfn) for pfn 0..63: the
 *   domain's own "direct map" — read-only for the table frames 0..4,
 *   writable for the rest. pte B is empty.
 *
 * Nothing is pinned or loaded yet; `pinAndLoad` does that.
 */
import { createEngine, type Engine, type EngineName } from "../../src/engine/index.js";
import type { PhysMem } from "../../src/phys/phys-mem.js";
import { XenHypervisor, type XenDomain } from "../../src/paravirt/xen/hypervisor.js";
import { MmuExtCmd } from "../../src/paravirt/xen/interface.js";
import { makeEntry } from "../../src/kernel/x86/pgtable.js";
import { _PAGE_TABLE as PAGE_TABLE } from "../../src/kernel/x86/pgtable-types.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO } from "../../src/paravirt/xen/mmu-pv.js";

export const DM_BASE = 0x200000n;
export const PGD = 0, PUD = 1, PMD = 2, PTE_A = 3, PTE_B = 4;
export const TABLE_PFNS = [PGD, PUD, PMD, PTE_A, PTE_B];

export interface Machine {
  phys: PhysMem;
  /** The engine, when the machine was made with one to run vCPU 0. */
  engine: Engine | undefined;
  xen: XenHypervisor;
  d1: XenDomain;
  d2: XenDomain;
  mfn: (pfn: number) => number;
  /** Machine address of entry `slot` of the table in guest pfn `pfn`. */
  entryMa: (pfn: number, slot: number) => bigint;
  /** VA of pfn's alias in the little direct map. */
  dmVa: (pfn: number) => bigint;
}

export async function machine(cpu?: EngineName): Promise<Machine> {
  const e = await createEngine(cpu ?? "ts", { physSize: 4 << 20 });
  const xen = new XenHypervisor(e.phys);
  const d1 = xen.createDomain({ nrPages: 128, nrVcpus: 2 });
  const d2 = xen.createDomain({ nrPages: 32 });
  const mfn = (pfn: number): number => d1.mfnList[pfn]!;
  const entryMa = (pfn: number, slot: number): bigint => BigInt(mfn(pfn) * 4096 + slot * 8);
  const w = (pfn: number, slot: number, v: bigint): void => e.phys.write64(mfn(pfn) * 4096 + slot * 8, v);
  w(PGD, 0, makeEntry(mfn(PUD), PAGE_TABLE));
  w(PUD, 0, makeEntry(mfn(PMD), PAGE_TABLE));
  w(PMD, 1, makeEntry(mfn(PTE_A), PAGE_TABLE));
  w(PMD, 2, makeEntry(mfn(PTE_B), PAGE_TABLE));
  for (let pfn = 0; pfn < 64; pfn++)
    w(PTE_A, pfn, makeEntry(mfn(pfn), TABLE_PFNS.includes(pfn) ? PAGE_KERNEL_RO : PAGE_KERNEL));
  if (cpu) {
    // Long mode at CPL 0 with WP, as a PV guest kernel runs; Xen loads CR3.
    const t = e.setX86({ cr0: (1n << 31n) | (1n << 16n) | 1n, cr4: 1n << 5n, efer: (1n << 8n) | (1n << 11n), cpl: 0 });
    if (t.fault !== 0) throw new Error("fixture: long-mode context refused");
    xen.attachCpu(d1.id, 0, e);
  }
  return { phys: e.phys, engine: cpu ? e : undefined, xen, d1, d2, mfn, entryMa, dmVa: (pfn) => DM_BASE + BigInt(pfn) * 4096n };
}

/** Pin the pgd as L4 and load it as vCPU 0's base pointer. */
export function pinAndLoad(m: Machine): void {
  const r = m.xen.mmuextOp(m.d1.id, [
    { cmd: MmuExtCmd.PIN_L4_TABLE, mfn: m.mfn(PGD) },
    { cmd: MmuExtCmd.NEW_BASEPTR, mfn: m.mfn(PGD) },
  ]);
  if (r.rc !== 0) throw new Error(`pinAndLoad failed: ${r.rc}`);
}

/**
 * Everything a rejected call must leave alone: the frame table, machine
 * memory, vCPU state. A frame's type while its type count is 0 is Xen's
 * stale bookkeeping (a failed validation resets it to none, as Xen's
 * validate_page does), not state anyone can observe, so it is left out.
 */
export function snapshot(m: Machine): string {
  const f = m.xen.frames, parts: string[] = [];
  for (let i = 0; i < f.nrFrames; i++) {
    const x = f.info(i);
    const t = x.typeCount > 0 ? `${x.type},${+x.validated}` : "-";
    parts.push(`${x.owner},${t},${x.typeCount},${x.count},${+x.pinned},${x.m2p},${x.linear}`);
  }
  for (const d of [m.d1, m.d2])
    for (const v of d.vcpus) parts.push(`${v.guestTable},${v.guestTableUser},${v.ldtBase},${v.ldtEnts}`);
  // Only domain frames can be written by a hypercall (mm.ts never touches others).
  for (const d of [m.d1, m.d2])
    for (const mfn of d.mfnList) parts.push(Buffer.from(m.phys.readBytes(mfn * 4096, 4096)).toString("base64"));
  return parts.join(";");
}
