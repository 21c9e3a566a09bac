/**
 * The job scheduler's book (`supervisor/jobs.ts`): each job's state on this node (the run its
 * child does, its last run as `/status` shows it) and how runs end, followed through the
 * supervisor's events (`observe()`): a `start` opens a run, an `exit` closes it. A normal exit
 * takes its status from the run's row, read by its id (`ok` or `failed`; held by another node:
 * `interrupted`); an abnormal one is `failed` while the row stays for the restart to resume. A
 * failed run is a `job_failed` supervision event and stays a degraded reason (for `/readyz`)
 * until the job's next run succeeds.
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { nextCronRun } from "../lib/cron.ts";
import { SupervisorError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { closeRun, latestRuns, readRun } from "./job_runs.ts";
import {
  degradedReason,
  type JobDefinition,
  type JobRun,
  type JobSchedulerOptions,
  type JobStatus,
  jobStatus,
  type OutcomeReader,
  runOfRow,
  settle,
} from "./job_status.ts";

/** The run this node's child does (or is about to). */
export interface Claim {
  /** Its `system.job_runs` id (null: no database). */
  id: string | null;
  scheduledAt: number | null;
}

/** One job on this node. */
export interface JobState {
  def: JobDefinition;
  lastRun: JobRun | null;
  skipped: number;
  /** Cleared when the run ends for good here (a normal exit, or taken over). */
  current: Claim | null;
  /** A claim or a takeover in flight: ticks wait for it, sweeps leave the job alone. */
  turn: Promise<void> | null;
}

/** Epoch ms as ISO, null kept. */
export const iso = (ms: number | null | undefined) =>
  ms == null ? null : new Date(ms).toISOString();

/** Each job's state and the outcomes of its runs. */
export class JobBook {
  #jobs = new Map<string, JobState>();
  #byChild = new Map<string, JobState>();
  #opts: JobSchedulerOptions;
  #clock: Clock;
  #log = getLogger("supervisor", "jobs");
  /** Outcome lookups and sweeps in flight (tests and shutdown can wait for them). */
  #pending = new Set<Promise<void>>();

  constructor(jobs: readonly JobDefinition[], options: JobSchedulerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    for (const def of jobs) {
      if (this.#jobs.has(def.name)) {
        throw new SupervisorError(`Cannot schedule job "${def.name}": duplicate job name`);
      }
      if (def.schedule !== null) nextCronRun(def.schedule, 0); // throws on a bad expression
      const m = def.maxAttempts;
      if (m !== undefined && !(Number.isInteger(m) && m >= 1)) {
        throw new SupervisorError(`Cannot schedule job "${def.name}": maxAttempts must be >= 1`);
      }
      const state = { def, lastRun: null, skipped: 0, current: null, turn: null };
      this.#jobs.set(def.name, state);
      this.#byChild.set(def.childId, state);
    }
  }

  /** Every job, in definition order. */
  all(): JobState[] {
    return [...this.#jobs.values()];
  }

  /** Job `name`; throws for an unknown one. */
  get(name: string): JobState {
    const job = this.#jobs.get(name);
    if (!job) throw new SupervisorError(`Cannot run job "${name}": unknown job`);
    return job;
  }

  /** Follows runs through the supervisor's events. */
  observe(e: SupervisorEvent): void {
    const job = e.actorId === null ? undefined : this.#byChild.get(e.actorId);
    if (!job) return;
    const at = e.at ?? this.#clock.now();
    if (e.event === "start") {
      job.lastRun = {
        id: job.current?.id ?? null,
        scheduledAt: iso(job.current?.scheduledAt),
        startedAt: at,
        endedAt: null,
        status: "running",
        error: null,
        details: null,
      };
    } else if (e.event === "exit" || e.event === "stopped") {
      const run = job.lastRun;
      if (!run || run.endedAt !== null) return;
      run.endedAt = at;
      const reason = e.reason ?? "";
      if (e.event === "stopped") {
        // The row stays running: closed by this node's next run, or retried by a survivor.
        run.status = "stopped";
        run.error = reason || null;
      } else if (reason.startsWith("normal:")) {
        if (job.current?.id === run.id) job.current = null; // over here, whatever it says
        this.track(this.#settle(job, run), "Cannot read a job outcome");
      } else {
        // The restart (same run id) resumes the row; a run never resumed is closed later.
        run.status = "failed";
        run.error = reason;
        this.#failed(job, run);
      }
    }
  }

  /** Waits for outcome lookups and sweeps in flight. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Keeps `p` in flight until it settles; its error is logged as `what`. */
  track(p: Promise<void>, what: string): Promise<void> {
    const q = p.catch((e) => {
      this.#log.warn(`${what}: {error}`, { error: String(e) });
    }).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
    return q;
  }

  /** Reads each job's newest run (after a process restart). */
  async load(): Promise<void> {
    const sql = this.#opts.sql;
    if (!sql) return;
    for (const r of await latestRuns(sql, [...this.#jobs.keys()])) {
      const job = this.#jobs.get(r.job);
      if (job && !job.lastRun) job.lastRun = runOfRow(r);
    }
  }

  /** Reasons for a degraded `/readyz`: jobs whose last run failed. */
  degradedReasons(): string[] {
    return this.all().flatMap((j) => degradedReason(j.def.name, j.lastRun));
  }

  /** Every job with its state, last run and next run (for `/status`). */
  jobs(): JobStatus[] {
    const now = this.#clock.now();
    const scheduled = this.#opts.scheduled ?? true;
    return this.all().map((j) =>
      jobStatus(j, this.#opts.view.child(j.def.childId), { now, scheduled })
    );
  }

  /** A normal exit: the run's row says whether its work succeeded. */
  async #settle(job: JobState, run: JobRun): Promise<void> {
    const sql = this.#opts.sql;
    const read: OutcomeReader | undefined = this.#opts.readOutcome ??
      (sql ? (r) => (r.id === null ? Promise.resolve(undefined) : readRun(sql, r.id)) : undefined);
    const row = read ? await read({ job: job.def.name, id: run.id }) : undefined;
    if (job.lastRun !== run) return;
    const closeOpen = settle(run, row, this.#opts.node);
    if (run.status === "failed") this.#failed(job, run);
    // A job that exited without recording an outcome left its row running: it is done.
    if (closeOpen && sql && run.id !== null) {
      await closeRun(sql, { id: run.id, node: this.#opts.node, status: "ok", error: null });
    }
  }

  #failed(job: JobState, run: JobRun): void {
    this.#opts.events.record({
      actorId: job.def.childId,
      event: "job_failed",
      reason: run.error,
      details: {
        job: job.def.name,
        startedAt: new Date(run.startedAt).toISOString(),
        runId: run.id,
        scheduledAt: run.scheduledAt,
      },
    });
    this.#log.error("Job {job} failed: {error}", { job: job.def.name, error: run.error ?? "" });
  }
}
