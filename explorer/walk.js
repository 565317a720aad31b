// A page walk computed step by step from the tables in guest memory, written
// from the Intel SDM Vol. 3A ch. 4 (4.3 32-bit paging, 4.4 PAE, 4.5 4- and
// 5-level paging, 4.6 access rights, 4.7 page-fault error codes, 4.8 A/D)
// and docs/TLB-ABI.md / docs/SEMANTICS.md for the choices the engines make.
// It shares no code with the engines: the explorer shows it next to the
// engine's own translate() so that a disagreement is visible.
//
// Plain ES module with no imports, so that the page and the tests
// (test/explorer/walk.test.ts) load the same file.

const CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n, CR4_LA57 = 1n << 12n;
const CR4_SMEP = 1n << 20n, CR4_SMAP = 1n << 21n, CR4_PKE = 1n << 22n;
const EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;
const EFLAGS_AC = 1n << 18n;

export const READ = 0, WRITE = 1, FETCH = 2;
export const ACCESS_NAMES = ["read", "write", "fetch"];

/** Page-fault error-code bits (SDM §4.7). */
export const PF = { P: 1, W: 2, U: 4, RSVD: 8, ID: 16, PK: 32 };

/** Entry bits. */
export const BIT = { P: 1n, RW: 2n, US: 4n, PWT: 8n, PCD: 16n, A: 32n, D: 64n, PS: 128n, G: 256n, NX: 1n << 63n };

/** The paging mode the registers select, with each level's table geometry. */
export function pagingMode(regs) {
  if ((regs.cr0 & CR0_PG) === 0n) return { name: "off", levels: [] };
  if ((regs.cr4 & CR4_PAE) === 0n) {
    return {
      name: "2level", entryBytes: 4, vaBits: 32, nx: false, pkeys: false,
      rootMask: 0xffff_f000n,
      levels: [
        { name: "PDE", shift: 22, bits: 10, large: (regs.cr4 & CR4_PSE) !== 0n },
        { name: "PTE", shift: 12, bits: 10, large: false },
      ],
    };
  }
  const nx = (regs.efer & EFER_NXE) !== 0n;
  if ((regs.efer & EFER_LMA) === 0n) {
    return {
      name: "pae", entryBytes: 8, vaBits: 32, nx, pkeys: false,
      rootMask: 0xffff_ffe0n,
      levels: [
        // The four PDPTEs are loaded with CR3 and carry no access rights and no A bit (SDM §4.4.1).
        { name: "PDPTE", shift: 30, bits: 2, large: false, pdpte: true },
        { name: "PDE", shift: 21, bits: 9, large: true },
        { name: "PTE", shift: 12, bits: 9, large: false },
      ],
    };
  }
  const la57 = (regs.cr4 & CR4_LA57) !== 0n;
  const levels = [
    { name: "PML4E", shift: 39, bits: 9, large: false },
    { name: "PDPTE", shift: 30, bits: 9, large: true },
    { name: "PDE", shift: 21, bits: 9, large: true },
    { name: "PTE", shift: 12, bits: 9, large: false },
  ];
  if (la57) levels.unshift({ name: "PML5E", shift: 48, bits: 9, large: false });
  return {
    name: la57 ? "5level" : "4level", entryBytes: 8, vaBits: la57 ? 57 : 48, nx, pkeys: (regs.cr4 & CR4_PKE) !== 0n,
    rootMask: 0x000f_ffff_ffff_f000n,
    levels,
  };
}

/** Bits 51:12 of a 64-bit entry (MAXPHYADDR 52, the engines' default). */
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

/** The physical address a non-leaf entry points to. */
export function tableAddress(mode, e) {
  return mode.entryBytes === 4 ? e & 0xffff_f000n : e & ADDR_MASK;
}

/** The page base of a leaf at `shift` (large pages: PAT at bit 12 is not address). */
function pageBase(mode, e, shift) {
  if (mode.entryBytes === 4) {
    if (shift === 12) return e & 0xffff_f000n;
    // 4 MiB page with PSE-36: bits 39:32 of the address are in bits 20:13 (SDM §4.3).
    return (e & 0xffc0_0000n) | (((e >> 13n) & 0xffn) << 32n);
  }
  return e & ADDR_MASK & ~((1n << BigInt(shift)) - 1n);
}

/**
 * Reserved bits of an entry that the walk checks (SDM §4.3–4.5, MAXPHYADDR 52):
 * XD without EFER.NXE, PS where the level has no large pages, the low
 * address bits of a large page (PAT excluded), and PAE PDPTE bits 2:1, 8:5, 63.
 * Returns the names of the set reserved bits, [] if none.
 */
