/**
 * Builds the empirical model's lookup table (`analytics.probability_lookup`) from the 1-minute
 * candles in `historical_data.<symbol>_ohlc_1m`, replacing that symbol's rows in one transaction:
 * the work of `deno task model:build` (commands/model_build.ts).
 *
 * @module
 */
import type { Sql } from "../../lib/db.ts";
import { buildLookup, type Candle } from "./empirical.ts";

/** Builds and stores the table for `symbol`; returns the counts. */
export async function buildModel(
  sql: Sql,
  symbol: string,
  options: { years?: number; now?: number } = {},
): Promise<{ candles: number; rows: number }> {
  const lower = symbol.toLowerCase();
  if (!/^[a-z]{2,10}$/.test(lower)) throw new Error(`Cannot build a model for "${symbol}"`);
  const now = options.now ?? Date.now();
  const since = new Date(now - (options.years ?? 5) * 365.25 * 86_400_000);
  const table = sql(`historical_data.${lower}_ohlc_1m`);
  const candles: Candle[] = [];
  // A cursor keeps the driver from holding every row object of a large table at once.
  await sql`select "timestamp", close from ${table} where "timestamp" >= ${since}
    order by "timestamp"`.cursor(10_000, (rows) => {
    for (const r of rows) {
      candles.push({ t: (r.timestamp as Date).getTime(), close: Number(r.close) });
    }
  });
  const rows = buildLookup(candles, { currentYear: new Date(now).getUTCFullYear() });
  const sym = symbol.toUpperCase();
  await sql.begin(async (tx) => {
    await tx`delete from analytics.probability_lookup where symbol = ${sym}`;
    for (let i = 0; i < rows.length; i += 5_000) {
      const batch = rows.slice(i, i + 5_000).map((r) => ({ ...r, symbol: sym }));
      await tx`insert into analytics.probability_lookup ${
        tx(
          batch as never,
          "symbol",
          "bucket",
          "ttc_minutes",
          "move_pct",
          "p_up",
          "p_down",
          "samples",
        )
      }`;
    }
  });
  return { candles: candles.length, rows: rows.length };
}
