/**
 * The job scheduler: each scheduled job is a transient child of the supervisor (`autostart:
 * false`), started on its cron schedule, and runs once per occurrence across every node on the
 * database.
 *
 * Every node's scheduler fires on schedule ({@linkcode JobScheduler.fire}): the occurrence is the
 * cron time it belongs to (`lastCronRun()`, identical on every node), claimed in
 * `system.job_runs` (`supervisor/job_runs.ts`); only the node whose insert wins starts the
 * job's child, with the run's id in its init args (`runId`), and the job updates that run alone
 * (`actors/jobs/_job.ts`). A tick while this node's child is still running (or waiting to be
 * restarted after a crash) claims nothing and records a `job_skipped` event instead: a run is
 * never started twice. A run started by hand (`tick(name)`) is an occurrence of its own.
 *
 * Every few seconds ({@linkcode JobScheduler.watch}) the scheduler sweeps: a run still `running`
 * whose node is no longer alive is taken over (one atomic UPDATE; `job_retried`) and started
 * here, while it has attempts left (each job's `maxAttempts`, crash restarts included); one with
 * none left is closed as failed. A run of this node that another node took over (this node
 * seemed gone) is stopped here (`job_taken`); the job's own writes are fenced by node and attempt
 * in the database anyway.
 *
 * The scheduler follows each run through the supervisor's events (`observe()`, see
 * `supervisor/job_book.ts`): a failed run is a `job_failed` event and a degraded reason until the
 * job's next run succeeds.
 *
 * {@linkcode registerCron} is the only place that talks to `Deno.cron`.
 *
 * @example
 * ```ts ignore
 * const jobs = new JobScheduler(
 *   [{ name: "backup", childId: "backup", schedule: "0 4 * * *" }],
 *   { view: supervisor, events, sql, node: "n1" },
 * );
 * registerCron(jobs, { signal });
 * await jobs.tick("backup"); // a run by hand
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { DEFAULT_TIMING } from "../lib/cluster.ts";
import { lastCronRun } from "../lib/cron.ts";
import type { Sql } from "../lib/db.ts";
import { SupervisorError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { type Claim, iso, JobBook, type JobState } from "./job_book.ts";
import {
  claimRun,
  closeExhausted,
  closeRun,
  reclaimRuns,
  runningOn,
  runsTakenFrom,
  type TakenRun,
} from "./job_runs.ts";
import type { JobDefinition, JobSchedulerOptions, JobStatus, TickResult } from "./job_status.ts";
import { isAlive } from "./lifecycle.ts";

export type {
  JobDefinition,
  JobRun,
  JobSchedulerOptions,
  JobStatus,
  OutcomeReader,
  TickResult,
} from "./job_status.ts";

/** Schedules jobs as transient children and tracks their runs. */
export class JobScheduler {
  #book: JobBook;
  #opts: JobSchedulerOptions;
  #clock: Clock;
  #log = getLogger("supervisor", "jobs");
  /** Runs this node's previous process left running (from `load()`), to take back. */
  #own = new Set<string>();

  constructor(jobs: readonly JobDefinition[], options: JobSchedulerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#book = new JobBook(jobs, options);
  }

  /** The jobs, in definition order. */
  definitions(): JobDefinition[] {
    return this.#book.all().map((j) => j.def);
  }

