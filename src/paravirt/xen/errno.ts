/**
 * Xen's error codes (xen/include/public/errno.h). Hypercalls return 0 or the
 * negated value, exactly like Xen, so a log line "rc -22" means EINVAL.
 * Only the codes the memory-management paths of xen/arch/x86/mm.c return.
 */
export const enum XenErrno {
  EPERM = 1,
  ENOENT = 2,
  ESRCH = 3,
  EFAULT = 14,
  EACCES = 13,
  EBUSY = 16,
  EINVAL = 22,
  ENOSYS = 38,
  EOPNOTSUPP = 95,
}

const NAMES: Readonly<Record<number, string>> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 13: "EACCES", 14: "EFAULT",
  16: "EBUSY", 22: "EINVAL", 38: "ENOSYS", 95: "EOPNOTSUPP",
};

/** "0", "-EINVAL", … for logs and error messages. */
export function xenErrName(rc: number): string {
  if (rc === 0) return "0";
  const n = NAMES[-rc];
  return n ? `-${n}` : String(rc);
}

/** A hypercall the guest side expected to succeed was rejected. Linux BUG()s
 *  in that case (xen_mc_flush: "failed multicall"); we throw instead. */
export class HypercallError extends Error {
  constructor(readonly call: string, readonly rc: number, readonly done: number) {
    super(`${call} failed with ${xenErrName(rc)} after ${done} successful entr${done === 1 ? "y" : "ies"}`);
    this.name = "HypercallError";
  }
}
