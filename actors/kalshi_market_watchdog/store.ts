/**
 * SQL of `kalshi_market_watchdog`: one transaction per snapshot upserts the event
 * (`live_data.kalshi_events`), appends a `live_data.kalshi_market_history` row for each market
 * whose quote (status, bids, asks, last price) differs from its stored state, and upserts
 * `live_data.kalshi_market_state`. The change test runs in SQL against the stored state, so a
 * restarted watchdog does not append duplicates.
 *
 * A snapshot PostgreSQL refuses for its data (a price beyond numeric(10, 4), a time it cannot
 * store) is written again in one transaction with the event and each part of the markets in a
 * savepoint, halved down to the markets it refuses (`lib/bad_rows.ts`). What "dropping the bad
 * row" means here: a refused market is left out of this snapshot whole (neither its history row
 * nor its state is written, so its stored state stays its last good one and the change test
 * stays true), and the rest of the snapshot commits; a refused event row is left as stored and
 * its markets are still written. Refusals come back in {@linkcode WriteResult.refused} for the
 * actor to count and log. This path runs only after such a refusal.
 *
 * Market results (`live_data.kalshi_market_results`, `results.ts`): one statement upserts the
 * results of a snapshot's settled markets, changing a stored row only when Kalshi's values differ
 * (a repeated poll changes nothing, `recorded_at` included); a result PostgreSQL refuses is left
 * out alone (halved down to it, as above) and reported. It also reads which followed events still
 * have a market without a result (the events the watchdog keeps polling after they left the
 * current and next hour).
 *
 * Each snapshot transaction notifies `recio_market_snapshot` (`lib/notify_channels.ts`: event,
 * series, observation time, markets written), so a listener hears of it once it is committed.
 *
 * Fencing (cluster mode, `lib/fence.ts`): given a lease grant, each of these transactions proves
 * it first (the results statement in its WHERE clause), so a watchdog whose lease moved commits
 * nothing (SQLSTATE `RF001`, thrown to the actor); without one nothing is checked.
 *
 * @module
 */
import { isDataError, rejectionReason, writeSplitting } from "../../lib/bad_rows.ts";
import type { Sql } from "../../lib/db.ts";
import { fence, fenceCondition, type LeaseGrant } from "../../lib/fence.ts";
import { MARKET_SNAPSHOT_CHANNEL } from "../../lib/notify_channels.ts";
import type { MarketResult } from "./results.ts";
import type { EventSnapshot } from "./snapshot.ts";

/** A row PostgreSQL refused for its data, left out of the write. */
export interface RefusedRow {
  /** `market <ticker>` or `event <ticker>`. */
  what: string;
  /** SQLSTATE and message. */
  reason: string;
}

/** What one write did. */
export interface WriteResult {
  /** Markets written. */
  markets: number;
  historyRows: number;
  /** Rows PostgreSQL refused, left out (empty when the snapshot was written whole). */
  refused: RefusedRow[];
}

/** The watchdog's store. */
export interface MarketStore {
  /** Writes one snapshot; under `grant` when given (refused with `RF001` when it is stale). */
  writeSnapshot(
    snapshot: EventSnapshot,
    observedAt: Date,
    symbol: string,
    grant?: LeaseGrant,
  ): Promise<WriteResult>;
  /**
   * Upserts final results observed at `recordedAt` (under `grant` when given); resolves to the
   * rows inserted or changed and the results PostgreSQL refused (left out).
   */
  writeResults(
    results: readonly MarketResult[],
    recordedAt: Date,
    grant?: LeaseGrant,
  ): Promise<{ recorded: number; refused: RefusedRow[] }>;
  /**
   * The events of `series` with a strike date after `since` (not in `except`) that have a market
   * without a recorded result, oldest first.
   */
  unsettledEvents(
    series: readonly string[],
    since: Date,
    except: readonly string[],
  ): Promise<{ eventTicker: string; seriesTicker: string; strikeDate: Date }[]>;
}

