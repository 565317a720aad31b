// The explorer page: the real library (../index.js, the same bundle Node
// uses) on either engine. Plain DOM, no framework.
import * as lib from "../index.js";
import { accessStream, buildSpace, PHYS_SIZE, randomAccesses } from "./space.js";
import { RUN_ACCESSES, s390Host, s390Tables, x86Run, xenGuest } from "./scenarios.js";
import { bootPlans, E820_NAMES, STRATEGIES, stepText } from "./boot.js";
import { ACCESS_NAMES, BIT, decodeEntry, pagingMode, tableAddress, walk } from "./walk.js";

const $ = (id) => document.getElementById(id);
const hex = (v) => "0x" + BigInt(v).toString(16);
const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v; else if (k === "text") n.textContent = v; else n.setAttribute(k, v);
  }
  for (const k of kids) n.append(k);
  return n;
};

/** The current address space: { cpu, kernel, mm, mode, regions }. */
let space = null;
/** Set index (structure 0) of the last translated address, to mark it in the grid. */
let lastSet = -1;
let randomSeed = 1;

function readEntry(pa, bytes) {
  return bytes === 4 ? BigInt(space.cpu.phys.read32(pa)) : space.cpu.phys.read64(pa);
}

// ── 1. Building the address space ──────────────────────────────────────────
async function build(ev) {
  ev?.preventDefault();
  const engine = $("engine").value, mode = $("mode").value;
  $("status").textContent = `Building a ${mode} address space on the ${engine} engine…`;
  try {
    space = await buildSpace(lib, engine, mode, { psc: $("psc").checked });
  } catch (err) {
    space = null;
    $("status").textContent = `Could not build: ${err.message}`;
    return;
  }
  show(`${mode} on the ${engine} engine`, `${engine}/${mode}`);
}

/** Render the current x86 address space in every section. */
function show(what, tag) {
  const x = space.cpu.x86();
  $("s390").hidden = true;
  $("status").textContent = `${what}: CR3 ${hex(x.cr3)}, CR4 ${hex(x.cr4)}, EFER ${hex(x.efer)}, CPL ${x.cpl}.`;
  $("status").dataset.built = tag;
  const body = $("regions").querySelector("tbody");
  body.replaceChildren(...space.regions.map((r) => el("tr", {},
    el("td", { text: hex(r.start) }), el("td", { text: sizeText(r.bytes) }), el("td", { text: r.what }))));
  $("regions").hidden = false;
  for (const id of ["walk", "random", "flush", "animate"]) $(id).disabled = false;
  $("anim-result").textContent = "";
  delete $("anim-result").dataset.done;
  $("steps").hidden = true;
  for (const id of ["page-result", "engine-result", "agree"]) { $(id).textContent = "–"; delete $(id).dataset.agree; }
  lastSet = -1;
  $("random-result").textContent = "";
  delete $("random-result").dataset.runs;
  renderTree();
  renderStats(space.cpu.stats(), space.cpu.stats());
  renderTlb();
}

// ── Bundled scenarios (explorer/scenarios.js) ─────────────────────────────
async function loadScenario(ev) {
  ev?.preventDefault();
  const engine = $("engine").value, which = $("scenario").value;
  $("status").textContent = `Loading the ${which} scenario on the ${engine} engine…`;
  delete $("status").dataset.built;
  try {
    if (which === "s390") { showS390(await s390Host(lib, engine), engine); return; }
    space = which === "xen" ? await xenGuest(lib, engine) : await x86Run(lib, engine);
  } catch (err) {
    space = null;
    $("status").textContent = `Could not load the ${which} scenario: ${err.message}`;
    return;
  }
  $("mode").value = "4level";
  if (which === "xen") {
    show(`Xen PV guest on the ${engine} engine (tables marked with what the hypervisor's frame table says)`, `${engine}/xen`);
    // Open every table: the point is to see each one's Xen type.
    for (let open = true; open;) {
      open = false;
      for (const d of $("tree").querySelectorAll("details:not([open])")) { d.fill(); d.open = true; open = true; }
    }
  } else {
    show(`4-level process on the ${engine} engine after ${RUN_ACCESSES} accesses of a synthetic workload ` +
      `(${space.run.demand} demand faults handled, ${space.run.faults} faults left)`, `${engine}/x86-run`);
  }
}

