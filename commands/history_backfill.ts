/**
 * `deno task history:backfill -- --days N [--symbol BTC]`: fills
 * `historical_data.<symbol>_ohlc_1m` from Coinbase's public candles endpoint by hand, with the
 * `history_backfill` job's code ({@linkcode backfillHistory}): one day per request series,
 * paced under the public rate limit, resumable (complete days skipped, existing minutes
 * untouched). Command entry only: parses the arguments, checks the database, runs, reports.
 * Exit codes: 0 done, 2 bad arguments, invalid configuration, no `DATABASE_URL` or a database
 * without the schema.
 *
 * @module
 */
import { commandArgs, commandDatabase, commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { backfillHistory } from "../actors/jobs/history_backfill/mod.ts";

async function main(args: string[]): Promise<number> {
  const values = commandArgs("history:backfill", {
    days: { type: "string", default: "30" },
    symbol: { type: "string", default: "BTC" },
  }, args);
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    console.error("--days: expected a whole number of days between 1 and 3650");
    return 2;
  }
  const config = commandDatabaseConfig("history:backfill", "point it at the database to fill");
  const sql = await commandDatabase("history:backfill", config);
  try {
    const r = await backfillHistory(sql, {
      symbol: values.symbol,
      days,
      restUrl: config.coinbase.restUrl ?? "https://api.exchange.coinbase.com",
      pauseMs: 150,
      log: (l) => console.log(l),
    });
    console.log(
      `${r.inserted} new candles, ${r.skippedDays} complete days skipped, ${r.requests} requests`,
    );
    return 0;
  } finally {
    await sql.end();
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
