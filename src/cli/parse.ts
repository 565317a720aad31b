/**
 * Parsers for command-line values, with errors that say what was expected.
 * Commander calls them with (value, previous).
 */
import { InvalidArgumentError } from "commander";

const SUFFIX: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BIN: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A count: 65536, 100M, 2.5k, 1e8. */
export function parseCount(v: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)$/i.exec(v.trim());
  const n = m ? Math.round(Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a count such as 65536, 100M or 1e8, got "${v}"`);
  return n;
}

/** A size in bytes with binary suffixes: 4096, 512M, 1G, 64KiB. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(v.trim());
  const n = m ? Math.round(Number(m[1]) * BIN[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a size such as 512M or 1G, got "${v}"`);
  return n;
}

/** A number in [lo, hi]. */
export function parseNumberIn(lo: number, hi: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n >= lo && n <= hi)) throw new InvalidArgumentError(`expected a number from ${lo} to ${hi}, got "${v}"`);
    return n;
  };
}

/** An unsigned integer, decimal or 0x-hex. */
export function parseUint(v: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an unsigned integer (decimal or 0x…), got "${v}"`);
  return n;
}