function showS390(h, engine) {
  space = null;
  for (const id of ["walk", "random", "flush", "animate"]) $(id).disabled = true;
  $("regions").hidden = true;
  $("tree").replaceChildren(el("p", { class: "hint", text: "The s390 scenario's tables are in their own section below." }));
  const stats = h.engine.stats();
  $("status").textContent = `s390 KVM host on the ${engine} engine: process ASCE ${hex(h.mm.asce)}, gmap ASCE ${hex(h.gmap.asce)} ` +
    `(guest 0–4 MiB at host ${hex(0x1_0000_0000n)}), ${h.gmap.hostToGuest.size} gmap segment links.`;
  $("status").dataset.built = `${engine}/s390`;
  $("s390-summary").textContent = `${stats.walks} walks, ${stats.l1.accesses} TLB accesses so far.`;
  $("s390-host").replaceChildren(el("h3", { text: `Host process (ASCE ${hex(h.mm.asce)})` }), s390Tree(s390Tables(lib, h.engine.phys, h.mm.asce), "host"));
  $("s390-gmap").replaceChildren(el("h3", { text: `Guest (gmap ASCE ${hex(h.gmap.asce)})` }), s390Tree(s390Tables(lib, h.engine.phys, h.gmap.asce), "gmap"));
  $("s390").hidden = false;
}

function s390Tree(t, side) {
  const box = el("details", { open: "", "data-side": side, "data-kind": t.kind, "data-pa": hex(t.pa) },
    el("summary", { text: `${t.kind} table at ${hex(t.pa)}` }));
  for (const e of t.entries) {
    const data = { "data-side": side, "data-index": String(e.index), "data-pa": hex(e.pa), "data-entry": hex(e.value),
      "data-invalid": e.invalid ? "1" : "0", "data-protect": e.protect ? "1" : "0" };
    const label = `[${e.index}] ${hex(e.value)} `;
    if (e.pgste !== undefined) {
      box.append(el("div", { class: "pte", ...data, "data-pgste": hex(e.pgste) }, label, el("span", { class: "flags", text: e.flags }),
        " PGSTE ", el("span", { class: "pgste", text: `${hex(e.pgste)} ${e.pgsteText}` })));
    } else if (e.child) {
      const sub = s390Tree(e.child, side);
      sub.firstChild.prepend(label, el("span", { class: "flags", text: e.flags }), " → ");
      for (const [k, v] of Object.entries(data)) if (k !== "data-pa") sub.setAttribute(k, v);
      sub.dataset.entryPa = hex(e.pa);
      box.append(sub);
    } else {
      box.append(el("div", { class: "pte", ...data }, label, el("span", { class: "flags", text: e.flags })));
    }
  }
  return box;
}

function sizeText(b) {
  const n = (v) => String(+v.toFixed(2));   // at most two decimals: 1.99 GiB, not 1.9989013671875
  return b >= 1 << 30 ? `${n(b / 2 ** 30)} GiB` : b >= 1 << 20 ? `${n(b / 2 ** 20)} MiB` : `${n(b / 1024)} KiB`;
}

// ── 2. The page-table tree ─────────────────────────────────────────────────
/** Sign-extend a linear address of `bits` bits (canonical form). */
function canonical(va, bits) {
  return bits === 32 ? va : BigInt.asUintN(64, BigInt.asIntN(bits, va));
}

function renderTree() {
  const mode = pagingMode(space.cpu.x86());
  const root = space.cpu.x86().cr3 & mode.rootMask;
  const top = el("details", { open: "" }, el("summary", { text: `${mode.levels[0].name} table at ${hex(root)} (CR3)` }));
  annotate(top, Number(root));
  fillTable(top, mode, 0, Number(root), 0n);
  $("tree").replaceChildren(top);
}

/**
 * A process's top-level entry that points to the very table init_mm's entry in
 * the same slot points to: the kernel half, whose lower tables every pgd
 * shares (pgd_alloc copies the kernel entries; they are kept in sync, not
 * duplicated).
 */
function markShared(box, mode, depth, index, child) {
  const initPgd = space.kernel?.initMm?.pgd;
  if (depth !== 0 || initPgd === undefined) return;
  const root = Number(space.cpu.x86().cr3 & mode.rootMask);
  if (root === initPgd) return;
  const e = readEntry(initPgd + index * mode.entryBytes, mode.entryBytes);
  if ((e & BIT.P) === 0n || Number(tableAddress(mode, e)) !== child) return;
  box.firstChild.append(el("span", { class: "shared-note", text: " — shared with init_mm (the kernel's tables)" }));
  box.dataset.shared = "1";
  box.classList.add("shared");
}

/** What the scenario knows about a table frame (a Xen guest: its type, pinned, read-only), on its summary. */
function annotate(box, tablePa) {
  const a = space.annotate?.(tablePa);
  if (!a) return;
  box.firstChild.append(el("span", { class: "xen", text: a.text }));
  Object.assign(box.dataset, a.data);
  if (a.data.pinned === "1") box.classList.add("pinned");
}

