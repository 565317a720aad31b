import type { Command } from "commander";
import { createEngine, ENGINE_NAMES } from "../../engine/index.js";

/** A small demonstration: create both engines and show their memory maps. */
export function registerDemo(program: Command): void {
  program.command("demo", { isDefault: true })
    .description("show both engines' machine layout (default when no command is given)")
    .action(async () => {
      for (const name of ENGINE_NAMES) {
        const e = await createEngine(name, { physSize: 64 << 20 });
        const l = e.layout;
        console.log(`${name.padEnd(4)} engine: ${l.physSize / 2 ** 20} MiB guest RAM at linear 0x${l.ramBase.toString(16)}, ` +
          `TLB 0x${l.tlbBase.toString(16)} (${l.tlbBytes} B), batch of ${l.batchCap}, ${l.totalBytes / 2 ** 20} MiB linear memory`);
      }
    });
}
