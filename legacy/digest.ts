/**
 * Parity of a part with a COPY path (`BulkSpec`) in one pass over each side, instead of a merge of
 * both streams row by row. The source side is hashed while it is read (during the import, or on
 * its own for a verification): its count and the SHA-256 over `JSON.stringify(values) + "\n"` in
 * key order (the hash `parity.ts` computes), and per window of {@linkcode WINDOW_ROWS} rows the
 * count and the SHA-256 of the rows' COPY lines ({@linkcode copyLine}). On the target side
 * PostgreSQL builds the same lines over each window's key range and hashes them itself, so only a
 * count and a hash per window leave the server (three windows in flight: the server's work,
 * spread over its cores, is the cost, not this process's).
 *
 * Equal counts and hashes in every window prove the target holds exactly the source rows over the
 * source's key range (none missing, different or extra), so its hash over the whole range is the
 * source's; the report then is what the merge would give, with nothing listed. Anything else is
 * settled by the merge (`parity()`), which lists the keys: a digest never reports a mismatch.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Sql, TransactionSql } from "../lib/db.ts";
import type { BulkSpec, Part } from "./_part.ts";
import type { Column } from "./_sql.ts";
import type { Keyed } from "./order.ts";
import type { ParityResult } from "./parity.ts";

/** Source rows per window of the target check (a few MB of text for the server to hash). */
export const WINDOW_ROWS = 50_000;

/** One window of a source digest: where it starts, its rows and the SHA-256 of their lines. */
export interface Window {
  /** Key of its first row; it ends before the next window's, the last one at the last key. */
  start: string;
  rows: number;
  sha256: string;
}

/** What the source side of a part hashed to. */
export interface SourceDigest {
  rows: number;
  /** SHA-256 over every row's `JSON.stringify(values) + "\n"` in key order (as `parity.ts`). */
  sha256: string;
  duplicates: number;
  windows: Window[];
  /** The key of the last row (null without rows): the end of the last window (inclusive). */
  last: string | null;
}

const ZEROS = Array.from({ length: 21 }, (_, i) => "0".repeat(i));

/**
 * A canonical row as PostgreSQL prints its stored values in COPY text with DateStyle ISO and
 * TimeZone UTC: the time as `2025-01-06 05:00:00+00` (a fraction only when not zero, without
 * trailing zeros), each numeric with exactly its column's scale, `\N` for null. It is the COPY
 * input of `bulk.ts` and what the window hashes cover: the server then prints the same text from
 * the stored row, the cheapest text it can make (a profile: half the cost of the canonical form).
 * Equal text means equal stored values, hence equal canonical values.
 */
export function copyLine(values: readonly (string | null)[], columns: readonly Column[]): string {
  let line = "";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const sep = i === 0 ? "" : "\t";
    if (v === null || v === undefined) {
      line += sep + "\\N";
    } else if (columns[i]!.type === "timestamptz") {
      line += sep + v.slice(0, 10) + " " + v.slice(11, 19) + fraction(v) + "+00";
    } else {
      const scale = columns[i]!.scale ?? 0;
      const dot = v.indexOf(".");
      const digits = dot < 0 ? 0 : v.length - dot - 1;
      if (digits > scale) {
        // A broken BulkSpec (its values are not rounded to the target's scale), not bad data.
        throw new Error(
          `Cannot write a COPY line: ${columns[i]!.name} "${v}" has more than ${scale} fraction ` +
            `digits`,
        );
      }
      line += scale === 0 ? sep + v : dot < 0 ? sep + v + "." + ZEROS[scale] : sep + v +
        ZEROS[scale - digits];
    }
  }
  return line + "\n";
}

/** The fraction of a canonical UTC time (`….ffffffZ`) as PostgreSQL prints it: none when zero. */
function fraction(t: string): string {
  for (let i = 20; i < 26; i++) {
    if (t.charCodeAt(i) !== 48) return "." + t.slice(20, 26).replace(/0+$/, "");
  }
  return "";
}

/**
 * Hashes a part's source rows as they are read, in key order: every canonical row (the reported
 * hash), and every COPY line (see {@linkcode copyLine}) per window of {@linkcode WINDOW_ROWS}.
 */
export class SourceHasher {
  #hash = createHash("sha256");
  #window = createHash("sha256");
  #json = "";
  #lines = "";
  #rows = 0;
  #windows: Window[] = [];
  #last: string | null = null;

