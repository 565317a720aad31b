/**
 * The guest's hypercall batch (arch/x86/xen/multicalls.c): hooks queue
 * hypercalls, and the batch is issued as one multicall — at once, or at the
 * end of a lazy-MMU section. Consecutive mmu_update (or mmuext_op) entries
 * are merged into one call with several requests (xen_extend_mmu_update,
 * xen_extend_mmuext_op), so a lazy run of set_pte becomes one mmu_update.
 *
 * Like Xen's multicall, every queued call is executed even if an earlier one
 * failed; Linux then BUG()s on any failure (xen_mc_flush), we throw a
 * HypercallError after the batch's deferred callbacks have run.
 */
import { HypercallError } from "./errno.js";
import type { XenHypervisor } from "./hypervisor.js";
import type { MmuExtOp, MmuUpdate } from "./interface.js";

type Call =
  | { kind: "mmu_update"; reqs: MmuUpdate[] }
  | { kind: "mmuext_op"; ops: MmuExtOp[] }
  | { kind: "update_va_mapping"; va: bigint; val: bigint; flags: number };

export class Multicall {
  private queue: Call[] = [];
  private callbacks: (() => void)[] = [];
  /** Multicalls issued and hypercalls they carried (like /sys/kernel/debug/xen/multicalls). */
  readonly stats = { batches: 0, calls: 0 };

  constructor(private readonly xen: XenHypervisor, private readonly domid: number, private readonly vcpu: () => number) {}

  get pending(): number { return this.queue.length; }

  mmuUpdate(req: MmuUpdate): void {
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === "mmu_update") last.reqs.push(req);
    else this.queue.push({ kind: "mmu_update", reqs: [req] });
  }

  mmuextOp(op: MmuExtOp): void {
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === "mmuext_op") last.ops.push(op);
    else this.queue.push({ kind: "mmuext_op", ops: [op] });
  }

  updateVaMapping(va: bigint, val: bigint, flags: number): void {
    this.queue.push({ kind: "update_va_mapping", va, val, flags });
  }

  /** xen_mc_callback(): run `fn` once the current batch has been issued. */
  callback(fn: () => void): void { this.callbacks.push(fn); }

  /** xen_mc_flush(): issue everything queued. */
  flush(): void {
    if (this.queue.length === 0 && this.callbacks.length === 0) return;
    const queue = this.queue, callbacks = this.callbacks;
    this.queue = [];
    this.callbacks = [];
    const failures: HypercallError[] = [];
    const opts = { vcpu: this.vcpu() };
    for (const c of queue) {
      if (c.kind === "mmu_update") {
        const r = this.xen.mmuUpdate(this.domid, c.reqs, opts);
        if (r.rc !== 0) failures.push(new HypercallError(`mmu_update (${c.reqs.length} requests)`, r.rc, r.done));
      } else if (c.kind === "mmuext_op") {
        const r = this.xen.mmuextOp(this.domid, c.ops, opts);
        if (r.rc !== 0) failures.push(new HypercallError(`mmuext_op (${c.ops.length} ops)`, r.rc, r.done));
      } else {
        const rc = this.xen.updateVaMapping(this.domid, c.va, c.val, c.flags, opts);
        if (rc !== 0) failures.push(new HypercallError(`update_va_mapping(0x${c.va.toString(16)})`, rc, 0));
      }
    }
    if (queue.length) { this.stats.batches++; this.stats.calls += queue.length; }
    for (const fn of callbacks) fn();
    if (failures.length === 1) throw failures[0]!;
    if (failures.length > 1)
      throw new HypercallError(`multicall: ${failures.map((f) => f.message).join("; ")}`, failures[0]!.rc, failures[0]!.done);
  }
}
