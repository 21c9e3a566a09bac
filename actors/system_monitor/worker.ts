/**
 * Worker entry of `system_monitor`: wiring only.
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { createSystemMonitor } from "./mod.ts";

runActor((ctx) => {
  if (!ctx.databaseUrl) throw new Error("Cannot start system_monitor: no database URL");
  const args = ctx.args as { intervalMs?: number; dataDir?: string };
  return createSystemMonitor(ctx, {
    sql: createSql(ctx.databaseUrl, { max: 2, applicationName: "recio-system_monitor" }),
    intervalMs: args.intervalMs ?? 15_000,
    dataDir: args.dataDir ?? ".",
  });
});
