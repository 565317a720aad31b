// The explorer's own page walker (explorer/walk.js) against both engines: on
// the explorer's example address space in every paging mode, random addresses
// (mapped, next to mapped, and anywhere in the 64-bit space), every access
// kind, CPL 0 and 3, each with the TLB flushed so that the engine walks too.
// The walker must give the engine's result and predict the A/D bits the
// engine writes into each entry it read.
import { describe, expect, it } from "vitest";
import * as lib from "../../src/index.js";
import { buildSpace, MODES, PHYS_SIZE, rng } from "../../explorer/space.js";
import { walk } from "../../explorer/walk.js";

describe("explorer page walker", () => {
  for (const engine of lib.ENGINE_NAMES) {
    for (const mode of MODES) {
      it(`${engine} ${mode}: same result and the same A/D writes as translate()`, async () => {
        const s = await buildSpace(lib, engine, mode);
        const read = (pa: number, bytes: number): bigint => bytes === 4 ? BigInt(s.cpu.phys.read32(pa)) : s.cpu.phys.read64(pa);
        const next = rng(7);
        const kinds = { ok: 0, pf: 0, gp: 0 };
        for (let i = 0; i < 1500; i++) {
          const r = s.regions[Math.floor(next() * s.regions.length)]!;
          const va = next() < 0.3
            ? BigInt.asUintN(64, BigInt(Math.floor(next() * 2 ** 32)) << BigInt(Math.floor(next() * 33)))
            : r.start + BigInt(Math.floor(next() * (r.bytes + 0x3000)));
          const access = Math.floor(next() * 3) as 0 | 1 | 2;
          s.cpu.setCpl(next() < 0.5 ? 0 : 3);
          s.cpu.flushTlb(true);
          const w = walk(read, s.cpu.x86(), va, access, PHYS_SIZE);
          const t = s.cpu.translate(va, access);
          const where = `${mode} va 0x${va.toString(16)} access ${access}`;
          if (w.fault) {
            kinds[w.fault.kind as "pf" | "gp"]++;
            expect([t.fault, t.vector, t.errorCode], where).toEqual([lib.FaultKind.X86, w.fault.vector, w.fault.errorCode]);
          } else {
            kinds.ok++;
            expect([t.fault, t.pa, t.shift], where).toEqual([lib.FaultKind.None, w.pa, w.shift]);
          }
          for (const st of w.steps) expect(read(st.entryPa, mode === "2level" ? 4 : 8), `${where} ${st.level}`).toBe(st.after);
        }
        // The sample covers successes and page faults (and #GP where addresses can be non-canonical).
        expect(kinds.ok).toBeGreaterThan(100);
        expect(kinds.pf).toBeGreaterThan(100);
        if (mode === "4level" || mode === "5level") expect(kinds.gp).toBeGreaterThan(10);
      });
    }
  }
});