/** List one table's non-zero entries under `box`; child tables are read when opened. */
function fillTable(box, mode, depth, tablePa, vaBase) {
  const level = mode.levels[depth];
  const n = 1 << level.bits;
  let shown = 0;
  for (let i = 0; i < n; i++) {
    const e = readEntry(tablePa + i * mode.entryBytes, mode.entryBytes);
    if (e === 0n) continue;
    shown++;
    const va = canonical(vaBase | (BigInt(i) << BigInt(level.shift)), mode.vaBits);
    const present = (e & BIT.P) !== 0n;
    const leaf = present && (level.shift === 12 || (level.large && (e & BIT.PS) !== 0n));
    const d = decodeEntry(mode, level, e, leaf);
    const label = `${level.name}[${i}] ${hex(va)}: ${hex(e)} `;
    if (present && !leaf) {
      const child = Number(tableAddress(mode, e));
      const sub = el("details", { "data-level": level.name, "data-index": String(i) },
        el("summary", {}, label, el("span", { class: "flags", text: d.text }), ` → ${mode.levels[depth + 1].name} table at ${hex(child)}`));
      annotate(sub, child);
      markShared(sub, mode, depth, i, child);
      sub.fill = () => {
        if (!sub.dataset.filled) { sub.dataset.filled = "1"; fillTable(sub, mode, depth + 1, child, va & ((1n << BigInt(mode.vaBits)) - 1n)); }
      };
      sub.addEventListener("toggle", () => { if (sub.open) sub.fill(); });
      box.append(sub);
    } else {
      const large = leaf && level.shift > 12;
      const what = !present ? " (not present)" : ` → page ${hex(pageOf(mode, e, level.shift))}${large ? ` — large page, ${sizeText(2 ** level.shift)}` : ""}`;
      box.append(el("div", { class: large ? "entry large" : "entry", "data-level": level.name, "data-index": String(i) },
        label, el("span", { class: "flags", text: d.text }), what));
    }
  }
  if (shown === 0) box.append(el("div", { class: "entry", text: "(every entry is zero)" }));
}

function pageOf(mode, e, shift) {
  // The walk's own arithmetic: translate offset 0 of the page through this leaf.
  if (mode.entryBytes === 4 && shift === 22) return (e & 0xffc0_0000n) | (((e >> 13n) & 0xffn) << 32n);
  return (mode.entryBytes === 4 ? e & 0xffff_f000n : e & 0x000f_ffff_ffff_f000n) & ~((1n << BigInt(shift)) - 1n);
}

// ── 3. One walk ────────────────────────────────────────────────────────────
function parseVa(text) {
  const t = text.trim().replaceAll("_", "");
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new Error(`virtual address must be a number (0x… for hex), got "${text}"`);
  const v = BigInt(t);
  if (v >= 1n << 64n) throw new Error(`virtual address must be below 2^64, got ${text}`);
  return v;
}

function resultText(r) {
  if (!r.fault) return `PA ${hex(r.pa)} (page ${sizeText(2 ** r.shift)})`;
  if (r.fault.kind === "bus") return `bus fault at ${hex(r.fault.pa)}`;
  const name = r.fault.vector === 14 ? "#PF" : "#GP";
  return `${name} error code ${hex(r.fault.errorCode)}${r.fault.vector === 14 ? ` (${pfBits(r.fault.errorCode)})` : ""}: ${r.fault.reason}`;
}

function pfBits(ec) {
  const names = [[1, "P"], [2, "W"], [4, "U"], [8, "RSVD"], [16, "I/D"], [32, "PK"]];
  const on = names.filter(([b]) => ec & b).map(([, n]) => n);
  return on.length ? on.join("|") : "not present, read, supervisor";
}

