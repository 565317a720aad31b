/**
 * The options both kernels (x86 Kernel, s390 S390Kernel) share, checked once:
 * NR_CPUS, CONFIG_SPLIT_PTLOCK_CPUS and the lock checker's mode. Each kernel
 * names its own further options; anything else is refused, so a misspelt
 * option is an error rather than a silent default.
 */
import { checkInt, checkKeys, checkObject, checkOneOf } from "../check.js";

/** CONFIG_NR_CPUS's upper bound on x86-64 (arch/x86/Kconfig, MAXSMP). */
export const NR_CPUS_MAX = 8192;
/** CONFIG_SPLIT_PTLOCK_CPUS's "never split" value (mm/Kconfig). */
export const SPLIT_PTLOCK_NEVER = 999999;

export function checkKernelOptions(op: string, opts: unknown, own: readonly string[]): void {
  const o = checkObject(op, "options", opts);
  checkKeys(op, "option", o, [...own, "nrCpus", "splitPtlockCpus", "lockdep"]);
  if (o.nrCpus !== undefined) checkInt(op, "nrCpus", o.nrCpus, 1, NR_CPUS_MAX);
  if (o.splitPtlockCpus !== undefined) checkInt(op, "splitPtlockCpus", o.splitPtlockCpus, 1, SPLIT_PTLOCK_NEVER);
  if (o.lockdep !== undefined) checkOneOf(op, "lockdep", o.lockdep, ["throw", "record", "off"]);
}
