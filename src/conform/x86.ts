/**
 * The x86 conformance schema (test/fixtures/CONFORMANCE-README.md): one
 * memory access per case, recorded
 * from QEMU 7.2. Under the `qemu` profile the result must equal `expect`;
 * under `hardware`, `sdm_expect` when present, else `expect`.
 */
import { Access, FaultKind, Vector } from "../abi.js";
import { type Engine, newTranslation } from "../engine/engine.js";
import type { S390Methods } from "../engine/s390.js";
import type { ConformSchema, Profile } from "./schema.js";

type Hex = string;
interface X86Expect {
  fault: boolean;
  vector: number | null;
  error_code: number | null;
  cr2: Hex | null;
  pa: Hex | null;
  pte_after: [Hex, Hex][];
  note?: string;
}
export interface X86Case {
  id: string;
  mode: "legacy32" | "pae" | "ia32e4" | "ia32e5";
  entry_size: 4 | 8;
  cr0: Hex; cr3: Hex; cr4: Hex; efer: Hex; eflags: Hex;
  cpl: number;
  access: "r" | "w" | "x";
  va: Hex;
  memory: [Hex, Hex][];
  expect: X86Expect;
  sdm_agrees?: boolean;
  sdm_expect?: X86Expect;
}

const ACCESS: Record<X86Case["access"], Access> = { r: Access.Read, w: Access.Write, x: Access.Fetch };
/** The byte the harness's store writes (schema: w = 1-byte store of 0x5C). */
const STORE_BYTE = 0x5c;
const hex = (v: bigint | number | null | undefined): string => v === null || v === undefined ? "null" : `0x${v.toString(16)}`;

/** Machine for x86 cases: the vectors use MAXPHYADDR 40 and tables anywhere below 2^40. */
export const X86_MACHINE = { backing: "sparse", physSize: 2 ** 40, maxPhyAddr: 40, poolBytes: 16 << 20 } as const;

export function expectedFor(c: X86Case, profile: Profile): X86Expect {
  return profile === "qemu" || !c.sdm_expect ? c.expect : c.sdm_expect;
}

/**
 * Run one case on `engine` (a machine made with X86_MACHINE whose memory is
 * all zero) and return what differed (empty = pass). Leaves the memory all
 * zero again, so an engine serves many cases.
 */
export function runX86Case(engine: Engine & S390Methods, c: X86Case, profile: Profile): string[] {
  const diffs: string[] = [];
  const phys = engine.phys;
  const size = c.entry_size;
  for (const [pa, v] of c.memory) phys.writeEntry(Number(pa), BigInt(v), size);
  let storedAt = -1;
  try {
    // The corpus's SDM model raises the PDPTE #GP only for the PDPTE the access uses
    // (its other PDPTE slots hold distractors), hence pdpteGp "use"; see README.
    engine.setSemantics({ profile, adOnFault: "walk", pdpteGp: "use" });
    const load = engine.setX86({
      cr0: BigInt(c.cr0), cr3: BigInt(c.cr3), cr4: BigInt(c.cr4), efer: BigInt(c.efer),
      eflags: BigInt(c.eflags), cpl: c.cpl, pkru: 0, cr2: 0n,
    });
    engine.setArch("x86");
    // A #GP at the CR3 load (reserved PDPTE bits, hardware profile) is the case's outcome.
    const r = load.fault !== FaultKind.None ? load : engine.translate(BigInt(c.va), ACCESS[c.access], newTranslation());
    if (r.fault === FaultKind.None && c.access === "w" && r.pa < phys.size) {
      phys.write8(r.pa, STORE_BYTE);
      storedAt = r.pa;
    }
    const e = expectedFor(c, profile);
    const faulted = r.fault !== FaultKind.None;
    if (r.fault === FaultKind.Bus) diffs.push(`bus fault at PA ${hex(r.pa)}`);
    else if (r.fault === FaultKind.S390) diffs.push("s390 fault on an x86 case");
    if (faulted !== e.fault) diffs.push(`fault ${faulted} != expected ${e.fault}`);
    else if (e.fault) {
      if (r.vector !== e.vector) diffs.push(`vector ${r.vector} != expected ${e.vector}`);
      if (r.errorCode !== e.error_code) diffs.push(`error_code ${hex(r.errorCode)} != expected ${hex(e.error_code)}`);
      if (e.vector === Vector.PF && r.addr !== BigInt(e.cr2 ?? -1)) diffs.push(`cr2 ${hex(r.addr)} != expected ${e.cr2}`);
      if (e.vector === Vector.GP && engine.x86().cr2 !== 0n) diffs.push(`#GP wrote CR2 (${hex(engine.x86().cr2)})`);
    } else if (e.pa !== null && r.pa !== Number(e.pa)) diffs.push(`pa ${hex(r.pa)} != expected ${e.pa}`);
    for (const [pa, after] of e.pte_after) {
      const got = phys.readEntry(Number(pa), size);
      if (got !== BigInt(after)) diffs.push(`entry ${pa}: ${hex(got)} != expected ${after}`);
    }
  } finally {
    for (const [pa] of c.memory) phys.writeEntry(Number(pa), 0n, size);
    if (storedAt >= 0) phys.write8(storedAt, 0);
  }
  return diffs;
}

export const x86Schema: ConformSchema<X86Case> = {
  name: "x86",
  matches: (o) => typeof o === "object" && o !== null && "entry_size" in o && "mode" in o && "cr3" in o,
  machine: X86_MACHINE,
  run: runX86Case,
};
