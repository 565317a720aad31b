/**
 * Parsers for command-line values, with errors that say what was expected.
 * Commander calls them with (value, previous); an InvalidArgumentError comes
 * out as "option '--flag <n>' argument 'V' is invalid. …", so every message
 * names the flag.
 */
import { InvalidArgumentError } from "commander";

const SUFFIX: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BIN: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** 1234567 → "1,234,567"; the way counts are shown in ranges. */
const show = (n: number): string => n.toLocaleString("en-US");

/**
 * A count: 65536, 100M, 2.5k, 1e8 — a whole number in [lo, hi] (a fraction
 * such as 1.5 is an error, not rounded).
 */
export function parseCountIn(lo: number, hi = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)$/i.exec(v.trim());
    const n = m ? Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]! : NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number such as 65536, 100M or 1e8, got "${v}"`);
    if (n < lo || n > hi) throw new InvalidArgumentError(`expected a whole number from ${show(lo)} to ${show(hi)}, got "${v}"`);
    return n;
  };
}

/** A count of at least 1. */
export const parseCount = parseCountIn(1);

/** A power of two in [lo, hi] (a count: 16384, 16k… as parseCountIn). */
export function parsePowerOfTwo(lo: number, hi: number): (v: string) => number {
  const count = parseCountIn(lo, hi);
  return (v) => {
    const n = count(v);
    if ((n & (n - 1)) !== 0) throw new InvalidArgumentError(`expected a power of two from ${show(lo)} to ${show(hi)}, got "${v}"`);
    return n;
  };
}

/**
 * A size in bytes with binary suffixes (4096, 512M, 1G, 64KiB): whole bytes,
 * a multiple of `align`, in [lo, hi].
 */
export function parseSizeIn(lo: number, hi: number, align = 1): (v: string) => number {
  return (v) => {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(v.trim());
    const n = m ? Number(m[1]) * BIN[m[2]!.toLowerCase()]! : NaN;
    if (!Number.isSafeInteger(n) || n < lo || n > hi || n % align !== 0)
      throw new InvalidArgumentError(`expected a size such as 512M or 1G, from ${human(lo)} to ${human(hi)}` +
        `${align > 1 ? `, a multiple of ${human(align)}` : ""}, got "${v}"`);
    return n;
  };
}

/** Bytes with the largest binary suffix that divides them: 4194304 → "4M". */
export function human(n: number): string {
  for (const [s, f] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]] as const)
    if (n >= f && n % f === 0) return `${n / f}${s}`;
  return String(n);
}

/** A number in [lo, hi] (decimal; fractions allowed). */
export function parseNumberIn(lo: number, hi: number): (v: string) => number {
  return (v) => {
    const n = /^\s*(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i.test(v) ? Number(v) : NaN;
    if (!(n >= lo && n <= hi)) throw new InvalidArgumentError(`expected a number from ${lo} to ${hi}, got "${v}"`);
    return n;
  };
}

/** An unsigned integer, decimal or 0x-hex, in [lo, hi]; `what` says what is expected beyond that. */
export function parseUintIn(lo: number, hi: number, check?: (n: number) => string | null): (v: string) => number {
  return (v) => {
    const t = v.trim();
    const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
    const range = `from ${hex(lo)} to ${hex(hi)}`;
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an unsigned integer (decimal or 0x…) ${range}, got "${v}"`);
    if (n < lo || n > hi) throw new InvalidArgumentError(`expected an integer ${range}, got "${v}"`);
    const bad = check?.(n);
    if (bad) throw new InvalidArgumentError(`${bad}, got "${v}"`);
    return n;
  };
}

/** Numbers that are addresses or limits read best in hex; small ones in decimal. */
const hex = (n: number): string => (n >= 0x10000 ? `0x${n.toString(16)}` : String(n));
