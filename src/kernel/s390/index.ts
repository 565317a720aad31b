// The s390 kernel side: one namespace (`s390` in src/index.ts), Linux names inside.
export * from "./errors.js";
export * from "./pgtable-bits.js";
export * from "./kernel.js";
export * from "./pgalloc.js";
export * from "./crst.js";
export * from "./pgtable.js";
export * from "./mm.js";
export * from "./gmap.js";
export * from "./pgtable-memory.js";
