/**
 * The coordinator's SQL: it reads the price log, the Kalshi tables and the lookup table, and
 * replaces its symbol's strike table in one transaction, which also appends the same table to
 * `live_data.strike_table_history` (see `history.ts`). Numerics arrive as strings and are
 * converted once here.
 *
 * Both writes notify `recio_strike_table_<sym>` in their transaction (`lib/notify_channels.ts`), so
 * a listener hears of a table only once it is committed, and of none a fenced write refused.
 *
 * Its two writes take the coordinator's lease grant (cluster mode, `lib/fence.ts`): the publish
 * transaction proves it first, the stale flag in its one statement; a stale grant is refused with
 * SQLSTATE `RF001` and nothing is written (no table, no history). Without a grant nothing is
 * checked.
 *
 * @module
 */
import type { Sql } from "../../lib/db.ts";
import { fenceCondition, type LeaseGrant } from "../../lib/fence.ts";
import { strikeTableChannel } from "../../lib/notify_channels.ts";
import type { PricePoint } from "./closed_form.ts";
import type { LookupRow } from "./empirical.ts";
import { ageMs, type CycleInputs, type HistoryRow } from "./history.ts";
import type { MarketQuote } from "./strike_table.ts";

/** The newest price row. */
export interface LatestPrice {
  t: number;
  price: number;
  momentum: number | null;
  deltas: Record<string, number | null>;
}

/** The event the table is for. */
export interface EventInfo {
  eventTicker: string;
  title: string | null;
  strikeDate: number;
  status: string | null;
}

/** The markets of the event (by strike, then ticker) and when they were last observed. */
export interface EventMarkets {
  markets: MarketQuote[];
  observedAt: number | null;
}

/** The strike table header as stored. */
export interface Header {
  symbol: string;
  current_price: number;
  ttc_seconds: number;
  broker: string;
  event_ticker: string;
  market_title: string | null;
  strike_tier: number | null;
  market_status: string | null;
  momentum: number | null;
  deltas: Record<string, number | null>;
  model_mode: string;
  last_updated: Date;
}

