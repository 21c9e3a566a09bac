/**
 * Reads what `/metrics` reports about scheduled jobs and backups from PostgreSQL
 * (`system.job_runs`, `system.backups`), so the numbers survive supervisor restarts and do not
 * depend on which process ran the job.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import type { OpsMetrics } from "./http_metrics.ts";

/** Statuses that mean a run or a backup failed (anything else that finished without error is ok). */
const FAILED = ["failed", "error", "aborted", "timeout"];

/**
 * The newest finished run of every job and the newest successful backup; `undefined` when they
 * cannot be read within `timeoutMs`.
 */
export async function readOpsMetrics(sql: Sql, timeoutMs = 1_000): Promise<OpsMetrics | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
  });
  try {
    const [jobs, backups] = await Promise.race([
      timeout,
      Promise.all([
        sql<
          {
            job: string;
            status: string;
            error: string | null;
            started_at: Date;
            finished_at: Date | null;
          }[]
        >`
        select distinct on (job) job, status, error, started_at, finished_at
        from system.job_runs
        where finished_at is not null
        order by job, started_at desc, id desc`,
        sql<{ finished_at: Date; size_bytes: string | null }[]>`
        select finished_at, size_bytes
        from system.backups
        where finished_at is not null and error is null and status <> all(${FAILED})
        order by finished_at desc
        limit 1`,
      ]),
    ]);
    const b = backups[0];
    return {
      jobs: jobs.map((j) => ({
        job: j.job,
        ok: j.finished_at !== null && j.error === null && !FAILED.includes(j.status),
        startedAt: j.started_at.getTime(),
        durationMs: j.finished_at ? j.finished_at.getTime() - j.started_at.getTime() : null,
      })),
      lastBackupAt: b ? b.finished_at.getTime() : null,
      lastBackupBytes: b?.size_bytes == null ? null : Number(b.size_bytes),
    };
  } catch {
    // No tables yet or the database is down: the supervisor's own metrics still render.
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
