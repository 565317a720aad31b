/**
 * The firmware memory map (E820), as the kernel parses and cleans it.
 *
 * Inputs come in the kernel's own boot-log syntax
 *   `BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable`
 * (also `user:` / `e820:` prefixes, as printed for `memmap=` maps), or as
 * JSON: `[[start, end_inclusive, type], …]` with hex strings or numbers and
 * either the log's type strings or the kernel's numeric types.
 *
 * Cleaning follows e820__update_table() (arch/x86/kernel/e820.c): entries are
 * sorted, zero-sized ones dropped, and where entries overlap the *larger*
 * type number wins (so "reserved" beats "usable"); adjacent entries of the
 * same type merge. Addresses are plain numbers (exact below 2^53).
 */

/** enum e820_type (arch/x86/include/asm/e820/types.h). */
export const enum E820Type {
  Ram = 1,
  Reserved = 2,
  Acpi = 3,
  Nvs = 4,
  Unusable = 5,
  Pmem = 7,
  Pram = 12,
  ReservedKern = 128,
  SoftReserved = 0xefffffff,
}

/** One entry: [start, end) — end is exclusive here (the log prints end − 1). */
export interface E820Entry {
  start: number;
  end: number;
  type: number;
}

/** The strings e820_print_type() prints, and the JSON synonyms we accept. */
const TYPE_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["usable", E820Type.Ram],
  ["reserved", E820Type.Reserved],
  ["ACPI data", E820Type.Acpi],
  ["ACPI NVS", E820Type.Nvs],
  ["unusable", E820Type.Unusable],
  ["persistent (type 7)", E820Type.Pmem],
  ["persistent (type 12)", E820Type.Pram],
  ["soft reserved", E820Type.SoftReserved],
  ["reserved-kern", E820Type.ReservedKern],
  ["ram", E820Type.Ram],
  ["acpi", E820Type.Acpi],
  ["nvs", E820Type.Nvs],
];

export function e820TypeName(type: number): string {
  for (const [name, t] of TYPE_NAMES) if (t === type) return name;
  return `type ${type}`;
}

function parseType(s: string | number, where: string): number {
  if (typeof s === "number") {
    if (!Number.isInteger(s) || s < 1) throw new E820Error(`${at(where)}bad e820 type ${s}`);
    return s;
  }
  const t = s.trim();
  const m = /^type (\d+)$/.exec(t);
  if (m) return Number(m[1]);
  for (const [name, v] of TYPE_NAMES) if (name.toLowerCase() === t.toLowerCase()) return v;
  throw new E820Error(`${at(where)}unknown e820 type "${s}"`);
}

/** "where: " in front of a message, if there is a where. */
const at = (where: string): string => (where ? `${where}: ` : "");

export class E820Error extends Error {
  constructor(msg: string) { super(msg); this.name = "E820Error"; }
}

/** Parse a number written as hex ("0x…") or decimal; must be a safe integer. */
export function parseAddr(v: string | number, where: string): number {
  const n = typeof v === "number" ? v : Number(v.trim());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new E820Error(`${at(where)}bad address ${JSON.stringify(v)}${n >= 2 ** 53 ? " (addresses here must be below 2^53)" : ""}`);
  return n;
}

/**
 * The prefixes e820__print_table() (arch/x86/kernel/e820.c) prints table
 * entries with. Any line carrying one of the first group is an entry: the
 * firmware map ("BIOS-e820", or the "BIOS-e801"/"BIOS-88" fallbacks) and its
 * reprint after setup_data was carved out. The second group also starts other
 * messages ("e820: update […]", "Xen: …"), so there only `who: [mem` counts.
 */
