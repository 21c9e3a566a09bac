/**
 * Worker entry of the `history_backfill` job: wiring only.
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor, takeRunId } from "../_job.ts";
import { parseActorArgs } from "../../../schema/actor_args.ts";
import { runHistoryBackfill } from "./mod.ts";

runActor((ctx) => {
  const { runId, args: raw } = takeRunId(ctx.args);
  const args = parseActorArgs("history_backfill", raw);
  if (!ctx.databaseUrl) throw new Error("Cannot start history_backfill: no database URL");
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "recio-history_backfill" });
  return createJobActor(ctx, {
    job: "history_backfill",
    runId,
    sql,
    work: async (signal) => {
      const outcome = await runHistoryBackfill({
        sql,
        symbols: args.symbols,
        days: args.days,
        restUrl: args.restUrl,
        now: ctx.clock.now(),
        pauseMs: args.pauseMs,
        signal,
      });
      ctx.count("candles.inserted", Number(outcome.details.inserted ?? 0));
      ctx.count("requests", Number(outcome.details.requests ?? 0));
      return outcome;
    },
  });
});
