/**
 * A job's run id (migration 0091) against a real PostgreSQL: the scheduler claims the run, the
 * job gets its id in its init args and updates that run alone, counting an attempt per begin
 * (crash restarts included) up to the run's limit. Refused: a run id of another job, a run held
 * by another node, a bad `runId` argument, and, for a user's own role, any run but its own job's.
 */
import assert from "node:assert/strict";
import { type JobOutcome, type JobWork, takeRunId } from "../actors/jobs/_job.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import { claimRun } from "../supervisor/job_runs.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { testUserLogins } from "./_db_users.ts";
import { runJobInProcess } from "./_jobs.ts";

const AT = Date.UTC(2020, 0, 1, 4);
const INGEST = "kalshi_historical_ingest:user_0001";

const claim = (db: TestDb, job: string, o: { at?: number; node?: string; max?: number } = {}) =>
  claimRun(db.sql, {
    job,
    scheduledAt: o.at ?? AT,
    node: o.node ?? "test",
    maxAttempts: o.max ?? 3,
  }).then((id) => id!);

async function row(db: TestDb, id: string) {
  const [r] = await db.sql<
    {
      job: string;
      node: string;
      status: string;
      attempt: number;
      error: string | null;
      details: Record<string, unknown> | null;
      finished_at: Date | null;
    }[]
  >`select job, node, status, attempt, error, details, finished_at
      from system.job_runs where id = ${id}`;
  return r!;
}

const ok = (details: Record<string, unknown>): JobWork => () =>
  Promise.resolve<JobOutcome>({ status: "ok", details });

/** The SQLSTATE `q` fails with, or "ok". */
const refusal = (q: Promise<unknown>) =>
  q.then(() => "ok", (e: { code?: string }) => e.code ?? String(e));

