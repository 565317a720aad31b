// The TLB (issue 3). Until it lands nothing is cached: a probe always misses,
// a fill keeps nothing and every flush is trivially complete. The translate
// loop (translate.ts) already calls these at the places the architecture
// requires, so the TLB slots in without changing the ABI.

/** Look `va` up for `access`; true on a hit (result in the walk outputs). */
// @ts-ignore: decorator
@inline export function tlbLookup(va: u64, access: u32): bool { return false; }

/** Remember the translation the walker just produced (walk outputs). */
// @ts-ignore: decorator
@inline export function tlbFill(va: u64, access: u32): void {}

/** MOV CR3 / CR4.PGE / full flush: drop every entry, global ones too if asked. */
export function tlbFlushAll(includeGlobal: bool): void {}

/** INVLPG: drop every entry that maps `va` (any page size). */
export function tlbFlushPage(va: u64): void {}

/** INVPCID types 0..3 (SDM Vol. 2A INVPCID): address, single context,
 *  all contexts including globals, all contexts except globals. */
export function tlbFlushPcid(type: u32, pcid: u32, va: u64): void {}