function doWalk(ev) {
  ev.preventDefault();
  $("walk-error").textContent = "";
  let va;
  try { va = parseVa($("va").value); } catch (err) { $("walk-error").textContent = err.message; return; }
  const access = Number($("access").value), cpl = Number($("cpl").value);
  const cpu = space.cpu;
  cpu.setCpl(cpl);
  const before = cpu.stats();
  const mine = walk(readEntry, cpu.x86(), va, access, PHYS_SIZE);
  const t = cpu.translate(va, access);
  const after = cpu.stats();
  const mode = pagingMode(cpu.x86());

  const body = $("steps").querySelector("tbody");
  body.replaceChildren();
  let adOk = true;
  for (const [i, s] of mine.steps.entries()) {
    const level = mode.levels[i];
    const now = readEntry(s.entryPa, mode.entryBytes);
    const same = now === s.after;
    adOk &&= same;
    const changed = s.after !== s.entry ? ` (+${adNames(s.after & ~s.entry)})` : "";
    body.append(el("tr", { "data-level": s.level, "data-index": String(s.index) },
      el("td", { text: s.level }),
      el("td", { text: String(s.index) }),
      el("td", { text: hex(s.entryPa) }),
      el("td", { text: hex(s.entry) }),
      el("td", { class: "flags", text: decodeEntry(mode, level, s.entry, s.leaf).text + (s.leaf ? " (leaf)" : "") }),
      el("td", {}, ...s.checks.map((c) => el("div", { class: c.ok ? "ok" : "bad", text: `${c.ok ? "✓" : "✗"} ${c.what}` }))),
      el("td", { class: same ? "" : "bad", text: hex(now) + changed + (same ? "" : ` — expected ${hex(s.after)}`) })));
  }
  $("steps").hidden = mine.steps.length === 0;

  const pr = $("page-result");
  pr.textContent = `${ACCESS_NAMES[access]} of ${hex(mine.va)} at CPL ${cpl}: ${resultText(mine)}`;
  setResultData(pr, mine.fault ? { fault: mine.fault.kind, vector: mine.fault.vector, errorCode: mine.fault.errorCode, pa: mine.fault.pa ?? 0 } : { fault: "none", pa: mine.pa, vector: 0, errorCode: 0 });
  pr.dataset.steps = String(mine.steps.length);

  const er = $("engine-result");
  const kind = t.fault === lib.FaultKind.None ? "none" : t.fault === lib.FaultKind.Bus ? "bus" : t.vector === 14 ? "pf" : "gp";
  const tlbHit = after.l1.hits > before.l1.hits;
  er.textContent = (kind === "none" ? `PA ${hex(t.pa)} (page ${sizeText(2 ** t.shift)})` :
    kind === "bus" ? `bus fault at ${hex(t.pa)}` : `${kind === "pf" ? "#PF" : "#GP"} error code ${hex(t.errorCode)}`) +
    (tlbHit ? " — a TLB hit: no walk this time" : after.walks > before.walks ? " — walked the tables" : "");
  setResultData(er, { fault: kind, pa: kind === "none" || kind === "bus" ? t.pa : 0, vector: kind === "none" ? 0 : t.vector, errorCode: kind === "none" ? 0 : t.errorCode });
  er.dataset.tlbHit = String(tlbHit);

  const same = pr.dataset.fault === er.dataset.fault && pr.dataset.pa === er.dataset.pa &&
    pr.dataset.vector === er.dataset.vector && pr.dataset.errorCode === er.dataset.errorCode;
  const agree = same && adOk;
  const ag = $("agree");
  ag.dataset.agree = agree ? "yes" : "no";
  ag.className = agree ? "ok" : "bad";
  ag.textContent = agree ? "✓ same result, and the A/D bits in memory are the ones predicted" :
    `✗ ${same ? "the A/D bits in memory differ from the prediction" : "the results differ"}`;

  lastSet = tlbSetOf(va);
  if (lastSet >= 0) $("first-set").value = String(lastSet - (lastSet % 64));
  renderStats(before, after);
  renderTlb();
  refreshTreeSoon();
}

function adNames(bits) {
  const n = [];
  if (bits & BIT.A) n.push("A");
  if (bits & BIT.D) n.push("D");
  return n.join(" ");
}

function setResultData(node, r) {
  node.dataset.fault = r.fault;
  node.dataset.pa = hex(r.pa);
  node.dataset.vector = String(r.vector);
  node.dataset.errorCode = String(r.errorCode);
}

/** A walk changes A/D bits: re-read the open tables (the tree shows memory as it is). */
function refreshTreeSoon() {
  const open = [...$("tree").querySelectorAll("details[open]")].map(pathOf);
  renderTree();
  // Parents come first in document order; fill each table now (the toggle
  // event comes later) so that its open children can be found.
  for (const p of open) {
    const d = [...$("tree").querySelectorAll("details")].find((x) => pathOf(x) === p);
    if (d) { d.fill?.(); d.open = true; }
  }
}
function pathOf(d) {
  const parts = [];
  for (let n = d; n && n.id !== "tree"; n = n.parentElement) if (n.tagName === "DETAILS") parts.push(`${n.dataset.level ?? "root"}:${n.dataset.index ?? ""}`);
  return parts.reverse().join("/");
}

// ── 4. Statistics and the TLB ──────────────────────────────────────────────
const COUNTERS = [
  ["L1 accesses", (s) => s.l1.accesses], ["L1 hits", (s) => s.l1.hits], ["L1 misses", (s) => s.l1.misses],
  ["walks", (s) => s.walks], ["A bits written", (s) => s.aWrites], ["D bits written", (s) => s.dWrites],
  ["#PF", (s) => s.faults.pageFault], ["#GP", (s) => s.faults.generalProtection],
  ["full flushes", (s) => s.flushes.full], ["INVLPG", (s) => s.flushes.invlpg],
];

function renderStats(before, after) {
  const body = $("stats").querySelector("tbody");
  body.replaceChildren(...COUNTERS.map(([name, f]) => el("tr", { "data-counter": name },
    el("td", { text: name }), el("td", { class: "before", text: String(f(before)) }),
    el("td", { class: "after" + (f(after) !== f(before) ? " ok" : ""), text: String(f(after)) }))));
  $("stats").hidden = false;
  renderPlots(after);
}

