// Shared setup for the s390 kernel-side tests: an engine, a kernel over all
// of its memory, and small helpers to read big-endian table entries.
import { createEngine, type EngineName } from "../../../src/engine/index.js";
import { S390Kernel, type S390KernelOptions } from "../../../src/kernel/s390/kernel.js";

export async function machine(name: EngineName = "ts", opts: Omit<S390KernelOptions, "engine"> = {}, physSize = 32 << 20) {
  const engine = await createEngine(name, { physSize });
  const k = new S390Kernel({ engine, ...opts });
  const read = (pa: number): bigint => engine.phys.read64(pa, true);
  return { engine, k, read };
}

/** Every frame back and NR_PAGETABLE at zero once the kernel's users are gone. */
export function leakCheck(k: S390Kernel): void {
  k.rcuGracePeriod();
  const blocks = k.alloc.allocatedBlocks();
  if (blocks.length || k.nrPagetable !== 0 || k.ptdescs.live !== 0)
    throw new Error(`leak: ${blocks.length} blocks (${JSON.stringify(blocks.slice(0, 4))}), NR_PAGETABLE ${k.nrPagetable}, ptdescs ${k.ptdescs.live}`);
  k.alloc.checkInvariants();
}