/** Creates the store. */
export function createMarketStore(sql: Sql): MarketStore {
  return {
    ...resultsStore(sql),
    async writeSnapshot(snapshot, observedAt, symbol, grant) {
      const rows = snapshot.markets.map((m) => ({
        market_ticker: m.ticker,
        event_ticker: snapshot.eventTicker,
        series_ticker: snapshot.seriesTicker,
        symbol,
        strike_type: m.strikeType,
        floor_strike: m.floorStrike,
        cap_strike: m.capStrike,
        status: m.status,
        yes_bid: m.yesBid,
        yes_ask: m.yesAsk,
        no_bid: m.noBid,
        no_ask: m.noAsk,
        last_price: m.lastPrice,
        volume: m.volume,
        volume_24h: m.volume24h,
        open_interest: m.openInterest,
        liquidity: m.liquidity,
        close_time: m.closeTime,
        expected_expiration_time: m.expectedExpirationTime,
        title: m.title,
        subtitle: m.subtitle,
      }));
      type Row = (typeof rows)[number];

      const upsertEvent = (tx: Sql) =>
        tx`insert into live_data.kalshi_events (event_ticker, series_ticker, symbol, title,
            sub_title, strike_date, status, raw, updated_at)
          values (${snapshot.eventTicker}, ${snapshot.seriesTicker}, ${symbol}, ${snapshot.title},
            ${snapshot.subTitle}, ${snapshot.strikeDate}, ${eventStatus(snapshot)},
            ${JSON.stringify(snapshot.raw)}::text::jsonb, now())
          on conflict (event_ticker) do update set series_ticker = excluded.series_ticker,
            symbol = excluded.symbol, title = excluded.title, sub_title = excluded.sub_title,
            strike_date = excluded.strike_date, status = excluded.status, raw = excluded.raw,
            updated_at = excluded.updated_at`;

      /** History rows and state of `part`, in that order (the change test reads the old state). */
      async function writeMarkets(tx: Sql, part: readonly Row[]): Promise<number> {
        const json = JSON.stringify(part);
        const history = await tx`
          with v as (
            select * from jsonb_to_recordset(${json}::text::jsonb) as x(market_ticker text,
              event_ticker text, status text, yes_bid numeric(10, 4), yes_ask numeric(10, 4),
              no_bid numeric(10, 4), no_ask numeric(10, 4), last_price numeric(10, 4),
              volume numeric, open_interest numeric)
          )
          insert into live_data.kalshi_market_history (market_ticker, event_ticker, observed_at,
            status, yes_bid, yes_ask, no_bid, no_ask, last_price, volume, open_interest)
          select v.market_ticker, v.event_ticker, ${observedAt}, v.status, v.yes_bid, v.yes_ask,
            v.no_bid, v.no_ask, v.last_price, v.volume, v.open_interest
          from v left join live_data.kalshi_market_state s using (market_ticker)
          where s.market_ticker is null
            or (s.status, s.yes_bid, s.yes_ask, s.no_bid, s.no_ask, s.last_price)
              is distinct from (v.status, v.yes_bid, v.yes_ask, v.no_bid, v.no_ask, v.last_price)
          on conflict (market_ticker, observed_at) do nothing`;
        await tx`insert into live_data.kalshi_market_state (market_ticker, event_ticker,
            series_ticker, symbol, strike_type, floor_strike, cap_strike, status, yes_bid, yes_ask,
            no_bid, no_ask, last_price, volume, volume_24h, open_interest, liquidity, close_time,
            expected_expiration_time, title, subtitle, observed_at, updated_at)
          select *, ${observedAt}::timestamptz, now() from jsonb_to_recordset(${json}::text::jsonb)
            as x(market_ticker text, event_ticker text, series_ticker text, symbol text,
              strike_type text, floor_strike numeric, cap_strike numeric, status text,
              yes_bid numeric, yes_ask numeric, no_bid numeric, no_ask numeric,
              last_price numeric, volume numeric, volume_24h numeric, open_interest numeric,
              liquidity numeric, close_time timestamptz, expected_expiration_time timestamptz,
              title text, subtitle text)
          on conflict (market_ticker) do update set event_ticker = excluded.event_ticker,
            series_ticker = excluded.series_ticker, symbol = excluded.symbol,
            strike_type = excluded.strike_type, floor_strike = excluded.floor_strike,
            cap_strike = excluded.cap_strike, status = excluded.status,
            yes_bid = excluded.yes_bid, yes_ask = excluded.yes_ask, no_bid = excluded.no_bid,
            no_ask = excluded.no_ask, last_price = excluded.last_price, volume = excluded.volume,
            volume_24h = excluded.volume_24h, open_interest = excluded.open_interest,
            liquidity = excluded.liquidity, close_time = excluded.close_time,
            expected_expiration_time = excluded.expected_expiration_time,
            title = excluded.title, subtitle = excluded.subtitle,
            observed_at = excluded.observed_at, updated_at = excluded.updated_at`;
        return history.count;
      }

      /** Announces the snapshot to listeners (delivered only if the transaction commits). */
      const notify = (tx: Sql, markets: number) =>
        tx`select pg_notify(${MARKET_SNAPSHOT_CHANNEL}, ${
          JSON.stringify({
            event: snapshot.eventTicker,
            series: snapshot.seriesTicker,
            observedAt: observedAt.toISOString(),
            markets,
          })
        })`;

      try {
        // The common case: the whole snapshot, three statements, one transaction.
        return await sql.begin(async (tx) => {
          await fence(tx, grant);
          await upsertEvent(tx as unknown as Sql);
          const historyRows = await writeMarkets(tx as unknown as Sql, rows);
          await notify(tx as unknown as Sql, rows.length);
          return { markets: rows.length, historyRows, refused: [] };
        });
      } catch (error) {
        if (!isDataError(error)) throw error;
      }
      return await sql.begin(async (tx) => {
        await fence(tx, grant);
        const refused: RefusedRow[] = [];
        let markets = 0;
        let historyRows = 0;
        const inSavepoint = <T>(write: (q: Sql) => Promise<T>) =>
          tx.savepoint((sp) => write(sp as unknown as Sql)) as Promise<T>;
        await writeSplitting([snapshot.eventTicker], {
          write: () => inSavepoint(upsertEvent).then(() => {}),
          onReject: (ticker, e) =>
            refused.push({ what: `event ${ticker}`, reason: rejectionReason(e) }),
        });
        await writeSplitting(rows, {
          write: async (part) => {
            historyRows += await inSavepoint((q) => writeMarkets(q, part));
            markets += part.length;
          },
          onReject: (row, e) =>
            refused.push({ what: `market ${row.market_ticker}`, reason: rejectionReason(e) }),
        });
        await notify(tx as unknown as Sql, markets);
        return { markets, historyRows, refused };
      });
    },
  };
}

