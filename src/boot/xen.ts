/**
 * Xen PV for early boot: how `boot --xen` builds and checks the plan.
 *
 * A PV guest has no large pages (Xen hides PSE/PDPE1GB and xen_write_cr4
 * masks CR4.PSE), so the plan is 4k-only; its tables must be made read-only
 * and registered with Xen (alloc_*_init hooks) before they are linked in —
 * which the Xen hypervisor model checks by refusing the hypercall otherwise.
 *
 * The hypervisor model and the Xen pv_ops backend come from the Xen PV
 * issue (src/paravirt/xen/). Until they are available this returns null and
 * `boot --xen` plans without building.
 */
import type { BuildOptions } from "./build.js";

export function xenBuildOptions(): BuildOptions | null {
  return null;
}
