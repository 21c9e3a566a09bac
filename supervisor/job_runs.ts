/**
 * The scheduler's queries of `system.job_runs` (migration 0091): one row per run, created by the
 * scheduler, whose id the job gets in its init args and updates alone (`actors/jobs/_job.ts`).
 *
 * - {@linkcode claimRun}: an occurrence (job, scheduled time) is claimed by one insert that the
 *   unique constraint lets only one node win (`on conflict do nothing returning id`, as pg-boss
 *   keys its cron occurrences); a run started by hand has no scheduled time, so it is its own
 *   occurrence.
 * - {@linkcode reclaimRuns}: a run still `running` whose node is not alive (`lib/cluster.ts`) is
 *   taken over by one UPDATE that compares the node it read, so of two survivors exactly one
 *   gets it (the other's update re-checks the row and finds a live node). A node only takes runs
 *   while it is alive itself: a node that cannot heartbeat is not a survivor.
 * - Liveness is the database's `now()` against `system.cluster_nodes`; no node's clock is used.
 *
 * @module
 */
import { DEFAULT_TIMING, nodeAlive } from "../lib/cluster.ts";
import type { Sql } from "../lib/db.ts";

/** A run's outcome and owner, read by id. */
export interface RunRow {
  status: string;
  error: string | null;
  details: Record<string, unknown> | null;
  node: string | null;
  attempt: number;
}

/** A run this node took over from a node that is gone. */
export interface TakenRun {
  id: string;
  job: string;
  /** The node it was taken from. */
  from: string;
  /** Executions begun before (the job's begin counts the next). */
  attempt: number;
  maxAttempts: number;
  scheduledAt: Date | null;
}

/** Who sweeps: this node, its liveness TTL, and runs of its own previous process to take back. */
export interface SweepOptions {
  node: string;
  nodeTtlMs?: number;
  /** Ids of runs this node's previous process left running (read at start-up). */
  own?: readonly string[];
}

/**
 * Claims one occurrence of `job` for `node`; returns the run id, or undefined when another node
 * (or an earlier tick) already holds that occurrence. `scheduledAt` null: a run by hand.
 */
export async function claimRun(
  sql: Sql,
  o: { job: string; scheduledAt: number | null; node: string; maxAttempts: number },
): Promise<string | undefined> {
  const at = o.scheduledAt === null ? null : new Date(o.scheduledAt);
  const [row] = await sql<{ id: string }[]>`
    insert into system.job_runs
      (job, scheduled_at, started_at, status, node, attempt, max_attempts, claimed_at)
    values (${o.job}, ${at}, now(), 'running', ${o.node}, 0, ${o.maxAttempts}, now())
    on conflict (job, scheduled_at) do nothing
    returning id::text as id`;
  return row?.id;
}

/** Run `id` as the job left it. */
export async function readRun(sql: Sql, id: string): Promise<RunRow | undefined> {
  const [row] = await sql<RunRow[]>`
    select status, error, details, node, attempt from system.job_runs where id = ${id}`;
  return row;
}

/**
 * Closes run `id` with `status` if it is still running on `node` (a run the job left open: it
 * ended without an outcome, or it will not be resumed). Returns whether a row was closed.
 */
export async function closeRun(
  sql: Sql,
  o: { id: string; node: string; status: "ok" | "failed"; error: string | null },
): Promise<boolean> {
  const rows = await sql`
    update system.job_runs set status = ${o.status}, error = ${o.error}, finished_at = now()
     where id = ${o.id} and node = ${o.node} and status = 'running'`;
  return rows.count > 0;
}

/** The condition, over `system.job_runs o`, of a run whose node is gone (or is this node's own old run). */
function orphan(sql: Sql, s: SweepOptions) {
  const ttl = s.nodeTtlMs ?? DEFAULT_TIMING.nodeTtlMs;
  return sql`o.status = 'running' and o.node is not null and (
      (o.node <> ${s.node} and not exists (
        select 1 from system.cluster_nodes n where n.node = o.node and ${nodeAlive(sql, "n", ttl)}))
      or o.id = any(${[...(s.own ?? [])]}::bigint[]))
    and exists (
      select 1 from system.cluster_nodes m where m.node = ${s.node} and ${
    nodeAlive(sql, "m", ttl)
  })`;
}

/**
 * Takes over, for `node`, at most one orphaned run of each of `jobs` with attempts left (the
 * oldest claim first). Atomic per run: the UPDATE matches the node it read.
 */
export async function reclaimRuns(
  sql: Sql,
  jobs: readonly string[],
  s: SweepOptions,
): Promise<TakenRun[]> {
  if (jobs.length === 0) return [];
  return await sql<TakenRun[]>`
    update system.job_runs r set node = ${s.node}, claimed_at = now()
      from (
        select distinct on (o.job) o.id, o.node from system.job_runs o
         where o.job = any(${[...jobs]}) and o.attempt < o.max_attempts and ${orphan(sql, s)}
         order by o.job, o.claimed_at nulls first, o.id
      ) d
     where r.id = d.id and r.node = d.node and r.status = 'running'
    returning r.id::text as id, r.job, d.node as "from", r.attempt,
              r.max_attempts as "maxAttempts", r.scheduled_at as "scheduledAt"`;
}

/** Closes as failed the orphaned runs of `jobs` that have used all their attempts. */
export async function closeExhausted(
  sql: Sql,
  jobs: readonly string[],
  s: SweepOptions,
): Promise<{ id: string; job: string }[]> {
  if (jobs.length === 0) return [];
  return await sql<{ id: string; job: string }[]>`
    update system.job_runs o set status = 'failed', finished_at = now(),
           error = format('%s (node "%s" is gone; gave up after %s of %s attempts)',
             coalesce(o.error, 'no outcome'), o.node, o.attempt, o.max_attempts)
     where o.job = any(${[...jobs]}) and o.attempt >= o.max_attempts and ${orphan(sql, s)}
    returning o.id::text as id, o.job`;
}

/** Of runs `ids`, those held by another node now (taken over while this node seemed gone). */
export async function runsTakenFrom(
  sql: Sql,
  node: string,
  ids: readonly string[],
): Promise<{ id: string; node: string | null }[]> {
  if (ids.length === 0) return [];
  return await sql<{ id: string; node: string | null }[]>`
    select id::text as id, node from system.job_runs
     where id = any(${[...ids]}::bigint[]) and node is distinct from ${node}`;
}

/** Ids of the runs `node` holds as running: at start-up, its previous process's. */
export async function runningOn(
  sql: Sql,
  node: string,
  jobs: readonly string[],
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const rows = await sql<{ id: string }[]>`
    select id::text as id from system.job_runs
     where node = ${node} and status = 'running' and job = any(${[...jobs]})`;
  return rows.map((r) => r.id);
}

/** The newest run of each of `jobs`. */
export async function latestRuns(sql: Sql, jobs: readonly string[]) {
  return await sql<
    {
      id: string;
      job: string;
      scheduled_at: Date | null;
      started_at: Date;
      finished_at: Date | null;
      status: string;
      error: string | null;
      details: Record<string, unknown> | null;
    }[]
  >`
    select distinct on (job) id::text as id, job, scheduled_at, started_at, finished_at, status,
           error, details
      from system.job_runs where job = any(${[...jobs]})
     order by job, started_at desc, id desc`;
}