Deno.test("job run id - the job begins and closes the run the scheduler passed, and no other row", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const mine = await claim(db, "noisy_job");
  const next = await claim(db, "noisy_job", { at: AT + 86_400_000 });
  const other = await claim(db, "other_job");
  const result = await runJobInProcess(db, "noisy_job", ok({ n: 1 }), clock, {
    args: { runId: mine },
  });
  assert.equal(result.end, "stopped");
  const done = await row(db, mine);
  assert.deepEqual([done.status, done.attempt, done.details], ["ok", 1, { n: 1 }]);
  assert.equal(done.finished_at?.getTime(), clock.now());
  for (const id of [next, other]) {
    const r = await row(db, id);
    assert.deepEqual([r.status, r.attempt, r.details], ["running", 0, null], "untouched");
  }
  const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from system.job_runs`;
  assert.equal(count?.n, 3, "the job opened no row of its own");
});

Deno.test("job run id - a crash restart begins the same run again as its next attempt; past the limit it is closed, not run", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const id = await claim(db, "flaky_job", { max: 2 });
  let calls = 0;
  const boom: JobWork = () => {
    calls++;
    return Promise.reject(new Error("disk on fire"));
  };
  const args = { runId: id };
  assert.equal((await runJobInProcess(db, "flaky_job", boom, clock, { args })).end, "fatal");
  const first = await row(db, id);
  assert.deepEqual([first.status, first.attempt], ["failed", 1]);
  assert.match(first.error ?? "", /disk on fire/);
  assert.equal((await runJobInProcess(db, "flaky_job", boom, clock, { args })).end, "fatal");
  assert.equal((await row(db, id)).attempt, 2);
  // A third start (the supervisor's cool-down restart) finds no attempt left.
  const third = await runJobInProcess(db, "flaky_job", boom, clock, { args });
  assert.deepEqual([third.end, third.counters["runs.refused"]], ["stopped", 1]);
  assert.equal(calls, 2, "the work ran twice, not three times");
  const last = await row(db, id);
  assert.deepEqual([last.status, last.attempt], ["failed", 2]);
  assert.match(last.error ?? "", /disk on fire.*gave up after 2 of 2 attempts/);
});

Deno.test("job run id - a run held by another node, or finished, is refused: the job does not run", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const elsewhere = await claim(db, "noisy_job", { node: "n9" });
  let calls = 0;
  const work: JobWork = () => {
    calls++;
    return Promise.resolve({ status: "ok", details: {} });
  };
  const r1 = await runJobInProcess(db, "noisy_job", work, clock, { args: { runId: elsewhere } });
  assert.deepEqual([r1.end, r1.counters["runs.refused"]], ["stopped", 1]);
  assert.deepEqual([(await row(db, elsewhere)).attempt, calls], [0, 0]);
  const finished = await claim(db, "noisy_job", { at: AT + 60_000 });
  await runJobInProcess(db, "noisy_job", work, clock, { args: { runId: finished } });
  const r2 = await runJobInProcess(db, "noisy_job", work, clock, { args: { runId: finished } });
  assert.deepEqual([r2.counters["runs.refused"], calls], [1, 1], "an ok run is not run again");
});

Deno.test("job run id - a run id of another job is an error, and that run is untouched", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const backup = await claim(db, "backup");
  const r = await runJobInProcess(db, "noisy_job", ok({}), clock, { args: { runId: backup } });
  assert.equal(r.end, "fatal");
  assert.deepEqual(
    await refusal(db.sql`select system.begin_job_run(${backup}, 'noisy_job', 'test', now())`),
    "42501",
  );
  const b = await row(db, backup);
  assert.deepEqual([b.job, b.status, b.attempt], ["backup", "running", 0]);
});

Deno.test("job run id - a user's role may begin and close only runs of its own job", async () => {
  await using db = await createTestDb();
  const url = (await testUserLogins(db, ["user_0001"])).get("user_0001")!;
  const own = await claim(db, INGEST);
  const backup = await claim(db, "backup");
  const theirs = await claim(db, "kalshi_historical_ingest:user_0002");
  const sql = createSql(url, { max: 1 });
  try {
    const begin = (id: string, job: string) =>
      refusal(sql`select system.begin_job_run(${id}, ${job}, 'test', now())`);
    const end = (id: string, job: string) =>
      refusal(sql`select system.end_job_run(${id}, ${job}, 'test', 1, now(), 'ok', null, null)`);
    const codes = {
      "begin backup's run": await begin(backup, "backup"),
      "begin backup's run as its ingest": await begin(backup, INGEST),
      "begin user_0002's run": await begin(theirs, "kalshi_historical_ingest:user_0002"),
      "close backup's run": await end(backup, "backup"),
      "close backup's run as its ingest": await end(backup, INGEST),
      "claim a run": await refusal(sql`
        insert into system.job_runs (job, started_at, status) values (${INGEST}, now(), 'running')`),
      "take a run over": await refusal(sql`update system.job_runs set node = 'evil'`),
    };
    assert.deepEqual(codes, Object.fromEntries(Object.keys(codes).map((k) => [k, "42501"])));
    assert.equal(await begin(own, INGEST), "ok");
    assert.equal(await end(own, INGEST), "ok");
  } finally {
    await sql.end({ timeout: 2 });
  }
  // The job itself, run as that role with another job's run id, crashes and writes nothing.
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const r = await runJobInProcess(db, INGEST, ok({}), clock, {
    args: { runId: backup },
    databaseUrl: url,
  });
  assert.equal(r.end, "fatal");
  assert.deepEqual((await row(db, own)).status, "ok");
  for (const id of [backup, theirs]) {
    const t = await row(db, id);
    assert.deepEqual([t.status, t.attempt, t.node], ["running", 0, "test"]);
  }
});

Deno.test("takeRunId() separates the run id from the job's args and refuses one that is no run id", () => {
  assert.deepEqual(takeRunId({ runId: "42", dir: "/x" }), { runId: "42", args: { dir: "/x" } });
  assert.deepEqual(takeRunId({ dir: "/x" }), { runId: undefined, args: { dir: "/x" } });
  for (const bad of ["", "0", "-1", "1e3", "12a", "9".repeat(20), 42, null, { id: 1 }]) {
    assert.throws(() => takeRunId({ runId: bad }), /runId must be the id of a system\.job_runs/);
  }
});

Deno.test("end_job_run() refuses a status other than ok or failed", async () => {
  await using db = await createTestDb();
  const id = await claim(db, "noisy_job");
  await db.sql`select system.begin_job_run(${id}, 'noisy_job', 'test', now())`;
  assert.equal(
    await refusal(db.sql`
      select system.end_job_run(${id}, 'noisy_job', 'test', 1, now(), 'running', null, null)`),
    "23514",
  );
  assert.equal((await row(db, id)).status, "running");
});
