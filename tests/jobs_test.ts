/**
 * Scheduled jobs end to end: the scheduler, a real supervisor and the real job workers against a
 * real PostgreSQL database. Overlapping ticks start one run; partition maintenance, retention
 * and backup run as workers with their minimal permissions and record their runs; a failed
 * backup is a failed row, a `job_failed` supervision event and a degraded `/readyz`.
 */
import { NO_PG_TOOLS } from "./_pg_tools.ts";
import assert from "node:assert/strict";
import type { ChildSpecInput } from "../supervisor/child_spec.ts";
import { jobChildren, jobDefinitions } from "../supervisor/children.ts";
import { createStatusApp } from "../supervisor/http.ts";
import { startSystem } from "../supervisor/main.ts";
import { tempDir } from "./_temp.ts";
import { createTestDb, eventually } from "./_db.ts";
import { done, jobConfig as config, lastRun, runJobInProcess, withJobs } from "./_jobs.ts";
import { ManualClock } from "../lib/clock.ts";
import type { JobOutcome } from "../actors/jobs/_job.ts";
import { monthPartitionName, monthStartUtc } from "../actors/jobs/_partitions.ts";

const LIVE_TABLES = ["btc_price_log", "eth_price_log", "kalshi_market_history"];

const TEST_ACTOR = new URL("./fixtures/test_actor.ts", import.meta.url).href;

Deno.test("scheduler - a tick while the job still runs is skipped: one run, then the next tick starts again", async () => {
  await using db = await createTestDb();
  const spec: ChildSpecInput = {
    id: "slow_job",
    module: TEST_ACTOR,
    restart: "transient",
    autostart: false,
    database: false,
    heartbeatMs: 50,
    args: { finishAfterMs: 400 },
  };
  await withJobs(db, [spec], async ({ sup, jobs, events }) => {
    assert.equal(await jobs.tick("slow_job"), "started");
    assert.equal(await jobs.tick("slow_job"), "skipped");
    await eventually(() => sup.child("slow_job")?.state === "running");
    assert.equal(await jobs.tick("slow_job"), "skipped");
    const run = await eventually(done(jobs, "slow_job"));
    assert.equal(run.status, "ok");
    assert.equal(sup.child("slow_job")?.state, "stopped");
    assert.equal(sup.child("slow_job")?.incarnation, 1, "exactly one run");
    assert.equal(jobs.jobs()[0]?.skipped, 2);
    await events.flush();
    const rows = await db.sql<{ event: string; reason: string | null }[]>`
      select event, reason from system.supervisor_events
       where actor_id = 'slow_job' order by id`;
    assert.equal(rows.filter((r) => r.event === "start").length, 1);
    assert.equal(rows.filter((r) => r.event === "job_skipped").length, 2);
    assert.match(rows.find((r) => r.event === "job_skipped")?.reason ?? "", /overlap prevented/);

    // Once the run is over, the next tick starts a new one.
    assert.equal(await jobs.tick("slow_job"), "started");
    await eventually(() => sup.child("slow_job")?.incarnation === 2 ? true : undefined);
    await eventually(() => lastRun(jobs, "slow_job")?.status === "ok" ? true : undefined);
  });
});

Deno.test("partition_maintenance and retention jobs run as workers and record their runs", async () => {
  await using db = await createTestDb();
  const specs = jobChildren(config({ DATABASE_URL: db.url }))
    .filter((s) => s.id === "partition_maintenance" || s.id === "retention");
  await withJobs(db, specs, async ({ sup, jobs }) => {
    assert.equal(await jobs.tick("partition_maintenance"), "started");
    assert.equal(await jobs.tick("retention"), "started");
    const p = await eventually(done(jobs, "partition_maintenance"), { timeoutMs: 30_000 });
    const r = await eventually(done(jobs, "retention"), { timeoutMs: 30_000 });
    assert.equal(p.status, "ok", p.error ?? "");
    assert.equal(r.status, "ok", r.error ?? "");
    assert.ok(typeof r.details?.cutoff === "string", "the run's details reach /status");
    assert.deepEqual(r.details?.dropped, []);
    assert.equal(sup.child("retention")?.state, "stopped");
    assert.equal(sup.child("retention")?.incarnation, 1, "a finished job is not restarted");
  });
  const runs = await db.sql<{ job: string; status: string; details: Record<string, unknown> }[]>`
    select job, status, details from system.job_runs order by id`;
  assert.deepEqual(runs.map((x) => [x.job, x.status]).sort(), [
    ["partition_maintenance", "ok"],
    ["retention", "ok"],
  ]);
  // Three months ahead of the month the run started in exist for every table (the run's own
  // start time, not the test's clock: the two may fall in different months).
  const [started] = await db.sql<{ at: Date }[]>`
    select started_at as at from system.job_runs where job = 'partition_maintenance'`;
  const ahead = monthStartUtc(started!.at.getTime(), 3);
  const parts = await db.sql<{ partition: string }[]>`
    select partition from system.time_partitions
     where partition = any(${LIVE_TABLES.map((t) => monthPartitionName(t, ahead))})`;
  assert.equal(parts.length, 3);
  const retention = runs.find((x) => x.job === "retention")?.details;
  assert.ok(typeof retention?.cutoff === "string");
});

