/**
 * `info tlb` as QEMU's monitor prints it for x86 (target/i386/monitor.c,
 * hmp_info_tlb): walk the page tables CR3 points to, as they are in guest
 * memory, and print every present leaf as
 *
 *   VIRTUAL: PHYSICAL XGPDACTUW
 *
 * with the virtual address sign-extended (canonical) and the flags NX, Global,
 * PS (large page), Dirty, Accessed, PCD, PWT, User, Writable ('-' when clear).
 * Unlike QEMU we print a large page's frame address with the PAT and reserved
 * low bits masked off.
 */
import type { Engine } from "../engine/engine.js";

const P = 1n, RW = 2n, US = 4n, PWT = 8n, PCD = 16n, A = 32n, D = 64n, PS = 128n, G = 256n, NX = 1n << 63n;
const ADDR52 = 0x000f_ffff_ffff_f000n;

function flags(e: bigint): string {
  return [e & NX ? "X" : "-", e & G ? "G" : "-", e & PS ? "P" : "-", e & D ? "D" : "-", e & A ? "A" : "-",
    e & PCD ? "C" : "-", e & PWT ? "T" : "-", e & US ? "U" : "-", e & RW ? "W" : "-"].join("");
}

interface Level { shift: number; entries: number; leafOk: boolean }

/** The present leaves of the current address space, one line each. */
export function infoTlb(e: Engine, limit = Infinity): string[] {
  const s = e.x86();
  if (!(s.cr0 & (1n << 31n))) return ["PG disabled"];
  const pae = (s.cr4 & (1n << 5n)) !== 0n, lma = (s.efer & (1n << 10n)) !== 0n, la57 = (s.cr4 & (1n << 12n)) !== 0n;
  const pse = (s.cr4 & (1n << 4n)) !== 0n;
  const out: string[] = [];
  const ph = e.phys;
  const vaBits = lma ? (la57 ? 57 : 48) : 32;
  const hex = (v: bigint): string => v.toString(16).padStart(16, "0");
  const canonical = (va: bigint): bigint =>
    vaBits > 32 && va & (1n << BigInt(vaBits - 1)) ? va | (((1n << 64n) - 1n) ^ ((1n << BigInt(vaBits)) - 1n)) : va;

  let levels: Level[], size: 4 | 8, root: number;
  if (!pae) {
    levels = [{ shift: 22, entries: 1024, leafOk: pse }, { shift: 12, entries: 1024, leafOk: true }];
    size = 4; root = Number(s.cr3 & 0xffff_f000n);
  } else if (!lma) {
    levels = [{ shift: 30, entries: 4, leafOk: false }, { shift: 21, entries: 512, leafOk: true }, { shift: 12, entries: 512, leafOk: true }];
    size = 8; root = Number(s.cr3 & 0xffff_ffe0n);
  } else {
    levels = [...(la57 ? [{ shift: 48, entries: 512, leafOk: false }] : []), { shift: 39, entries: 512, leafOk: false },
      { shift: 30, entries: 512, leafOk: true }, { shift: 21, entries: 512, leafOk: true }, { shift: 12, entries: 512, leafOk: true }];
    size = 8; root = Number(s.cr3 & ADDR52);
  }
  const addrMask = size === 4 ? 0xffff_f000n : ADDR52;

  const walk = (table: number, depth: number, base: bigint): void => {
    const lv = levels[depth]!;
    for (let i = 0; i < lv.entries && out.length < limit; i++) {
      let ent: bigint;
      try { ent = ph.readEntry(table + i * size, size); } catch { continue; }   // table outside RAM: nothing to show
      if (!(ent & P)) continue;
      const va = base + (BigInt(i) << BigInt(lv.shift));
      const last = depth === levels.length - 1;
      if (last || (lv.leafOk && ent & PS)) {
        const pageMask = (1n << BigInt(lv.shift)) - 1n;
        const pa = ent & addrMask & ~pageMask;
        out.push(`${hex(canonical(va))}: ${hex(pa)} ${flags(last ? ent & ~PS : ent)}`);
      } else if (lv.shift > 12) {
        walk(Number(ent & addrMask), depth + 1, va);
      }
    }
  };
  walk(root, 0, 0n);
  return out;
}
