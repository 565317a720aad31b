// Comparing large memory regions in tests: Buffer.equals runs at memcpy
// speed, where a deep toEqual over millions of elements takes seconds; on a
// mismatch the first differing offset is what a reader needs.
import { expect } from "vitest";

export function expectSameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return;
  let i = 0;
  while (a[i] === b[i]) i++;
  expect.fail(`${what}: first difference at byte 0x${i.toString(16)}: 0x${a[i]!.toString(16)} vs 0x${b[i]!.toString(16)}`);
}
