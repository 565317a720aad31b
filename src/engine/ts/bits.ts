/**
 * 2^n − 1 for 0 ≤ n ≤ 32, as a u32 (a mask of the low n bits). Shifts, not
 * `2 ** n`: V8 compiles `**` with a variable exponent to a call of pow(),
 * which cost the single-translation path about 100 ns when it sat in a getter.
 */
export const lowMask = (n: number): number => (n >= 32 ? 0xffff_ffff : ((1 << n) >>> 0) - 1);
