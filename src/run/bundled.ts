/**
 * The bundled default workload: a real memory trace recorded with valgrind
 * lackey (README "The default workload" says exactly how), converted to WMT
 * and compressed with xz. Found next to the package whether we run from the
 * bundle (dist/) or from the sources (src/run/).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BUNDLED_TRACE = "traces/gzip-gpl3.wmt.xz";

export function bundledTracePath(): string {
  for (const rel of ["../", "../../"]) {
    const p = fileURLToPath(new URL(rel + BUNDLED_TRACE, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`the bundled trace ${BUNDLED_TRACE} is missing from this installation; give a TRACE file or use --synthetic`);
}
