import { type Command, Option } from "commander";
import { formatPlan, type Strategy } from "../../boot/plan.js";
import { parseCountIn } from "../parse.js";
import { type BootOptions, bootFailed, bootResultJson, buildFor, loadInputs, runBoot } from "../../boot/run.js";

/**
 * `wasmmu boot`: plan the kernel's early direct mapping (hpa or linux
 * strategy), build it in a sparse guest memory through the paravirt hooks
 * (native or Xen PV) and verify it by translating through the wasm engine.
 */
export function registerBoot(program: Command): void {
  program.command("boot")
    .description("plan, build and verify the early-boot direct mapping (init_mem_mapping / hpa's top-down plan)")
    .option("--e820 <file>", "memory map: boot-log lines (BIOS-e820: [mem …] usable) or JSON [[start, end, type], …]")
    .option("--mem <size>", "a QEMU-like machine of this much RAM (default 64G)")
    .option("--from-record <file>", "recorded boot(s), JSON lines (linux-boot-public.jsonl format): reproduce and compare")
    .option("--record-id <id>", "with --from-record: only this record")
    .addOption(new Option("--strategy <s>", "planning strategy").choices(["linux", "hpa"]).default("linux"))
    .option("--xen", "Xen PV guest: 4k pages only, tables made read-only and pinned through the Xen model")
    .addOption(new Option("--mode <mode>", "paging mode").choices(["x86-64", "la57", "pae", "2level"]).default("x86-64"))
    .option("--page-sizes <list>", "allowed page sizes, e.g. 4k,2M,1G (default: all the mode has)")
    .option("--kernel <range>", "physical kernel image _text-_end, e.g. 0x2000000-0x5430000 or 32M-84M (default: the recorded Debian 6.1 layout, 0x1000000-0x4430000); its brk section sits below _end as in that layout")
    .option("--brk <pages>", "brk page-table reserve (INIT_PGT_BUF_SIZE) in pages, 1 to 4096", parseCountIn(1, 4096))
    .option("--bottom-up", "memblock bottom-up (movable_node): memory_map_bottom_up")
    .addOption(new Option("--step-rule <r>", "top-down step growth").choices(["modern", "v39"]))
    .option("--no-build", "plan only: do not build tables in guest memory or translate")
    .addOption(new Option("--engine <e>", "engine used to build and verify").choices(["wasm", "ts"]).default("wasm"))
    .option("--force-build", "with --xen: build and verify even above 8 GiB (slow)")
    .option("--json", "print the plan as JSON (the record's field names)")
    .option("--steps <n>", "text output: show at most this many steps", parseCountIn(1), 80)
    .action(async (o: BootOptions & { build: boolean; engine: "wasm" | "ts"; json?: boolean; steps: number; forceBuild?: boolean }) => {
      const strategy = (o.strategy ?? "linux") as Strategy;
      let failed = false;
      const json: unknown[] = [];
      for (const loaded of await loadInputs(o)) {
        // On stderr, so that --json output stays one JSON document.
        for (const w of loaded.input.warnings ?? []) console.error(`wasmmu: warning: ${w}`);
        const { build, xenTooBig } = buildFor(loaded, o);
        if (!o.json && xenTooBig)
          console.log(`(planning only: building ${loaded.input.maxPfn * 4096 / 2 ** 30} GiB through the Xen model checks every one of its ` +
            `${(loaded.input.maxPfn / 2 ** 20).toFixed(1)} M pte stores — about 0.4 s and 13 MB per GiB here (64 GiB: 27 s, 0.8 GB); pass --force-build to do it)`);
        const r = await runBoot(loaded, strategy, build);
        if (bootFailed(r)) failed = true;
        if (o.json) {
          json.push(bootResultJson(r, loaded.input.warnings));
          continue;
        }
        const v = r.build?.verify;
        if (r.record) console.log(`record ${r.record.id}:`);
        if (r.build?.setup.describe) console.log(r.build.setup.describe);
        console.log(formatPlan(r.plan, { maxSteps: o.steps }));
        if (v) console.log(`verify (${o.engine} engine): ${v.ok ? "OK" : "FAILED"} — ${v.translated} translations ` +
          `(${v.regions} 2M regions, ${v.pages} 4k pages), ${v.mismatches.length} mismatches, ` +
          `${v.tablesFromUnmapped.length} tables from unmapped memory, end of map faults: ${v.endFaults}; ${v.ms.toFixed(0)} ms`);
        if (r.differences) console.log(r.differences.length ? `differs from the recorded boot:\n  ${r.differences.join("\n  ")}`
          : "matches the recorded boot: ranges, pieces, steps, every page-table page (count, source, address, caller)");
      }
      if (o.json) console.log(JSON.stringify(json.length === 1 ? json[0] : json, null, 1));
      if (failed) process.exitCode = 1;
    });
}
