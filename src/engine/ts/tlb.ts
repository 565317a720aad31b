/**
 * The TS engine's TLB (issue 3). Until it lands nothing is cached: lookups
 * miss and flushes are trivially complete; the engine already calls these
 * wherever the architecture requires (twin of assembly/tlb.ts).
 */
export class TsTlb {
  lookup(_vaLo: number, _vaHi: number, _access: number): boolean { return false; }
  fill(_vaLo: number, _vaHi: number, _access: number): void {}
  flushAll(_includeGlobal: boolean): void {}
  flushPage(_vaLo: number, _vaHi: number): void {}
  flushPcid(_type: number, _pcid: number, _vaLo: number, _vaHi: number): void {}
}
