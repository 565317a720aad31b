/**
 * The raw x86 operations of a core: what assembly/index.ts exports and what
 * the TS core (src/engine/ts/core.ts) implements with the very same
 * signatures, so that one engine (core-engine.ts) serves both. As for s390
 * (S390Core in s390.ts), results travel through linear memory: a FaultKind
 * is returned and the result record of the control block (Ctl.RES_*) holds
 * the details; batches use the batch buffers.
 *
 * These take no argument checks beyond the one the cores make themselves (a
 * batch count or range past the batch buffers returns BATCH_REFUSED and
 * touches nothing): the engine checks every argument first.
 */

/** What translateBatch/translateRange return for a count or range outside the
 *  batch buffers (assembly/layout.ts has the same constant). */
export const BATCH_REFUSED = 0xffff_ffff;

export interface X86Core {
  /** One access with side effects; the record written; returns FaultKind. */
  translate(va: bigint, access: number): number;
  /** The same for a signed-integer VA as a Number: the PA, or −1 with the record written. */
  translatePa(va: number, access: number): number;
  /** The walk without side effects; the record written; returns FaultKind. */
  probe(va: bigint, access: number): number;
  /** batch.va/kind[0..n) → batch.out; returns the fault count. */
  translateBatch(n: number): number;
  /** batch entries [start, end) up to the first fault; returns its index or `end`. */
  translateRange(start: number, end: number): number;
  tlbFlushAll(includeGlobal: number): void;
  tlbFlushPage(va: bigint): void;
  tlbFlushPcid(type: number, pcid: number, va: bigint): void;
  /** The TLB side of MOV to CR3: drop the non-global entries of `pcid`. */
  tlbLoadCr3(pcid: number): void;
  /** Load the PAE PDPTE registers from `cr3`; on a fault the record holds it. */
  x86LoadPdptes(cr3: bigint): number;
}
