/**
 * OUT/report.html: one self-contained page (inline SVG and CSS, no script,
 * nothing fetched) with, per trace, the miss ratio and the memory references
 * per walk against the TLB's size (one line per combination of the other
 * axes), the walk references the paging-structure caches save, and the
 * throughput of every cell. Every point and bar carries its values in data-*
 * attributes, written exactly as in the summary rows, so that what a plot
 * shows can be checked against the cell files.
 */
import { type Axis, AXES, type CellConfig } from "./spec.js";
import type { SummaryRow } from "./summary.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const attrs = (a: Record<string, string | number>): string => Object.entries(a).map(([k, v]) => ` data-${k}="${esc(String(v))}"`).join("");
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

/**
 * Labels name only the axes that vary over the sweep (the others are listed
 * once, at the top of the page), less those left out: a curve's label leaves
 * out the axes that size the TLB, its x axis.
 */
function labeller(rows: SummaryRow[]): { vary: Axis[]; label: (c: CellConfig, leave?: Axis[]) => string } {
  const vary = AXES.filter((a) => new Set(rows.map((r) => r.config[a] ?? "")).size > 1);
  return {
    vary,
    label: (c, leave = []) => vary.filter((a) => !leave.includes(a) && c[a] !== undefined).map((a) => `${a}=${c[a]}`).join(" ") || "all cells",
  };
}

interface Point { x: number; y: number; row: SummaryRow }

const W = 640, H = 300, L = 64, R = 16, T = 16, B = 40;

/** A line chart with a log2 x axis (TLB entries) and a linear y axis from 0. */
function lineChart(title: string, yName: string, yAttr: string, series: Map<string, Point[]>, yFmt: (y: number) => string): string {
  const pts = [...series.values()].flat();
  if (pts.length === 0) return "";
  const xs = pts.map((p) => Math.log2(p.x)), xmin = Math.min(...xs), xmax = Math.max(...xs);
  const ymax = Math.max(...pts.map((p) => p.y)) || 1;
  const sx = (x: number): number => L + (xmax === xmin ? (W - L - R) / 2 : ((Math.log2(x) - xmin) / (xmax - xmin)) * (W - L - R));
  const sy = (y: number): number => T + (1 - y / ymax) * (H - T - B);
  const out: string[] = [`<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`];
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#000"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#000"/>`);
  for (const x of [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b))
    out.push(`<text x="${sx(x).toFixed(1)}" y="${H - B + 14}" text-anchor="middle">${x}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">TLB entries (4 KiB pages)</text>`);
  for (const f of [0, 0.5, 1]) out.push(`<text x="${L - 4}" y="${(sy(f * ymax) + 4).toFixed(1)}" text-anchor="end">${esc(yFmt(f * ymax))}</text>`);
  out.push(`<text x="12" y="${T + (H - T - B) / 2}" transform="rotate(-90 12 ${T + (H - T - B) / 2})" text-anchor="middle">${esc(yName)}</text>`);
  let i = 0;
  const legend: string[] = [];
  for (const [label, ps] of series) {
    const colour = COLOURS[i++ % COLOURS.length]!;
    const sorted = [...ps].sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${sorted.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")}"${attrs({ config: label })}/>`);
    for (const p of sorted)
      out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${colour}"${attrs({ id: p.row.id, trace: p.row.trace, config: label, entries: p.x, [yAttr]: p.y })}><title>${esc(`${label}, ${p.x} entries: ${yFmt(p.y)}`)}</title></circle>`);
    legend.push(`<li><span style="color:${colour}">■</span> ${esc(label)}</li>`);
  }
  out.push(`</svg><ul class="legend">${legend.join("")}</ul>`);
  // Curves with the same values hide one another: say which (the legend alone would leave one looking missing).
  const same = new Map<string, string[]>();
  for (const [label, ps] of series) {
    const key = JSON.stringify([...ps].sort((a, b) => a.x - b.x).map((p) => [p.x, p.y]));
    same.set(key, [...(same.get(key) ?? []), label]);
  }
  for (const labels of same.values())
    if (labels.length > 1) out.push(`<p class="note">Drawn over one another (the same values): ${labels.map(esc).join("; ")}.</p>`);
  out.push("</figure>");
  return out.join("\n");
}