function reservedBits(mode, level, e) {
  const out = [];
  if (mode.entryBytes === 8 && !mode.nx && (e & BIT.NX) !== 0n) out.push("XD (EFER.NXE clear)");
  if (level.pdpte) {
    if ((e & 0x1e6n) !== 0n) out.push("PDPTE bits 2:1, 8:5");
    if ((e & BIT.NX) !== 0n) out.push("PDPTE bit 63");
    if (mode.entryBytes === 8 && (e & 0xfff0_0000_0000_0000n & ~BIT.NX) !== 0n) out.push("PDPTE bits 62:52");
    return out;
  }
  if (mode.name === "pae" && (e & 0x7ff0_0000_0000_0000n) !== 0n) out.push("bits 62:52");
  const ps = (e & BIT.PS) !== 0n;
  if (ps && level.shift > 30) out.push("PS at " + level.name);
  if (ps && level.large && level.shift > 12) {
    if (mode.entryBytes === 4) {
      if ((e & (1n << 21n)) !== 0n) out.push("bit 21 of a 4 MiB PDE");
    } else {
      const low = ((1n << BigInt(level.shift)) - 1n) & ~0x1fffn;   // bits shift-1..13
      if ((e & low) !== 0n) out.push(`bits ${level.shift - 1}:13 of a large page`);
    }
  }
  return out;
}

function hex(v) { return "0x" + BigInt(v).toString(16); }

/**
 * One access through the tables, with nothing changed in memory.
 *   read(pa, bytes) → BigInt         the entry at a guest-physical address (4 or 8 bytes)
 *   regs: { cr0, cr3, cr4, efer, eflags, cpl, pkru }   (BigInt, BigInt, …, Number, Number)
 *   ramBytes: guest RAM size: an entry at or beyond it is a bus fault.
 * Returns { mode, va, steps, fault, pa, shift }: `fault` null or
 * { kind: "pf"|"gp"|"bus", vector, errorCode, reason, pa? }; each step
 * { level, index, entryPa, entry, after, checks: [{ what, ok }], leaf, next }.
 * `after` is the entry as the access leaves it (A, and D on a write) — the
 * value the engine must have written.
 */
