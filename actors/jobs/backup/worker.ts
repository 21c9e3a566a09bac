/**
 * Worker entry of the `backup` job: wiring only.
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor } from "../_job.ts";
import { runBackup } from "./mod.ts";

runActor((ctx) => {
  const url = ctx.databaseUrl;
  if (!url) throw new Error("Cannot start backup: no database URL");
  const args = ctx.args as {
    dir?: string;
    pgBinDirs?: string[];
    keepDaily?: number;
    keepWeekly?: number;
  };
  if (!args.dir) throw new Error("Cannot start backup: no backup folder (args.dir)");
  const dir = args.dir;
  // Two connections: one holds the dump's snapshot while the other records the backup.
  const sql = createSql(url, { max: 2, applicationName: "recio-backup" });
  return createJobActor(ctx, {
    job: "backup",
    sql,
    work: async (signal) => {
      const r = await runBackup({
        sql,
        databaseUrl: url,
        dir,
        pgBinDirs: args.pgBinDirs ?? [],
        keepDaily: args.keepDaily ?? 7,
        keepWeekly: args.keepWeekly ?? 4,
        now: () => ctx.clock.now(),
        signal,
      });
      if (r.status === "ok") ctx.gauge("backup.size_bytes", Number(r.details.sizeBytes ?? 0));
      return r;
    },
  });
});
