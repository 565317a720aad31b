// The boot plan view's data: the library's `boot` namespace (src/boot/) run
// on a QEMU-like physical memory map for both strategies. Imports nothing;
// `lib` is the wasmmu module, as in space.js.

export const STRATEGIES = ["linux", "hpa"];
export const E820_NAMES = { 1: "usable", 2: "reserved", 3: "ACPI data", 4: "ACPI NVS", 5: "unusable", 7: "persistent" };

/**
 * Plan the direct mapping of `size` ("4G", "512M"…) bytes of RAM with each
 * strategy, with a brk reserve of `opts.brkPages` pages (the planner's
 * default when undefined). Each plan gets its own input: planning allocates from the
 * input's memblock, so one input serves one plan.
 */
export function bootPlans(lib, size, opts = {}) {
  const bytes = lib.boot.parseSize(size);
  const input = () => lib.boot.inputFromMem(bytes, { pse: opts.pse ?? true, gbpages: opts.pse ?? true, pgtBufPages: opts.brkPages });
  const e820 = input().e820;
  // A strategy can fail where the other succeeds (hpa maps the kernel image
  // from brk alone): keep its error for its column.
  const plans = Object.fromEntries(STRATEGIES.map((s) => {
    try { return [s, lib.boot.plan(s, input())]; } catch (err) { return [s, { strategy: s, error: err.message }]; }
  }));
  return { bytes, e820, plans };
}

/** One line per step, as the page lists them. */
export function stepText(s, hex) {
  switch (s.op) {
    case "range": return `${s.phase}: map [${hex(s.start)}, ${hex(s.end)})`;
    case "map": return `  ${s.pageSize} pages [${hex(s.start)}, ${hex(s.end)})`;
    case "alloc": return `  ${s.level} table page at ${hex(s.pa)} from ${s.source} (${s.caller})`;
    case "hook": return `  paravirt hook on ${s.frames.length} table page(s): ${s.why}`;
    case "release": return `  ${s.level} table page at ${hex(s.pa)} released`;
    case "cr3": return `load CR3 ${hex(s.pa)} (${s.why})`;
    default: return `— ${s.text}`;
  }
}