  /** Adds the next row and its COPY line. */
  add(row: Keyed, line: string): void {
    const key = row.key[0]!;
    if (this.#rows % WINDOW_ROWS === 0) {
      this.#closeWindow();
      this.#windows.push({ start: key, rows: 0, sha256: "" });
    }
    this.#rows++;
    this.#windows[this.#windows.length - 1]!.rows++;
    this.#last = key;
    this.#json += JSON.stringify(row.values) + "\n";
    this.#lines += line;
    if (this.#json.length > 1 << 16) this.#flush();
  }

  /** The digest of every row added. */
  digest(duplicates: number): SourceDigest {
    this.#closeWindow();
    return {
      rows: this.#rows,
      sha256: this.#hash.digest("hex"),
      duplicates,
      windows: this.#windows,
      last: this.#last,
    };
  }

  #flush(): void {
    this.#hash.update(this.#json);
    this.#window.update(this.#lines);
    this.#json = "";
    this.#lines = "";
  }

  #closeWindow(): void {
    this.#flush();
    const open = this.#windows[this.#windows.length - 1];
    if (open) open.sha256 = this.#window.digest("hex");
    this.#window = createHash("sha256");
  }
}

/** The stored row of `spec` as {@linkcode copyLine} writes it, built in SQL. */
function lineSql(tx: TransactionSql, spec: BulkSpec) {
  const fields = spec.columns.map((c) => tx`coalesce(${tx(c.name)}::text, '\\N')`);
  return fields.reduce((acc, f) => tx`${acc} || E'\\t' || ${f}`);
}

/** Window queries in flight at once: the server hashes on all its cores. */
const IN_FLIGHT = 3;

/**
 * Whether the target holds exactly the source's rows over the source's key range: per window,
 * PostgreSQL counts the target rows and hashes their lines as the source's were hashed; every
 * count and hash must be equal. Each window runs in a transaction of its own that fixes the
 * output formats and reads without parallel workers, so the lines come in index order (a line
 * out of order would only make a hash differ, and the merge settle it). Stops at the first window
 * that differs.
 */
export async function targetMatches(sql: Sql, part: Part, source: SourceDigest): Promise<boolean> {
  const spec = part.bulk!;
  const key = spec.columns[0]!.name;
  const windows = source.windows;
  const query = (i: number) =>
    sql.begin(async (tx) => {
      await tx`select set_config('timezone', 'UTC', true), set_config('datestyle', 'ISO, YMD', true),
        set_config('max_parallel_workers_per_gather', '0', true)`;
      // `::text`: postgres.js sends a parameter typed timestamptz through a JS Date (milliseconds).
      const upper = i + 1 < windows.length
        ? tx`${tx(key)} < ${windows[i + 1]!.start}::text::timestamptz`
        : tx`${tx(key)} <= ${source.last!}::text::timestamptz`;
      const [w] = await tx<{ n: number; sha256: string }[]>`
        select count(*)::int as n, encode(sha256(convert_to(coalesce(
            string_agg(line, E'\\n') || E'\\n', ''), 'UTF8')), 'hex') as sha256
          from (select ${lineSql(tx, spec)} as line from ${tx(part.target)}
                 where ${tx(key)} >= ${windows[i]!.start}::text::timestamptz and ${upper}
                 order by ${tx(key)}) as w`;
      return w;
    });
  const pending: ReturnType<typeof query>[] = [];
  let next = 0;
  try {
    for (let i = 0; i < windows.length; i++) {
      while (next < windows.length && pending.length < IN_FLIGHT) pending.push(query(next++));
      const w = await pending.shift()!;
      if (!w || w.n !== windows[i]!.rows || w.sha256 !== windows[i]!.sha256) return false;
    }
    return true;
  } finally {
    for (const p of pending) p.catch(() => {});
  }
}

/**
 * The parity of a part whose source digest is known, when the target matches it window by window
 * (see {@linkcode targetMatches}); undefined when it does not (the merge then says how). The
 * target's SHA-256 over the whole range is then the source's: its lines are the same text.
 */
export async function digestParity(
  sql: Sql,
  part: Part,
  source: SourceDigest,
): Promise<ParityResult | undefined> {
  if (!await targetMatches(sql, part, source)) return undefined;
  return {
    sourceRows: source.rows,
    targetRows: source.rows,
    sourceSha256: source.sha256,
    targetSha256: source.sha256,
    mismatchCount: 0,
    mismatches: [],
    targetExtra: 0,
    duplicates: source.duplicates,
  };
}
