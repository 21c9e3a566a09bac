/**
 * The demo's database before its first supervisor: refuses a database that is not the demo's
 * (checked before anything is written; see `schema/database_mode.ts`), migrates it, marks it
 * "demo", and pre-seeds the last 30 minutes of per-second BTC and ETH prices, so deltas and
 * momentum are populated at once (continuing from the newest rows when the demo is restarted).
 * Returns the prices the simulator starts from.
 *
 * @example
 * ```ts ignore
 * const prices = await prepareDemoDatabase(databaseUrl, { node: "demo" });
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { createSql, describeTarget, type Sql } from "../lib/db.ts";
import { checkDatabaseMode, markDatabaseMode } from "../schema/database_mode.ts";
import { migrate } from "../schema/migrate.ts";

/** The simulation's volatility: 60 % annualised, per √second. */
export const SIGMA_PER_SQRT_S = 0.6 / Math.sqrt(365 * 24 * 3600);

/** Where a new demo's prices start. */
export const START_PRICES = { BTC: 97_250, ETH: 3_410 } as const;

/** A standard normal draw (Box-Muller). */
export function normal(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Pre-seeds 30 minutes of per-second prices, or continues from the newest row; the last price. */
async function seed(sql: Sql, symbol: "BTC" | "ETH", now: number): Promise<number> {
  const table = `live_data.${symbol.toLowerCase()}_price_log`;
  const [last] = await sql`select "timestamp", price from ${sql(table)}
    order by "timestamp" desc limit 1`;
  if (last && now - (last.timestamp as Date).getTime() < 30 * 60_000) return Number(last.price);
  const prices: number[] = [START_PRICES[symbol]];
  for (let i = 1; i < 1800; i++) {
    prices.push(prices[i - 1]! * Math.exp(SIGMA_PER_SQRT_S * normal()));
  }
  prices.reverse(); // the walk ends at the start price
  const end = Math.floor(now / 1000) * 1000 - 1000;
  const rows = prices.map((p, i) => ({
    timestamp: new Date(end - (prices.length - 1 - i) * 1000),
    price: p.toFixed(2),
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await sql`insert into ${sql(table)} ${
      sql(rows.slice(i, i + 1000) as never, "timestamp", "price")
    }
      on conflict ("timestamp") do nothing`;
  }
  return Number(rows.at(-1)!.price);
}

/**
 * Checks that `databaseUrl` may hold demo data (a {@linkcode ConfigError} otherwise, with nothing
 * written), migrates and marks it, and seeds the price logs; resolves with the start prices.
 */
export async function prepareDemoDatabase(
  databaseUrl: string,
  options: { log?: Logger; now?: number } = {},
): Promise<{ BTC: number; ETH: number }> {
  const sql = createSql(databaseUrl, { max: 1, applicationName: "recio-demo-seed" });
  const target = describeTarget(databaseUrl);
  try {
    const found = await checkDatabaseMode(sql, "demo", target);
    await migrate(sql, options.log ? { log: options.log } : {});
    await markDatabaseMode(sql, "demo", found, {
      by: `deno task demo (pid ${Deno.pid})`,
      target,
      log: options.log,
    });
    const now = options.now ?? Date.now();
    return { BTC: await seed(sql, "BTC", now), ETH: await seed(sql, "ETH", now) };
  } finally {
    await sql.end({ timeout: 2 });
  }
}
