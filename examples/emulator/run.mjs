// Run the worked emulator module (emulator.ts) against a wasmmu engine, using
// only the installed package: build the module with AssemblyScript, map an
// address space with the kernel side, replay a trace twice through the
// module (inline TLB hits, the core's translatePa on a miss), and check every
// result against the engine's own translate() on a twin engine.
//   node examples/emulator/run.mjs          (needs the assemblyscript package)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Access, accessMask, createEngine, FaultKind, Kernel, x86ControlFor } from "wasmmu";

const here = dirname(fileURLToPath(import.meta.url));
const wasmFile = join(mkdtempSync(join(tmpdir(), "wasmmu-emulator-")), "emulator.wasm");
const built = spawnSync(process.execPath, [join(here, "build.mjs"), "--outFile", wasmFile], { encoding: "utf8" });
if (built.status !== 0) { console.error(built.stderr); process.exit(1); }

const N = 4000;
/** An address space: 64 user pages of 4 KiB (every fourth read-only), one 2 MiB page, PCIDs on. */
async function machine(name, opts = {}) {
  const engine = await createEngine(name, { physSize: 64 << 20, ...opts });
  const k = new Kernel({ mode: "4level", cpu: engine });
  engine.setX86({ ...x86ControlFor("4level", { pcid: true }), cr3: BigInt(k.initMm.pgd) });
  const mm = k.mmCreate();
  for (let i = 0; i < 64; i++)
    mm.mapRange(0x40_0000n + BigInt(i) * 0x1000n, 0x1000, { pa: 0x100_0000 + i * 0x1000, prot: i % 4 === 0 ? "r" : "rw" });
  mm.mapRange(0x4000_0000n, 1 << 21, { pa: 0x200_0000, prot: "rw", pageSize: 1 << 21 });
  k.switchMm(mm);
  engine.setCpl(3);
  return engine;
}
const engine = await machine("wasm", { embedderBytes: 17 * N });
const twin = await machine("ts");

// A deterministic trace: mostly the 4 KiB pages, some of the 2 MiB page, some unmapped.
let s = 2463534242;
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
const va = [], kind = [];
for (let i = 0; i < N; i++) {
  const r = rnd() % 10;
  va.push(r < 7 ? 0x40_0000n + BigInt(rnd() % (64 * 0x1000)) : r < 9 ? 0x4000_0000n + BigInt(rnd() % (1 << 21)) : 0x9000_0000n + BigInt(rnd() % 0x10000));
  kind.push(rnd() % 3 === 0 ? Access.Write : Access.Read);
}

const emb = engine.embedding();
const emu = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmFile)),
  { env: { memory: emb.memory }, wasmmu: { translatePa: emb.translatePa } }).exports;
if (emu.attach() !== 0) { console.error(`attach refused: ${emu.attach()}`); process.exit(1); }
const base = engine.layout.embedBase, vasAt = base, outAt = base + 8 * N, kindsAt = base + 16 * N;
new BigUint64Array(emb.memory.buffer, vasAt, N).set(va);
new Uint8Array(emb.memory.buffer, kindsAt, N).set(kind);
const masks = [Access.Read, Access.Write, Access.Fetch].map((k) => BigInt(accessMask(k, 3, false)));

let agree = true;
for (const pass of [1, 2]) {
  emu.resetCounts();
  const sum = emu.replay(vasAt, kindsAt, outAt, N, ...masks);
  const out = new BigUint64Array(emb.memory.buffer, outAt, N);
  let want = 0n;
  for (let i = 0; i < N; i++) {
    const t = twin.translate(va[i], kind[i]);
    const expected = t.fault === FaultKind.None ? BigInt(t.pa) : 2n ** 64n - 1n;
    if (out[i] !== expected) agree = false;
    if (t.fault === FaultKind.None) want += BigInt(t.pa);
  }
  if (sum !== want) agree = false;
  console.log(`pass ${pass}: ${emu.hitCount()} inline hits, ${emu.missCount()} misses to the core, ${emu.faultCount()} faults`);
}
console.log(`every result agrees with translate(): ${agree ? "yes" : "NO"}`);
process.exit(agree ? 0 : 1);
