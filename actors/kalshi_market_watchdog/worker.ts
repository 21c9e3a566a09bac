/**
 * Worker entry of `kalshi_market_watchdog`: wiring only (args, database pool, client, store).
 * Market data needs no credentials, so this worker never sees a key.
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { createMarketClient, createMarketWatchdog, resolveArgs } from "./mod.ts";
import { createMarketStore } from "./store.ts";

runActor((ctx) => {
  const settings = resolveArgs(ctx.args);
  if (!ctx.databaseUrl) throw new Error("Cannot start kalshi_market_watchdog: no database URL");
  const sql = createSql(ctx.databaseUrl, { max: 2, applicationName: "recio-kalshi_market" });
  const client = createMarketClient(settings, ctx);
  const actor = createMarketWatchdog(ctx, { settings, client, store: createMarketStore(sql) });
  return {
    ...actor,
    async stop() {
      await actor.stop();
      await sql.end({ timeout: 5 });
    },
  };
});
