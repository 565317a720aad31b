/**
 * Argument contracts of the public API, checked the same way everywhere.
 *
 * Every public numeric parameter has a stated type (Number or BigInt), says
 * whether it must be an integer, and has a range. A value outside the
 * contract is refused before anything changes, with an error that names the
 * call and the parameter: a TypeError for the wrong type, a RangeError for a
 * value of the right type outside its range. Both engines call these same
 * functions, so they refuse bad input identically. The contracts are listed
 * in docs/API-CONTRACT.md.
 */
import { Access } from "./abi.js";

/** How a rejected value is shown: its type when that is the problem. */
export function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === undefined || v === null) return String(v);
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "function") return "a function";
  return Array.isArray(v) ? "an array" : "an object";
}

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A Number that is an integer in [min, max]. */
export function checkInt(op: string, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number") throw new TypeError(`${op}: ${name} must be an integer Number in [${min}, ${max}], got ${kindOf(v)} (${show(v)})`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${op}: ${name} must be an integer in [${min}, ${max}], got ${show(v)}`);
  return v;
}

const U64_END = 1n << 64n;
const S64_MIN = -(1n << 63n);

/** A BigInt register or entry value in [0, 2^64). */
export function checkU64(op: string, name: string, v: unknown): bigint {
  if (typeof v !== "bigint") throw new TypeError(`${op}: ${name} must be a BigInt in [0, 2^64), got ${kindOf(v)} (${show(v)})`);
  if (v < 0n || v >= U64_END) throw new RangeError(`${op}: ${name} must be in [0, 2^64), got 0x${v.toString(16)}`);
  return v;
}

/** A BigInt 64-bit value given either as unsigned or as signed two's complement:
 *  [-2^63, 2^64). Returned as the unsigned 64-bit value. Virtual addresses and
 *  stored entries take this contract, so 0xffff_8880_0000_0000n and
 *  -0x7780_0000_0000n name the same address. */
export function checkS64(op: string, name: string, v: unknown): bigint {
  if (typeof v !== "bigint") throw new TypeError(`${op}: ${name} must be a BigInt (a 64-bit value), got ${kindOf(v)} (${show(v)})`);
  if (v < S64_MIN || v >= U64_END) throw new RangeError(`${op}: ${name} must be in [-2^63, 2^64), got ${v}`);
  return v < 0n ? v + U64_END : v;
}

/** An access kind: Access.Read (0), Access.Write (1) or Access.Fetch (2). */
export function checkAccess(op: string, v: unknown): Access {
  if (v !== Access.Read && v !== Access.Write && v !== Access.Fetch) throw badAccess(op, v);
  return v;
}
export function badAccess(op: string, v: unknown): Error {
  const msg = `${op}: access must be Access.Read (0), Access.Write (1) or Access.Fetch (2), got ${show(v)}`;
  return typeof v === "number" ? new RangeError(msg) : new TypeError(msg);
}

/** A boolean (not a truthy stand-in). */
export function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new TypeError(`${op}: ${name} must be true or false, got ${show(v)}`);
  return v;
}

/** A plain options object (or undefined when optional). */
export function checkObject(op: string, name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new TypeError(`${op}: ${name} must be an object, got ${kindOf(v)} (${show(v)})`);
  return v as Record<string, unknown>;
}

/** One of a fixed set of strings (or other primitives). */
export function checkOneOf<T>(op: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T))
    throw new (typeof v === typeof allowed[0] ? RangeError : TypeError)(
      `${op}: ${name} must be ${allowed.map((a) => show(a)).join(", ").replace(/, ([^,]*)$/, " or $1")}, got ${show(v)}`);
  return v as T;
}

/** Refuse keys an options object does not have (a misspelt option must not be ignored). */
export function checkKeys(op: string, name: string, o: object, known: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new TypeError(`${op}: unknown ${name} "${k}" (known: ${known.join(", ")})`);
}