/** The momentum deltas of a price row, as the header and the files carry them. */
export const DELTAS = [
  "delta_1m",
  "delta_2m",
  "delta_3m",
  "delta_4m",
  "delta_15m",
  "delta_30m",
] as const;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Builds the store for one symbol (`BTC` → `live_data.btc_price_log`, series `KXBTCD`). */
export function createCoordinatorStore(sql: Sql, symbol: string) {
  const lower = symbol.toLowerCase();
  if (!/^[a-z]{2,10}$/.test(lower)) throw new Error(`Cannot use symbol "${symbol}"`);
  const priceLog = sql(`live_data.${lower}_price_log`);
  const series = `KX${symbol.toUpperCase()}D`;
  const channel = strikeTableChannel(lower);
  return {
    async latestPrice(): Promise<LatestPrice | null> {
      const [r] = await sql`select * from ${priceLog} order by "timestamp" desc limit 1`;
      if (!r) return null;
      return {
        t: (r.timestamp as Date).getTime(),
        price: Number(r.price),
        momentum: num(r.momentum),
        deltas: Object.fromEntries(DELTAS.map((d) => [d, num(r[d])])),
      };
    },

    /** Prices from `sinceMs` on (only those after `afterMs` when given), oldest first. */
    async recentPrices(sinceMs: number, afterMs?: number): Promise<PricePoint[]> {
      const after = afterMs === undefined ? sql`` : sql`and "timestamp" > ${new Date(afterMs)}`;
      const rows = await sql`select "timestamp", price from ${priceLog}
        where "timestamp" >= ${new Date(sinceMs)} ${after} order by "timestamp"`;
      return rows.map((r) => ({ t: (r.timestamp as Date).getTime(), price: Number(r.price) }));
    },

    /** The first event of the series that has not reached its strike time. */
    async currentEvent(nowMs: number): Promise<EventInfo | null> {
      const [r] =
        await sql`select event_ticker, title, strike_date, status from live_data.kalshi_events
        where series_ticker = ${series} and strike_date > ${new Date(nowMs)}
        order by strike_date limit 1`;
      if (!r) return null;
      return {
        eventTicker: r.event_ticker,
        title: r.title,
        strikeDate: (r.strike_date as Date).getTime(),
        status: r.status,
      };
    },

    /** Ordered, so that everything taken from them (ties, the header's status) is repeatable. */
    async markets(eventTicker: string): Promise<EventMarkets> {
      const rows = await sql`select market_ticker, floor_strike, yes_ask, no_ask, yes_bid, no_bid,
          volume, status, close_time, observed_at from live_data.kalshi_market_state
        where event_ticker = ${eventTicker} and floor_strike is not null
        order by floor_strike, market_ticker`;
      let observedAt: number | null = null;
      for (const r of rows) {
        const t = (r.observed_at as Date).getTime();
        if (observedAt === null || t > observedAt) observedAt = t;
      }
      return {
        observedAt,
        markets: rows.map((r) => ({
          ticker: r.market_ticker,
          floorStrike: Number(r.floor_strike),
          yesAsk: num(r.yes_ask),
          noAsk: num(r.no_ask),
          volume: num(r.volume),
          status: r.status ?? null,
          yesBid: num(r.yes_bid),
          noBid: num(r.no_bid),
          closeTime: r.close_time === null ? null : (r.close_time as Date).getTime(),
        })),
      };
    },

    /**
     * Replaces the symbol's table and header and appends the same rows to the history (a cycle
     * at the same instant again replaces that cycle's history), in one transaction (under
     * `grant` when given).
     */
    async publish(
      header: Header,
      rows: HistoryRow[],
      inputs: CycleInputs,
      grant?: LeaseGrant,
    ): Promise<void> {
      // One pipelined batch: the statements go out together, in order, in one round trip; the
      // fence first, so a refused grant aborts the rest (postgres.js rethrows its RF001).
      await sql.begin((tx) => {
        const q = [];
        if (grant) q.push(tx`select ${fenceCondition(tx, grant)}`);
        q.push(tx`delete from live_data.strike_table_history
          where symbol = ${header.symbol} and cycle_at = ${header.last_updated}`);
        if (rows.length > 0) {
          q.push(tx`insert into live_data.strike_table_history ${
            tx(
              rows.map((r) => ({
                cycle_at: header.last_updated,
                symbol: header.symbol,
                strike: r.strike,
                ticker: r.ticker,
                event_ticker: header.event_ticker,
                probability: r.prob_yes,
                side_probability: r.probability,
                yes_ask: r.yes_ask,
                no_ask: r.no_ask,
                yes_bid: r.yes_bid,
                no_bid: r.no_bid,
                yes_diff: r.yes_diff,
                no_diff: r.no_diff,
                buffer: r.buffer,
                buffer_pct: r.buffer_pct,
                volume: r.volume,
                active_side: r.active_side,
                current_price: header.current_price,
                ttc_seconds: header.ttc_seconds,
                close_time: r.close_time,
                model_mode: header.model_mode,
                momentum: header.momentum,
                price_age_ms: ageMs(inputs.priceAgeMs),
                market_age_ms: ageMs(inputs.marketAgeMs),
                stale: false,
              })) as never,
            )
          }`);
        }
        q.push(tx`delete from live_data.strike_table where symbol = ${header.symbol}`);
        if (rows.length > 0) {
          q.push(tx`insert into live_data.strike_table ${
            tx(
              rows.map((r) => ({
                ...r,
                symbol: header.symbol,
                event_ticker: header.event_ticker,
              })) as never,
              "symbol",
              "strike",
              "buffer",
              "buffer_pct",
              "probability",
              "yes_ask",
              "no_ask",
              "yes_diff",
              "no_diff",
              "volume",
              "ticker",
              "active_side",
              "event_ticker",
            )
          }`);
        }
        q.push(tx`insert into live_data.strike_table_header ${
          tx(
            {
              ...header,
              deltas: tx.json(header.deltas as never),
              stale: false,
              stale_reason: null,
            } as never,
          )
        }
          on conflict (symbol) do update set current_price = excluded.current_price,
            ttc_seconds = excluded.ttc_seconds, broker = excluded.broker,
            event_ticker = excluded.event_ticker, market_title = excluded.market_title,
            strike_tier = excluded.strike_tier, market_status = excluded.market_status,
            momentum = excluded.momentum, deltas = excluded.deltas,
            model_mode = excluded.model_mode, stale = false, stale_reason = null,
            last_updated = excluded.last_updated`);
        q.push(
          tx`select pg_notify(${channel}, ${
            JSON.stringify({ symbol: lower, cycleAt: header.last_updated.toISOString() })
          })`,
        );
        return q;
      });
    },

    /**
     * Flags the table stale (the rows stay as last published; under `grant` when given) and
     * notifies it with `"stale": true` and `at` (default: the database's now), in one statement.
     */
    async markStale(reason: string, grant?: LeaseGrant, at?: Date): Promise<void> {
      await sql`with flagged as (
          insert into live_data.strike_table_header (symbol, stale, stale_reason)
          select ${symbol.toUpperCase()}::text, true, ${reason}::text
          where ${fenceCondition(sql, grant)}
          on conflict (symbol) do update set stale = true, stale_reason = excluded.stale_reason
          returning 1)
        select pg_notify(${channel}, json_build_object('symbol', ${lower}::text,
          'cycleAt', to_json(coalesce(${at ?? null}::timestamptz, now())) #>> '{}',
          'stale', true)::text) from flagged`;
    },

    async lookupRows(): Promise<LookupRow[]> {
      const rows = await sql`select bucket, ttc_minutes, move_pct, p_up, p_down, samples
        from analytics.probability_lookup where symbol = ${symbol.toUpperCase()}`;
      return rows.map((r) => ({
        bucket: r.bucket,
        ttc_minutes: Number(r.ttc_minutes),
        move_pct: Number(r.move_pct),
        p_up: Number(r.p_up),
        p_down: Number(r.p_down),
        samples: Number(r.samples),
      }));
    },
  };
}

/** The store's type. */
export type CoordinatorStore = ReturnType<typeof createCoordinatorStore>;
