/**
 * Legacy price SQLite files → `live_data.<sym>_price_log`. Three layouts:
 * `price_log(timestamp TEXT PK, price REAL, one_minute_avg, momentum, delta_1m … delta_30m)`
 * (later columns may be missing: they were added by ALTER), `price_history(timestamp, price)`
 * (cloud copies) and `btc_prices(id, timestamp, price)` (the oldest). The symbol comes from the
 * file name (`btc_…`, `eth_…`). Timestamps are naive ET; price keeps 8 decimals, momentum and
 * deltas (percent) 6, as the target columns. `one_minute_avg` has no target and is dropped.
 * Rows are read a page at a time (`sqlite_pages.ts`), never loaded whole; the part offers the
 * COPY path (`bulk`), since its canonical values are its target's columns.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { type Occurrence, resolveAllFolds } from "./ambiguity.ts";
import { easternTransitions, inFallBackHour } from "./canonical.ts";
import {
  badRow,
  decimal,
  type DecimalOptions,
  type Part,
  quickDecimal,
  quickTimestamp,
  type ReadContext,
  rowLeftOut,
  type SourceRow,
  sqliteTextCheck,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { cursorValues } from "./parity.ts";
import { sqlitePages } from "./sqlite_pages.ts";

/** Legacy price tables this module reads. */
export const PRICE_TABLES = ["price_log", "price_history", "btc_prices"] as const;

const VALUE_COLUMNS = [
  "momentum",
  "delta_1m",
  "delta_2m",
  "delta_3m",
  "delta_4m",
  "delta_15m",
  "delta_30m",
] as const;

const COLUMNS: Column[] = [
  { name: "timestamp", type: "timestamptz" },
  { name: "price", type: "numeric", scale: 8 },
  ...VALUE_COLUMNS.map((name): Column => ({ name, type: "numeric", scale: 6 })),
];

/** `btc` or `eth` from a legacy file name, or undefined. */
export function symbolOf(file: string): "btc" | "eth" | undefined {
  const base = file.split(/[\\/]/).pop()!.toLowerCase();
  const m = /(btc|eth)/.exec(base);
  return m ? (m[1] as "btc" | "eth") : undefined;
}

/** Column names of a SQLite table. */
export function tableColumns(db: DatabaseSync, table: string): Map<string, string> {
  const rows = db.prepare(`select name, type from pragma_table_info(?)`).all(table) as {
    name: string;
    type: string;
  }[];
  return new Map(rows.map((r) => [r.name, r.type.toUpperCase()]));
}

/**
 * Fall-back hours of a naive-ET text column, resolved from rowid order: only the rows inside such
 * an hour are read (by range on the text, which the primary key index serves).
 */
export function foldsOf(db: DatabaseSync, table: string, column: string): Map<number, Occurrence> {
  // Two subqueries: SQLite answers a lone min() or max() from the index, both together by a scan.
  const span = db.prepare(
    `select (select min("${column}") from "${table}") as lo,
      (select max("${column}") from "${table}") as hi`,
  ).get() as { lo: unknown; hi: unknown } | undefined;
  const lo = typeof span?.lo === "string" ? Number(span.lo.slice(0, 4)) : NaN;
  const hi = typeof span?.hi === "string" ? Number(span.hi.slice(0, 4)) : NaN;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi - lo > 50) return new Map();
  const stmt = db.prepare(
    `select rowid as id, "${column}" as text from "${table}"
      where ("${column}" >= ? and "${column}" < ?) or ("${column}" >= ? and "${column}" < ?)`,
  );
  const entries: { id: number; text: string }[] = [];
  for (let y = lo; y <= hi; y++) {
    const day = new Date(easternTransitions(y).fallBack).toISOString().slice(0, 10);
    for (const r of stmt.iterate(`${day} 01`, `${day} 02`, `${day}T01`, `${day}T02`)) {
      const row = r as { id: number; text: unknown };
      if (typeof row.text === "string") entries.push({ id: Number(row.id), text: row.text });
    }
  }
  return resolveAllFolds(entries, inFallBackHour);
}

/** The parts of a price SQLite file (one per legacy price table it holds). */
export function priceParts(db: DatabaseSync, file: string, tables: readonly string[]): Part[] {
  const sym = symbolOf(file);
  if (!sym) {
    throw badRow(file, "(file name)", "cannot tell the symbol: expected btc or eth in the name");
  }
  return tables.map((table) => pricePart(db, file, table, sym));
}

