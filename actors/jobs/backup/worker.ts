/**
 * Worker entry of the `backup` job: wiring only.
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor, takeRunId } from "../_job.ts";
import { parseActorArgs } from "../../../schema/actor_args.ts";
import { runBackup } from "./mod.ts";

runActor((ctx) => {
  const { runId, args: raw } = takeRunId(ctx.args);
  const args = parseActorArgs("backup", raw);
  const url = ctx.databaseUrl;
  if (!url) throw new Error("Cannot start backup: no database URL");
  // Two connections: one holds the dump's snapshot while the other records the backup.
  const sql = createSql(url, { max: 2, applicationName: "recio-backup" });
  return createJobActor(ctx, {
    job: "backup",
    runId,
    sql,
    work: async (signal) => {
      const r = await runBackup({
        sql,
        databaseUrl: url,
        dir: args.dir,
        pgBinDirs: args.pgBinDirs,
        keepDaily: args.keepDaily,
        keepWeekly: args.keepWeekly,
        now: () => ctx.clock.now(),
        signal,
      });
      if (r.status === "ok") ctx.gauge("backup.size_bytes", Number(r.details.sizeBytes ?? 0));
      return r;
    },
  });
});
