/**
 * Worker entry of `system_monitor`: wiring only.
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { parseActorArgs } from "../../schema/actor_args.ts";
import { createSystemMonitor } from "./mod.ts";

runActor((ctx) => {
  const args = parseActorArgs("system_monitor", ctx.args);
  if (!ctx.databaseUrl) throw new Error("Cannot start system_monitor: no database URL");
  return createSystemMonitor(ctx, {
    sql: createSql(ctx.databaseUrl, { max: 2, applicationName: "recio-system_monitor" }),
    intervalMs: args.intervalMs,
    dataDir: args.dataDir,
  });
});
