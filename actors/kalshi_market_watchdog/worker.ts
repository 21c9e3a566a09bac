/**
 * Worker entry of `kalshi_market_watchdog`: wiring only (args, database pool, client, store).
 * Market data needs no credentials, so this worker never sees a key.
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { KalshiClient } from "../../lib/kalshi/client.ts";
import { createMarketWatchdog, resolveArgs } from "./mod.ts";
import { createMarketStore } from "./store.ts";

runActor((ctx) => {
  if (!ctx.databaseUrl) throw new Error("Cannot start kalshi_market_watchdog: no database URL");
  const settings = resolveArgs(ctx.args);
  const sql = createSql(ctx.databaseUrl, { max: 2, applicationName: "recio-kalshi_market" });
  const client = new KalshiClient({
    baseUrl: settings.baseUrl,
    clock: ctx.clock,
    timeoutMs: settings.timeoutMs,
    readPerSecond: settings.readPerSecond,
    retry: { maxAttempts: 2, maxMs: Math.max(1_000, settings.pollMs) },
    onRetry: (i) => ctx.count(`retries.${i.status ?? "network"}`),
  });
  const actor = createMarketWatchdog(ctx, { settings, client, store: createMarketStore(sql) });
  return {
    ...actor,
    async stop() {
      await actor.stop();
      await sql.end({ timeout: 5 });
    },
  };
});
