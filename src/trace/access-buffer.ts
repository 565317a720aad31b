/**
 * A chunk of memory accesses in columnar form — the very shape of an engine's
 * batch buffers (src/engine/batch.ts): virtual addresses as little-endian
 * (lo, hi) u32 pairs, access kinds as bytes. Readers fill it in place, so a
 * trace run moves each access once, from the parser straight into the
 * engine's linear memory, with no BigInt and no per-access object.
 */
import type { Access } from "../abi.js";

export interface AccessBuffer {
  /** 2 × capacity words: va32[2i] = low 32 bits, va32[2i+1] = high 32 bits. */
  readonly va32: Uint32Array;
  /** capacity bytes, each an Access (0 read, 1 write, 2 fetch). */
  readonly kind: Uint8Array;
  readonly capacity: number;
}

/** A free-standing buffer (for tools and tests; a run uses the engine's own). */
export function newAccessBuffer(capacity: number): AccessBuffer {
  if (!Number.isInteger(capacity) || capacity < 4)
    throw new RangeError(`access buffer capacity must be an integer ≥ 4, got ${capacity}`);
  return { va32: new Uint32Array(2 * capacity), kind: new Uint8Array(capacity), capacity };
}

/** One access as a plain record (tests and small tools only: it allocates). */
export interface AccessRecord { va: bigint; kind: Access }

export function accessAt(buf: AccessBuffer, i: number): AccessRecord {
  const va = (BigInt(buf.va32[2 * i + 1]!) << 32n) | BigInt(buf.va32[2 * i]!);
  return { va, kind: buf.kind[i]! as Access };
}

/** The address as a JS number when it is exact (< 2^53), else NaN. */
export function vaNumberAt(buf: AccessBuffer, i: number): number {
  const hi = buf.va32[2 * i + 1]!;
  return hi < 0x200000 ? hi * 4294967296 + buf.va32[2 * i]! : NaN;
}
