/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h), negated as
 * kernel functions return them: 0 or -Exxx.
 */
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EEXIST = -17;
export const EINVAL = -22;
