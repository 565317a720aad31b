/**
 * Debug-only hooks shared by both engines (they read the same control block).
 *
 * armWalkRace: a deterministic interleaving of a software compare-and-exchange
 * with the walker's A update (docs/SEMANTICS.md). The next
 * time a walker is about to set A/D in the entry at physical address `pa` —
 * after it has read the entry, before its cmpxchg — the entry is overwritten
 * with `value`, as if another CPU's store had landed in between. It fires
 * once. Both walkers then see their cmpxchg fail exactly as on a real race.
 */
import { Ctl, Mem } from "../abi.js";
import type { EngineBase } from "./engine.js";

export function armWalkRace(engine: EngineBase, pa: number, value: bigint): void {
  const dv = new DataView(engine.buffer, Mem.CTL_BASE, Ctl.CTL_SIZE);
  dv.setBigUint64(Ctl.DBG_RACE_PA, BigInt(pa), true);
  dv.setBigUint64(Ctl.DBG_RACE_VAL, BigInt.asUintN(64, value), true);
  dv.setUint32(Ctl.DBG_RACE_ON, 1, true);
}

/** Is a race still armed (it has not fired yet)? */
export function walkRacePending(engine: EngineBase): boolean {
  return new DataView(engine.buffer, Mem.CTL_BASE, Ctl.CTL_SIZE).getUint32(Ctl.DBG_RACE_ON, true) !== 0;
}
