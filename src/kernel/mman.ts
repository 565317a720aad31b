/**
 * Protections and page sizes as callers give them (include/uapi/asm-generic/
 * mman-common.h PROT_*, include/linux/sizes.h SZ_*).
 */
export const PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
/** A protection: PROT_* bits, or a string of "r", "w", "x" ("" or "none" for PROT_NONE). */
export type ProtSpec = number | string;

export const SZ_4K = 1 << 12, SZ_2M = 1 << 21, SZ_4M = 1 << 22, SZ_1G = 1 << 30;

/** Why `p` is not a protection, or null. */
export function protError(p: ProtSpec): string | null {
  if (typeof p === "number")
    return Number.isInteger(p) && p >= 0 && p <= 7 ? null : `protection must be PROT_* bits (0..7), got ${p}`;
  if (p === "" || p === "none" || /^r?w?x?$/.test(p)) return null;
  return `protection string must be drawn from "rwx" in that order, got "${p}"`;
}

/** PROT_* bits of `p` (a RangeError if it is not a protection). */
export function parseProt(p: ProtSpec): number {
  const why = protError(p);
  if (why) throw new RangeError(why);
  if (typeof p === "number") return p;
  if (p === "none") return PROT_NONE;
  return (p.includes("r") ? PROT_READ : 0) | (p.includes("w") ? PROT_WRITE : 0) | (p.includes("x") ? PROT_EXEC : 0);
}

export const protString = (p: number): string =>
  p === 0 ? "none" : `${p & PROT_READ ? "r" : "-"}${p & PROT_WRITE ? "w" : "-"}${p & PROT_EXEC ? "x" : "-"}`;
