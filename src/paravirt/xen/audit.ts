/**
 * Recount every reference from scratch and compare with the frame table —
 * what Xen's old audit_domains() did (xen/arch/x86/audit.c, Xen 3.x).
 *
 * Expected, for each frame:
 *   count     = 1 if allocated to a domain (PGC_allocated)
 *             + 1 per present entry referencing it in a validated table
 *               (a linear self-map holds none)
 *             + 1 if pinned + 1 per vCPU base pointer (kernel or user) to it
 *   typeCount = 1 per present RW L1 entry referencing it (writable type)
 *             + 1 per present Ln entry (n ≥ 2) referencing it (type Ln−1,
 *               or Ln for a linear map of another root)
 *             + 1 if pinned + 1 per base pointer (type L4)
 * and the type those references imply must be the frame's type. The first
 * invariant of Xen PV follows: no frame is both a page table and mapped
 * writable.
 */
import { entryFrame, isWritable } from "../../kernel/x86/pgtable.js";
import { childLevel } from "../../kernel/x86/pgtable-types.js";
import { PgType, PG_TYPE_NAMES, pgTypeOf, tableLevelOf } from "./frame-table.js";
import { XEN_PV_GEOMETRY } from "./interface.js";
import type { XenHypervisor } from "./hypervisor.js";

export function auditXen(xen: XenHypervisor, domids: readonly number[]): string[] {
  const f = xen.frames, n = f.nrFrames;
  const count = new Uint32Array(n), typeCount = new Uint32Array(n);
  const wantType = new Uint8Array(n);
  const linear = new Int16Array(n);
  const problems: string[] = [];
  const hex = (m: number): string => `0x${m.toString(16)}`;
  const want = (m: number, t: PgType, why: string): void => {
    if (!f.valid(m)) return;
    if (wantType[m] !== PgType.None && wantType[m] !== t)
      problems.push(`mfn ${hex(m)} used as ${PG_TYPE_NAMES[wantType[m]!]} and ${PG_TYPE_NAMES[t]} (${why})`);
    wantType[m] = t;
    typeCount[m]!++;
  };

  for (let m = 0; m < n; m++) {
    if (f.owner[m] !== 0x7ff4) count[m]!++;
    if (f.pinned(m)) { count[m]!++; want(m, f.type[m]! as PgType, "pin"); }
    if (!f.isPageTable(m) || !f.validated(m)) continue;
    const type = f.type[m]! as PgType, name = PG_TYPE_NAMES[type];
    // What an entry's target must be: the next lower table type (an L1's targets are checked by RW instead).
    const childType = type === PgType.L1 ? null : pgTypeOf(childLevel(XEN_PV_GEOMETRY, tableLevelOf(type)));
    xen.mm.forEachGuestEntry(m, type, (e, i) => {
      const t = entryFrame(e);
      if (type !== PgType.L1 && t === m) return 0;            // linear self-map
      if (f.valid(t)) count[t]!++;
      if (type === PgType.L1) { if (isWritable(e)) want(t, PgType.Writable, `RW in l1 ${hex(m)}[${i}]`); }
      else if (f.type[t] === type) {                           // linear map of another root
        want(t, type, `linear entry of ${name} ${hex(m)}[${i}]`);
        linear[m]!++;
        linear[t]!--;
      } else want(t, childType!, `entry of ${name} ${hex(m)}[${i}]`);
      return 0;
    });
  }
  for (const id of domids) {
    for (const v of xen.domain(id).vcpus) {
      for (const base of [v.guestTable, v.guestTableUser]) {
        if (base === 0) continue;
        count[base]!++;
        want(base, PgType.L4, `base pointer of d${id}v${v.id}`);
      }
    }
  }

  for (let m = 0; m < n; m++) {
    if (count[m] !== f.count[m]) problems.push(`mfn ${hex(m)}: count ${f.count[m]}, references found ${count[m]}`);
    if (typeCount[m] !== f.typeCount[m])
      problems.push(`mfn ${hex(m)}: type count ${f.typeCount[m]}, typed references found ${typeCount[m]}`);
    if (typeCount[m]! > 0 && wantType[m] !== f.type[m])
      problems.push(`mfn ${hex(m)}: type ${PG_TYPE_NAMES[f.type[m]!]}, references want ${PG_TYPE_NAMES[wantType[m]!]}`);
    if (f.isPageTable(m) && !f.validated(m)) problems.push(`mfn ${hex(m)}: in use as a page table but not validated`);
    if (linear[m] !== f.linear[m]) problems.push(`mfn ${hex(m)}: linear_pt_count ${f.linear[m]}, linear entries found ${linear[m]}`);
  }
  return problems;
}