// Plots of the statistics: inline SVG bar charts, one bar per counter (data-key, data-value).
function barChart(title, groups) {
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const bw = 14, gap = 8, h = 120, top = 14;
  // Each group as wide as its bars or its label (about 6 units a character), whichever is wider.
  const gw = (g) => Math.max(g.bars.length * bw, g.label.length * 6.2);
  const w = groups.reduce((x, g) => x + gw(g) + gap, gap);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h + 30}`, width: w, height: h + 30, role: "img", "aria-label": title });
  let x = gap;
  for (const g of groups) {
    const x0 = x;
    x += (gw(g) - g.bars.length * bw) / 2;
    for (const b of g.bars) {
      const bh = (b.value / max) * h;
      svg.append(svgEl("rect", { x, y: top + h - bh, width: bw - 2, height: Math.max(bh, 0.5), fill: b.colour, class: "bar",
        "data-key": b.key, "data-value": b.value }, `${g.label} ${b.name}: ${b.value}`));
      x += bw;
    }
    svg.append(svgEl("text", { x: x0 + gw(g) / 2, y: top + h + 12, "text-anchor": "middle" }));
    svg.lastChild.textContent = g.label;
    x = x0 + gw(g) + gap;
  }
  svg.append(svgEl("text", { x: 2, y: 10 }));
  svg.lastChild.textContent = `max ${max}`;
  return el("figure", { "data-chart": title }, el("figcaption", { text: title }), svg);
}

const HIT = "#43a047", MISS = "#e53935";
function renderPlots(s) {
  const hm = (key, label, k) => ({ label, bars: [
    { key: `${key}-hits`, name: "hits", value: k.hits, colour: HIT }, { key: `${key}-misses`, name: "misses", value: k.misses, colour: MISS }] });
  const kinds = ["read", "write", "fetch"];
  $("plots").replaceChildren(
    barChart("TLB hits (green) and misses (red) per level and access kind",
      ["l1", "l2"].flatMap((l) => kinds.map((k) => hm(`${l}-${k}`, `${l.toUpperCase()} ${k}`, s[l][k])))),
    barChart("Walks by paging-structure entries read from memory (7: 7 or more)",
      s.walkRefs.map((v, i) => ({ label: String(i), bars: [{ key: `walk-${i}`, name: "walks", value: v, colour: "#1565c0" }] }))),
    barChart("Paging-structure caches: hits and misses per level",
      [["pml5", "PML5E"], ["pml4", "PML4E"], ["pdpt", "PDPTE"], ["pd", "PDE"]].map(([k, n]) => hm(`psc-${k}`, n, s.psc[k]))));
}

function tlbView() {
  const E = lib.EMBED;
  const base = space.cpu.layout.tlbBase;
  const dv = new DataView(space.cpu.buffer);
  const u32 = (off) => dv.getUint32(base + off, true);
  const u64 = (off) => dv.getBigUint64(base + off, true);
  const count = u32(E.tlbHdr.COUNT), flags = u32(E.tlbHdr.FLAGS);
  const structs = [];
  for (let i = 0; i < count; i++) {
    const sd = E.tlbHdr.STRUCTS + i * E.tlbHdr.STRUCT_SIZE;
    structs.push({
      entries: u32(sd + E.tlbStruct.ENTRIES), setsLog2: u32(sd + E.tlbStruct.SETS_LOG2), ways: u32(sd + E.tlbStruct.WAYS),
      sizes: u32(sd + E.tlbStruct.SIZES), level: u32(sd + E.tlbStruct.LEVEL),
    });
  }
  const psc = [];
  for (let i = 0; i < u32(E.tlbHdr.PSC_COUNT); i++) {
    const sd = E.tlbHdr.PSC + i * E.tlbHdr.STRUCT_SIZE;
    psc.push({ entries: u32(sd + E.tlbStruct.ENTRIES), setsLog2: u32(sd + E.tlbStruct.SETS_LOG2), ways: u32(sd + E.tlbStruct.WAYS),
      level: u32(sd + E.tlbStruct.LEVEL) });
  }
  const entry = (s, idx) => {
    const off = s.entries + idx * E.tlbEnt.SIZE;
    return { key: u64(off + E.tlbEnt.KEY), data: u64(off + E.tlbEnt.DATA), ptePa: u64(off + E.tlbEnt.PTE_PA), leaf: u32(off + E.tlbEnt.LEAF) };
  };
  return { fast: (flags & E.tlbFlag.FAST) !== 0, structs, psc, entry };
}

/** Structure 0's set for `va` under the current PCID (docs/TLB-ABI.md, the inline hit test). */
function tlbSetOf(va) {
  const v = tlbView();
  if (!v.fast || v.structs.length === 0) return -1;
  const x = space.cpu.x86();
  const pcid = (x.cr4 & (1n << 17n)) !== 0n ? Number(x.cr3 & 0xfffn) : 0;
  const lin = pagingMode(x).vaBits === 32 ? va & 0xffff_ffffn : va;
  const h = Math.imul(pcid, lib.EMBED.tlbEnt.PCID_HASH) >>> 0;
  return Number(((lin >> 12n) ^ BigInt(h)) & ((1n << BigInt(v.structs[0].setsLog2)) - 1n));
}

function permText(data) {
  const D = lib.EMBED.tlbDeny;
  const bit = (b) => (data & BigInt(b)) === 0n;
  return `U:${bit(D.R_USER) ? "r" : "-"}${bit(D.W_USER) ? "w" : "-"}${bit(D.X_USER) ? "x" : "-"} ` +
    `S:r${bit(D.W_SUP) ? "w" : "-"}${bit(D.X_SUP) ? "x" : "-"}`;
}

const GRID_SETS = 64;

function renderTlb() {
  const v = tlbView();
  const E = lib.EMBED;
  const valid = (e) => (e.data & BigInt(E.tlbDeny.INVALID)) === 0n;
  const counts = v.structs.map((s) => {
    let n = 0;
    for (let i = 0; i < (1 << s.setsLog2) * s.ways; i++) if (valid(v.entry(s, i))) n++;
    return { n, of: (1 << s.setsLog2) * s.ways, size: s.sizes === 1 ? "4 KiB" : s.sizes === 2 ? "large" : s.sizes === 4 ? "1 GiB" : "mixed" };
  });
  renderValidList(v, valid);
  renderPsc(v, valid);
  const summary = $("tlb-summary");
  summary.textContent = `${v.fast ? "Fast organisation" : "Research organisation"}: ` +
    counts.map((c, i) => `structure ${i} (${c.size}) ${c.n} valid of ${c.of}`).join(", ") + ".";
  summary.dataset.valid = String(counts.reduce((a, c) => a + c.n, 0));
  const grid = $("tlb-grid");
  if (!v.fast || v.structs.length === 0) { grid.replaceChildren(); return; }
  const s0 = v.structs[0];
  const sets = 1 << s0.setsLog2;
  let first = Math.max(0, Math.min(sets - GRID_SETS, Number($("first-set").value) || 0));
  $("first-set").max = String(sets - GRID_SETS);
  const cells = [];
  for (let set = first; set < first + GRID_SETS; set++) {
    const e = v.entry(s0, set);
    const cls = ["set"];
    const kids = [el("div", { class: "n", text: `set ${set}` })];
    if (valid(e)) {
      cls.push("valid");
      const page = e.key & ~0xfffn, pcid = Number(e.key & 0xfffn);
      const pa = page ^ (e.data & ~0xfffn);
      kids.push(el("div", { text: `VA ${hex(page)}` }), el("div", { text: `PA ${hex(pa)} PCID ${pcid}` }),
        el("div", { text: permText(e.data) + ((e.leaf & E.tlbEnt.GLOBAL) ? " G" : "") }));
    } else kids.push(el("div", { text: "empty" }));
    if (set === lastSet) cls.push("last");
    cells.push(el("div", { class: cls.join(" "), "data-set": String(set) }, ...kids));
  }
  grid.replaceChildren(...cells);
  grid.setAttribute("aria-label", `TLB structure 0 (4 KiB, direct-mapped), sets ${first}–${first + GRID_SETS - 1} of ${sets}`);
}

const PSC_NAMES = { 5: "PML5E", 4: "PML4E", 3: "PDPTE", 2: "PDE" };

/** The paging-structure caches' valid entries: which linear-address prefix leads to which next table. */
function renderPsc(v, valid) {
  const rows = [];
  for (const s of v.psc) {
    for (let idx = 0; idx < (1 << s.setsLog2) * s.ways; idx++) {
      const e = v.entry(s, idx);
      if (!valid(e)) continue;
      const tag = e.leaf >>> lib.EMBED.tlbEnt.SHIFT_SHIFT & 0xff;
      const prefix = (e.key >> BigInt(tag)) << BigInt(tag);
      const D = lib.PscData;
      const rights = `${e.data & BigInt(D.US) ? "U" : "S"} ${e.data & BigInt(D.RW) ? "rw" : "r-"}${e.data & BigInt(D.XD) ? " XD" : ""}`;
      rows.push(el("tr", { "data-psc": PSC_NAMES[s.level] ?? String(s.level) }, el("td", { text: PSC_NAMES[s.level] ?? String(s.level) }),
        el("td", { text: String(idx) }), el("td", { text: `${hex(prefix)} (bits 63:${tag})` }), el("td", { text: hex(e.data & 0x000f_ffff_ffff_f000n) }),
        el("td", { text: String(Number(e.key & 0xfffn)) }), el("td", { text: rights })));
    }
  }
  $("psc-list").querySelector("tbody").replaceChildren(...rows);
  $("psc-list").hidden = v.psc.length === 0;
  $("psc-list").dataset.valid = String(rows.length);
}

/** The valid entries of every structure, in structure and set order. */
function renderValidList(v, valid) {
  const E = lib.EMBED;
  const rows = [];
  for (const [i, s] of v.structs.entries()) {
    for (let idx = 0; idx < (1 << s.setsLog2) * s.ways && rows.length < 64; idx++) {
      const e = v.entry(s, idx);
      if (!valid(e)) continue;
      const shift = e.leaf >>> E.tlbEnt.SHIFT_SHIFT & 0xff;
      const page = e.key & ~0xfffn;
      rows.push(el("tr", {}, el("td", { text: String(i) }), el("td", { text: String(Math.floor(idx / s.ways)) }),
        el("td", { text: sizeText(2 ** shift) }), el("td", { text: hex(page) }), el("td", { text: hex(page ^ (e.data & ~0xfffn)) }),
        el("td", { text: String(Number(e.key & 0xfffn)) }), el("td", { text: permText(e.data) }),
        el("td", { text: e.leaf & E.tlbEnt.GLOBAL ? "G" : "" })));
    }
  }
  $("tlb-valid").querySelector("tbody").replaceChildren(...rows);
}

function doRandom() {
  const cpu = space.cpu;
  cpu.setCpl(Number($("cpl").value));
  const before = cpu.stats();
  const r = randomAccesses(space, 1000, randomSeed++);
  const after = cpu.stats();
  $("random-result").textContent = `1000 random accesses at CPL ${cpu.x86().cpl}: ${r.demand} demand faults handled by the kernel side, ${r.faults} faults left (at CPL 3: the kernel's vmalloc pages).`;
  space.runs = (space.runs ?? 0) + 1;
  $("random-result").dataset.runs = String(space.runs);
  renderStats(before, after);
  renderTlb();
  refreshTreeSoon();
}

