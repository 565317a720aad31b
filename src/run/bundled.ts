/**
 * The bundled real memory traces, recorded with valgrind lackey (README "The
 * default workload" says exactly how), converted to WMT and compressed with
 * Brotli, which node:zlib decodes natively (several times faster than the
 * xz decoder, for a file about 10 % larger): gzip compressing a text (`run`'s default workload) and GNU sort sorting
 * numbers (with gzip, the default sweep's two traces). Found next to the
 * package whether we run from the bundle (dist/) or from the sources
 * (src/run/).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BUNDLED_TRACE = "traces/gzip-gpl3.wmt.br";
export const BUNDLED_SORT_TRACE = "traces/sort-nums.wmt.br";

export function bundledTracePath(trace: string = BUNDLED_TRACE): string {
  for (const rel of ["../", "../../"]) {
    const p = fileURLToPath(new URL(rel + trace, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`the bundled trace ${trace} is missing from this installation; give a TRACE file or use --synthetic`);
}
