/**
 * Worker entry of the `history_backfill` job: wiring only.
 *
 * @module
 */
import { z } from "zod";
import { runActor } from "../../_runtime.ts";
import { createSql } from "../../../lib/db.ts";
import { createJobActor } from "../_job.ts";
import { runHistoryBackfill } from "./mod.ts";

const Args = z.object({
  symbols: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/)).min(1),
  days: z.number().int().min(1).max(3650),
  restUrl: z.string().url(),
  pauseMs: z.number().int().min(0).default(150),
}).strict();

runActor((ctx) => {
  if (!ctx.databaseUrl) throw new Error("Cannot start history_backfill: no database URL");
  const args = Args.parse(ctx.args);
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "recio-history_backfill" });
  return createJobActor(ctx, {
    job: "history_backfill",
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