/**
 * The TLB under a running trace: `n` accesses of the same synthetic workload
 * as "Run 1000 random accesses", a few per animation frame; each frame marks
 * the sets its accesses used (green: L1 hit, red: miss) and redraws the
 * statistics and plots.
 */
function doAnimate() {
  const n = Number($("anim-n").value), per = Number($("anim-per-frame").value);
  const out = $("anim-result");
  if (!Number.isInteger(n) || n < 1 || n > 100000) { out.textContent = `accesses to animate must be a whole number from 1 to 100000, got "${$("anim-n").value}"`; return; }
  if (!Number.isInteger(per) || per < 1 || per > 1000) { out.textContent = `per frame must be a whole number from 1 to 1000, got "${$("anim-per-frame").value}"`; return; }
  const cpu = space.cpu;
  cpu.setCpl(Number($("cpl").value));
  const start = cpu.stats();
  const seed = randomSeed++;
  const step = accessStream(space, seed);
  const mine = space;
  let done = 0, hits = 0, misses = 0;
  delete out.dataset.done;
  for (const id of ["animate", "random", "walk", "flush"]) $(id).disabled = true;
  const frame = () => {
    if (space !== mine) return;                       // another address space was built meanwhile
    const marks = new Map();
    let last = -1;
    for (let i = 0; i < per && done < n; i++, done++) {
      const a = step();
      if (a.hit) hits++; else misses++;
      last = tlbSetOf(a.va);
      if (last >= 0 && marks.get(last) !== "hit") marks.set(last, a.hit ? "hit" : "miss");
    }
    if (last >= 0) $("first-set").value = String(last - (last % GRID_SETS));
    renderStats(start, cpu.stats());
    renderTlb();
    for (const [set, how] of marks) $("tlb-grid").querySelector(`[data-set='${set}']`)?.classList.add(how);
    out.textContent = `${done} of ${n} accesses: ${hits} L1 hits, ${misses} misses.`;
    if (done < n) { requestAnimationFrame(frame); return; }
    Object.assign(out.dataset, { done: "1", seed: String(seed), n: String(n), hits: String(hits), misses: String(misses) });
    for (const id of ["animate", "random", "walk", "flush"]) $(id).disabled = false;
    refreshTreeSoon();
  };
  requestAnimationFrame(frame);
}

