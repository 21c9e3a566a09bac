/**
 * What every legacy store module provides: a source file split into parts (one legacy table or
 * JSON array → one target table), each yielding canonical rows in key order, inserting batches
 * idempotently and streaming its target rows canonicalised the same way in SQL.
 *
 * @module
 */
import { cleanText, type TextProblem, textProblem } from "../lib/bad_rows.ts";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { InputError } from "../lib/errors.ts";
import type { Occurrence } from "./ambiguity.ts";
import { DecimalError, easternToUtc, legacyBoolean, roundDecimal, toDecimal } from "./canonical.ts";

/** One canonical source row. `values` follow the part's `columns`; `raw` is carried, not hashed. */
export interface SourceRow {
  values: (string | null)[];
  /** Payload for a jsonb `raw` column, when the target has one. */
  raw?: unknown;
  /** Consecutive rows with the same group are re-sorted by key (ET text order ≠ UTC order). */
  group?: string;
  /** How a person finds the row in the legacy file, e.g. `timestamp=2025-11-02T01:30:00`. */
  ref: string;
}

/**
 * A row left out: on purpose (spring-forward gap, unresolved fall-back hour) or rejected as
 * invalid (a bad number, boolean or date). Counted per `reason`; the first few are listed.
 */
export interface Excluded {
  ref: string;
  /** Machine-readable reason, e.g. `nonexistent_spring_forward_time`, `invalid_boolean`. */
  reason: string;
  /** What is wrong with the row, for a person. */
  detail: string;
}

/** Row-level context handed to a part's reader. */
export interface ReadContext {
  /** Wall clock now, ms; rows dated after now + 1 day are impossible. */
  nowMs: number;
  /** Records a row left out (on purpose or rejected). */
  exclude(e: Excluded): void;
}

/** One legacy table (or JSON array) and the target table it goes to. */
export interface Part {
  /** Store kind and table, e.g. `price_sqlite:price_log`. */
  kind: string;
  /** Target table, e.g. `live_data.btc_price_log`. */
  target: string;
  /** Names of the compared canonical columns, key columns first. */
  columns: readonly string[];
  /** Ordering key of a canonical row (identical on both sides). */
  keyOf(values: readonly (string | null)[]): string[];
  /** Canonical rows in key order (after regrouping). */
  rows(ctx: ReadContext): AsyncIterable<SourceRow> | Iterable<SourceRow>;
  /** Runs once inside the source's transaction before the first batch (e.g. partitions). */
  prepare?(tx: TransactionSql, bounds: { first: SourceRow; last: SourceRow }): Promise<void>;
  /** Inserts a batch with ON CONFLICT DO NOTHING; returns how many rows were added. */
  insert(tx: TransactionSql, rows: SourceRow[]): Promise<number>;
  /** Runs once after the last batch (e.g. moves an identity sequence past imported ids). */
  finish?(tx: TransactionSql): Promise<void>;
  /** Canonical target rows in key order, starting at the first key component `from`. */
  targetRows(sql: Sql, from: string | null): AsyncIterable<(string | null)[]>;
  /** Legacy columns whose declared type lost precision (e.g. INTEGER money). */
  lossy?: string[];
  /** Anything else the report should say (dropped columns, superseded snapshot rows). */
  notes?: string[];
}

/** A recognised legacy file: its parts are imported in one transaction. */
export interface Source {
  path: string;
  kind: string;
  parts: Part[];
  /** Releases the file (closes a SQLite handle). */
  close(): void;
}

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

/**
 * Longest text of a compared column, in UTF-16 code units: at most 2,400 UTF-8 bytes, so a key
 * column stays within what a PostgreSQL btree index entry holds (2,704 bytes).
 */
export const MAX_VALUE_CHARS = 800;
/** Longest string inside a `raw` payload. */
export const MAX_RAW_CHARS = 10_000;

