/**
 * 64-bit values without BigInt: the host's hot paths keep a u64 as two u32
 * halves (lo, hi) or, below 2^53, as one Number. The constants of that
 * arithmetic, in one place.
 */

/** 2^32: hi · TWO32 + lo is the value of the halves (exact below 2^53). */
export const TWO32 = 4294967296;

/** The high half of a Number below 2^53 (its low half is `v >>> 0`). */
export const hiOf = (v: number): number => Math.floor(v / TWO32);
