/**
 * Legacy Kalshi market log `kalshi_market_log.db` → `live_data.kalshi_market_history`.
 * `market_data(id, timestamp ISO ET, event_ticker, strike REAL (= floor_strike), yes_bid, yes_ask,
 * no_bid, no_ask, last_price, volume)`; quotes are cents and become dollars (4 decimals, exact).
 * The legacy row has no market ticker: it is rebuilt as Kalshi writes it,
 * `<event_ticker>-T<floor_strike>` (e.g. `KXBTCD-25JUL2615-T114749.99`). Key (observed_at,
 * market_ticker); a quote outside 0–100 cents is impossible.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { inFallBackHour, toDecimal } from "./canonical.ts";
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
import { foldsOf, tableColumns } from "./price_sqlite.ts";

/** Legacy tables this module reads. */
export const MARKET_TABLES = ["market_data"] as const;

const TARGET = "live_data.kalshi_market_history";
const QUOTES = ["yes_bid", "yes_ask", "no_bid", "no_ask", "last_price"] as const;
const COLUMNS: Column[] = [
  { name: "observed_at", type: "timestamptz" },
  { name: "market_ticker", type: "text" },
  { name: "event_ticker", type: "text" },
  ...QUOTES.map((name): Column => ({ name, type: "numeric" })),
  { name: "volume", type: "numeric" },
];
const EVENT = /^[A-Z0-9][A-Z0-9.-]{2,60}$/;

/** The parts of a Kalshi market log file. */
export function marketLogParts(db: DatabaseSync, file: string, tables: readonly string[]): Part[] {
  return tables.map((table) => {
    const cols = tableColumns(db, table);
    for (const need of ["timestamp", "event_ticker", "strike"]) {
      if (!cols.has(need)) {
        throw badRow(file, `table ${table}`, `has no "${need}" column`, "unknown_layout");
      }
    }
    const pick = ["timestamp", ...QUOTES, "volume"].map((c) =>
      cols.has(c) ? `"${c}"` : `null as "${c}"`
    );
    return {
      kind: `kalshi_market_log:${table}`,
      target: TARGET,
      columns: COLUMNS.map((c) => c.name),
      keyOf: (v) => [v[0] ?? "", v[1] ?? ""],
      *rows(ctx: ReadContext): Iterable<SourceRow> {
        const folds = foldsOf(db, table, "timestamp");
        const check = checkSqliteText(db, table, cols.keys(), file);
        const stmt = db.prepare(
          `select rowid as _rowid, event_ticker, strike, ${pick.join(", ")} from "${table}"
            order by "timestamp"`,
        );
        for (const r of stmt.iterate()) {
          const row = r as Record<string, unknown>;
          const ref = `id=${String(row._rowid)}`;
          const out = readRow(
            ctx,
            ref,
            () => {
              check(row, ref);
              return marketRow(row, file, ref, ctx, folds.get(Number(row._rowid)));
            },
          );
          if (out) yield out;
        }
      },
      async insert(tx: TransactionSql, rows: SourceRow[]): Promise<number> {
        if (rows.length === 0) return 0;
        let lo = rows[0]!.values[0]!;
        let hi = lo;
        for (const r of rows) {
          if (r.values[0]! < lo) lo = r.values[0]!;
          if (r.values[0]! > hi) hi = r.values[0]!;
        }
        await tx`select system.ensure_month_partitions(${TARGET}::regclass,
          ${lo}::timestamptz, ${hi}::timestamptz)`;
        return await insertUnnest(tx, TARGET, COLUMNS, rows, (r) => r.values);
      },
      targetRows(sql: Sql, from: string | null) {
        const where = from === null ? sql`` : sql`where observed_at >= ${from}::text::timestamptz`;
        return cursorValues(
          sql`select ${canonicalSelect(sql, COLUMNS)} from ${sql(TARGET)} ${where}
              order by observed_at, market_ticker collate "C"`.cursor(5000),
        );
      },
    } satisfies Part;
  });
}

function marketRow(
  row: Record<string, unknown>,
  file: string,
  ref: string,
  ctx: ReadContext,
  occurrence: "first" | "second" | undefined,
): SourceRow {
  const observed = timestamp(row.timestamp, { file, ref, column: "timestamp" }, {
    occurrence,
    nowMs: ctx.nowMs,
  });
  if (observed === null) throw badRow(file, ref, "timestamp is missing");
  const event = row.event_ticker;
  if (typeof event !== "string" || !EVENT.test(event)) {
    throw badRow(file, ref, `event_ticker ${JSON.stringify(event)} is not a Kalshi event ticker`);
  }
  const strike = decimal(row.strike, { file, ref, column: "strike" }, { positive: true });
  if (strike === null) throw badRow(file, ref, "strike is missing", "impossible_value");
  const values: (string | null)[] = [observed, `${event}-T${toDecimal(strike)}`, event];
  for (const q of QUOTES) {
    values.push(
      decimal(row[q], { file, ref, column: q }, {
        shift: -2,
        scale: 4,
        nonNegative: true,
        maxAbs: 1.00001,
      }),
    );
  }
  values.push(decimal(row.volume, { file, ref, column: "volume" }, { nonNegative: true }));
  const text = row.timestamp as string;
  return { values, ref, group: inFallBackHour(text) ? `fold:${text.slice(0, 10)}` : text };
}