function doFlush() {
  const before = space.cpu.stats();
  space.cpu.flushTlb(true);
  renderStats(before, space.cpu.stats());
  renderTlb();
}

// ── 5. The boot plan ───────────────────────────────────────────────────────
const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs = {}, title) => {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (title) { const t = document.createElementNS(SVG, "title"); t.textContent = title; n.append(t); }
  return n;
};

function doBoot(ev) {
  ev?.preventDefault();
  $("boot-error").textContent = "";
  let r;
  try {
    const brk = Number($("boot-brk").value);
    if (!Number.isInteger(brk) || brk < 1) throw new Error(`brk reserve must be a whole number of pages ≥ 1, got "${$("boot-brk").value}"`);
    r = bootPlans(lib, $("boot-size").value, { pse: $("boot-pse").checked, brkPages: brk });
  } catch (err) {
    $("boot-error").textContent = err.message.startsWith("brk") ? err.message : `RAM size: ${err.message}`;
    return;
  }
  $("e820").querySelector("tbody").replaceChildren(...r.e820.map((e) => el("tr", { "data-type": String(e.type) },
    el("td", { text: hex(e.start) }), el("td", { text: hex(e.end) }), el("td", { text: sizeText(e.end - e.start) }),
    el("td", { text: E820_NAMES[e.type] ?? String(e.type) }))));
  $("e820").hidden = false;
  const scale = memoryScale(r.e820, 800);
  for (const s of STRATEGIES) renderPlan($(`boot-${s}`), r.plans[s], r.e820, scale);
  $("boot-form").dataset.planned = $("boot-size").value;
}

