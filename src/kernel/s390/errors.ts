/**
 * Errors of the s390 kernel side. Functions that return an errno in Linux
 * (the gmap API, crst_table_upgrade, the guest storage-key calls) return the
 * negative number here too; misuse of the model's own API (an unaligned
 * mapping, an overlap, destroying an mm a gmap still uses) throws S390Error
 * before anything changes. A kernel BUG is a KernelBugError (../kernel.ts).
 */

/** The errno values the s390 code returns. */
export { EAGAIN, EEXIST, EFAULT, EINVAL, ENOMEM } from "../errno.js";

export type S390ErrorCode = "EINVAL" | "EFAULT" | "ENOMEM" | "EEXIST" | "EBUSY";

export class S390Error extends Error {
  constructor(readonly code: S390ErrorCode, message: string) {
    // A message that already ends by naming its errno (the generic mm's) keeps it once.
    super(message.endsWith(`(${code})`) ? message : `${message} (${code})`);
    this.name = "S390Error";
  }
}
