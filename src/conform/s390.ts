/**
 * The s390x conformance schema (test/fixtures/CONFORMANCE-README.md §6): vectors
 * recorded from QEMU 7.2's s390x TCG walker. A case lists big-endian DAT
 * entries, the storage keys before and after, and the outcome of one access.
 *
 * Replay rules (README): every unlisted table byte reads 0xFF (invalid);
 * absolute addresses ≥ 64 MiB do not exist; PSW key 0; a successful store
 * writes 0x5C at `pa`; QEMU has no EDAT and no key-controlled protection, so
 * the engine runs with S390_QEMU_OPTIONS. One machine per engine is reused:
 * after each case the bytes and keys the case touched are restored.
 */
import { Access, FaultKind, Pgm } from "../abi.js";
import type { Engine } from "../engine/engine.js";
import { newTranslation } from "../engine/engine.js";
import { S390_QEMU_OPTIONS, type S390Methods } from "../engine/s390.js";

type Hex = string;
export interface S390Case {
  id: string;
  asce_type: "RFT" | "RST" | "RTT" | "ST";
  cr0: Hex;
  cr1: Hex;
  psw_mask: Hex;
  access: "r" | "w" | "x";
  size: number;
  va: Hex;
  memory: [Hex, Hex][];
  harness_memory: [Hex, Hex][];
  skeys_before: [Hex, number][];
  expect: {
    fault: boolean;
    pgm_code: number | null;
    pgm_name: string | null;
    teid: Hex | null;
    pa: Hex | null;
    memory_after: [Hex, Hex][];
    skeys_after: [Hex, number][];
  };
  gen?: { scenario?: string; tags?: string[] };
}

/** Recognise the schema by itself (no flag needed): s390x cases carry an ASCE type and storage keys. */
export function isS390Case(x: unknown): x is S390Case {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o["asce_type"] === "string" && typeof o["cr1"] === "string" && Array.isArray(o["skeys_before"]) &&
    typeof o["expect"] === "object";
}

/** RAM of the machine the vectors were recorded on. */
export const S390_CONFORM_RAM = 64 * 1024 * 1024;

type S390Engine = Engine & S390Methods;

const ACCESS: Record<S390Case["access"], Access> = { r: Access.Read, w: Access.Write, x: Access.Fetch };

/** A machine for replaying s390x cases: RAM pre-filled with 0xFF once. */
export function prepareS390Machine(e: S390Engine): void {
  e.phys.fill(0, e.layout.physSize, 0xff);
}

/** Replay one case on a prepared machine; returns the differences (empty = pass).
 *  `options` (S390Opt bits) defaults to QEMU's facilities, as recorded. */
export function runS390Case(e: S390Engine, c: S390Case, options: number = S390_QEMU_OPTIONS): string[] {
  const diffs: string[] = [];
  const hx = (s: Hex): bigint => BigInt(s);
  const entries = [...c.memory, ...c.harness_memory];
  for (const [a, v] of entries) e.phys.write64(Number(hx(a)), hx(v), true);
  const keyFrames = new Set<number>();
  for (const [f, k] of c.skeys_before) { e.sske(Number(hx(f)), k); keyFrames.add(Number(hx(f))); }
  e.setS390({ cr0: hx(c.cr0), asce: hx(c.cr1), pswMask: hx(c.psw_mask), options });
  e.purgeTlb();                       // QEMU ran every case with an empty TLB

  const res = e.translateS390(hx(c.va), ACCESS[c.access], newTranslation());
  const x = c.expect;
  const faulted = res.fault !== FaultKind.None;
  let stored = -1;
  if (faulted !== x.fault) diffs.push(`fault: got ${faulted ? `pgm 0x${res.vector.toString(16)}` : `pa 0x${res.pa.toString(16)}`}, want ${x.fault ? `pgm 0x${x.pgm_code?.toString(16)}` : `pa ${x.pa}`}`);
  else if (faulted) {
    if (res.fault !== FaultKind.S390) diffs.push(`fault kind ${res.fault}, want S390`);
    if (res.vector !== x.pgm_code) diffs.push(`pgm code 0x${res.vector.toString(16)}, want 0x${x.pgm_code?.toString(16)}`);
    // The TEID is architected for translation and protection exceptions, not
    // for addressing (QEMU stores 0 there; README: compare where the PoP defines it).
    if (x.pgm_code !== Pgm.Addressing && x.teid !== null) {
      const teid = res.addr | BigInt(res.errorCode);
      if (teid !== hx(x.teid)) diffs.push(`teid 0x${teid.toString(16)}, want ${x.teid}`);
    }
  } else {
    if (BigInt(res.pa) !== hx(x.pa ?? "0x0")) diffs.push(`pa 0x${res.pa.toString(16)}, want ${x.pa}`);
    keyFrames.add(res.pa - (res.pa % 4096));
    if (c.access === "w") { e.phys.write8(res.pa, 0x5c); stored = res.pa; }
  }
  for (const [a, v] of x.memory_after) {
    const got = e.phys.read64(Number(hx(a)), true);
    if (got !== hx(v)) diffs.push(`memory ${a}: 0x${got.toString(16)}, want ${v}`);
  }
  for (const [f, k] of x.skeys_after) {
    const got = e.iske(Number(hx(f)));
    if (got !== k) diffs.push(`skey ${f}: 0x${got.toString(16)}, want 0x${k.toString(16)}`);
  }

  // Restore what the case touched: entries and the stored byte to 0xFF, keys to 0.
  for (const [a] of entries) e.phys.write64(Number(hx(a)), 0xffff_ffff_ffff_ffffn);
  if (stored >= 0) e.phys.write8(stored, 0xff);
  for (const f of keyFrames) e.sske(f, 0);
  return diffs;
}

/** Parse a JSONL text into cases (blank lines skipped). */
export function parseS390Cases(text: string): S390Case[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as S390Case);
}
