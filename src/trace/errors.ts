/**
 * Errors of trace input. Every one names the file and the place (line number
 * for text formats, byte offset for binary ones) and says what to do; the CLI
 * prints the message alone, never a stack trace.
 */

/** A record that does not parse. `where` is "line N" or "byte offset N". */
export class TraceFormatError extends Error {
  constructor(readonly file: string, readonly where: string, readonly detail: string, hint?: string) {
    super(`${file}: ${where}: ${detail}${hint ? ` (${hint})` : ""}`);
    this.name = "TraceFormatError";
  }
}

/** The file ends in the middle of a record, a block or a compressed stream. */
export class TraceTruncatedError extends Error {
  constructor(readonly file: string, readonly where: string, readonly detail: string) {
    super(`${file}: truncated at ${where}: ${detail}`);
    this.name = "TraceTruncatedError";
  }
}

/** The file cannot be used as a trace at all (missing, unknown format, …). */
export class TraceOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceOpenError";
  }
}

/** Hint appended to format errors when the run is strict. */
export const LENIENT_HINT = "use --lenient to skip malformed records and count them";

export function isTraceError(e: unknown): e is Error {
  return e instanceof TraceFormatError || e instanceof TraceTruncatedError || e instanceof TraceOpenError;
}

/**
 * What went wrong opening `path`, in words: "cannot open trace.wmt: no such
 * file". `creating` is for output files, where a missing path means a
 * missing directory.
 */
export function fileErrorMessage(path: string, e: unknown, creating = false): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? (creating ? "no such directory" : "no such file")
    : code === "EACCES" || code === "EPERM" ? "permission denied"
    : code === "EISDIR" ? "is a directory"
    : code === "ENOTDIR" ? "a part of the path is not a directory"
    : code === "EROFS" ? "read-only file system"
    : code ?? (e instanceof Error ? e.message : String(e));
  return `cannot ${creating ? "create" : "open"} ${path}: ${why}`;
}
