/**
 * The one writer of `historical_data.<sym>_ohlc_1m`, shared by the price watchdog (gap backfill)
 * and the `history_backfill` job: inserts 1-minute candles, existing minutes untouched. A candle
 * whose minute timestamptz cannot store is refused (`rejected.unstorable_candle`); one that
 * PostgreSQL refuses for its data (a volume beyond numeric(20, 8)) is split out of its batch in
 * savepoints (`lib/bad_rows.ts`), dropped alone, counted (`candles.rejected`) and logged. A
 * leased writer (the price watchdog in cluster mode) passes `grant`: each insert is then its own
 * transaction that proves the grant first (`lib/fence.ts`), and a stale one rejects with RF001.
 *
 * @example
 * ```ts ignore
 * const candles = createCandleStore({ sql, symbol: "btc", count: ctx.count, warn });
 * const inserted = await candles.insert([
 *   { startMs, open: "1.5", high: "2", low: "1", close: "1.75", volume: "10" },
 * ]);
 * ```
 *
 * @module
 */
import type { Sql } from "./db.ts";
import type { RateLimitedLog } from "./log.ts";
import { rejectionReason, writeSplitting } from "./bad_rows.ts";
import { fencedBegin, type LeaseGrant } from "./fence.ts";

/** A 1-minute candle (prices as decimal strings). */
export interface CandleRow {
  startMs: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** Options of {@linkcode createCandleStore}. */
export interface CandleStoreOptions {
  sql: Sql;
  /** Lower-case symbol, e.g. `btc` (names the table). */
  symbol: string;
  /** Counter sink (`ctx.count`); without one nothing is counted (refusals are still logged). */
  count?(name: string, n?: number): void;
  /** Where refusals are logged (the caller's rate-limited log). */
  warn: RateLimitedLog;
  /** The grant each insert proves (undefined, or no getter: not leased, nothing checked). */
  grant?: () => LeaseGrant | undefined;
}

/** The candle table of one symbol. */
export interface CandleStore {
  /** Writes candles, existing minutes untouched; returns how many were new. */
  insert(candles: readonly CandleRow[]): Promise<number>;
}

const SYMBOL = /^[a-z][a-z0-9]{0,15}$/;
const YEAR_2000 = Date.UTC(2000, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);

/** Builds the candle store of one symbol. */
export function createCandleStore(o: CandleStoreOptions): CandleStore {
  if (!SYMBOL.test(o.symbol)) {
    throw new Error(`Cannot open the candle store: symbol "${o.symbol}" is not [a-z][a-z0-9]*`);
  }
  const sql = o.sql;
  const ohlc = sql(`historical_data.${o.symbol}_ohlc_1m`);
  return {
    async insert(candles) {
      const values = [];
      for (const c of candles) {
        if (
          !(Number.isSafeInteger(c.startMs) && c.startMs >= YEAR_2000 && c.startMs < YEAR_10000)
        ) {
          o.count?.("rejected.unstorable_candle");
          continue;
        }
        values.push({
          timestamp: new Date(c.startMs),
          open: c.open,
          high: c.high,
          low: c.low,
          close: c.close,
          volume: c.volume,
        });
      }
      let inserted = 0;
      await writeSplitting(values, {
        write: async (part) => {
          const grant = o.grant?.();
          const insert = (q: Sql) =>
            q`insert into ${ohlc} ${q(part)} on conflict ("timestamp") do nothing`;
          const result = grant === undefined
            ? await insert(sql)
            : await fencedBegin(sql, grant, (tx) => insert(tx as unknown as Sql));
          inserted += result.count;
        },
        onReject: (c, error) => {
          o.count?.("candles.rejected");
          o.warn.warn("refused", "Candle of {symbol} at {minute} refused by PostgreSQL: {reason}", {
            symbol: o.symbol,
            minute: c.timestamp.toISOString(),
            reason: rejectionReason(error),
          });
        },
      });
      return inserted;
    },
  };
}