/**
 * Physical addresses → x: each e820 entry (and each hole between them) gets
 * the same width, so that the low megabyte stays visible next to gigabytes.
 */
function memoryScale(e820, width) {
  const segs = [];
  let at = 0;
  for (const e of [...e820].sort((a, b) => a.start - b.start)) {
    if (e.start > at) segs.push({ start: at, end: e.start, type: 0 });
    segs.push({ start: e.start, end: e.end, type: e.type });
    at = Math.max(at, e.end);
  }
  const w = width / segs.length;
  segs.forEach((s, i) => { s.x = i * w; s.w = w; });
  const x = (pa) => {
    const s = segs.find((g) => pa >= g.start && pa < g.end) ?? segs[segs.length - 1];
    return s.x + Math.min(1, (pa - s.start) / (s.end - s.start)) * s.w;
  };
  return { segs, x, width };
}

const E820_COLOURS = { 0: "#ffffff", 1: "#c8e6c9", 2: "#cfd8dc", 3: "#ffe0b2", 4: "#ffe0b2" };

function renderPlan(box, plan, e820, scale) {
  if (plan.error) {
    box.replaceChildren(el("h3", { text: `Strategy ${plan.strategy}` }), el("p", { class: "error plan-error", text: plan.error }));
    return;
  }
  const sum = plan.summary;
  const ranges = plan.steps.filter((s) => s.op === "range");
  const allocs = plan.steps.filter((s) => s.op === "alloc");
  const h = 44 + ranges.length * 9 + 6;
  const svg = svgEl("svg", { viewBox: `0 0 ${scale.width} ${h}`, role: "img",
    "aria-label": `${plan.strategy}: the memory map, the ranges mapped in order and the page-table pages` });
  for (const g of scale.segs) {
    svg.append(svgEl("rect", { x: g.x, y: 0, width: g.w, height: 18, fill: E820_COLOURS[g.type] ?? "#eeeeee", stroke: "#999" },
      `${hex(g.start)}–${hex(g.end)} ${g.type ? E820_NAMES[g.type] : "hole"} (${sizeText(g.end - g.start)})`));
  }
  for (const a of allocs) {
    svg.append(svgEl("rect", { x: scale.x(a.pa) - 1.5, y: 21, width: 3, height: 12, fill: a.source === "brk" ? "#1565c0" : "#ef6c00",
      class: "pgt", "data-source": a.source }, `${a.level} table page at ${hex(a.pa)} from ${a.source}`));
  }
  ranges.forEach((r, i) => {
    const x0 = scale.x(r.start), x1 = Math.max(scale.x(r.end - 1), x0 + 2);
    svg.append(svgEl("rect", { x: x0, y: 40 + i * 9, width: x1 - x0, height: 6, fill: "#6a1b9a", class: "range" },
      `${i + 1}. ${r.phase}: [${hex(r.start)}, ${hex(r.end)})`));
  });
  const rows = plan.steps.map((s, i) => el("tr", { "data-op": s.op, ...(s.op === "alloc" ? { "data-pa": hex(s.pa), "data-source": s.source, "data-level": s.level } : {}) },
    el("td", { text: String(i + 1) }), el("td", { text: stepText(s, hex) })));
  const levels = Object.entries(sum.tablePages).map(([l, n]) => `${n} ${l}`).join(", ");
  const summary = el("p", { class: "summary", "data-steps": String(plan.steps.length), "data-tables": String(sum.totalTablePages),
    "data-brk": String(sum.brkPages), "data-memblock": String(sum.memblockPages) },
    `${plan.steps.length} steps; ${sum.totalTablePages} page-table pages (${levels || "none"}): ${sum.brkPages} from brk (blue), ` +
    `${sum.memblockPages} from memblock (orange); ${sum.leaves} leaf entries; CR3 loaded ${sum.cr3Switches}×.`);
  box.replaceChildren(el("h3", { text: `Strategy ${plan.strategy}` }), summary, svg,
    el("div", { class: "steps scroll" }, el("table", { class: "grid" },
      el("caption", { text: "The plan, step by step (purple bars above: the ranges mapped, in order)" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "#" }), el("th", { scope: "col", text: "step" }))),
      el("tbody", {}, ...rows))));
}

$("space-form").addEventListener("submit", build);
$("boot-form").addEventListener("submit", doBoot);
$("scenario-form").addEventListener("submit", loadScenario);
$("walk-form").addEventListener("submit", doWalk);
$("random").addEventListener("click", doRandom);
$("flush").addEventListener("click", doFlush);
$("animate").addEventListener("click", doAnimate);
$("first-set").addEventListener("change", () => space && renderTlb());
document.body.dataset.ready = "1";
