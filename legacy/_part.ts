/**
 * What every legacy store module provides: a source file split into parts (one legacy table or
 * JSON array → one target table), each yielding canonical rows in key order, inserting batches
 * idempotently and streaming its target rows canonicalised the same way in SQL.
 *
 * @module
 */
import { cleanText, type TextProblem, textProblem } from "../lib/bad_rows.ts";
import type { Sql, TransactionSql } from "../lib/db.ts";
import type { Column } from "./_sql.ts";
import type { Occurrence } from "./ambiguity.ts";
import { DecimalError, easternToUtc, legacyBoolean, roundDecimal, toDecimal } from "./canonical.ts";

import { badRow, ExcludeRow, RowError } from "./_row_error.ts";

export { badRow, ExcludeRow, RowError } from "./_row_error.ts";
export { checkSqliteText, sqliteTextCheck } from "./_sqlite_text.ts";

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
  /** The COPY path, for parts that offer it (see {@linkcode BulkSpec}). */
  bulk?: BulkSpec;
}

/**
 * What a part offers to be imported through COPY (`bulk.ts`) and checked by digests of its target
 * computed in SQL (`digest.ts`): its canonical values are exactly the values of `columns` of its
 * target, the first (its whole key) a timestamptz of a table range-partitioned by month, the
 * others numeric(p, s) with their `scale`. No canonical value holds a character COPY would
 * escape (decimals and canonical UTC times never do). `prepare` and `finish` are not run on this
 * path.
 */
export interface BulkSpec {
  /** The target columns, in the order of the canonical values. */
  columns: readonly Column[];
  /** The same rows as `rows()`, a page at a time. */
  pages(ctx: ReadContext): Iterable<SourceRow[]>;
}

/** A recognised legacy file: its parts are imported in one transaction. */
export interface Source {
  path: string;
  kind: string;
  parts: Part[];
  /** Releases the file (closes a SQLite handle). */
  close(): void;
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
    return rowLeftOut(ctx, ref, e);
  }
}

/**
 * What {@linkcode readRow} does with an error thrown while a row is read: a row left out on
 * purpose or rejected is recorded with `ctx.exclude` (undefined is returned), anything else is
 * thrown. For readers that build their rows without `readRow` (the price log's hot loop).
 */
export function rowLeftOut(ctx: ReadContext, ref: string, e: unknown): undefined {
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
 * {@linkcode decimal} of a finite REAL that needs no rounding or shift and passes the checks,
 * without the general parse or a row reference: its shortest round-trip form (`String(n)`) is
 * already canonical when it has no exponent (no leading or trailing zeros, `-0` prints as `0`).
 * Null for no value; undefined for anything else (then {@linkcode decimal} says why).
 */
export function quickDecimal(value: unknown, options: DecimalOptions): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || options.shift || !Number.isFinite(value)) return undefined;
  if ((options.nonNegative && value < 0) || (options.positive && value <= 0)) return undefined;
  if (options.maxAbs !== undefined && Math.abs(value) >= options.maxAbs) return undefined;
  const s = String(value);
  if (s.includes("e")) return undefined;
  const dot = s.indexOf(".");
  if (options.scale !== undefined && dot >= 0 && s.length - dot - 1 > options.scale) {
    return undefined;
  }
  return s;
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
  const quick = quickDecimal(value, options);
  if (quick !== undefined) return quick;
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
  if (ms < YEAR_2000) {
    throw badRow(at.file, at.ref, `${at.column} "${value}" is before 2000`, "impossible_value");
  }
  return utc;
}

/**
 * {@linkcode timestamp} of a text that converts without question (not in a DST gap or fold, not
 * in the future or before 2000), without a row reference; undefined for anything else (then
 * {@linkcode timestamp} says why).
 */
export function quickTimestamp(value: unknown, nowMs: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const r = easternToUtc(value);
  return r.kind === "ok" && r.ms <= nowMs + 86_400_000 && r.ms >= YEAR_2000 ? r.utc : undefined;
}

const YEAR_2000 = Date.UTC(2000, 0, 1);

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
