/**
 * The job scheduler: each scheduled job is a transient child of the supervisor (`autostart:
 * false`), started on its cron schedule. A tick starts the job's child unless it is still
 * running (or waiting to be restarted after a crash), in which case a `job_skipped` event is
 * recorded instead: a run is never started twice.
 *
 * The scheduler follows each run through the supervisor's events (`observe()`): a `start` opens
 * a run, an `exit` closes it. A normal exit takes its status from the job's own
 * `system.job_runs` row (`ok` or `failed`); an abnormal one is `failed`. A failed run is
 * recorded as a `job_failed` supervision event and stays a degraded reason (for `/readyz`) until
 * the job's next run succeeds.
 *
 * `tick()` is the cron handler and can be called directly; {@linkcode registerCron} is the only
 * place that talks to `Deno.cron`.
 *
 * @example
 * ```ts ignore
 * const jobs = new JobScheduler(
 *   [{ name: "backup", childId: "backup", schedule: "0 4 * * *" }],
 *   { view: supervisor, events, sql },
 * );
 * registerCron(jobs, { signal });
 * await jobs.tick("backup");
 * ```
 *
 * @module
 */
import { cleanText } from "../lib/bad_rows.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { nextCronRun } from "../lib/cron.ts";
import type { Sql } from "../lib/db.ts";
import { SupervisorError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { isAlive } from "./lifecycle.ts";
import type { SupervisorView } from "./types.ts";

/** A scheduled job: the child that runs it and its cron schedule (UTC; null = by hand only). */
export interface JobDefinition {
  name: string;
  childId: string;
  schedule: string | null;
}

/** One run of a job as the scheduler saw it. */
export interface JobRun {
  startedAt: number;
  endedAt: number | null;
  status: "running" | "ok" | "failed" | "stopped" | "interrupted";
  error: string | null;
  /** What the job reported in its `system.job_runs` row (dropped partitions, backup file). */
  details: Record<string, unknown> | null;
}

/** A job as `/status` shows it. */
export interface JobStatus {
  name: string;
  childId: string;
  schedule: string | null;
  /** The child's lifecycle state (`stopped` between runs). */
  state: string;
  running: boolean;
  lastRun: JobRun | null;
  /** Next scheduled start (ISO), null when unscheduled. */
  nextRunAt: string | null;
  /** Ticks skipped because the previous run was still going. */
  skipped: number;
}

/** How a finished run ended, read from its `system.job_runs` row. */
export type OutcomeReader = (
  job: string,
  startedAt: number,
) => Promise<
  { status: string; error: string | null; details?: Record<string, unknown> | null } | undefined
>;

/** Options of {@linkcode JobScheduler}. */
export interface JobSchedulerOptions {
  view: Pick<SupervisorView, "child" | "startChild">;
  events: { record(e: SupervisorEvent): void };
  /** For run outcomes and the last runs before this process; without it, exits decide alone. */
  sql?: Sql;
  clock?: Clock;
  /** Replaces the `system.job_runs` lookup (tests). */
  readOutcome?: OutcomeReader;
  /** Whether schedules are registered (false: `nextRunAt` is null). */
  scheduled?: boolean;
}

interface JobState {
  def: JobDefinition;
  lastRun: JobRun | null;
  skipped: number;
}

/** The newest `system.job_runs` row of `job` that started at or after `startedAt` - 1 s. */
async function latestOutcome(sql: Sql, job: string, startedAt: number) {
  const [row] = await sql<
    { status: string; error: string | null; details: Record<string, unknown> | null }[]
  >`
    select status, error, details from system.job_runs
     where job = ${job} and started_at >= ${new Date(startedAt - 1_000)}
     order by started_at desc, id desc limit 1`;
  return row;
}

/** Schedules jobs as transient children and tracks their runs. */
export class JobScheduler {
  #jobs = new Map<string, JobState>();
  #byChild = new Map<string, JobState>();
  #opts: JobSchedulerOptions;
  #clock: Clock;
  #log = getLogger("supervisor", "jobs");
  /** Outcome lookups in flight (tests and shutdown can wait for them). */
  #pending = new Set<Promise<void>>();

  constructor(jobs: readonly JobDefinition[], options: JobSchedulerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    for (const def of jobs) {
      if (this.#jobs.has(def.name)) {
        throw new SupervisorError(`Cannot schedule job "${def.name}": duplicate job name`);
      }
      if (def.schedule !== null) nextCronRun(def.schedule, 0); // throws on a bad expression
      const state = { def, lastRun: null, skipped: 0 };
      this.#jobs.set(def.name, state);
      this.#byChild.set(def.childId, state);
    }
  }

  /** The jobs, in definition order. */
  definitions(): JobDefinition[] {
    return [...this.#jobs.values()].map((j) => j.def);
  }

  /**
   * The cron handler: starts the job's child, or records `job_skipped` when it is still running
   * (or backing off after a crash).
   */
  async tick(name: string): Promise<"started" | "skipped"> {
    const job = this.#jobs.get(name);
    if (!job) throw new SupervisorError(`Cannot run job "${name}": unknown job`);
    const child = this.#opts.view.child(job.def.childId);
    if (!child) {
      throw new SupervisorError(`Cannot run job "${name}": no child "${job.def.childId}"`);
    }
    if (isAlive(child.state) || child.state === "backoff") {
      job.skipped++;
      this.#opts.events.record({
        actorId: job.def.childId,
        event: "job_skipped",
        reason: `overlap prevented: the previous run is still ${child.state}`,
        incarnation: child.incarnation,
        details: { job: name, skipped: job.skipped },
      });
      this.#log.warn("Job {job} skipped: the previous run is still {state}", {
        job: name,
        state: child.state,
      });
      return "skipped";
    }
    await this.#opts.view.startChild(job.def.childId, `scheduled run of job ${name}`);
    return "started";
  }

  /** Follows runs through the supervisor's events (wire it to every recorded event). */
  observe(e: SupervisorEvent): void {
    const job = e.actorId === null ? undefined : this.#byChild.get(e.actorId);
    if (!job) return;
    const at = e.at ?? this.#clock.now();
    if (e.event === "start") {
      job.lastRun = { startedAt: at, endedAt: null, status: "running", error: null, details: null };
    } else if (e.event === "exit" || e.event === "stopped") {
      const run = job.lastRun;
      if (!run || run.endedAt !== null) return;
      run.endedAt = at;
      const reason = e.reason ?? "";
      if (e.event === "stopped") {
        run.status = "stopped";
        run.error = reason || null;
      } else if (reason.startsWith("normal:")) {
        this.#track(this.#settle(job, run));
      } else {
        run.status = "failed";
        run.error = reason;
        this.#track(this.#closeCrashed(job, run));
        this.#failed(job, run);
      }
    }
  }

  /** Waits for outcome lookups in flight. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #track(p: Promise<void>): void {
    const q = p.catch((e) => {
      this.#log.warn("Cannot read a job outcome: {error}", { error: String(e) });
    }).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }

  /** A normal exit: the job's own row says whether its work succeeded. */
  async #settle(job: JobState, run: JobRun): Promise<void> {
    const read: OutcomeReader | undefined = this.#opts.readOutcome ??
      (this.#opts.sql ? (j, s) => latestOutcome(this.#opts.sql!, j, s) : undefined);
    const row = read ? await read(job.def.name, run.startedAt) : undefined;
    if (job.lastRun !== run) return;
    run.details = row?.details ?? null;
    if (row?.status === "failed" || row?.status === "error") {
      run.status = "failed";
      run.error = row.error ?? "failed";
      this.#failed(job, run);
    } else {
      run.status = "ok";
    }
  }

  /** An abnormal exit leaves the job's row `running`: close it. */
  async #closeCrashed(job: JobState, run: JobRun): Promise<void> {
    const sql = this.#opts.sql;
    if (!sql) return;
    await sql`
      update system.job_runs set status = 'failed', finished_at = ${new Date(run.endedAt!)},
             error = ${run.error === null ? null : cleanText(run.error, 20_000)}
       where job = ${job.def.name} and status = 'running'
         and started_at >= ${new Date(run.startedAt - 1_000)}`;
  }

  #failed(job: JobState, run: JobRun): void {
    this.#opts.events.record({
      actorId: job.def.childId,
      event: "job_failed",
      reason: run.error,
      details: { job: job.def.name, startedAt: new Date(run.startedAt).toISOString() },
    });
    this.#log.error("Job {job} failed: {error}", { job: job.def.name, error: run.error ?? "" });
  }

  /** Reads each job's newest run from `system.job_runs` (after a process restart). */
  async load(): Promise<void> {
    const sql = this.#opts.sql;
    if (!sql) return;
    const names = [...this.#jobs.keys()];
    const rows = await sql<
      {
        job: string;
        started_at: Date;
        finished_at: Date | null;
        status: string;
        error: string | null;
        details: Record<string, unknown> | null;
      }[]
    >`
      select distinct on (job) job, started_at, finished_at, status, error, details
        from system.job_runs where job = any(${names})
       order by job, started_at desc, id desc`;
    for (const r of rows) {
      const job = this.#jobs.get(r.job);
      if (!job || job.lastRun) continue;
      job.lastRun = {
        startedAt: r.started_at.getTime(),
        endedAt: r.finished_at?.getTime() ?? null,
        // A row still `running` belongs to a process that is gone (or to another instance).
        status: r.status === "ok"
          ? "ok"
          : r.status === "running"
          ? "interrupted"
          : r.status === "failed" || r.status === "error"
          ? "failed"
          : "ok",
        error: r.error,
        details: r.details,
      };
    }
  }

  /** Reasons for a degraded `/readyz`: jobs whose last run failed. */
  degradedReasons(): string[] {
    const out: string[] = [];
    for (const j of this.#jobs.values()) {
      const r = j.lastRun;
      if (r?.status === "failed") {
        out.push(
          `job ${j.def.name} failed at ${new Date(r.endedAt ?? r.startedAt).toISOString()}: ${
            (r.error ?? "unknown error").slice(0, 300)
          }`,
        );
      }
    }
    return out;
  }

  /** Every job with its state, last run and next run (for `/status`). */
  jobs(): JobStatus[] {
    const now = this.#clock.now();
    return [...this.#jobs.values()].map((j) => {
      const child = this.#opts.view.child(j.def.childId);
      const state = child?.state ?? "unknown";
      const scheduled = this.#opts.scheduled ?? true;
      return {
        name: j.def.name,
        childId: j.def.childId,
        schedule: j.def.schedule,
        state,
        running: child ? isAlive(child.state) || child.state === "backoff" : false,
        lastRun: j.lastRun ? { ...j.lastRun } : null,
        nextRunAt: scheduled && j.def.schedule !== null
          ? new Date(nextCronRun(j.def.schedule, now)).toISOString()
          : null,
        skipped: j.skipped,
      };
    });
  }
}

/**
 * The `Deno.cron` name of a job: Deno allows only letters, digits, `_`, `-` and spaces (at most
 * 64), and per-user jobs are named like `kalshi_historical_ingest:user_0001`.
 */
export function cronName(job: string): string {
  return `recio_${job.replace(/[^A-Za-z0-9_ -]/g, "_")}`.slice(0, 64);
}

/**
 * Registers every scheduled job with `Deno.cron` (the only place that does); the schedules stop
 * when `signal` aborts.
 */
export function registerCron(scheduler: JobScheduler, options: { signal: AbortSignal }): void {
  const log = getLogger("supervisor", "jobs");
  for (const def of scheduler.definitions()) {
    if (def.schedule === null) continue;
    Deno.cron(cronName(def.name), def.schedule, { signal: options.signal }, async () => {
      try {
        await scheduler.tick(def.name);
      } catch (e) {
        log.error("Cannot run job {job}: {error}", { job: def.name, error: String(e) });
      }
    });
  }
}