  /** The cron handler: runs the occurrence of `name`'s schedule that the clock is at. */
  fire(name: string): Promise<TickResult> {
    const schedule = this.#book.get(name).def.schedule;
    if (schedule === null) throw new SupervisorError(`Cannot fire job "${name}": no schedule`);
    return this.tick(name, lastCronRun(schedule, this.#clock.now()));
  }

  /**
   * Runs occurrence `scheduledAt` (epoch ms) of job `name`, or a run by hand without one: claims
   * it and starts the job's child; `taken` when another node holds the occurrence; `skipped`
   * (recorded as `job_skipped`) while this node's previous run still goes.
   */
  async tick(name: string, scheduledAt: number | null = null): Promise<TickResult> {
    const job = this.#book.get(name);
    while (job.turn) await job.turn;
    const release = this.#hold(job);
    try {
      return await this.#tick(job, scheduledAt);
    } finally {
      release();
    }
  }

  async #tick(job: JobState, scheduledAt: number | null): Promise<TickResult> {
    const name = job.def.name;
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
        details: { job: name, skipped: job.skipped, scheduledAt: iso(scheduledAt) },
      });
      this.#log.warn("Job {job} skipped: the previous run is still {state}", {
        job: name,
        state: child.state,
      });
      return "skipped";
    }
    const why = scheduledAt === null
      ? `run of job ${name} by hand`
      : `scheduled run of job ${name} (${iso(scheduledAt)})`;
    const sql = this.#opts.sql;
    if (!sql) {
      await this.#start(job, { id: null, scheduledAt }, why);
      return "started";
    }
    await this.#abandon(sql, job);
    const id = await claimRun(sql, {
      job: name,
      scheduledAt,
      node: this.#opts.node,
      maxAttempts: job.def.maxAttempts ?? 3,
    });
    if (id === undefined) {
      this.#log.debug("Job {job} at {at}: claimed by another node", {
        job: name,
        at: iso(scheduledAt) ?? "",
      });
      return "taken";
    }
    await this.#start(job, { id, scheduledAt }, why);
    return "started";
  }

  /**
   * One sweep: stops this node's runs that another node took over, closes orphaned runs without
   * attempts left, and takes over (and starts) one orphaned run of each idle job. Returns the
   * ids of the runs taken over.
   */
  async recover(): Promise<string[]> {
    const sql = this.#opts.sql;
    if (!sql) return [];
    await this.#stopTaken(sql);
    const idle = this.#book.all().filter((j) => j.turn === null && this.#idle(j));
    if (idle.length === 0) return [];
    const releases = idle.map((j) => this.#hold(j));
    try {
      const sweep = { node: this.#opts.node, nodeTtlMs: this.#opts.nodeTtlMs, own: [...this.#own] };
      const names = idle.map((j) => j.def.name);
      for (const r of await closeExhausted(sql, names, sweep)) {
        this.#own.delete(r.id);
        const job = this.#book.get(r.job);
        const reason = `run ${r.id} gave up: its node is gone and it has no attempts left`;
        this.#opts.events.record({
          actorId: job.def.childId,
          event: "job_failed",
          reason,
          details: { job: r.job, runId: r.id },
        });
        this.#log.error("Job {job}: {reason}", { job: r.job, reason });
      }
      const taken = await reclaimRuns(sql, names, sweep);
      for (const t of taken) await this.#resume(t);
      return taken.map((t) => t.id);
    } finally {
      for (const release of releases) release();
    }
  }

  /** Sweeps every `everyMs` (default: the node TTL) on the clock until `signal` aborts. */
  watch(signal: AbortSignal, everyMs = this.#opts.nodeTtlMs ?? DEFAULT_TIMING.nodeTtlMs): void {
    let cancel: (() => void) | undefined;
    const arm = () => {
      if (signal.aborted) return;
      cancel = this.#clock.setTimer(() => {
        this.#book.track(this.recover().then(() => {}), "Cannot sweep the job runs").finally(arm);
      }, everyMs);
    };
    signal.addEventListener("abort", () => cancel?.(), { once: true });
    arm();
  }

  /** Follows runs through the supervisor's events (wire it to every recorded event). */
  observe(e: SupervisorEvent): void {
    this.#book.observe(e);
  }

  /** Waits for outcome lookups and sweeps in flight. */
  settled(): Promise<void> {
    return this.#book.settled();
  }

  /** Reads each job's newest run, and the runs this node's previous process left running. */
  async load(): Promise<void> {
    const sql = this.#opts.sql;
    if (!sql) return;
    const names = this.#book.all().map((j) => j.def.name);
    for (const id of await runningOn(sql, this.#opts.node, names)) this.#own.add(id);
    await this.#book.load();
  }

  /** Reasons for a degraded `/readyz`: jobs whose last run failed. */
  degradedReasons(): string[] {
    return this.#book.degradedReasons();
  }

  /** Every job with its state, last run and next run (for `/status`). */
  jobs(): JobStatus[] {
    return this.#book.jobs();
  }

  /** Takes `job`'s turn (it must be free); returns its release. */
  #hold(job: JobState): () => void {
    let release!: () => void;
    job.turn = new Promise((r) => (release = r));
    return () => {
      job.turn = null;
      release();
    };
  }

  /** This node's child of `job` is neither running nor waiting to restart. */
  #idle(job: JobState): boolean {
    const child = this.#opts.view.child(job.def.childId);
    return child !== undefined && !isAlive(child.state) && child.state !== "backoff";
  }

  async #start(job: JobState, claim: Claim, reason: string): Promise<void> {
    job.current = claim; // before startChild: its `start` event is observed at once
    const extra = claim.id === null ? undefined : { runId: claim.id };
    await this.#opts.view.startChild(job.def.childId, reason, extra);
  }

  /** Starts a run taken over from a node that is gone. */
  async #resume(t: TakenRun): Promise<void> {
    this.#own.delete(t.id);
    const job = this.#book.get(t.job);
    const from = t.from === this.#opts.node ? `this node's previous process` : `node ${t.from}`;
    const reason = `retry of run ${t.id} (attempt ${t.attempt + 1} of ${t.maxAttempts}): ${from} ` +
      `is gone`;
    this.#opts.events.record({
      actorId: job.def.childId,
      event: "job_retried",
      reason,
      details: {
        job: t.job,
        runId: t.id,
        from: t.from,
        scheduledAt: iso(t.scheduledAt?.getTime()),
      },
    });
    this.#log.warn("Job {job}: {reason}", { job: t.job, reason });
    await this.#start(job, { id: t.id, scheduledAt: t.scheduledAt?.getTime() ?? null }, reason);
  }

  /** This node's previous run of `job` that was never resumed (its child is idle): closed. */
  async #abandon(sql: Sql, job: JobState): Promise<void> {
    const id = job.current?.id;
    job.current = null;
    if (id == null) return;
    await closeRun(sql, {
      id,
      node: this.#opts.node,
      status: "failed",
      error: "abandoned: the job stopped before finishing it, and a new run started",
    });
  }

  /** Stops this node's children whose run another node took over. */
  async #stopTaken(sql: Sql): Promise<void> {
    const mine = this.#book.all()
      .filter((j) => j.turn === null && j.current?.id && !this.#idle(j));
    const ids = mine.map((j) => j.current!.id!);
    for (const t of await runsTakenFrom(sql, this.#opts.node, ids)) {
      const job = mine.find((j) => j.current?.id === t.id)!;
      job.current = null;
      const reason = `run ${t.id} was taken over by node ${t.node ?? "none"}`;
      this.#opts.events.record({
        actorId: job.def.childId,
        event: "job_taken",
        reason,
        details: { job: job.def.name, runId: t.id, node: t.node },
      });
      this.#log.warn("Job {job}: {reason}", { job: job.def.name, reason });
      await this.#opts.view.stopChild?.(job.def.childId, reason);
    }
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
 * Registers every scheduled job with `Deno.cron` (the only place that does) and starts the
 * scheduler's sweep; both stop when `signal` aborts.
 */
export function registerCron(scheduler: JobScheduler, options: { signal: AbortSignal }): void {
  const log = getLogger("supervisor", "jobs");
  for (const def of scheduler.definitions()) {
    if (def.schedule === null) continue;
    Deno.cron(cronName(def.name), def.schedule, { signal: options.signal }, async () => {
      try {
        await scheduler.fire(def.name);
      } catch (e) {
        log.error("Cannot run job {job}: {error}", { job: def.name, error: String(e) });
      }
    });
  }
  scheduler.watch(options.signal);
}
