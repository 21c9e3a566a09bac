/**
 * What the job scheduler (`supervisor/jobs.ts`) shows and takes: job definitions, runs as
 * `/status` shows them, the scheduler's options, and the pure projections from its state and the
 * runs' rows to `/status`, `/readyz` and a settled run.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import { nextCronRun } from "../lib/cron.ts";
import type { Sql } from "../lib/db.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { isAlive } from "./lifecycle.ts";
import type { ChildStatus, SupervisorView } from "./types.ts";

/** A scheduled job: the child that runs it and its cron schedule (UTC; null = by hand only). */
export interface JobDefinition {
  name: string;
  childId: string;
  schedule: string | null;
  /** Executions of one occurrence at most, crash restarts and takeovers included (default 3). */
  maxAttempts?: number;
}

/** One run of a job as the scheduler saw it. */
export interface JobRun {
  /** Its `system.job_runs` id (null: started without a database, or not by this scheduler). */
  id: string | null;
  /** The occurrence it runs (ISO); null for a run by hand. */
  scheduledAt: string | null;
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

/** How a finished run ended: its `system.job_runs` row, read by id. */
export type OutcomeReader = (run: { job: string; id: string | null }) => Promise<
  | {
    status: string;
    error: string | null;
    details?: Record<string, unknown> | null;
    node?: string | null;
  }
  | undefined
>;

/** What a tick did: started a run, skipped (still running here), or lost the claim to a node. */
export type TickResult = "started" | "skipped" | "taken";

/** Options of {@linkcode JobScheduler}. */
export interface JobSchedulerOptions {
  view: Pick<SupervisorView, "child" | "startChild"> & Partial<Pick<SupervisorView, "stopChild">>;
  events: { record(e: SupervisorEvent): void };
  /** This node (`config.node`): the claims record it. */
  node: string;
  /** For claims and run outcomes; without it, runs start unclaimed and exits decide alone. */
  sql?: Sql;
  clock?: Clock;
  /** Replaces the `system.job_runs` lookup (tests). */
  readOutcome?: OutcomeReader;
  /** Whether schedules are registered (false: `nextRunAt` is null). */
  scheduled?: boolean;
  /** A node not seen for this long is gone (default `DEFAULT_TIMING.nodeTtlMs`). */
  nodeTtlMs?: number;
}

/** A `system.job_runs` row of a job's newest run (`load()`). */
export interface RunRowOfJob {
  id: string;
  job: string;
  scheduled_at: Date | null;
  started_at: Date;
  finished_at: Date | null;
  status: string;
  error: string | null;
  details: Record<string, unknown> | null;
}

/** The run a row shows after a restart of the process. */
export function runOfRow(r: RunRowOfJob): JobRun {
  return {
    id: r.id,
    scheduledAt: r.scheduled_at?.toISOString() ?? null,
    startedAt: r.started_at.getTime(),
    endedAt: r.finished_at?.getTime() ?? null,
    // A row still `running` belongs to a process that is gone (or to another node).
    status: r.status === "running"
      ? "interrupted"
      : r.status === "failed" || r.status === "error"
      ? "failed"
      : "ok",
    error: r.error,
    details: r.details,
  };
}

/**
 * Settles `run` after a normal exit from its row (`node`: this node). Returns whether the row is
 * still running on this node without an outcome (the caller closes it).
 */
export function settle(
  run: JobRun,
  row: Awaited<ReturnType<OutcomeReader>>,
  node: string,
): boolean {
  run.details = row?.details ?? null;
  if (row?.node != null && row.node !== node) {
    run.status = "interrupted";
    run.error = `run taken over by node ${row.node}`;
    return false;
  }
  if (row?.status === "failed" || row?.status === "error") {
    run.status = "failed";
    run.error = row.error ?? "failed";
    return false;
  }
  run.status = "ok";
  return row?.status === "running";
}

/** The degraded reason of a job whose last run failed (none otherwise). */
export function degradedReason(name: string, r: JobRun | null): string[] {
  if (r?.status !== "failed") return [];
  const at = new Date(r.endedAt ?? r.startedAt).toISOString();
  return [`job ${name} failed at ${at}: ${(r.error ?? "unknown error").slice(0, 300)}`];
}

/** A job as `/status` shows it, from its state here and its child. */
export function jobStatus(
  j: { def: JobDefinition; lastRun: JobRun | null; skipped: number },
  child: ChildStatus | undefined,
  o: { now: number; scheduled: boolean },
): JobStatus {
  return {
    name: j.def.name,
    childId: j.def.childId,
    schedule: j.def.schedule,
    state: child?.state ?? "unknown",
    running: child ? isAlive(child.state) || child.state === "backoff" : false,
    lastRun: j.lastRun ? { ...j.lastRun } : null,
    nextRunAt: o.scheduled && j.def.schedule !== null
      ? new Date(nextCronRun(j.def.schedule, o.now)).toISOString()
      : null,
    skipped: j.skipped,
  };
}
