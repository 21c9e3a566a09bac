/**
 * Rows for the journal's tests (issue 16), written straight into the tables the calibration
 * views and the P&L endpoint read: strike-table history rows, market results and a user's
 * trades. Only the columns those readers use are filled; the others get their defaults or fixed
 * values.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";

/** One strike-table history row of `ticker` (probability: percent chance of YES, or null). */
export interface HistoryRow {
  ticker: string;
  cycleAt: Date;
  probability: string | null;
  modelMode?: string;
  strike?: number;
}

/** Inserts history rows (symbol BTC; each ticker's strike is derived from its name unless set). */
export async function insertHistory(sql: Sql, rows: readonly HistoryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into live_data.strike_table_history ${
    sql(rows.map((r) => ({
      cycle_at: r.cycleAt,
      symbol: "BTC",
      strike: String(r.strike ?? strikeOf(r.ticker)),
      ticker: r.ticker,
      event_ticker: r.ticker.split("-").slice(0, 2).join("-"),
      probability: r.probability,
      current_price: "97000",
      ttc_seconds: 600,
      model_mode: r.modelMode ?? "closed_form",
      price_age_ms: 100,
      market_age_ms: 500,
    })))
  }`;
}

/** A stable strike per ticker: the number after its last `T`, or a hash of the name. */
function strikeOf(ticker: string): number {
  const m = /T(\d+(?:\.\d+)?)$/.exec(ticker);
  if (m) return Number(m[1]);
  let h = 0;
  for (const ch of ticker) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000;
  return h;
}

/** One market result. */
export interface ResultRow {
  ticker: string;
  result: string | null;
  closeTime: Date | null;
}

/** Inserts market results. */
export async function insertResults(sql: Sql, rows: readonly ResultRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into live_data.kalshi_market_results ${
    sql(rows.map((r) => ({
      ticker: r.ticker,
      event_ticker: r.ticker.split("-").slice(0, 2).join("-"),
      result: r.result,
      settlement_value_dollars: r.result === "yes" ? "1" : "0",
      close_time: r.closeTime,
      settled_at: r.closeTime,
      recorded_at: r.closeTime ?? new Date(0),
    })))
  }`;
}

/** One trade of a user. */
export interface TradeRow {
  ticker: string;
  source: "live" | "legacy";
  status: "open" | "closed" | "settled";
  closedAt: Date | null;
  pnl: string | null;
}

/** Inserts trades into `<user>.trades` (`source` is migration 0102's column). */
export async function insertTrades(
  sql: Sql,
  rows: readonly TradeRow[],
  user = "user_0001",
): Promise<void> {
  // Until 0102 (helper "trades") is committed, a checkout without it gets the column here; with
  // it, this changes nothing.
  await sql`alter table ${sql(`${user}.trades`)}
    add column if not exists source text not null default 'legacy'`;
  for (const r of rows) {
    await sql`insert into ${sql(`${user}.trades`)}
        (status, source, ticker, side, opened_at, closed_at, pnl_dollars, position_count)
      values (${r.status}, ${r.source}, ${r.ticker}, 'yes',
              ${r.closedAt ? new Date(r.closedAt.getTime() - 600_000) : null}, ${r.closedAt},
              ${r.pnl}, 10)`;
  }
}
