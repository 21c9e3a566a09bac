/**
 * Worker entry of `kalshi_historical_ingest` as a transient child: runs one backfill, records it
 * in its run of `system.job_runs` (job `kalshi_historical_ingest:<user>`, the `runId` the
 * scheduler passed, as the other scheduled jobs do) and finishes. A refused key is reported as degraded, the run is `failed` and the job ends
 * (restarting cannot fix it); any other failure is recorded, then crashes the job so the
 * supervisor's policy retries it (it resumes).
 *
 * @module
 */
import { runActor } from "../../_runtime.ts";
import { type JobOutcome, openJobRun, takeRunId } from "../_job.ts";
import { createSql } from "../../../lib/db.ts";
import { errorInfo } from "../../../lib/errors.ts";
import { redactText } from "../../../lib/log.ts";
import { createAccountStore } from "../../../lib/kalshi/account_store.ts";
import { KalshiClient } from "../../../lib/kalshi/client.ts";
import { KalshiAuthError } from "../../../lib/kalshi/errors.ts";
import { signerFromFile } from "../../../lib/kalshi/signer.ts";
import { parseActorArgs } from "../../../schema/actor_args.ts";
import { runBackfill } from "./mod.ts";

runActor(async (ctx) => {
  const { runId, args: raw } = takeRunId(ctx.args);
  const args = parseActorArgs("kalshi_historical_ingest", raw);
  if (!ctx.databaseUrl) throw new Error("Cannot start kalshi_historical_ingest: no database URL");
  const signer = await signerFromFile(args.keyId, args.keyPath);
  const sql = createSql(ctx.databaseUrl, { max: 2, applicationName: "recio-kalshi_backfill" });
  const client = new KalshiClient({
    baseUrl: args.baseUrl,
    signer,
    clock: ctx.clock,
    readPerSecond: args.readPerSecond,
    onRetry: (i) => ctx.count(`retries.${i.status ?? "network"}`),
  });
  const jobName = `kalshi_historical_ingest:${args.user}`;
  let job: Promise<void> | undefined;
  let failure: unknown;
  return {
    async start() {
      // The scheduler's run, begun as this user's role: it may touch only runs of its own job.
      const run = await openJobRun(sql, { job: jobName, node: ctx.node, runId }, ctx.clock.now());
      if ("refused" in run) {
        ctx.count("runs.refused");
        ctx.log.warn("Job {job} does not run: {reason}", { job: jobName, reason: run.refused });
        ctx.finish();
        return;
      }
      const record = async (outcome: JobOutcome) => {
        if (await run.finish(ctx.clock.now(), outcome) === "fenced") ctx.count("runs.fenced");
      };
      job = runBackfill({
        client,
        store: createAccountStore(sql, args.user),
        streams: args.streams,
        since: args.since ? new Date(`${args.since}T00:00:00Z`) : undefined,
        signal: ctx.signal,
        onReject: (stream) => ctx.count(`rejected.${stream}`),
        onRefused: (stream, refused) => {
          ctx.count("rows.rejected", refused.count);
          for (const r of refused.rows.slice(0, 5)) {
            ctx.log.warn("Kalshi {stream} row {key} refused by PostgreSQL: {reason}", {
              stream,
              key: r.key,
              reason: r.reason,
            });
          }
        },
        onPage: (stream, items) => {
          ctx.count(`rows.${stream}`, items);
          ctx.handled();
          ctx.dataAt(ctx.clock.now());
        },
      }).then(
        async (summary) => {
          await record({ status: "ok", details: { summary } });
          ctx.setDetails({ summary });
          ctx.finish();
        },
        async (error) => {
          // A stop leaves the run `running`: retried by a survivor once this node is gone.
          if (ctx.signal.aborted) return;
          if (error instanceof KalshiAuthError) {
            const reason = `kalshi authentication refused (${error.status || 401})`;
            await record({ status: "failed", error: reason, details: {} });
            ctx.degraded(reason);
            ctx.finish();
            return;
          }
          failure = error;
          const info = errorInfo(error);
          // Best effort: the restart resumes the run (it is begun again, as its next attempt).
          await record({
            status: "failed",
            error: redactText(`${info.name}: ${info.message}`),
            details: {},
          }).catch(() => {});
          // Crash: the supervisor restarts the transient job, which resumes from its cursors.
          queueMicrotask(() => {
            throw failure;
          });
        },
      );
    },
    async stop() {
      await job;
      await sql.end({ timeout: 5 });
    },
  };
});
