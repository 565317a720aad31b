/**
 * VMAs (mm/vma.c): an mm's sorted, disjoint list of mapped areas and the
 * operations on it — find, insert, split at an address, merge neighbours.
 *
 * A VMA has one page size; its leaves are all of that size. This is how
 * hugetlb VMAs behave (and why a partial huge page is an error, EINVAL).
 */
import type { PhysAddr } from "./types.js";

export interface Vma {
  start: bigint;
  end: bigint;
  prot: number;
  /** "pfn": a fixed physical range (VM_PFNMAP); "anon": demand-paged private memory. */
  kind: "pfn" | "anon";
  /** pfn VMAs: physical address mapped at `start`. */
  pa: PhysAddr;
  pageSize: number;
}

/** find_vma, exactly: the VMA containing va. */
export const findVma = (vmas: readonly Vma[], va: bigint): Vma | undefined => vmas.find((v) => v.start <= va && va < v.end);

/** The first VMA that overlaps [start, end). */
export const firstOverlap = (vmas: readonly Vma[], start: bigint, end: bigint): Vma | undefined =>
  vmas.find((v) => v.start < end && start < v.end);

/** Insert keeping the list sorted (the caller has checked that nothing overlaps). */
export function insertVma(vmas: Vma[], v: Vma): void {
  const i = vmas.findIndex((x) => x.start > v.start);
  vmas.splice(i < 0 ? vmas.length : i, 0, v);
}

/** __split_vma: cut the VMA that contains `at` (not at its start) in two. */
export function splitVmaAt(vmas: Vma[], at: bigint): void {
  const i = vmas.findIndex((v) => v.start < at && at < v.end);
  if (i < 0) return;
  const v = vmas[i]!;
  const right: Vma = { ...v, start: at, pa: v.kind === "pfn" ? v.pa + Number(at - v.start) : 0 };
  v.end = at;
  vmas.splice(i + 1, 0, right);
}

/** Take out every VMA inside [start, end) (after splitting at both ends). */
export function removeVmas(vmas: Vma[], start: bigint, end: bigint): void {
  for (let i = vmas.length - 1; i >= 0; i--) {
    const v = vmas[i]!;
    if (v.start >= start && v.end <= end) vmas.splice(i, 1);
  }
}

/** vma_merge, simplified: neighbours of the same kind, size and protection (and contiguous pa) join. */
export function mergeVmas(vmas: Vma[]): void {
  for (let i = 0; i + 1 < vmas.length;) {
    const a = vmas[i]!, b = vmas[i + 1]!;
    if (a.end === b.start && a.kind === b.kind && a.prot === b.prot && a.pageSize === b.pageSize &&
        (a.kind === "anon" || a.pa + Number(a.end - a.start) === b.pa)) {
      a.end = b.end;
      vmas.splice(i + 1, 1);
    } else i++;
  }
}

/** How far from `start` the VMAs cover [start, end) without a hole (mprotect's ENOMEM check). */
export function coveredUpTo(vmas: readonly Vma[], start: bigint, end: bigint): bigint {
  let covered = start;
  for (const v of vmas) {
    if (v.end <= covered || v.start >= end) continue;
    if (v.start > covered) break;
    covered = v.end;
  }
  return covered;
}
