/**
 * `deno task model:build -- [--symbol BTC] [--years 5]`: builds the empirical model's lookup
 * table (`analytics.probability_lookup`) for one symbol from its 1-minute candles
 * ({@linkcode buildModel}) and prints the counts. Exit codes: 0 built, 1 the build failed (an
 * unknown symbol, a database error), 2 bad arguments, invalid configuration, no `DATABASE_URL` or
 * a database without the schema.
 *
 * @module
 */
import { buildModel } from "../actors/strike_coordinator/model_build.ts";
import { commandArgs, commandDatabase, commandDatabaseConfig, taskArgs } from "../lib/cli.ts";

async function main(args: string[]): Promise<number> {
  const values = commandArgs("model:build", {
    symbol: { type: "string", default: "BTC" },
    years: { type: "string", default: "5" },
  }, args);
  const years = Number(values.years);
  if (!Number.isFinite(years) || years <= 0 || years > 100) {
    console.error("--years: expected a number of years above 0 and at most 100");
    return 2;
  }
  const config = commandDatabaseConfig(
    "model:build",
    "point it at the database to build the model in",
  );
  const sql = await commandDatabase("model:build", config);
  try {
    const t0 = performance.now();
    const r = await buildModel(sql, values.symbol, { years });
    console.log(
      `${values.symbol}: ${r.candles} candles → ${r.rows} lookup rows in ${
        Math.round(performance.now() - t0)
      } ms`,
    );
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    await sql.end();
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
