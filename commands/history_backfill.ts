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
import { parseArgs } from "node:util";
import { commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { connectWithRetry, describeTarget } from "../lib/db.ts";
import { schemaProblem } from "../lib/schema_check.ts";
import { backfillHistory } from "../actors/jobs/history_backfill/mod.ts";

async function main(args: string[]): Promise<number> {
  let values: { days?: string; symbol?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        days: { type: "string", default: "30" },
        symbol: { type: "string", default: "BTC" },
      },
    }));
  } catch (e) {
    console.error(`Cannot run history:backfill: ${(e as Error).message}`);
    return 2;
  }
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    console.error("--days: expected a whole number of days between 1 and 3650");
    return 2;
  }
  const config = commandDatabaseConfig("history:backfill", "point it at the database to fill");
  const sql = await connectWithRetry(config.databaseUrl, { timeoutMs: config.dbConnectTimeoutMs });
  try {
    const problem = await schemaProblem(sql, {
      command: "history:backfill",
      target: describeTarget(config.databaseUrl),
    });
    if (problem) {
      console.error(problem);
      return 2;
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
    return 0;
  } finally {
    await sql.end();
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