const ENTRY_ONLY_PREFIX = /(?:^|[\s\]>])(BIOS-e820|BIOS-e801|BIOS-88|reserve setup_data):\s*(.*)$/;
const MEM_PREFIX = /(?:^|[\s\]>])(user|modified|Xen|e820):\s*(\[mem\b.*)$/;
/** A bare entry, as written by hand: `[mem …] type`, after an optional dmesg timestamp. */
const BARE = /^\s*(?:\[\s*\d+\.\d+\]\s*)?(\[mem\b.*)$/;
const ENTRY = /^\[mem\s+(0x[0-9a-f]+)-(0x[0-9a-f]+)\]\s+(\S.*?)\s*$/i;
/** e820__setup_pci_gap() prints `e820: [mem …] available for PCI devices`: a gap, not an entry. */
const PCI_GAP = /\]\s+available for PCI devices\s*$/;

/**
 * Parse the boot-log form. Lines that are not e820 table entries are
 * ignored, so a whole dmesg can be passed (the kernel's `e820: update/remove`
 * edits and its PCI-gap line included); a line that is an entry by its
 * prefix, or starts with `[mem`, must parse — else the error names its line
 * number and text. If a `user:` map is present it wins, as it does in the
 * kernel ("user-defined physical RAM map").
 */
export function parseE820Log(text: string): E820Entry[] {
  const bios: E820Entry[] = [], user: E820Entry[] = [];
  const bad: { n: number; text: string; why: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const m = ENTRY_ONLY_PREFIX.exec(line) ?? MEM_PREFIX.exec(line);
    const rest = m ? m[2]! : BARE.exec(line)?.[1];
    if (rest === undefined || PCI_GAP.test(rest)) return;
    try {
      const e = ENTRY.exec(rest);
      if (!e) throw new E820Error("not an e820 entry of the form `[mem 0xSTART-0xEND] TYPE`");
      const start = parseAddr(e[1]!, ""), last = parseAddr(e[2]!, "");
      if (last < start) throw new E820Error(`end 0x${last.toString(16)} is below start 0x${start.toString(16)}`);
      const entry = { start, end: last + 1, type: parseType(e[3]!, "") };
      (m?.[1] === "user" ? user : bios).push(entry);
    } catch (err) {
      if (!(err instanceof E820Error)) throw err;
      bad.push({ n: i + 1, text: line.trim(), why: err.message });
    }
  });
  if (bad.length) {
    const [b] = bad;
    const none = bios.length + user.length === 0 ? `none of its ${bad.length} e820 line${bad.length > 1 ? "s" : ""} parses; ` : "";
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more: line${bad.length > 2 ? "s" : ""} ${bad.slice(1, 6).map((x) => x.n).join(", ")}${bad.length > 6 ? ", …" : ""})` : "";
    throw new E820Error(`${none}line ${b!.n}: ${b!.why}: ${JSON.stringify(b!.text)}${more}`);
  }
  const raw = user.length ? user : bios;
  if (!raw.length) throw new E820Error("no `[mem 0x…-0x…] type` lines found in the e820 input");
  return raw;
}

/** Parse the JSON form: `[[start, endInclusive, type], …]` or `[{start, end, type}]` (end inclusive). */
export function parseE820Json(json: unknown): E820Entry[] {
  if (!Array.isArray(json)) throw new E820Error("e820 JSON must be an array of [start, end, type] entries");
  return json.map((e: unknown, i) => {
    const where = `entry ${i}`;
    let s: unknown, l: unknown, t: unknown;
    if (Array.isArray(e)) [s, l, t] = e;
    else if (e && typeof e === "object") ({ start: s, end: l, type: t } = e as Record<string, unknown>);
    else throw new E820Error(`${where}: expected [start, end, type]`);
    if ((typeof s !== "string" && typeof s !== "number") || (typeof l !== "string" && typeof l !== "number") ||
      (typeof t !== "string" && typeof t !== "number"))
      throw new E820Error(`${where}: expected [start, end, type]`);
    const start = parseAddr(s, where), last = parseAddr(l, where);
    if (last < start) throw new E820Error(`${where}: end below start`);
    return { start, end: last + 1, type: parseType(t, where) };
  });
}

/** Either form: JSON if it parses as JSON, else the boot-log form. */
export function parseE820(text: string): E820Entry[] {
  const t = text.trim();
  if (t.startsWith("[") || t.startsWith("{")) {
    let json: unknown;
    try { json = JSON.parse(t); } catch { return parseE820Log(text); }
    const arr = Array.isArray(json) ? json : (json as { e820?: unknown }).e820;
    return parseE820Json(arr);
  }
  return parseE820Log(text);
}

/**
 * e820__update_table(): sort and resolve overlaps by change points; the
 * largest type covering a byte wins; same-type neighbours merge.
 */
export function sanitizeE820(entries: readonly E820Entry[]): E820Entry[] {
  const points: { addr: number; type: number; isStart: boolean }[] = [];
  for (const e of entries) {
    if (e.end <= e.start) continue;
    points.push({ addr: e.start, type: e.type, isStart: true }, { addr: e.end, type: e.type, isStart: false });
  }
  // Ends before starts at the same address, so touching entries don't overlap.
  points.sort((a, b) => a.addr - b.addr || Number(a.isStart) - Number(b.isStart));
  const active = new Map<number, number>();
  const out: E820Entry[] = [];
  let curType = 0, curStart = 0;
  for (let i = 0; i < points.length;) {
    const addr = points[i]!.addr;
    for (; i < points.length && points[i]!.addr === addr; i++) {
      const p = points[i]!;
      const n = (active.get(p.type) ?? 0) + (p.isStart ? 1 : -1);
      if (n) active.set(p.type, n); else active.delete(p.type);
    }
    let type = 0;
    for (const t of active.keys()) if (t > type) type = t;
    if (type !== curType) {
      if (curType) push(out, { start: curStart, end: addr, type: curType });
      curType = type; curStart = addr;
    }
  }
  return out;
}

function push(out: E820Entry[], e: E820Entry): void {
  const last = out[out.length - 1];
  if (last && last.end === e.start && last.type === e.type) last.end = e.end;
  else out.push(e);
}

/**
 * e820__range_update(start, size, oldType, newType): retype the part of
 * [start, end) that currently has `oldType`.
 */
export function e820RangeUpdate(table: readonly E820Entry[], start: number, end: number, oldType: number, newType: number): E820Entry[] {
  const out: E820Entry[] = [];
  for (const e of table) {
    if (e.type !== oldType || e.end <= start || e.start >= end) { out.push({ ...e }); continue; }
    if (e.start < start) out.push({ start: e.start, end: start, type: e.type });
    out.push({ start: Math.max(e.start, start), end: Math.min(e.end, end), type: newType });
    if (e.end > end) out.push({ start: end, end: e.end, type: e.type });
  }
  return sanitizeE820(out);
}

/** e820__range_remove(start, size, oldType, true): drop the `oldType` part of [start, end). */
export function e820RangeRemove(table: readonly E820Entry[], start: number, end: number, oldType: number): E820Entry[] {
  const out: E820Entry[] = [];
  for (const e of table) {
    if (e.type !== oldType || e.end <= start || e.start >= end) { out.push({ ...e }); continue; }
    if (e.start < start) out.push({ start: e.start, end: start, type: e.type });
    if (e.end > end) out.push({ start: end, end: e.end, type: e.type });
  }
  return sanitizeE820(out);
}

/**
 * The edits setup_arch() makes before memblock is set up, as logged in every
 * recorded boot: e820__range_update(0, PAGE_SIZE, RAM, RESERVED) (page 0 is
 * BIOS data) and trim_bios_range()'s e820__range_remove(BIOS_BEGIN, BIOS_END).
 */
export function e820SetupArchEdits(table: readonly E820Entry[]): E820Entry[] {
  let t = e820RangeUpdate(table, 0, 0x1000, E820Type.Ram, E820Type.Reserved);
  t = e820RangeRemove(t, 0xa0000, 0x100000, E820Type.Ram);
  return t;
}

/** e820__mapped_any(start, end, type): does any entry of `type` intersect [start, end)? */
export function e820MappedAny(table: readonly E820Entry[], start: number, end: number, type: number): boolean {
  for (const e of table) if (e.type === type && e.start < end && e.end > start) return true;
  return false;
}

/** Render in the kernel's log syntax (e820__print_table). */
export function formatE820(table: readonly E820Entry[], prefix = "BIOS-e820"): string {
  return table.map((e) =>
    `${prefix}: [mem 0x${e.start.toString(16).padStart(16, "0")}-0x${(e.end - 1).toString(16).padStart(16, "0")}] ${e820TypeName(e.type)}`,
  ).join("\n");
}

/** Highest RAM pfn + 1 (e820__end_of_ram_pfn without the arch limit). */
export function e820EndOfRamPfn(table: readonly E820Entry[]): number {
  let last = 0;
  for (const e of table) if (e.type === E820Type.Ram) last = Math.max(last, Math.floor(e.end / 4096));
  return last;
}
