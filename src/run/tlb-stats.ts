/**
 * TLB statistics for the report, read from the engine (issue 3's statistics
 * block). Null when the engine build has none yet.
 */
import type { Engine } from "../engine/engine.js";
import type { TlbReport } from "./report.js";

export function engineTlbReport(e: Engine): TlbReport | null {
  const withStats = e as Engine & { tlbStats?: () => TlbReport };
  return typeof withStats.tlbStats === "function" ? withStats.tlbStats() : null;
}
