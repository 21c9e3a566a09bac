/**
 * Worker entry of the `retention` job: wiring only.
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor, takeRunId } from "../_job.ts";
import { parseActorArgs } from "../../../schema/actor_args.ts";
import { applyRetention } from "./mod.ts";

runActor((ctx) => {
  const { runId, args: raw } = takeRunId(ctx.args);
  const args = parseActorArgs("retention", raw);
  if (!ctx.databaseUrl) throw new Error("Cannot start retention: no database URL");
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "recio-retention" });
  return createJobActor(ctx, {
    job: "retention",
    runId,
    sql,
    work: async () => {
      const r = await applyRetention({
        sql,
        now: ctx.clock.now(),
        retentionMonths: args.retentionMonths,
      });
      ctx.count("partitions.dropped", r.dropped.length);
      for (const d of r.defaultExpired) {
        ctx.log.warn("{table} holds {rows} rows older than the retention cutoff {cutoff}", {
          table: d.table,
          rows: d.rows,
          cutoff: r.cutoff,
        });
      }
      return { status: "ok", details: { ...r } };
    },
  });
});
