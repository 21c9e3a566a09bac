/**
 * Worker entry of the `partition_maintenance` job: wiring only.
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor, takeRunId } from "../_job.ts";
import { parseActorArgs } from "../../../schema/actor_args.ts";
import { maintainPartitions } from "./mod.ts";

runActor((ctx) => {
  const { runId, args: raw } = takeRunId(ctx.args);
  const args = parseActorArgs("partition_maintenance", raw);
  if (!ctx.databaseUrl) throw new Error("Cannot start partition_maintenance: no database URL");
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "recio-partitions" });
  return createJobActor(ctx, {
    job: "partition_maintenance",
    runId,
    sql,
    work: async () => {
      const r = await maintainPartitions({
        sql,
        now: ctx.clock.now(),
        monthsAhead: args.monthsAhead,
        retentionMonths: args.retentionMonths,
      });
      ctx.count("partitions.created", r.created);
      return { status: "ok", details: { ...r } };
    },
  });
});