export function walk(read, regs, vaIn, access, ramBytes) {
  const mode = pagingMode(regs);
  const cpl = regs.cpl;
  const user = cpl === 3;
  const steps = [];
  let va = BigInt.asUintN(64, BigInt(vaIn));
  if (mode.name === "off") return { mode: mode.name, va, steps, fault: null, pa: Number(va & 0xffff_ffffn), shift: 12 };
  if (mode.vaBits === 32) va &= 0xffff_ffffn;
  else {
    // A non-canonical address is #GP(0) before any table is read (SDM §3.3.7.1).
    const top = va >> BigInt(mode.vaBits - 1);
    const ones = (1n << BigInt(65 - mode.vaBits)) - 1n;
    if (top !== 0n && top !== ones) {
      return { mode: mode.name, va, steps, fault: { kind: "gp", vector: 13, errorCode: 0, reason: `non-canonical address (bits 63:${mode.vaBits - 1} differ)` }, pa: 0, shift: 0 };
    }
  }
  const idBit = access === FETCH && (mode.nx || (regs.cr4 & CR4_SMEP) !== 0n) ? PF.ID : 0;
  const baseErr = (access === WRITE ? PF.W : 0) | (user ? PF.U : 0) | idBit;
  let table = regs.cr3 & mode.rootMask;
  let rw = true, us = true, xd = false;
  for (let i = 0; i < mode.levels.length; i++) {
    const level = mode.levels[i];
    const index = Number((va >> BigInt(level.shift)) & ((1n << BigInt(level.bits)) - 1n));
    const entryPa = Number(table) + index * mode.entryBytes;
    const step = { level: level.name, index, entryPa, entry: 0n, after: 0n, checks: [], leaf: false, next: null };
    steps.push(step);
    if (entryPa + mode.entryBytes > ramBytes) {
      step.checks.push({ what: `entry address ${hex(entryPa)} inside RAM`, ok: false });
      return { mode: mode.name, va, steps, fault: { kind: "bus", vector: 0, errorCode: 0, reason: `entry at ${hex(entryPa)} is beyond RAM`, pa: entryPa }, pa: 0, shift: 0 };
    }
    const e = read(entryPa, mode.entryBytes);
    step.entry = e; step.after = e;
    const present = (e & BIT.P) !== 0n;
    step.checks.push({ what: "P (present)", ok: present });
    if (!present) {
      return { mode: mode.name, va, steps, fault: { kind: "pf", vector: 14, errorCode: baseErr, reason: `${level.name} not present` }, pa: 0, shift: 0 };
    }
    const rsvd = reservedBits(mode, level, e);
    step.checks.push({ what: "reserved bits clear", ok: rsvd.length === 0 });
    if (rsvd.length) {
      return { mode: mode.name, va, steps, fault: { kind: "pf", vector: 14, errorCode: baseErr | PF.P | PF.RSVD, reason: `reserved bit set in ${level.name}: ${rsvd.join(", ")}` }, pa: 0, shift: 0 };
    }
    if (!level.pdpte) {
      rw &&= (e & BIT.RW) !== 0n;
      us &&= (e & BIT.US) !== 0n;
      if (mode.nx) xd ||= (e & BIT.NX) !== 0n;
    }
    const leaf = level.shift === 12 || (level.large && (e & BIT.PS) !== 0n);
    if (!leaf) {
      // A non-leaf entry gets A as the walk passes it, even if the access then
      // faults (docs/SEMANTICS.md, adOnFault "walk"); PAE PDPTEs have no A.
      if (!level.pdpte) step.after = e | BIT.A;
      table = tableAddress(mode, e);
      step.next = Number(table);
      continue;
    }
    step.leaf = true;
    // Access rights, folded over every level (SDM §4.6).
    const fail = [];
    if (user) {
      step.checks.push({ what: "U/S = 1 at every level (user access)", ok: us });
      if (!us) fail.push("supervisor page at CPL 3");
      if (access === WRITE) {
        step.checks.push({ what: "R/W = 1 at every level (user write)", ok: rw });
        if (!rw) fail.push("read-only page");
      }
    } else {
      if (access === WRITE && (regs.cr0 & CR0_WP) !== 0n) {
        step.checks.push({ what: "R/W = 1 at every level (CR0.WP)", ok: rw });
        if (!rw) fail.push("read-only page (CR0.WP)");
      }
      if (access === FETCH && us && (regs.cr4 & CR4_SMEP) !== 0n) {
        step.checks.push({ what: "not a user page (SMEP)", ok: false });
        fail.push("supervisor fetch from a user page (SMEP)");
      }
      if (access !== FETCH && us && (regs.cr4 & CR4_SMAP) !== 0n && (regs.eflags & EFLAGS_AC) === 0n) {
        step.checks.push({ what: "not a user page (SMAP, EFLAGS.AC clear)", ok: false });
        fail.push("supervisor data access to a user page (SMAP)");
      }
    }
    if (access === FETCH && mode.nx) {
      step.checks.push({ what: "XD = 0 at every level (fetch)", ok: !xd });
      if (xd) fail.push("execute-disable page");
    }
    let pkErr = 0;
    if (mode.pkeys && us && access !== FETCH) {
      const key = Number((e >> 59n) & 0xfn);
      const ad = (regs.pkru >>> (2 * key)) & 1, wd = (regs.pkru >>> (2 * key + 1)) & 1;
      const denied = ad === 1 || (access === WRITE && wd === 1 && (user || (regs.cr0 & CR0_WP) !== 0n));
      step.checks.push({ what: `PKRU allows key ${key}`, ok: !denied });
      if (denied) { fail.push(`protection key ${key}`); pkErr = PF.PK; }
    }
    if (fail.length) {
      return { mode: mode.name, va, steps, fault: { kind: "pf", vector: 14, errorCode: baseErr | PF.P | pkErr, reason: fail.join("; ") }, pa: 0, shift: 0 };
    }
    step.after = e | BIT.A | (access === WRITE ? BIT.D : 0n);
    const offset = va & ((1n << BigInt(level.shift)) - 1n);
    return { mode: mode.name, va, steps, fault: null, pa: Number(pageBase(mode, e, level.shift) | offset), shift: level.shift };
  }
  throw new Error("walk: no leaf level");
}

/** The decoded bits of an entry, for display. `level` from pagingMode().levels. */
export function decodeEntry(mode, level, e, leaf) {
  const f = [];
  const on = (b) => (e & b) !== 0n;
  f.push(on(BIT.P) ? "P" : "-");
  if (!on(BIT.P)) return { flags: f, text: "not present" };
  if (!level.pdpte) {
    f.push(on(BIT.RW) ? "RW" : "RO");
    f.push(on(BIT.US) ? "U" : "S");
    f.push(on(BIT.A) ? "A" : "-");
    if (leaf) f.push(on(BIT.D) ? "D" : "-");
    if (level.large && on(BIT.PS)) f.push("PS");
    if (leaf && on(BIT.G)) f.push("G");
  }
  if (mode.entryBytes === 8 && on(BIT.NX)) f.push("NX");
  if (leaf && mode.entryBytes === 8 && mode.vaBits > 32) {
    const key = Number((e >> 59n) & 0xfn);
    if (key) f.push("PKEY=" + key);
  }
  return { flags: f, text: f.join(" ") };
}
