/**
 * Linear memory of the TS engine: an ArrayBuffer with exactly the layout of
 * the wasm engine's memory, so that both engines' side effects can be
 * compared byte for byte and the host's PhysMem serves both.
 */
import { computeLayout, type Layout, type MachineConfig, writeRegionTable } from "../../layout.js";

export function createTsMemory(cfg: MachineConfig): { layout: Layout; buffer: ArrayBuffer } {
  const layout = computeLayout(cfg);
  const buffer = new ArrayBuffer(layout.totalBytes);
  writeRegionTable(buffer, layout);
  return { layout, buffer };
}
