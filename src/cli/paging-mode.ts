/**
 * How the command line spells paging modes. Inside, a mode is the
 * vocabulary's PagingMode ("2level" | "pae" | "4level" | "5level",
 * src/kernel/x86/pgtable-types.ts); `wasmmu boot` speaks the way kernel
 * builds are named instead — x86-64 for 4-level and la57 for 5-level paging —
 * and this table is the one place those spellings map to modes and back.
 * `run`, `info tlb` and `ptdump` take the PagingMode names themselves.
 */
import type { PagingMode } from "../kernel/x86/pgtable-types.js";

/** `boot --mode` spelling of each mode, in the order --help lists them. */
const BOOT_SPELLING: Readonly<Record<PagingMode, string>> = { "4level": "x86-64", "5level": "la57", pae: "pae", "2level": "2level" };

/** The spellings `boot --mode` accepts. */
export const BOOT_MODE_CHOICES: readonly string[] = Object.values(BOOT_SPELLING);

/** The mode `boot --mode NAME` selects, or undefined for a name it does not know. */
export function bootModeFromName(name: string): PagingMode | undefined {
  return (Object.keys(BOOT_SPELLING) as PagingMode[]).find((m) => BOOT_SPELLING[m] === name);
}

/** How `boot` writes `mode` in its plans and messages. */
export function bootModeName(mode: PagingMode): string {
  return BOOT_SPELLING[mode];
}