Deno.test({
  name: "backup job - a failed backup is a failed row, a job_failed event and a degraded /readyz",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const parent = tmp.path;
  await Deno.writeTextFile(`${parent}/file`, "x");
  const cfg = config({ DATABASE_URL: db.url, RECIO_BACKUP_DIR: `${parent}/file/backups` });
  const specs = jobChildren(cfg).filter((s) => s.id === "backup");
  await withJobs(db, specs, async ({ sup, jobs, events }) => {
    const app = createStatusApp({
      view: sup,
      sql: db.sql,
      extra: { jobs: () => jobs.jobs(), degraded: () => jobs.degradedReasons() },
    });
    const before = await (await app.request("/readyz")).json();
    assert.equal(before.status, undefined);

    assert.equal(await jobs.tick("backup"), "started");
    const run = await eventually(done(jobs, "backup"), { timeoutMs: 30_000 });
    assert.equal(run.status, "failed");
    assert.match(run.error ?? "", /not a directory/i);
    assert.equal(sup.child("backup")?.incarnation, 1, "a failed backup is not retried at once");

    const ready = await app.request("/readyz");
    const body = await ready.json();
    assert.equal(ready.status, 200);
    assert.equal(body.status, "degraded");
    assert.match(body.degraded[0], /^job backup failed/);
    const status = await (await app.request("/status")).json();
    const job = status.jobs.find((j: { name: string }) => j.name === "backup");
    assert.equal(job.lastRun.status, "failed");
    assert.equal(job.nextRunAt, jobs.jobs()[0]?.nextRunAt);

    await events.flush();
    const failed = await db.sql<{ reason: string }[]>`
      select reason from system.supervisor_events
       where actor_id = 'backup' and event = 'job_failed'`;
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.reason, /not a directory/i);
  }, jobDefinitions(cfg).filter((d) => d.name === "backup"));
  const [b] = await db.sql<{ status: string; error: string }[]>`
    select status, error from system.backups`;
  assert.equal(b?.status, "failed");
  assert.match(b?.error ?? "", /not a directory/i);
  const [j] = await db.sql<{ status: string }[]>`
    select status from system.job_runs where job = 'backup'`;
  assert.equal(j?.status, "failed");
});

Deno.test({
  name: "backup job - runs pg_dump as a worker allowed only pg_dump and its folder",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  const cfg = config({ DATABASE_URL: db.url, RECIO_BACKUP_DIR: dir });
  const specs = jobChildren(cfg).filter((s) => s.id === "backup");
  const perms = specs[0]?.permissions;
  assert.deepEqual(perms?.write, [dir]);
  assert.ok(Array.isArray(perms?.run) && perms.run.every((p) => p.endsWith("/pg_dump")));
  await withJobs(db, specs, async ({ jobs }) => {
    assert.equal(await jobs.tick("backup"), "started");
    const run = await eventually(done(jobs, "backup"), { timeoutMs: 60_000 });
    assert.equal(run.status, "ok", run.error ?? "");
    assert.deepEqual(jobs.degradedReasons(), []);
  });
  const [b] = await db.sql<{ status: string; path: string; sha256: string }[]>`
    select status, path, sha256 from system.backups`;
  assert.equal(b?.status, "ok");
  assert.ok(b?.path.startsWith(`${dir}/recio_`));
  assert.equal(b?.sha256.length, 64);
  assert.ok((await Deno.stat(b!.path)).size > 0);
});

