/**
 * `deno task history:backfill -- --days N [--symbol BTC]`: fills
 * `historical_data.<symbol>_ohlc_1m` from Coinbase's public candles endpoint by hand, with the
 * `history_backfill` job's code ({@linkcode backfillHistory}): one day per request series,
 * paced under the public rate limit, resumable (complete days skipped, existing minutes
 * untouched). Command entry only: parses the arguments, checks the database, runs, reports.
 *
 * @module
 */
import { commandDatabaseConfig } from "../../../lib/cli.ts";
import { parseArgs } from "node:util";
import { connectWithRetry, describeTarget } from "../../../lib/db.ts";
import { schemaProblem } from "../../../lib/schema_check.ts";
import { backfillHistory } from "./mod.ts";

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
  const config = commandDatabaseConfig("history:backfill", "point it at the database to fill");
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
