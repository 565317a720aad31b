// The s390 masks and lengths the kernel side derives from sizes
// (pgtable-bits.ts, pgtable-profile.ts) against the values Linux and the
// Principles of Operation write out: a derivation that drifts fails here.
import { describe, expect, it } from "vitest";
import {
  _SEGMENT_ENTRY_ORIGIN_31, _SEGMENT_ENTRY_PTL_31, _STD_TABLE_LENGTH_31, ESA390_LIMIT, SEGMENT_TABLE_ORDER_31,
} from "../../../src/kernel/s390/pgtable-bits.js";
import { AA_BOTH, AA_LOWER, AA_UPPER, PP_LOWER, PP_UPPER, TABLE_PTR_HALVES } from "../../../src/kernel/s390/pgtable-profile.js";
import { ENOMEM } from "../../../src/kernel/errno.js";
import { machine } from "./machine.js";

describe("s390 constants", () => {
  it("AA/PP page bits and the pointer bits of __tlb_remove_table are those of arch/s390/mm/pgalloc.c", () => {
    expect([AA_LOWER, AA_UPPER, AA_BOTH, PP_LOWER, PP_UPPER]).toEqual([0x01, 0x02, 0x03, 0x10, 0x20]);
    expect(TABLE_PTR_HALVES).toBe(3);
  });

  it("ESA/390 formats: segment-entry origin bits 1-25, PTL 15 for 256 PTEs; STD TL 127 for 2048 entries; 2 GiB", () => {
    expect(_SEGMENT_ENTRY_ORIGIN_31).toBe(0x7fff_ffc0n);
    expect(_SEGMENT_ENTRY_PTL_31).toBe(0xf);
    expect(_STD_TABLE_LENGTH_31).toBe(0x7fn);
    expect(ESA390_LIMIT).toBe(0x8000_0000n);
    expect(4096 << SEGMENT_TABLE_ORDER_31).toBe(2048 * 4);
  });

  it("ENOMEM is -12 (include/uapi/asm-generic/errno-base.h)", () => expect(ENOMEM).toBe(-12));

  it("the kernel's PTE-table strategy follows its profile; fragref and refcount share one strategy class", async () => {
    const strides = { fragref: 2048, refcount: 2048, flags: 2048, fullPage: 4096 };
    const kinds = await Promise.all((["fragref", "refcount", "flags", "fullPage"] as const).map(async (profile) => {
      const { k } = await machine("ts", { profile });
      expect([k.pgtable.name, k.pgtable.tableStride, k.pgtable.wholePage]).toEqual([profile, strides[profile], profile === "fullPage"]);
      return k.pgtable.constructor;
    }));
    expect(kinds[0]).toBe(kinds[1]);
    expect(new Set(kinds).size).toBe(3);
    const { k } = await machine("ts", { profile: "flags", esa390: true });
    expect(k.pgtable.tableStride).toBe(1024);
  });
});