/** The first string of `value` (keys too) that PostgreSQL would refuse, with where it is. */
function rawProblem(value: unknown, path: string, depth = 0): TextProblem | undefined {
  if (typeof value === "string") {
    const p = textProblem(value, MAX_RAW_CHARS);
    return p ? { ...p, detail: `${path} ${p.detail}` } : undefined;
  }
  if (value === null || typeof value !== "object" || depth > 64) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const p = textProblem(k, MAX_RAW_CHARS);
    if (p) return { ...p, detail: `${path} has a key that ${p.detail}` };
    const inner = rawProblem(v, `${path}.${k.slice(0, 40)}`, depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

/**
 * Refuses a row whose text PostgreSQL would refuse or that is not what the file held: a NUL, an
 * unpaired surrogate (a `\uD800` escape, or invalid UTF-8 decoded by `decodeUtf8` or caught by
 * {@linkcode checkSqliteText}), or an over-long text. Rejected here, while reading, both the import
 * and every later verification leave the same row out.
 */
function checkText(row: SourceRow): void {
  for (const [i, v] of row.values.entries()) {
    const p = v === null ? null : textProblem(v, MAX_VALUE_CHARS);
    if (p) {
      const head = cleanText(v!.slice(0, 20), 20);
      throw new RowError(
        p.reason,
        `row ${row.ref}: value ${i + 1} ${p.detail}`,
        `value ${i + 1} ("${head}") ${p.detail}`,
      );
    }
  }
  const raw = rawProblem(row.raw, "raw");
  if (raw) throw new RowError(raw.reason, `row ${row.ref}: ${raw.detail}`, raw.detail);
}

/**
 * Reads one legacy row with `make` and checks its text. A row left out on purpose
 * ({@linkcode ExcludeRow}) or rejected as invalid ({@linkcode RowError}, bad text included) is
 * recorded with `ctx.exclude` and gives undefined, so one bad row never fails its file; anything
 * else is thrown.
 */
export function readRow<T extends SourceRow>(
  ctx: ReadContext,
  ref: string,
  make: () => T,
): T | undefined {
  try {
    const row = make();
    checkText(row);
    return row;
  } catch (e) {
    // The ref quotes the file (a key with a NUL, say): cleaned for the report.
    const at = cleanText(ref, 200);
    if (e instanceof ExcludeRow) {
      ctx.exclude({ ref: at, reason: e.reason, detail: cleanText(e.message, 500) });
    } else if (e instanceof RowError) {
      ctx.exclude({ ref: at, reason: e.reason, detail: cleanText(e.detail, 500) });
    } else {
      throw e;
    }
    return undefined;
  }
}

/** What {@linkcode checkSqliteText} needs of a SQLite handle. */
interface SqliteHandle {
  prepare(sql: string): {
    get(...params: (number | bigint | string)[]): unknown;
    all(...params: (number | bigint | string)[]): unknown[];
  };
}

/**
 * A check for the rows of one SQLite table, for what node:sqlite hides: it decodes text that is
 * not valid UTF-8 to U+FFFD (which a valid file may hold too) and ends a text at its first NUL.
 * A row holding U+FFFD, or one of the rows found (in one scan) to hold a NUL, has its columns read
 * again as bytes and is rejected (`invalid_unicode`, `nul_character`). The rows must carry their
 * rowid as `_rowid`.
 */
export function checkSqliteText(
  db: SqliteHandle,
  table: string,
  columns: Iterable<string>,
  file: string,
): (row: Record<string, unknown>, ref: string) => void {
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const names = [...columns];
  let withNul: Set<number> | undefined;
  let bytesOf: ReturnType<SqliteHandle["prepare"]> | undefined;
  const strict = new TextDecoder("utf-8", { fatal: true });
  return (row, ref) => {
    withNul ??= new Set(
      names.length === 0 ? [] : (db.prepare(
        `select rowid as r from ${q(table)} where ${
          names.map((c) => `(typeof(${q(c)}) = 'text' and instr(cast(${q(c)} as blob), x'00') > 0)`)
            .join(" or ")
        }`,
      ).all() as { r: number }[]).map((x) => Number(x.r)),
    );
    const nul = withNul.has(Number(row._rowid));
    if (!nul && !Object.values(row).some((v) => typeof v === "string" && v.includes("\uFFFD"))) {
      return;
    }
    bytesOf ??= db.prepare(
      `select ${
        names.map((c, i) => `typeof(${q(c)}) as t${i}, cast(${q(c)} as blob) as c${i}`).join(", ")
      } from ${q(table)} where rowid = ?`,
    );
    const got = (bytesOf.get(row._rowid as number) ?? {}) as Record<string, unknown>;
    for (const [i, name] of names.entries()) {
      const b = got[`c${i}`];
      if (got[`t${i}`] !== "text" || !(b instanceof Uint8Array)) continue;
      if (b.includes(0)) {
        throw badRow(file, ref, `${name} contains a NUL character`, "nul_character");
      }
      try {
        strict.decode(b);
      } catch {
        throw badRow(file, ref, `${name} is not valid UTF-8`, "invalid_unicode");
      }
    }
  };
}

/** Options of {@linkcode decimal}. */
export interface DecimalOptions {
  /** Round to this many fraction digits (half away from zero); unset keeps all digits. */
  scale?: number;
  /** Largest allowed absolute value (exclusive), from the target's precision. */
  maxAbs?: number;
  /** Reject values below zero. */
  nonNegative?: boolean;
  /** Reject zero and values below it. */
  positive?: boolean;
  /** Shift the decimal point (-2: cents → dollars; -4: centi-cents → dollars). */
  shift?: number;
}

/**
 * A legacy number (REAL, INTEGER, numeric text) → canonical decimal text, or null. Throws a
 * row error naming `file`, `ref` and `column` for non-numbers and impossible values.
 */
export function decimal(
  value: unknown,
  at: { file: string; ref: string; column: string },
  options: DecimalOptions = {},
): string | null {
  if (value === null || value === undefined) return null;
  let d: string;
  try {
    if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "string") {
      throw new DecimalError("is not a number");
    }
    d = toDecimal(value);
    if (options.shift) d = toDecimal(`${d}e${options.shift}`);
    if (options.scale !== undefined) d = roundDecimal(d, options.scale);
  } catch (e) {
    const text = typeof value === "string" ? `"${value.slice(0, 40)}"` : String(value);
    throw badRow(
      at.file,
      at.ref,
      `${at.column} ${text} is not a number (${(e as Error).message})`,
      "non_numeric",
    );
  }
  const n = Number(d);
  if ((options.nonNegative && n < 0) || (options.positive && n <= 0)) {
    throw badRow(at.file, at.ref, `${at.column} ${d} is impossible (negative)`, "impossible_value");
  }
  if (options.maxAbs !== undefined && Math.abs(n) >= options.maxAbs) {
    throw badRow(at.file, at.ref, `${at.column} ${d} is out of range`, "impossible_value");
  }
  return d;
}

/**
 * A legacy boolean (true/false, or 0/1 as SQLite and the JSON mirrors stored Python's bool) →
 * `"true"`/`"false"`, or null when absent and not `required`. Anything else rejects the row.
 */
export function boolean(
  value: unknown,
  at: { file: string; ref: string; column: string },
  options: { required?: boolean } = {},
): string | null {
  let b: boolean | null;
  try {
    b = legacyBoolean(value);
  } catch (e) {
    throw badRow(at.file, at.ref, `${at.column} ${(e as Error).message}`, "invalid_boolean");
  }
  if (b === null && options.required) {
    throw badRow(at.file, at.ref, `${at.column} is missing`, "invalid_boolean");
  }
  return b === null ? null : String(b);
}

/** A legacy text column (strings only; numbers are written as decimals). */
export function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "bigint") return toDecimal(value);
  if (typeof value === "string") return value;
  return String(value);
}

