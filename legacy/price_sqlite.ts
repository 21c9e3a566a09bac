/**
 * Legacy price SQLite files → `live_data.<sym>_price_log`. Three layouts:
 * `price_log(timestamp TEXT PK, price REAL, one_minute_avg, momentum, delta_1m … delta_30m)`
 * (later columns may be missing: they were added by ALTER), `price_history(timestamp, price)`
 * (cloud copies) and `btc_prices(id, timestamp, price)` (the oldest). The symbol comes from the
 * file name (`btc_…`, `eth_…`). Timestamps are naive ET; price keeps 8 decimals, momentum and
 * deltas (percent) 6, as the target columns. `one_minute_avg` has no target and is dropped.
 * Rows are streamed with `StatementSync.iterate()`, never loaded whole.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { type Occurrence, resolveAllFolds } from "./ambiguity.ts";
import { easternTransitions, inFallBackHour } from "./canonical.ts";
import {
  badRow,
  checkSqliteText,
  decimal,
  type Part,
  type ReadContext,
  readRow,
  type SourceRow,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { cursorValues } from "./parity.ts";

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
  { name: "price", type: "numeric" },
  ...VALUE_COLUMNS.map((name): Column => ({ name, type: "numeric" })),
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
  const span = db.prepare(`select min("${column}") as lo, max("${column}") as hi from "${table}"`)
    .get() as { lo: unknown; hi: unknown } | undefined;
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
  const select = [
    "rowid as _rowid",
    `"timestamp" as ts`,
    "price",
    ...VALUE_COLUMNS.map((c) => (present.includes(c) ? `"${c}"` : `null as "${c}"`)),
  ].join(", ");
  return {
    kind: `price_sqlite:${table}`,
    target,
    columns: COLUMNS.map((c) => c.name),
    notes,
    keyOf: (v) => [v[0] ?? ""],
    *rows(ctx: ReadContext): Iterable<SourceRow> {
      const folds = foldsOf(db, table, "timestamp");
      const check = checkSqliteText(db, table, cols.keys(), file);
      const stmt = db.prepare(`select ${select} from "${table}" order by "timestamp"`);
      for (const r of stmt.iterate()) {
        const row = r as Record<string, unknown>;
        const ref = `timestamp=${String(row.ts)}`;
        const out = priceRow(row, {
          file,
          ref,
          ctx,
          occurrence: folds.get(Number(row._rowid)),
          check,
        });
        if (out) yield out;
      }
    },
    async insert(tx: TransactionSql, rows: SourceRow[]): Promise<number> {
      if (rows.length === 0) return 0;
      await tx`select system.ensure_month_partitions(${target}::regclass,
        ${rows[0]!.values[0]!}::timestamptz, ${rows.at(-1)!.values[0]!}::timestamptz)`;
      return await insertUnnest(tx, target, COLUMNS, rows, (r) => r.values);
    },
    targetRows(sql: Sql, from: string | null) {
      const where = from === null ? sql`` : sql`where "timestamp" >= ${from}::timestamptz`;
      return cursorValues(
        sql`select ${canonicalSelect(sql, COLUMNS)} from ${sql(target)} ${where}
            order by "timestamp"`.cursor(5000),
      );
    },
  };
}

function priceRow(
  row: Record<string, unknown>,
  o: {
    file: string;
    ref: string;
    ctx: ReadContext;
    occurrence: Occurrence | undefined;
    check: (row: Record<string, unknown>, ref: string) => void;
  },
): SourceRow | undefined {
  const { file, ref, ctx } = o;
  return readRow(ctx, ref, () => {
    o.check(row, ref);
    const ts = timestamp(row.ts, { file, ref, column: "timestamp" }, {
      occurrence: o.occurrence,
      nowMs: ctx.nowMs,
    });
    if (ts === null) throw badRow(file, ref, "timestamp is missing");
    const price = decimal(row.price, { file, ref, column: "price" }, {
      scale: 8,
      positive: true,
      maxAbs: 1e12,
    });
    if (price === null) throw badRow(file, ref, "price is missing", "impossible_value");
    const values: (string | null)[] = [ts, price];
    for (const c of VALUE_COLUMNS) {
      values.push(decimal(row[c], { file, ref, column: c }, { scale: 6, maxAbs: 1e4 }));
    }
    const text = row.ts as string;
    return { values, ref, group: inFallBackHour(text) ? `fold:${text.slice(0, 10)}` : undefined };
  });
}
