/**
 * Worker entry of `price_watchdog`: wiring only (args, database pool, store, actor).
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { createPriceWatchdog, resolveArgs } from "./mod.ts";
import { createPriceStore } from "./store.ts";

runActor((ctx) => {
  const settings = resolveArgs(ctx.args);
  if (!ctx.databaseUrl) throw new Error("Cannot start price_watchdog: no database URL");
  const symbol = settings.symbol.toLowerCase();
  const url = ctx.databaseUrl;
  const store = createPriceStore({
    sql: createSql(url, { max: 2, applicationName: `recio-price_watchdog-${symbol}` }),
    // Backlogs drain through COPY on a connection of their own, with TCP_NODELAY.
    bulk: () =>
      createSql(url, {
        max: 1,
        noDelay: true,
        applicationName: `recio-price_watchdog-${symbol}-bulk`,
      }),
    symbol,
    clock: ctx.clock,
    log: ctx.log,
    count: ctx.count,
    gauge: ctx.gauge,
    flushMs: settings.flushMs,
    maxBatch: settings.maxBatch,
    bufferRows: settings.bufferRows,
    endSql: true,
    // Cluster mode: writes prove the lease; a fenced write steps down (a warm standby).
    lease: () => ctx.lease.current,
    fenced: (error) => ctx.lease.fenced(error),
  });
  return createPriceWatchdog(ctx, { settings, store });
});
