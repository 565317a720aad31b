/**
 * A file of conformance vectors, read and parsed (src/conform/runner.ts). A
 * file with no vectors at all is an error: nothing run is not a pass, and an
 * empty (or a wrong) file must not look like success.
 */
import { readFile } from "node:fs/promises";
import { fileErrorMessage } from "../trace/errors.js";
import { parseCases } from "./runner.js";

export async function readCaseFile(file: string): Promise<ReturnType<typeof parseCases>> {
  let text: string;
  try { text = await readFile(file, "utf8"); } catch (e) { throw new Error(fileErrorMessage(file, e)); }
  const cases = parseCases(text, file);
  if (cases.length === 0) throw new Error(`${file}: no conformance vectors (the file ${text.length === 0 ? "is empty" : "has only blank lines"})`);
  return cases;
}
