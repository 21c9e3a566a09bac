/**
 * What every scheduled job shares: it runs once as a transient child, does its work in
 * `start()`, records the run in `system.job_runs` (a `running` row first, then `ok` or `failed`
 * with details) and calls `ctx.finish()`, so the supervisor sees a normal exit and does not
 * restart it.
 *
 * A job's expected failure (pg_dump refused, a folder not writable) is an outcome, `failed`
 * with its error; an unexpected one is recorded the same way when the database still answers,
 * then rethrown, so the worker crashes and the supervisor's restart policy applies.
 *
 * An outcome's error and details quote the outside (a tool's stderr, a path): they are cleaned
 * (NUL, broken UTF-16, bounded length; numbers JSON cannot carry). When PostgreSQL still refuses
 * the outcome for its data, the run is closed with its status and a note naming what was refused
 * (`job_runs.rejected` counted, logged): a run is never left `running` by its own outcome.
 *
 * @module
 */
import type { Actor, ActorContext } from "../_runtime.ts";
import { cleanJson, cleanText, isDataError, rejectionReason } from "../../lib/bad_rows.ts";
import type { Sql } from "../../lib/db.ts";
import { errorInfo } from "../../lib/errors.ts";
import { redactText } from "../../lib/log.ts";

/** How one run of a job ended. */
export interface JobOutcome {
  status: "ok" | "failed";
  error?: string;
  details: Record<string, unknown>;
}

/** The work of one job: gets the abort signal of a stop request. */
export type JobWork = (signal: AbortSignal) => Promise<JobOutcome>;

/** Options of {@linkcode createJobActor}. */
export interface JobActorOptions {
  /** The job's name in `system.job_runs`. */
  job: string;
  sql: Sql;
  work: JobWork;
}

/**
 * Inserts the `running` row of a run; returns its id. Through `system.start_job_run` (migration
 * 0080), as a user's own role may record only its own ingest runs and nothing else of `system`.
 */
export async function startJobRun(sql: Sql, job: string, startedAt: number): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    select system.start_job_run(${job}, ${new Date(startedAt)}) as id`;
  return row!.id;
}

/**
 * Closes a run with its outcome, its error and details cleaned. When PostgreSQL refuses the
 * outcome for its data, the run is closed with its status and a note of the refusal instead
 * (no details, no finish time: either may be what was refused) and `onReject` gets the error;
 * any other error (a lost connection) is thrown.
 */
export async function finishJobRun(
  sql: Sql,
  id: string,
  finishedAt: number,
  outcome: JobOutcome,
  onReject?: (error: unknown) => void,
): Promise<void> {
  const error = outcome.error === undefined ? null : cleanText(outcome.error, 20_000);
  const details = cleanJson(outcome.details, 2_000);
  // Through `system.finish_job_run` (see startJobRun); null keeps the stored finish and details.
  try {
    await sql`
      select system.finish_job_run(${id}, ${new Date(finishedAt)}, ${outcome.status}, ${error},
        ${sql.json(details as never)})`;
  } catch (e) {
    if (!isDataError(e)) throw e;
    onReject?.(e);
    const note = `outcome refused by PostgreSQL and dropped: ${rejectionReason(e)}`;
    await sql`
      select system.finish_job_run(${id}, null, ${outcome.status},
        ${cleanText(error === null ? note : `${error} (${note})`, 20_000)}, null)`;
  }
}

/** A job as an actor: runs `work` once in `start()`, records it, then finishes. */
export function createJobActor(ctx: ActorContext, o: JobActorOptions): Actor {
  // A job writes one outcome per run: this logs at most twice a run, no rate limit needed.
  const rejected = (e: unknown) => {
    ctx.count("job_runs.rejected");
    ctx.log.warn("Outcome of job {job} refused by PostgreSQL; run closed without it: {reason}", {
      job: o.job,
      reason: rejectionReason(e),
    });
  };
  return {
    async start() {
      const startedAt = ctx.clock.now();
      const id = await startJobRun(o.sql, o.job, startedAt);
      let outcome: JobOutcome;
      try {
        outcome = await o.work(ctx.signal);
      } catch (e) {
        const info = errorInfo(e);
        const error = redactText(`${info.name}: ${info.message}`);
        // Best effort: the original error is what matters, and it is rethrown (a crash). When
        // even this write fails, the scheduler closes the `running` row on the crash exit.
        await finishJobRun(
          o.sql,
          id,
          ctx.clock.now(),
          { status: "failed", error, details: {} },
          rejected,
        ).catch(() => {});
        throw e;
      }
      await finishJobRun(o.sql, id, ctx.clock.now(), outcome, rejected);
      ctx.count(`runs.${outcome.status}`);
      ctx.handled();
      ctx.dataAt(ctx.clock.now());
      ctx.setDetails({ status: outcome.status, error: outcome.error ?? null, ...outcome.details });
      if (outcome.status === "failed") {
        ctx.log.error("Job {job} failed: {error}", { job: o.job, error: outcome.error ?? "" });
      } else {
        ctx.log.info("Job {job} done in {ms} ms", {
          job: o.job,
          ms: ctx.clock.now() - startedAt,
        });
      }
      ctx.finish();
    },
    async stop() {
      await o.sql.end({ timeout: 5 });
    },
  };
}