/** Horizontal bars, one per item, with its value at the end. */
function barChart(title: string, items: { label: string; value: number; attrs: Record<string, string | number> }[], fmt: (v: number) => string): string {
  if (items.length === 0) return "";
  // Label column as wide as the longest label (about 6.5 px a character at 11 px).
  const rowH = 18, lw = 8 + Math.ceil(6.5 * Math.max(...items.map((b) => b.label.length))), h = T + items.length * rowH + 8;
  const max = Math.max(...items.map((b) => b.value)) || 1;
  const out = [`<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W + lw - L}" height="${h}" viewBox="0 0 ${W + lw - L} ${h}">`];
  items.forEach((b, i) => {
    const y = T + i * rowH, w = Math.max(0, (b.value / max) * (W - L - R - 80));
    out.push(`<text x="${lw - 6}" y="${y + 12}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${lw}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${COLOURS[0]}"${attrs(b.attrs)}/>`,
      `<text x="${(lw + w + 4).toFixed(1)}" y="${y + 12}">${esc(fmt(b.value))}</text>`);
  });
  out.push("</svg></figure>");
  return out.join("\n");
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

export function htmlReport(rows: SummaryRow[], header: string): string {
  const traces = [...new Set(rows.map((r) => r.trace))];
  const { vary, label } = labeller(rows);
  const first = rows[0]?.config ?? {};
  const common = AXES.filter((a) => !vary.includes(a) && first[a] !== undefined).map((a) => `${a}=${first[a]}`).join(" ");
  const sections: string[] = [];
  for (const trace of traces) {
    const mine = rows.filter((r) => r.trace === trace);
    const curves = (y: (r: SummaryRow) => number): Map<string, Point[]> => {
      const m = new Map<string, Point[]>();
      for (const r of mine) {
        if (r.entries === undefined) continue;
        const k = label(r.config, ["tlb-entries", "l2"]);
        m.set(k, [...(m.get(k) ?? []), { x: r.entries, y: y(r), row: r }]);
      }
      return m;
    };
    // Paging-structure caches: each cell with caches against the cell that differs only by having none.
    const saved = mine.filter((r) => r.config.psc !== undefined && r.config.psc !== "off").flatMap((on) => {
      const offConfig = { ...on.config, psc: "off" } as CellConfig;
      if (on.config.tlb === "fast") delete offConfig.replacement;
      const off = mine.find((r) => AXES.every((a) => r.config[a] === offConfig[a]));
      if (!off) return [];
      const others = label(on.config, ["psc"]);
      return [{ label: `${others}, psc=${on.config.psc}`, value: off.walkRefs - on.walkRefs,
        attrs: { trace, config: others, psc: on.config.psc!, "refs-off": off.walkRefs, "refs-on": on.walkRefs, saved: off.walkRefs - on.walkRefs } }];
    });
    sections.push(`<section><h2>trace ${esc(trace)}</h2>`,
      lineChart("TLB miss ratio (lookups that missed every level) against TLB size", "miss ratio", "miss-ratio", curves((r) => r.missRatio), pct),
      lineChart("Memory references per page walk against TLB size", "references per walk", "refs-per-walk", curves((r) => r.refsPerWalk), (y) => y.toFixed(2)),
      saved.length ? barChart("Walk references saved by paging-structure caches (walk references without − with)", saved, (v) => v.toLocaleString("en-US"))
        : "<p>No pair of cells differs only by paging-structure caches (add --grid psc=off,on to compare).</p>",
      barChart("Throughput (accesses per second, wall time)", mine.map((r) => ({ label: label(r.config), value: r.throughput,
        attrs: { id: r.id, trace, config: label(r.config), throughput: r.throughput } })), (v) => `${(v / 1e6).toFixed(2)} M/s`),
      "</section>");
  }
  const head = ["trace", "configuration", "id", "accesses", "L1 hit", "L2 hit", "miss ratio", "walks", "refs/walk", "PSC hits", "acc/s"];
  const table = rows.map((r) => `<tr${attrs({ id: r.id })}><td>${esc(r.trace)}</td><td>${esc(label(r.config))}</td><td>${r.id}</td>` +
    `<td>${r.accesses}</td><td>${pct(r.l1HitRate)}</td><td>${r.l2HitRate === undefined ? "-" : pct(r.l2HitRate)}</td><td>${pct(r.missRatio)}</td>` +
    `<td>${r.walks}</td><td>${r.refsPerWalk.toFixed(2)}</td><td>${r.pscHits}</td><td>${Math.round(r.throughput)}</td></tr>`).join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(header)}</title>
<style>body{font:14px sans-serif;margin:2em}svg text{font:11px sans-serif}figure{margin:1em 0}figcaption{font-weight:bold}
.legend{list-style:none;padding:0;columns:2}.note{color:#555;margin:0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>
</head><body><h1>${esc(header)}</h1>
${common ? `<p>Every cell: ${esc(common)}. Each cell's full report: cells/ID.json beside this page.</p>` : ""}
${sections.join("\n")}
<h2>All cells</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>
${table}
</table></body></html>
`;
}
