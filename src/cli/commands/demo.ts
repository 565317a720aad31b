import type { Command } from "commander";
import { Access, FaultKind } from "../../abi.js";
import { createEngine, ENGINE_NAMES, type Engine, type Translation } from "../../engine/index.js";
import {
  _PAGE_PRESENT as P, _PAGE_PSE as PS, _PAGE_RW as RW, _PAGE_USER as US, EFER_LME, EFER_NX, X86_CR0_PE, X86_CR0_PG,
  X86_CR0_WP, X86_CR4_PAE,
} from "../../kernel/x86/pgtable-types.js";

const MiB = 1 << 20;
/** CR0.PG|WP|PE, CR4.PAE, EFER.LME|NXE: IA-32e 4-level paging. */
const LONG_MODE = { cr0: X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, cr4: X86_CR4_PAE, efer: EFER_LME | EFER_NX, cr3: 0x1000n, cpl: 0 } as const;

/** Build a tiny 4-level page table: 0x4000_0000 → 4 KiB page at 0x9000 (user, read-only),
 *  0x4020_0000 → 2 MiB page at 0x20_0000 (writable). */
function buildTables(e: Engine): void {
  const p = e.phys;
  p.write64(0x1000 + 0 * 8, 0x2000n | P | RW | US);            // PML4E[0]   → PDPT
  p.write64(0x2000 + 1 * 8, 0x3000n | P | RW | US);            // PDPTE[1]   → PD  (VA 1 GiB)
  p.write64(0x3000 + 0 * 8, 0x4000n | P | RW | US);            // PDE[0]     → PT
  p.write64(0x4000 + 0 * 8, 0x9000n | P | US);                 // PTE[0]     → 4 KiB, read-only
  p.write64(0x3000 + 1 * 8, 0x20_0000n | P | RW | US | PS);    // PDE[1]     → 2 MiB page
}

function show(t: Translation): string {
  if (t.fault === FaultKind.None) return `pa 0x${t.pa.toString(16)} (page 2^${t.shift})`;
  if (t.fault === FaultKind.X86) return `#${t.vector === 14 ? "PF" : "GP"} error 0x${t.errorCode.toString(16)}`;
  return `bus fault at 0x${t.pa.toString(16)}`;
}

/** A small demonstration: the same page tables in both engines, a few translations. */
export function registerDemo(program: Command): void {
  program.command("demo")
    .description("translate a few addresses through both engines")
    .action(async () => {
      const accesses: [bigint, Access, string][] = [
        [0x4000_0123n, Access.Read, "read "], [0x4000_0123n, Access.Write, "write"],
        [0x4023_4567n, Access.Write, "write"], [0x4060_0000n, Access.Read, "read "],
        [0x8000_0000_0000n, Access.Read, "read "],
      ];
      for (const name of ENGINE_NAMES) {
        const e = await createEngine(name, { physSize: 4 * MiB });
        buildTables(e);
        e.setX86(LONG_MODE);
        console.log(`${name} engine (${e.layout.physSize / MiB} MiB guest RAM, IA-32e 4-level paging):`);
        for (const [va, acc, label] of accesses)
          console.log(`  ${label} 0x${va.toString(16).padStart(12, "0")} → ${show(e.translate(va, acc))}`);
        console.log(`  PTE after the accesses: 0x${e.phys.read64(0x4000).toString(16)} (A set), ` +
          `PDE[1]: 0x${e.phys.read64(0x3008).toString(16)} (A and D set)`);
      }
    });
}
