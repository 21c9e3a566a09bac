/**
 * `history_backfill`: keeps `historical_data.<sym>_ohlc_1m` complete for the last `days` days of
 * every configured symbol, from Coinbase's public 1-minute candles (the same code as
 * `deno task history:backfill`, `main.ts` here), one day per request series (300 candles per
 * request), paced under the public rate limit. Resumable: a day that already holds every finished
 * minute costs no request, and existing minutes are never overwritten (the candle client and
 * store are the price watchdog's, in `lib/`). A symbol that fails (no table, the venue refusing)
 * does not stop the others; the run is then `failed`, naming it.
 *
 * @example
 * ```ts ignore
 * const outcome = await runHistoryBackfill({
 *   sql,
 *   symbols: ["BTC", "ETH"],
 *   days: 2,
 *   restUrl: "https://api.exchange.coinbase.com",
 *   now: Date.now(),
 * });
 * console.log(outcome.details.inserted);
 * ```
 *
 * @module
 */
import { createCandleStore } from "../../../lib/candle_store.ts";
import { systemClock } from "../../../lib/clock.ts";
import { fetchCandles } from "../../../lib/coinbase/candles.ts";
import type { Sql } from "../../../lib/db.ts";
import { errorInfo } from "../../../lib/errors.ts";
import { getLogger, RateLimitedLog, redactText } from "../../../lib/log.ts";
import { sleep } from "../../../lib/sleep.ts";
import type { JobOutcome } from "../_job.ts";

const DAY = 86_400_000;

/** Options of {@linkcode backfillHistory}. */
export interface BackfillOptions {
  symbol: string;
  days: number;
  restUrl: string;
  now?: number;
  /** Pause between requests (public endpoints allow about 10/s). */
  pauseMs?: number;
  fetch?: typeof fetch;
  /** Stops between requests (the job's stop request). */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Backfills `days` days of one symbol; returns how many candles were new and days skipped. */
export async function backfillHistory(
  sql: Sql,
  o: BackfillOptions,
): Promise<{ inserted: number; skippedDays: number; requests: number }> {
  const symbol = o.symbol.toUpperCase();
  const now = o.now ?? Date.now();
  const candles = createCandleStore({
    sql,
    symbol: symbol.toLowerCase(),
    warn: new RateLimitedLog(getLogger("history_backfill"), {
      perWindow: 3,
      windowMs: 60_000,
      now: () => systemClock.now(),
    }),
  });
  const table = sql(`historical_data.${symbol.toLowerCase()}_ohlc_1m`);
  let inserted = 0;
  let skippedDays = 0;
  let requests = 0;
  const end = Math.floor(now / 60_000) * 60_000;
  for (let from = end - o.days * DAY; from < end; from += DAY) {
    o.signal?.throwIfAborted();
    const to = Math.min(end - 60_000, from + DAY - 60_000);
    const expected = Math.floor((to - from) / 60_000) + 1;
    const [{ n }] = await sql`select count(*)::int as n from ${table}
      where "timestamp" between ${new Date(from)} and ${new Date(to)}` as unknown as [
      { n: number },
    ];
    if (n >= expected) {
      skippedDays++;
      continue;
    }
    const r = await fetchCandles(
      { restUrl: o.restUrl, productId: `${symbol}-USD`, now, fetch: o.fetch, signal: o.signal },
      from,
      to,
    );
    requests += r.requests;
    inserted += await candles.insert(r.candles);
    o.log?.(`${new Date(from).toISOString().slice(0, 10)}: ${r.candles.length} candles`);
    // A stop ends the pause at once (and the backfill with the signal's reason).
    if (o.pauseMs) await sleep(o.pauseMs * r.requests, { signal: o.signal });
  }
  return { inserted, skippedDays, requests };
}

/** Options of {@linkcode runHistoryBackfill}. */
export interface HistoryBackfillOptions {
  sql: Sql;
  symbols: readonly string[];
  days: number;
  restUrl: string;
  /** Epoch ms; only minutes finished by then are filled. */
  now: number;
  /** Pause per request (Coinbase's public endpoints allow about 10 per second). */
  pauseMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** What one symbol's backfill did. */
export interface SymbolBackfill {
  inserted: number;
  skippedDays: number;
  requests: number;
  error?: string;
}

/** Backfills every symbol in turn; `failed` when any symbol failed (the others still ran). */
export async function runHistoryBackfill(o: HistoryBackfillOptions): Promise<JobOutcome> {
  const symbols: Record<string, SymbolBackfill> = {};
  const failed: string[] = [];
  for (const raw of o.symbols) {
    const symbol = raw.trim().toUpperCase();
    try {
      symbols[symbol] = await backfillHistory(o.sql, {
        symbol,
        days: o.days,
        restUrl: o.restUrl,
        now: o.now,
        pauseMs: o.pauseMs,
        fetch: o.fetch,
        signal: o.signal,
      });
    } catch (e) {
      // A stop is not a symbol's failure: let the job runner see it.
      if (o.signal?.aborted) throw e;
      const info = errorInfo(e);
      const error = redactText(`${info.name}: ${info.message}`);
      symbols[symbol] = { inserted: 0, skippedDays: 0, requests: 0, error };
      failed.push(`${symbol}: ${error}`);
    }
  }
  const sum = (k: "inserted" | "requests") => Object.values(symbols).reduce((n, s) => n + s[k], 0);
  const details = {
    days: o.days,
    inserted: sum("inserted"),
    requests: sum("requests"),
    symbols,
  };
  return failed.length > 0
    ? { status: "failed", error: `Cannot backfill ${failed.join("; ")}`, details }
    : { status: "ok", details };
}
