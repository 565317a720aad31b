// The one x86 page-table vocabulary (src/kernel/x86/pgtable-types.ts) and
// what is derived from it elsewhere, against the architectural values written
// out by hand (Intel SDM Vol. 3A §2.5, §4.5; Linux pgtable_types.h).
import { describe, expect, it } from "vitest";
import { BOOT_GEOMETRY } from "../../src/boot/geometry.js";
import { BOOT_MODE_CHOICES, bootModeFromName, bootModeName } from "../../src/cli/paging-mode.js";
import { PgtLevel } from "../../src/kernel/types.js";
import { x86ControlFor } from "../../src/kernel/x86/pgtable.js";
import * as V from "../../src/kernel/x86/pgtable-types.js";
import { PgType, pgTypeOf, tableLevelOf } from "../../src/paravirt/xen/frame-table.js";
import { PAGE_KERNEL, PAGE_KERNEL_RO } from "../../src/paravirt/xen/mmu-pv.js";

describe("the x86 vocabulary", () => {
  it("entry bits sit where the SDM puts them", () => {
    expect([V._PAGE_PRESENT, V._PAGE_RW, V._PAGE_USER, V._PAGE_PWT, V._PAGE_PCD, V._PAGE_ACCESSED, V._PAGE_DIRTY, V._PAGE_PSE, V._PAGE_GLOBAL])
      .toEqual([0x1n, 0x2n, 0x4n, 0x8n, 0x10n, 0x20n, 0x40n, 0x80n, 0x100n]);
    expect(V._PAGE_PAT).toBe(0x80n);
    expect(V._PAGE_PAT_LARGE).toBe(0x1000n);
    expect(V._PAGE_PROTNONE).toBe(0x100n);
    expect(V._PAGE_NX).toBe(0x8000_0000_0000_0000n);
    expect(V.PTE_PFN_MASK).toBe(0x000f_ffff_ffff_f000n);
  });

  it("protections have Linux's values", () => {
    expect(V._PAGE_TABLE).toBe(0x67n);
    expect(V._KERNPG_TABLE).toBe(0x63n);
    expect(V.__PAGE_KERNEL).toBe(0x8000_0000_0000_0163n);
    expect(V.__PAGE_KERNEL_RO).toBe(0x8000_0000_0000_0121n);
    expect(V.__PAGE_KERNEL_EXEC).toBe(0x163n);
    expect(V.__PAGE_KERNEL_LARGE).toBe(0x8000_0000_0000_01e3n);
    // A Xen PV guest's: no _PAGE_GLOBAL.
    expect(PAGE_KERNEL).toBe(0x8000_0000_0000_0063n);
    expect(PAGE_KERNEL_RO).toBe(0x8000_0000_0000_0021n);
  });

  it("control-register masks sit where the SDM puts them, and select the modes", () => {
    expect([V.X86_CR0_PE, V.X86_CR0_WP, V.X86_CR0_PG]).toEqual([0x1n, 0x1_0000n, 0x8000_0000n]);
    expect([V.X86_CR4_PSE, V.X86_CR4_PAE, V.X86_CR4_PGE, V.X86_CR4_LA57, V.X86_CR4_PCIDE]).toEqual([0x10n, 0x20n, 0x80n, 0x1000n, 0x2_0000n]);
    expect([V.EFER_LME, V.EFER_LMA, V.EFER_NX]).toEqual([0x100n, 0x400n, 0x800n]);
    expect(V.X86_CR3_PCID_NOFLUSH).toBe(1n << 63n);
    expect(x86ControlFor("4level")).toEqual({ cr0: 0x8001_0001n, cr4: 0xa0n, efer: 0xd00n });
    expect(x86ControlFor("5level", { pcid: true })).toEqual({ cr0: 0x8001_0001n, cr4: 0x2_10a0n, efer: 0xd00n });
    expect(x86ControlFor("pae")).toEqual({ cr0: 0x8001_0001n, cr4: 0xa0n, efer: 0x800n });
    expect(x86ControlFor("2level", { pge: false })).toEqual({ cr0: 0x8001_0001n, cr4: 0x10n, efer: 0n });
  });

  it("childLevel follows the tables of a mode, folded levels skipped", () => {
    expect(V.childLevel(V.GEOMETRY["4level"], PgtLevel.Pgd)).toBe(PgtLevel.Pud);
    expect(V.childLevel(V.GEOMETRY["5level"], PgtLevel.Pgd)).toBe(PgtLevel.P4d);
    expect(V.childLevel(V.GEOMETRY.pae, PgtLevel.Pgd)).toBe(PgtLevel.Pmd);
    expect(V.childLevel(V.GEOMETRY["2level"], PgtLevel.Pgd)).toBe(PgtLevel.Pte);
  });
});

describe("what is derived from it", () => {
  it("the boot planner's geometry: levels, shifts, entry sizes, PAGE_OFFSET and its pgd index for each mode", () => {
    const pick = (m: V.PagingMode): unknown => {
      const g = BOOT_GEOMETRY[m];
      return [g.levels, g.shift, g.entryBytes, g.entriesPerTable, g.pmdShift, g.topEntries, g.pageOffsetPgdIndex, g.pageOffset, g.is64];
    };
    const Pte = PgtLevel.Pte, Pmd = PgtLevel.Pmd, Pud = PgtLevel.Pud, P4d = PgtLevel.P4d, Pgd = PgtLevel.Pgd;
    expect(pick("4level")).toEqual([[Pgd, Pud, Pmd, Pte], { [Pte]: 12, [Pmd]: 21, [Pud]: 30, [Pgd]: 39 }, 8, 512, 21, 512, 273, 0xffff888000000000n, true]);
    expect(pick("5level")).toEqual([[Pgd, P4d, Pud, Pmd, Pte], { [Pte]: 12, [Pmd]: 21, [Pud]: 30, [P4d]: 39, [Pgd]: 48 }, 8, 512, 21, 512, 273, 0xff11000000000000n, true]);
    expect(pick("pae")).toEqual([[Pgd, Pmd, Pte], { [Pte]: 12, [Pmd]: 21, [Pgd]: 30 }, 8, 512, 21, 4, 3, 0xc0000000n, false]);
    expect(pick("2level")).toEqual([[Pgd, Pte], { [Pte]: 12, [Pgd]: 22 }, 4, 1024, 22, 1024, 768, 0xc0000000n, false]);
  });

  it("Xen's PGT_lN types are the tables of 4-level paging counted from the pte table", () => {
    expect([PgtLevel.Pte, PgtLevel.Pmd, PgtLevel.Pud, PgtLevel.Pgd].map(pgTypeOf)).toEqual([PgType.L1, PgType.L2, PgType.L3, PgType.L4]);
    expect([PgType.L1, PgType.L2, PgType.L3, PgType.L4].map(tableLevelOf)).toEqual([PgtLevel.Pte, PgtLevel.Pmd, PgtLevel.Pud, PgtLevel.Pgd]);
  });

  it("`boot --mode` spellings map to modes and back in one table", () => {
    expect(BOOT_MODE_CHOICES).toEqual(["x86-64", "la57", "pae", "2level"]);
    expect(BOOT_MODE_CHOICES.map(bootModeFromName)).toEqual(["4level", "5level", "pae", "2level"]);
    for (const m of V.PAGING_MODES) expect(bootModeFromName(bootModeName(m))).toBe(m);
    expect(bootModeFromName("4level")).toBeUndefined();
    expect(bootModeFromName("x86_64")).toBeUndefined();
  });
});
