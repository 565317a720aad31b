/**
 * `wasmmu xen`: run the kernel side as a Xen PV guest and show, phase by
 * phase, the paravirt hooks the kernel called and the hypercalls the Xen
 * backend turned them into — the pinning protocol in action.
 */
import type { Command } from "commander";
import { Access } from "../../abi.js";
import { createEngine, type EngineName } from "../../engine/index.js";
import { Kernel } from "../../kernel/x86/kernel.js";
import { recordingMmuOps } from "../../paravirt/recording.js";
import { auditXen } from "../../paravirt/xen/audit.js";
import { buildXenPvGuest } from "../../paravirt/xen/domain-builder.js";
import { formatLogEntry } from "../../paravirt/xen/hypervisor.js";
import { GuestPageFault } from "../../paravirt/xen/mmu-pv.js";

const CONVERSIONS = ["pteVal", "makePte", "pmdVal", "makePmd", "pudVal", "makePud", "p4dVal", "makeP4d", "pgdVal", "makePgd"] as const;

export function registerXen(program: Command): void {
  program.command("xen")
    .description("run a small mm workload as a Xen PV guest; print the hook and hypercall log per phase")
    .option("--engine <name>", "wasm or ts", "wasm")
    .option("--pages <n>", "guest pages", "2048")
    .action(async (opts: { engine: string; pages: string }) => {
      if (opts.engine !== "wasm" && opts.engine !== "ts") throw new Error(`--engine must be wasm or ts, got "${opts.engine}"`);
      const nrPages = Number(opts.pages);
      if (!Number.isInteger(nrPages) || nrPages < 256 || nrPages > 65536) throw new Error(`--pages must be an integer in [256, 65536], got "${opts.pages}"`);
      const engine = await createEngine(opts.engine as EngineName, { physSize: Math.max(16 << 20, (nrPages + 2048) * 4096) });
      const g = buildXenPvGuest(engine, { nrPages });
      const ops = recordingMmuOps(g.ops, { ignore: [...CONVERSIONS] });
      const k = new Kernel({ mode: "4level", phys: g.phys, cpu: engine, ops, allocator: g.allocator });
      g.ops.xenSetupKernelPagetable(k.initMm.pgd);
      ops.clear();
      let hooks = 0, calls = g.xen.log.length;
      const phase = (title: string, fn: () => void): void => {
        fn();
        console.log(`── ${title}`);
        for (const c of ops.log.slice(hooks)) console.log(`   hook ${c.op}(${c.args.map(fmt).join(", ")})`);
        for (const e of g.xen.log.slice(calls)) console.log(`      ${formatLogEntry(e)}`);
        hooks = ops.log.length;
        calls = g.xen.log.length;
      };
      console.log(`Xen PV guest: domain ${g.domain.id}, ${nrPages} pages, ${opts.engine} engine; ` +
        `pfn 0..3 → mfn ${g.domain.mfnList.slice(0, 4).map((m) => "0x" + m.toString(16)).join(", ")}`);
      let a!: ReturnType<Kernel["mmCreate"]>;
      phase("mm create: pgd_alloc, enter_mmap → xen_pgd_pin", () => { a = k.mmCreate(); });
      phase("mmap + first fault: tables attached to a pinned mm go RO (pte pages pinned) before use", () => {
        a.mmap(0x1000_0000n, 0x4000, { prot: "rw" });
        a.handleFault(0x1000_0000n, 1);
      });
      phase("switch_mm: NEW_BASEPTR + NEW_USER_BASEPTR", () => k.switchMm(a));
      engine.setCpl(3);
      const t = engine.translate(0x1000_0010n, Access.Write);
      engine.setCpl(0);
      console.log(`   user write 0x10000010 → machine 0x${t.pa.toString(16)} (pfn ${g.p2m.mfnToPfn(Math.floor(t.pa / 4096))})`);
      const pgdPfn = a.pgd / 4096;
      try {
        g.ops.kernelStore(a.pgd, 0n);
        console.log("   stray kernel store to the pinned pgd: NOT caught");
      } catch (e) {
        if (!(e instanceof GuestPageFault)) throw e;
        console.log(`   stray kernel store to the pinned pgd (pfn ${pgdPfn}): #PF error 0x${e.t.errorCode.toString(16)} from the walker`);
      }
      phase("mprotect read-only: ptep_modify_prot_commit → MMU_PT_UPDATE_PRESERVE_AD", () => a.mprotect(0x1000_0000n, 0x4000, "r"));
      phase("exit: switch to init_mm, exit_mmap → UNPIN first, then RW remaps, free_pgtables", () => {
        k.switchMm(k.initMm);
        a.destroy();
      });
      const problems = auditXen(g.xen, [g.domain.id]);
      console.log(problems.length === 0 ? "audit: every reference count matches the tables" : `audit: ${problems.join("; ")}`);
      if (problems.length) process.exitCode = 1;
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