/** Options of {@linkcode timestamp}. */
export interface TimestampOptions {
  /** Occurrence of the fall-back hour proven by rowid order (see ambiguity.ts). */
  occurrence?: Occurrence | undefined;
  nowMs: number;
}

/**
 * A legacy timestamp → canonical UTC text, or null. Impossible or future dates (> now + 1 day)
 * are row errors; DST gap rows and unresolved fall-back rows are excluded (see ambiguity.ts).
 */
export function timestamp(
  value: unknown,
  at: { file: string; ref: string; column: string },
  options: TimestampOptions,
): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") {
    throw badRow(at.file, at.ref, `${at.column} ${String(value)} is not a timestamp text`);
  }
  const r = easternToUtc(value);
  let utc: string;
  let ms: number;
  switch (r.kind) {
    case "invalid":
      throw badRow(at.file, at.ref, `${at.column} ${r.reason}`, "bad_timestamp");
    case "nonexistent":
      throw new ExcludeRow(
        "nonexistent_spring_forward_time",
        `${at.column} "${value}" does not exist in US Eastern time (spring-forward gap)`,
      );
    case "ambiguous":
      if (!options.occurrence) {
        throw new ExcludeRow(
          "ambiguous_fall_back_hour",
          `${at.column} "${value}" is ambiguous (fall-back hour) and the rowid order does not ` +
            `prove which occurrence it is`,
        );
      }
      utc = options.occurrence === "first" ? r.first : r.second;
      ms = r.ms + (options.occurrence === "first" ? 0 : 3_600_000);
      break;
    case "ok":
      utc = r.utc;
      ms = r.ms;
  }
  if (ms > options.nowMs + 86_400_000) {
    throw badRow(at.file, at.ref, `${at.column} "${value}" is in the future`, "future_date");
  }
  if (ms < Date.UTC(2000, 0, 1)) {
    throw badRow(at.file, at.ref, `${at.column} "${value}" is before 2000`, "impossible_value");
  }
  return utc;
}

/** Compares two keys component by component (code-unit order, as `collate "C"`). */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return a.length - b.length;
}

/** Zero-pads a non-negative integer text so that text order is numeric order. */
export function padInt(value: string | null): string {
  return (value ?? "").padStart(20, "0");
}

/** Turns a legacy raw-JSON text column into a value for jsonb (null when absent or empty). */
export function rawJson(
  value: unknown,
  at: { file: string; ref: string; column: string },
): unknown {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string") throw badRow(at.file, at.ref, `${at.column} is not JSON text`);
  try {
    return JSON.parse(value);
  } catch {
    throw badRow(at.file, at.ref, `${at.column} is not valid JSON`, "bad_json");
  }
}

/** Rows of a small source sorted by key, for stores read whole (account, trades, JSON). */
export function sortedRows(part: Pick<Part, "keyOf">, rows: SourceRow[]): SourceRow[] {
  return rows
    .map((r) => ({ r, k: part.keyOf(r.values) }))
    .sort((a, b) => compareKeys(a.k, b.k))
    .map((x) => x.r);
}
