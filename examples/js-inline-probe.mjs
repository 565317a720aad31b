// The TLB hit test inlined in JavaScript over a wasm engine's memory, with the
// core's translatePa as the miss path (docs/TLB-ABI.md, "The inline hit test"
// and "Embedding"). An emulator written in JavaScript would do this per guest
// memory access: two 32-bit compares and a mask on a hit, no call at all.
//   npm run build && node examples/js-inline-probe.mjs
import { Access, createEngine, EMBED, Kernel, x86ControlFor } from "wasmmu";

const engine = await createEngine("wasm", { physSize: 64 << 20 });
const k = new Kernel({ mode: "4level", cpu: engine });
engine.setX86({ ...x86ControlFor("4level", { pcid: true }), cr3: BigInt(k.initMm.pgd) });
const mm = k.mmCreate();
mm.mapRange(0x40_0000n, 0x4000, { pa: 0x10_0000, prot: "rw" });                     // four 4 KiB pages
mm.mapRange(0x4000_0000n, 1 << 21, { pa: 0x20_0000, prot: "rw", pageSize: 1 << 21 });   // one 2 MiB page
k.switchMm(mm);                                                                         // CR3 with the mm's PCID
engine.setCpl(3);

const { mem, ctl, tlbHdr, tlbStruct, tlbEnt } = EMBED;
const m32 = new Uint32Array(engine.embedding().memory.buffer);
const word = (off) => m32[(mem.CTL_BASE + off) >>> 2];
if (word(ctl.ABI_MAGIC) !== EMBED.ABI_MAGIC || word(ctl.ABI_VERSION) !== EMBED.ABI_VERSION)
  throw new Error("js-inline-probe: not the TLB ABI this probe was written for");

// Once per context: structure 0 (the 4 KiB array) and the PCID's set hash.
const tlb = word(ctl.TLB_BASE);
const sd = tlb + tlbHdr.STRUCTS;
const ents = tlb + m32[(sd + tlbStruct.ENTRIES) >>> 2];
const setMask = (1 << m32[(sd + tlbStruct.SETS_LOG2) >>> 2]) - 1;
const pcid = (word(ctl.CR4) >>> 17) & 1 ? word(ctl.CR3) & tlbEnt.PCID_MASK : 0;
const h = Math.imul(pcid, tlbEnt.PCID_HASH);
const mask = EMBED.mask.READ_USER;   // user-mode reads

const counts = { hit: 0, miss: 0, fault: 0 };
/** A read of linear address `va` (a Number; canonical addresses as signed integers). */
function read(va) {
  const lo = va >>> 0, hi = Math.floor(va / 2 ** 32) >>> 0;
  const e = (ents + ((((lo >>> 12) | (hi << 20)) ^ h) & setMask) * tlbEnt.SIZE) >>> 2;
  // KEY (u64 at e) must be the page | PCID; DATA (u64 at e + 8) must deny nothing in mask.
  if (m32[e] === (((lo & ~0xfff) | pcid) >>> 0) && m32[e + 1] === hi && (m32[e + 2] & mask) === 0) {
    counts.hit++;
    return ((m32[e + 3] ^ hi) >>> 0) * 2 ** 32 + ((((m32[e + 2] & ~0xfff) ^ lo) >>> 0));
  }
  const pa = engine.translatePa(va, Access.Read);   // walks, sets A, fills the TLB
  counts[pa < 0 ? "fault" : "miss"]++;
  return pa;
}

const hex = (n) => `0x${n.toString(16)}`;
const vas = [0x40_0010, 0x40_1020, 0x40_0018, 0x40_3ff8, 0x40_1000, 0x4000_0100, 0x4012_3456, 0x40_3000, 0x5000_0000, 0x40_0ff0];
for (const va of vas) {
  const before = { ...counts };
  const pa = read(va);
  const how = Object.keys(counts).find((key) => counts[key] !== before[key]);
  console.log(`read ${hex(va)} -> ${pa < 0 ? "fault" : hex(pa)} ${how}`);
}
console.log(`hits ${counts.hit} misses ${counts.miss} faults ${counts.fault}`);
