/**
 * `history_backfill`: keeps `historical_data.<sym>_ohlc_1m` complete for the last `days` days of
 * every configured symbol, from Coinbase's public 1-minute candles (the same code as
 * `deno task history:backfill`). Resumable: a day that already holds every finished minute
 * costs no request, and existing minutes are never overwritten. A symbol that fails (no table,
 * the venue refusing) does not stop the others; the run is then `failed`, naming it.
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
import type { Sql } from "../../../lib/db.ts";
import { errorInfo } from "../../../lib/errors.ts";
import { redactText } from "../../../lib/log.ts";
import { backfillHistory } from "../../price_watchdog/history_backfill.ts";
import type { JobOutcome } from "../_job.ts";

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
