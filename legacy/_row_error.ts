/**
 * The two ways a legacy row does not make it into the import: left out on purpose
 * ({@linkcode ExcludeRow}, e.g. a spring-forward time) or rejected as bad ({@linkcode RowError},
 * made by {@linkcode badRow}). Both are counted per reason in the report; `_part.ts` re-exports
 * them for the store modules.
 *
 * @module
 */
import { InputError } from "../lib/errors.ts";

/** Thrown by a reader to leave one row out on purpose (reported, not a failure). */
export class ExcludeRow extends Error {
  override name = "ExcludeRow";
  /** Counted reason, e.g. `nonexistent_spring_forward_time`. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A bad legacy row. Inside a row reader it rejects that row only (see {@linkcode readRow}). */
export class RowError extends InputError {
  override name = "RowError";
  /** What is wrong with the row, without the file name. */
  readonly detail: string;
  constructor(reason: string, message: string, detail: string) {
    super(reason, message);
    this.detail = detail;
  }
}

/**
 * A bad legacy row: names the file and the row. Thrown while a row is read, it rejects that row
 * (counted under `reason`); thrown while a file is opened (its name, its layout), it fails the file.
 */
export function badRow(file: string, ref: string, why: string, reason = "invalid"): RowError {
  return new RowError(reason, `Cannot import legacy file "${file}": row ${ref}: ${why}`, why);
}