function pricePart(db: DatabaseSync, file: string, table: string, sym: "btc" | "eth"): Part {
  const cols = tableColumns(db, table);
  for (const need of ["timestamp", "price"]) {
    if (!cols.has(need)) {
      throw badRow(file, `table ${table}`, `has no "${need}" column`, "unknown_layout");
    }
  }
  const present = VALUE_COLUMNS.filter((c) => cols.has(c));
  const target = `live_data.${sym}_price_log`;
  const notes = cols.has("one_minute_avg") ? ["one_minute_avg dropped (no target column)"] : [];
  // Read as arrays: rowid, timestamp, price, then VALUE_COLUMNS.
  const select = [
    "rowid",
    `"timestamp"`,
    "price",
    ...VALUE_COLUMNS.map((c) => (present.includes(c) ? `"${c}"` : "null")),
  ].join(", ");
  function* pages(ctx: ReadContext): Iterable<SourceRow[]> {
    const folds = foldsOf(db, table, "timestamp");
    const check = sqliteTextCheck(db, table, cols.keys(), file);
    for (const page of sqlitePages(db, { table, column: "timestamp", select })) {
      const out: SourceRow[] = [];
      for (const r of page) {
        const row = priceRow(r, { file, ctx, occurrence: folds.get(Number(r[0])), check });
        if (row) out.push(row);
      }
      yield out;
    }
  }
  return {
    kind: `price_sqlite:${table}`,
    target,
    columns: COLUMNS.map((c) => c.name),
    notes,
    keyOf: (v) => [v[0] ?? ""],
    *rows(ctx: ReadContext): Iterable<SourceRow> {
      for (const page of pages(ctx)) yield* page;
    },
    bulk: { columns: COLUMNS, pages },
    async insert(tx: TransactionSql, rows: SourceRow[]): Promise<number> {
      if (rows.length === 0) return 0;
      // `::text`: postgres.js sends a parameter typed timestamptz through a JS Date (milliseconds).
      await tx`select system.ensure_month_partitions(${target}::regclass,
        ${rows[0]!.values[0]!}::text::timestamptz, ${rows.at(-1)!.values[0]!}::text::timestamptz)`;
      return await insertUnnest(tx, target, COLUMNS, rows, (r) => r.values);
    },
    targetRows(sql: Sql, from: string | null) {
      const where = from === null ? sql`` : sql`where "timestamp" >= ${from}::text::timestamptz`;
      return cursorValues(
        sql`select ${canonicalSelect(sql, COLUMNS)} from ${sql(target)} ${where}
            order by "timestamp"`.cursor(5000),
      );
    },
  };
}

const PRICE: DecimalOptions = { scale: 8, positive: true, maxAbs: 1e12 };
const PERCENT: DecimalOptions = { scale: 6, maxAbs: 1e4 };

/**
 * One legacy row (rowid, timestamp, price, VALUE_COLUMNS) → a canonical row, or undefined when it
 * is left out (recorded in `ctx`). The common row takes the quick forms of the checks, which make
 * no row reference; any other goes through the full ones, which say what is wrong. Every value is
 * built from digits, a sign, a point and the fixed ISO form, so the text check of `readRow` could
 * not refuse one; the legacy text itself went through the SQLite text check.
 */
function priceRow(
  row: readonly unknown[],
  o: {
    file: string;
    ctx: ReadContext;
    occurrence: Occurrence | undefined;
    check: (rowid: number, values: readonly unknown[], ref: string) => void;
  },
): SourceRow | undefined {
  const { file, ctx } = o;
  const ref = `timestamp=${String(row[1])}`;
  try {
    o.check(Number(row[0]), row, ref);
    let ts: string | null | undefined = quickTimestamp(row[1], ctx.nowMs);
    let group: string | undefined;
    if (ts === undefined) {
      ts = timestamp(row[1], { file, ref, column: "timestamp" }, {
        occurrence: o.occurrence,
        nowMs: ctx.nowMs,
      });
      if (ts === null) throw badRow(file, ref, "timestamp is missing");
      const text = row[1] as string;
      if (inFallBackHour(text)) group = `fold:${text.slice(0, 10)}`;
    }
    const price = row[2] === null ? null : quickDecimal(row[2], PRICE) ??
      decimal(row[2], { file, ref, column: "price" }, PRICE);
    if (price === null) throw badRow(file, ref, "price is missing", "impossible_value");
    const values: (string | null)[] = [ts, price, null, null, null, null, null, null, null];
    for (let i = 0; i < VALUE_COLUMNS.length; i++) {
      const v = row[3 + i];
      if (v !== null) {
        values[2 + i] = quickDecimal(v, PERCENT) ??
          decimal(v, { file, ref, column: VALUE_COLUMNS[i]! }, PERCENT);
      }
    }
    return { values, ref, group };
  } catch (e) {
    return rowLeftOut(ctx, ref, e);
  }
}
