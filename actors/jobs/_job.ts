/**
 * What every scheduled job shares: it runs once as a transient child, does its work in
 * `start()`, records it in its run's `system.job_runs` row and calls `ctx.finish()`, so the
 * supervisor sees a normal exit and does not restart it.
 *
 * The run is the scheduler's: its id comes in the init args (`runId`, see
 * {@linkcode takeRunId}), the job begins it on its node (the attempt count goes up) and closes it
 * with `ok` or `failed` and details, by id only. The database refuses both when the run is not
 * this node's current attempt any more (taken over by another node while this one seemed gone):
 * the job then does not run, or its outcome is dropped (`runs.refused`, `runs.fenced`). Without
 * a `runId` (a job started outside the scheduler) it opens a run of its own.
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
import { isFenced } from "../../lib/fence.ts";
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
  /** The run the scheduler started it for ({@linkcode takeRunId}); none: it opens its own. */
  runId?: string;
}

/** The `runId` init argument a scheduler starts a job with, and the job's own arguments. */
export function takeRunId(args: Record<string, unknown>): {
  runId: string | undefined;
  args: Record<string, unknown>;
} {
  const { runId, ...rest } = args;
  if (runId !== undefined && !(typeof runId === "string" && /^[1-9][0-9]{0,18}$/.test(runId))) {
    throw new TypeError(
      `Cannot start the job: runId must be the id of a system.job_runs row, got ${
        JSON.stringify(runId)?.slice(0, 40)
      }`,
    );
  }
  return { runId, args: rest };
}

/** A run the job is doing: `finish()` closes it with its outcome. */
export interface JobRunHandle {
  id: string;
  /** The attempt begun (null: a run the job opened itself, without a scheduler). */
  attempt: number | null;
  /**
   * Closes the run with its outcome, its error and details cleaned. When PostgreSQL refuses the
   * outcome for its data, the run is closed with its status and a note of the refusal instead
   * (no details, no finish time: either may be what was refused) and `onReject` gets the error.
   * `fenced`: the run is no longer this node's attempt (taken over): nothing was written. Any
   * other error (a lost connection) is thrown.
   */
  finish(
    finishedAt: number,
    outcome: JobOutcome,
    onReject?: (error: unknown) => void,
  ): Promise<"recorded" | "fenced">;
}

/** Which run a job opens: the scheduler's (`runId`), or one of its own without it. */
export interface RunTarget {
  job: string;
  node: string;
  runId: string | undefined;
}

/**
 * Begins the job's run: the scheduler's run `runId` on this node (`system.begin_job_run`,
 * migration 0091), or, without one, a run of its own (`system.start_job_run`, 0080). Both are
 * SECURITY DEFINER functions: a user's own role may touch only runs of its own job. Returns
 * `refused` with the reason when the run is not this job's to do (taken over by another node,
 * finished, or out of attempts); a run of another job is an error (42501).
 */
export async function openJobRun(
  sql: Sql,
  t: RunTarget,
  startedAt: number,
): Promise<JobRunHandle | { refused: string }> {
  if (t.runId === undefined) {
    const [row] = await sql<{ id: string }[]>`
      select system.start_job_run(${t.job}, ${new Date(startedAt)})::text as id`;
    return runHandle(sql, t, row!.id, null);
  }
  let attempt: number | null;
  try {
    const [row] = await sql<{ attempt: number | null }[]>`
      select system.begin_job_run(${t.runId}, ${t.job}, ${t.node}, ${new Date(startedAt)})
        as attempt`;
    attempt = row!.attempt;
  } catch (e) {
    if (isFenced(e)) return { refused: errorInfo(e).message };
    throw e;
  }
  if (attempt === null) return { refused: `run ${t.runId} has used all its attempts` };
  return runHandle(sql, t, t.runId, attempt);
}

function runHandle(sql: Sql, t: RunTarget, id: string, attempt: number | null): JobRunHandle {
  const close = async (finished: Date | null, status: string, error: string | null, d: unknown) => {
    const details = d === null ? null : sql.json(d as never);
    if (attempt === null) {
      await sql`select system.finish_job_run(${id}, ${finished}, ${status}, ${error}, ${details})`;
    } else {
      await sql`
        select system.end_job_run(${id}, ${t.job}, ${t.node}, ${attempt}, ${finished}, ${status},
          ${error}, ${details})`;
    }
  };
  return {
    id,
    attempt,
    async finish(finishedAt, outcome, onReject) {
      const error = outcome.error === undefined ? null : cleanText(outcome.error, 20_000);
      try {
        try {
          await close(
            new Date(finishedAt),
            outcome.status,
            error,
            cleanJson(outcome.details, 2_000),
          );
        } catch (e) {
          if (!isDataError(e)) throw e;
          onReject?.(e);
          const note = `outcome refused by PostgreSQL and dropped: ${rejectionReason(e)}`;
          // Null keeps the stored finish time and details.
          await close(
            null,
            outcome.status,
            cleanText(error === null ? note : `${error} (${note})`, 20_000),
            null,
          );
        }
      } catch (e) {
        if (isFenced(e)) return "fenced";
        throw e;
      }
      return "recorded";
    },
  };
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
      const run = await openJobRun(
        o.sql,
        { job: o.job, node: ctx.node, runId: o.runId },
        startedAt,
      );
      if ("refused" in run) {
        // Not this node's to do (taken over, finished, out of attempts): end without working.
        ctx.count("runs.refused");
        ctx.log.warn("Job {job} does not run: {reason}", { job: o.job, reason: run.refused });
        ctx.setDetails({ status: "refused", reason: run.refused });
        ctx.finish();
        return;
      }
      let outcome: JobOutcome;
      try {
        outcome = await o.work(ctx.signal);
      } catch (e) {
        const info = errorInfo(e);
        const error = redactText(`${info.name}: ${info.message}`);
        // Best effort: the original error is what matters, and it is rethrown (a crash). The
        // restart resumes this run; one never resumed is closed by the scheduler.
        await run.finish(ctx.clock.now(), { status: "failed", error, details: {} }, rejected)
          .catch(() => {});
        throw e;
      }
      if (await run.finish(ctx.clock.now(), outcome, rejected) === "fenced") {
        ctx.count("runs.fenced");
        ctx.log.warn("Outcome of job {job} dropped: run {id} was taken over by another node", {
          job: o.job,
          id: run.id,
        });
      }
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
