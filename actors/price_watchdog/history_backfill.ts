/**
 * `deno task history:backfill -- --days N [--symbol BTC]`: fills
 * `historical_data.<symbol>_ohlc_1m` from Coinbase's public candles endpoint, one day per
 * request series (300 candles per request), paced under the public rate limit, resumable: a day
 * that already holds every finished minute is skipped, and inserts never touch existing minutes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { systemClock } from "../../lib/clock.ts";
import { loadConfig } from "../../lib/config.ts";
import { getLogger } from "../../lib/log.ts";
import { connectWithRetry, describeTarget, type Sql } from "../../lib/db.ts";
import { schemaProblem } from "../../lib/schema_check.ts";
import { fetchCandles } from "./candles.ts";
import { createPriceStore } from "./store.ts";

const DAY = 86_400_000;

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

/** Backfills `days` days; returns how many candles were new and how many days were skipped. */
export async function backfillHistory(
  sql: Sql,
  o: BackfillOptions,
): Promise<{ inserted: number; skippedDays: number; requests: number }> {
  const symbol = o.symbol.toUpperCase();
  const now = o.now ?? Date.now();
  const store = createPriceStore({
    sql,
    symbol: symbol.toLowerCase(),
    clock: systemClock,
    log: getLogger("history_backfill"),
    count: () => {},
    gauge: () => {},
    flushMs: 250,
    // Only insertCandles is used: the row buffer stays empty (the store wants it >= maxBatch).
    maxBatch: 1_000,
    bufferRows: 1_000,
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
    inserted += await store.insertCandles(r.candles);
    o.log?.(`${new Date(from).toISOString().slice(0, 10)}: ${r.candles.length} candles`);
    if (o.pauseMs) await new Promise((res) => setTimeout(res, o.pauseMs! * r.requests));
  }
  return { inserted, skippedDays, requests };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      days: { type: "string", default: "30" },
      symbol: { type: "string", default: "BTC" },
    },
  });
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    console.error("--days: expected a whole number of days between 1 and 3650");
    Deno.exit(2);
  }
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error("DATABASE_URL: not set (point it at the database to fill)");
    Deno.exit(2);
  }
  const sql = await connectWithRetry(config.databaseUrl, { timeoutMs: config.dbConnectTimeoutMs });
  const problem = await schemaProblem(sql, {
    command: "history:backfill",
    target: describeTarget(config.databaseUrl),
  });
  if (problem) {
    console.error(problem);
    await sql.end();
    Deno.exit(2);
  }
  const r = await backfillHistory(sql, {
    symbol: values.symbol!,
    days,
    restUrl: config.coinbase.restUrl ?? "https://api.exchange.coinbase.com",
    pauseMs: 150,
    log: (l) => console.log(l),
  });
  console.log(
    `${r.inserted} new candles, ${r.skippedDays} complete days skipped, ${r.requests} requests`,
  );
  await sql.end();
}
