/**
 * The x86 context methods every engine has, in one place: both engines keep
 * their registers in the control block through an X86Control (x86-control.ts)
 * and differ only in the hardware it drives (the wasm core's exports or the TS
 * twin), so the delegation is written once here. S390Methods below it does the
 * same for s390.
 */
import type { Semantics, Translation, X86State } from "./engine.js";
import { newTranslation } from "./engine.js";
import { readResult } from "./result.js";
import { S390Methods } from "./s390.js";
import type { X86Control } from "./x86-control.js";

export abstract class X86Methods extends S390Methods {
  protected abstract readonly x86ctl: X86Control;
  protected abstract readonly m32: Uint32Array;

  setSemantics(s: Semantics): void { this.x86ctl.setSemantics(s); this.s390Profile(s.profile); }
  setX86(state: Partial<X86State>): Translation { return this.x86ctl.setX86(state, newTranslation()); }
  writeCr0(v: bigint): Translation { return this.x86ctl.writeCr0(v, newTranslation()); }
  writeCr3(v: bigint): Translation { return this.x86ctl.writeCr3(v, newTranslation()); }
  writeCr4(v: bigint): Translation { return this.x86ctl.writeCr4(v, newTranslation()); }
  writeEfer(v: bigint): Translation { return this.x86ctl.writeEfer(v, newTranslation()); }
  setCpl(n: number): void { this.x86ctl.setCpl(n); }
  setEflags(v: bigint): void { this.x86ctl.setEflags(v); }
  setPkru(v: number): void { this.x86ctl.setPkru(v); }
  x86(): X86State { return this.x86ctl.state(); }
  /** Why the last register write faulted ("" if it did not). */
  get x86Error(): string { return this.x86ctl.lastError; }
  /** The result record of the last translate/probe, or of a translatePa that returned -1. */
  lastTranslation(out: Translation = newTranslation()): Translation { return readResult(this.m32, out); }
}