Deno.test("startSystem() schedules the jobs with Deno.cron and shows them in /status", async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  const cfg = config({
    DATABASE_URL: db.url,
    RECIO_HTTP_PORT: "0",
    RECIO_BACKUP_DIR: dir,
    RECIO_JOB_RETENTION: "off",
    RECIO_LOG_LEVEL: "fatal",
  });
  const system = await startSystem(cfg, { children: jobChildren(cfg) });
  try {
    const status = await (await fetch(`${system.url}/status`)).json();
    const byName = Object.fromEntries(
      status.jobs.map((j: { name: string }) => [j.name, j]),
    );
    assert.deepEqual(Object.keys(byName).sort(), [
      "backup",
      "history_backfill",
      "partition_maintenance",
      "retention",
    ]);
    assert.equal(byName.backup.schedule, "0 4 * * *");
    assert.equal(byName.backup.state, "stopped");
    assert.equal(byName.backup.running, false);
    assert.equal(byName.retention.schedule, null);
    assert.equal(byName.retention.nextRunAt, null);
    const next = Date.parse(byName.partition_maintenance.nextRunAt);
    assert.ok(next > Date.now() && next <= Date.now() + 86_400_000);
    assert.equal(new Date(next).getUTCHours(), 3);
    // A run started by hand (as a tick would) is tracked like a scheduled one.
    assert.equal(await system.jobs.tick("partition_maintenance"), "started");
    const run = await eventually(done(system.jobs, "partition_maintenance"), {
      timeoutMs: 30_000,
    });
    assert.equal(run.status, "ok");
    const ready = await (await fetch(`${system.url}/readyz`)).json();
    assert.equal(ready.status, undefined, "not degraded");
  } finally {
    assert.equal(await system.shutdown(0, "test over"), 0);
  }
});

Deno.test("job runs - a NUL, an unpaired surrogate, an over-long text or an out-of-range number in an outcome never leaves a run open", async () => {
  await using db = await createTestDb();
  const start = Date.UTC(2026, 4, 1);
  const clock = new ManualClock(start);
  const outcome = (o: JobOutcome, before?: () => void) => () => {
    before?.();
    return Promise.resolve(o);
  };
  const runs = [
    outcome({ status: "ok", details: { file: "a.dump" } }),
    // A tool's message quoting a NUL, a path with a lone surrogate, a very long stderr.
    outcome({ status: "failed", error: "pg_dump: bad \u0000 byte", details: {} }),
    outcome({ status: "ok", details: { path: "/backups/x\uD800.dump" } }),
    outcome({ status: "failed", error: "e".repeat(100_000), details: {} }),
    // Numbers JSON cannot carry.
    outcome({ status: "ok", details: { bytes: 2n ** 70n, ratio: Infinity } }),
    // A finish time PostgreSQL cannot store (year -271821): that part alone is refused.
    outcome({ status: "ok", details: { n: 1 } }, () => clock.set(-8.64e15)),
    outcome({ status: "ok", details: { after: true } }),
  ];
  const results = [];
  for (const work of runs) {
    results.push(await runJobInProcess(db, "noisy_job", work, clock));
    if (clock.now() < start) clock.set(start + 60_000);
  }
  assert.deepEqual(results.map((r) => r.end), runs.map(() => "stopped"), "no run crashed");
  assert.deepEqual(results.map((r) => r.counters["job_runs.rejected"] ?? 0), [0, 0, 0, 0, 0, 1, 0]);
  const rows = await db.sql<
    {
      status: string;
      error: string | null;
      details: Record<string, unknown> | null;
      fin: Date | null;
    }[]
  >`select status, error, details, finished_at as fin from system.job_runs order by id`;
  assert.deepEqual(rows.map((r) => r.status), ["ok", "failed", "ok", "failed", "ok", "ok", "ok"]);
  assert.equal(rows[1]!.error, "pg_dump: bad  byte");
  assert.deepEqual(rows[2]!.details, { path: "/backups/x\uFFFD.dump" });
  assert.ok(rows[3]!.error!.length <= 20_001, "an over-long error is bounded");
  assert.deepEqual(rows[4]!.details, { bytes: "1180591620717411303424", ratio: null });
  // The refused run is still closed with its status; what was refused is named, not stored.
  assert.match(rows[5]!.error ?? "", /refused by PostgreSQL/);
  assert.equal(rows[5]!.fin, null);
  assert.deepEqual(rows[6]!.details, { after: true });
  assert.equal(rows[6]!.fin?.getTime(), start + 60_000);
});
