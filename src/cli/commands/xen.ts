/**
 * `wasmmu xen`: run the kernel side as a Xen PV guest and show, phase by
 * phase, the paravirt hooks the kernel called and the hypercalls the Xen
 * backend turned them into — the pinning protocol in action
 * (src/paravirt/xen/walkthrough.ts).
 */
import type { Command } from "commander";
import type { EngineName } from "../../engine/index.js";
import { formatLogEntry } from "../../paravirt/xen/hypervisor.js";
import { xenWalkthrough } from "../../paravirt/xen/walkthrough.js";

export function registerXen(program: Command): void {
  program.command("xen")
    .description("run a small mm workload as a Xen PV guest; print the hook and hypercall log per phase")
    .option("--engine <name>", "wasm or ts", "wasm")
    .option("--pages <n>", "guest pages", "2048")
    .action(async (opts: { engine: string; pages: string }) => {
      if (opts.engine !== "wasm" && opts.engine !== "ts") throw new Error(`--engine must be wasm or ts, got "${opts.engine}"`);
      const nrPages = Number(opts.pages);
      if (!Number.isInteger(nrPages) || nrPages < 256 || nrPages > 65536) throw new Error(`--pages must be an integer in [256, 65536], got "${opts.pages}"`);
      const w = await xenWalkthrough({ engine: opts.engine as EngineName, nrPages });
      console.log(`Xen PV guest: domain ${w.domainId}, ${w.nrPages} pages, ${w.engine} engine; ` +
        `pfn 0..3 → mfn ${w.firstMfns.map((m) => "0x" + m.toString(16)).join(", ")}`);
      for (const s of w.steps) {
        if (s.kind === "phase") {
          console.log(`── ${s.title}`);
          for (const c of s.hooks) console.log(`   hook ${c.op}(${c.args.map(fmt).join(", ")})`);
          for (const e of s.hypercalls) console.log(`      ${formatLogEntry(e)}`);
        } else if (s.kind === "user-write") {
          console.log(`   user write 0x${s.va.toString(16)} → machine 0x${s.machineAddress.toString(16)} (pfn ${s.pfn})`);
        } else {
          console.log(s.errorCode === null ? "   stray kernel store to the pinned pgd: NOT caught"
            : `   stray kernel store to the pinned pgd (pfn ${s.pgdPfn}): #PF error 0x${s.errorCode.toString(16)} from the walker`);
        }
      }
      console.log(w.problems.length === 0 ? "audit: every reference count matches the tables" : `audit: ${w.problems.join("; ")}`);
      if (w.problems.length) process.exitCode = 1;
    });
}

function fmt(v: unknown): string {
  if (typeof v === "bigint" || typeof v === "number") return "0x" + v.toString(16);
  if (Array.isArray(v)) return `[${v.map(fmt).join(", ")}]`;
  if (v && typeof v === "object") {
    if ("isInitMm" in v && "id" in v) return `mm${(v as { id: number }).id}`;
    if ("start" in v && "end" in v) return `${fmt((v as { start: bigint }).start)}..${fmt((v as { end: bigint }).end)}`;
    return "tlb";
  }
  return String(v);
}