/** The results part of the store (see {@linkcode MarketStore.writeResults}). */
function resultsStore(sql: Sql): Pick<MarketStore, "writeResults" | "unsettledEvents"> {
  return {
    async writeResults(results, recordedAt, grant) {
      let recorded = 0;
      const refused: RefusedRow[] = [];
      await writeSplitting(results, {
        write: async (part) => {
          const json = JSON.stringify(part.map((r) => ({
            ticker: r.ticker,
            event_ticker: r.eventTicker,
            strike: r.strike,
            result: r.result,
            settlement_value_dollars: r.settlementValueDollars,
            close_time: r.closeTime,
            settled_at: r.settledAt,
          })));
          const written = await sql`
            insert into live_data.kalshi_market_results as r (ticker, event_ticker, strike, result,
              settlement_value_dollars, close_time, settled_at, recorded_at)
            select x.*, ${recordedAt}::timestamptz from jsonb_to_recordset(${json}::text::jsonb)
              as x(ticker text, event_ticker text, strike numeric, result text,
                settlement_value_dollars numeric, close_time timestamptz, settled_at timestamptz)
            where ${fenceCondition(sql, grant)}
            on conflict (ticker) do update set event_ticker = excluded.event_ticker,
              strike = excluded.strike, result = excluded.result,
              settlement_value_dollars = excluded.settlement_value_dollars,
              close_time = excluded.close_time, settled_at = excluded.settled_at,
              recorded_at = excluded.recorded_at
            where (r.event_ticker, r.strike, r.result, r.settlement_value_dollars, r.close_time,
                r.settled_at)
              is distinct from (excluded.event_ticker, excluded.strike, excluded.result,
                excluded.settlement_value_dollars, excluded.close_time, excluded.settled_at)`;
          recorded += written.count;
        },
        onReject: (r, e) =>
          refused.push({ what: `result of market ${r.ticker}`, reason: rejectionReason(e) }),
      });
      return { recorded, refused };
    },

    async unsettledEvents(series, since, except) {
      const rows = await sql<{ event_ticker: string; series_ticker: string; strike_date: Date }[]>`
        select e.event_ticker, e.series_ticker, e.strike_date from live_data.kalshi_events e
        where e.series_ticker = any(${series as string[]}::text[]) and e.strike_date > ${since}
          and e.event_ticker <> all(${except as string[]}::text[])
          and exists (select 1 from live_data.kalshi_market_state s
            where s.event_ticker = e.event_ticker and not exists (
              select 1 from live_data.kalshi_market_results r where r.ticker = s.market_ticker))
        order by e.strike_date, e.event_ticker`;
      return rows.map((r) => ({
        eventTicker: r.event_ticker,
        seriesTicker: r.series_ticker,
        strikeDate: r.strike_date,
      }));
    },
  };
}

/** An event is open while any of its markets is active. */
function eventStatus(snapshot: EventSnapshot): string {
  return snapshot.markets.some((m) => m.status === "active") ? "open" : "closed";
}
