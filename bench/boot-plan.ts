// Measure the early-boot plans: page-table pages per strategy and page-size
// set, where the tables sit, planning time (model only, no guest memory).
//   npx esbuild bench/boot-plan.ts --bundle --platform=node --format=esm --loader:.wasm=binary --outfile=build/boot-plan.mjs && node build/boot-plan.mjs
import { plan } from "../src/boot/build.js";
import { inputFromMem, parseSize } from "../src/boot/input.js";

const sizes = (process.argv[2] ?? "1G,64G,4T").split(",");
const sets: [string, { pse: boolean; gbpages: boolean }][] = [["4k", { pse: false, gbpages: false }], ["4k+2M", { pse: true, gbpages: false }], ["4k+2M+1G", { pse: true, gbpages: true }]];
const hex = (n: number): string => (n < 0 ? "-" : `0x${n.toString(16)}`);
console.log("| RAM | page sizes | strategy | table pages (pud/pmd/pte) | from brk | from mapped RAM | lowest table | lowest table from RAM | highest table | plan ms (median of 3) |");
console.log("|---|---|---|---|---:|---:|---|---|---|---:|");
for (const size of sizes) {
  for (const [name, ps] of sets) {
    if (!ps.pse && parseSize(size) > 2 ** 38) { console.log(`| ${size} | ${name} | both | not run: 2^28 PTEs; the model keeps a byte per entry (≈1.2 GB host memory) |`); continue; }
    for (const strategy of ["linux", "hpa"] as const) {
      // hpa maps the kernel image from brk first: with 4k pages that needs 29 pages, so give it 32
      const input = inputFromMem(parseSize(size), { ...ps, pgtBufPages: !ps.pse && strategy === "hpa" ? 32 : undefined });
      const times: number[] = [];
      let p;
      try {
        for (let i = 0; i < 3; i++) { p = plan(strategy, input); times.push(p.summary.timeMs); }
      } catch (e) { console.log(`| ${size} | ${name} | ${strategy} | ${(e as Error).message} |`); continue; }
      const s = p!.summary;
      const lv = `${s.tablePages.pud ?? 0}/${s.tablePages.pmd ?? 0}/${s.tablePages.pte ?? 0}`;
      times.sort((a, b) => a - b);
      console.log(`| ${size} | ${name} | ${strategy} | ${s.totalTablePages} (${lv}) | ${s.brkPages} | ${s.memblockPages} | ${hex(s.lowestTable)} | ${hex(s.lowestRamTable)} | ${hex(s.highestTable)} | ${times[1]!.toFixed(1)} |`);
    }
  }
}
