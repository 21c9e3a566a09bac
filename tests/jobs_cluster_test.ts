/**
 * Jobs in cluster mode against a real PostgreSQL: several schedulers (nodes) on one database. An
 * occurrence every node fires runs once; a run whose node is gone is retried by exactly one
 * survivor, within the job's attempts; a live node's run is never taken; a node whose run was
 * taken stops it. Occurrence times are explicit (fake clocks); liveness is the database's now()
 * against `system.cluster_nodes` rows the tests write (the node registry's job in production).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createSql, type Sql } from "../lib/db.ts";
import type { SupervisorEvent } from "../supervisor/event_log.ts";
import { jobChildren, jobDefinitions } from "../supervisor/children.ts";
import { claimRun } from "../supervisor/job_runs.ts";
import { type JobDefinition, JobScheduler } from "../supervisor/jobs.ts";
import type { ChildStatus, LifecycleState } from "../supervisor/types.ts";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { done, jobConfig, lastRun, withJobs } from "./_jobs.ts";

/** An occurrence of `0 4 * * *` before any test run. */
const AT = Date.UTC(2020, 0, 1, 4);
const BACKUP: JobDefinition = { name: "backup", childId: "backup", schedule: "0 4 * * *" };
const HOUR = 3_600_000;

/** One child's supervisor, recording what the scheduler asks of it. */
class FakeView {
  state: LifecycleState = "stopped";
  started: { reason: string; args?: Record<string, unknown> }[] = [];
  stopped: string[] = [];
  child(id: string): ChildStatus {
    return { id, state: this.state, incarnation: this.started.length } as ChildStatus;
  }
  startChild(_id: string, reason: string, args?: Record<string, unknown>): Promise<void> {
    this.started.push({ reason, args });
    this.state = "starting";
    return Promise.resolve();
  }
  stopChild(_id: string, reason: string): Promise<void> {
    this.stopped.push(reason);
    this.state = "stopped";
    return Promise.resolve();
  }
}

/** A node's scheduler over a fake supervisor (its own connection, so nodes really race). */
function node(db: TestDb, name: string, o: { clock?: ManualClock; defs?: JobDefinition[] } = {}) {
  const view = new FakeView();
  const events: SupervisorEvent[] = [];
  const sql: Sql = createSql(db.url, { max: 2 });
  const clock = o.clock ?? new ManualClock(AT);
  const jobs = new JobScheduler(o.defs ?? [BACKUP], {
    view,
    events: { record: (e) => events.push(e) },
    sql,
    node: name,
    clock,
  });
  const named = (event: string) => events.filter((e) => e.event === event);
  return {
    name,
    view,
    jobs,
    clock,
    named,
    [Symbol.asyncDispose]: async () => {
      await jobs.settled();
      await sql.end({ timeout: 2 });
    },
  };
}

/** `name`'s heartbeat row, last seen `agoMs` before the database's now(). */
async function heartbeat(db: TestDb, name: string, agoMs = 0): Promise<void> {
  await db.sql`
    insert into system.cluster_nodes (node, instance, last_seen_at)
    values (${name}, gen_random_uuid(), now() - ${agoMs} * interval '1 millisecond')
    on conflict (node) do update set last_seen_at = excluded.last_seen_at, stopped_at = null`;
}

async function runs(db: TestDb) {
  return await db.sql<
    {
      id: string;
      scheduled_at: Date | null;
      node: string | null;
      status: string;
      attempt: number;
      error: string | null;
    }[]
  >`select id::text as id, scheduled_at, node, status, attempt, error
      from system.job_runs order by id`;
}

Deno.test("JobScheduler.fire() on three nodes at one occurrence: one claim, one run row, one start with its run id", async () => {
  await using db = await createTestDb();
  // Clocks that differ by most of the period still fire the same 04:00 occurrence.
  await using n1 = node(db, "n1", { clock: new ManualClock(AT + 150) });
  await using n2 = node(db, "n2", { clock: new ManualClock(AT + 42_000) });
  await using n3 = node(db, "n3", { clock: new ManualClock(AT + 59 * 60_000) });
  const nodes = [n1, n2, n3];
  const results = await Promise.all(nodes.map((n) => n.jobs.fire("backup")));
  assert.deepEqual([...results].sort(), ["started", "taken", "taken"]);
  const winner = nodes[results.indexOf("started")]!;
  const rows = await runs(db);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.scheduled_at?.getTime(), AT);
  assert.equal(rows[0]!.node, winner.name);
  assert.equal(rows[0]!.status, "running");
  assert.equal(rows[0]!.attempt, 0, "claimed, not begun yet");
  const starts = nodes.flatMap((n) => n.view.started);
  assert.deepEqual(starts.map((s) => s.args), [{ runId: rows[0]!.id }]);
  assert.match(starts[0]!.reason, /scheduled run of job backup \(2020-01-01T04:00:00\.000Z\)/);
  assert.deepEqual(nodes.map((n) => n.named("job_skipped").length), [0, 0, 0]);
});

Deno.test("claimRun() - a duplicate claim of an occurrence is refused; a run by hand is an occurrence of its own", async () => {
  await using db = await createTestDb();
  const claim = (node: string, scheduledAt: number | null) =>
    claimRun(db.sql, { job: "backup", scheduledAt, node, maxAttempts: 3 });
  const first = await claim("n1", AT);
  assert.ok(first);
  assert.equal(await claim("n2", AT), undefined);
  assert.equal(await claim("n1", AT), undefined, "the winner's own second claim too");
  await assert.rejects(
    db.sql`insert into system.job_runs (job, scheduled_at, started_at, status)
           values ('backup', ${new Date(AT)}, now(), 'running')`,
    (e: { code?: string }) => e.code === "23505",
  );
  // Runs by hand never collide with each other or with the occurrence.
  await using n1 = node(db, "n1");
  await using n2 = node(db, "n2");
  assert.deepEqual(await Promise.all([n1.jobs.tick("backup"), n2.jobs.tick("backup")]), [
    "started",
    "started",
  ]);
  const rows = await runs(db);
  assert.deepEqual(rows.map((r) => r.scheduled_at?.getTime() ?? null), [AT, null, null]);
  assert.match(n1.view.started[0]!.reason, /run of job backup by hand/);
  assert.deepEqual(
    [n1, n2].map((n) => n.view.started[0]!.args?.runId).sort(),
    [rows[1]!.id, rows[2]!.id],
  );
});

Deno.test("two supervisors firing one occurrence: the job runs once, as a worker that begins and closes its run by id", async () => {
  await using db = await createTestDb();
  const cfg = jobConfig({ DATABASE_URL: db.url });
  const specs = jobChildren(cfg).filter((s) => s.id === "partition_maintenance");
  const defs = jobDefinitions(cfg).filter((d) => d.name === "partition_maintenance");
  const at = Date.UTC(2020, 0, 1, 3);
  await withJobs(
    db,
    specs,
    async (a) => {
      await withJobs(
        db,
        specs,
        async (b) => {
          const results = await Promise.all([a, b].map((n) => n.jobs.tick(defs[0]!.name, at)));
          assert.deepEqual([...results].sort(), ["started", "taken"]);
          const [winner, loser] = results[0] === "started" ? [a, b] : [b, a];
          const run = await eventually(done(winner.jobs, "partition_maintenance"), {
            timeoutMs: 30_000,
          });
          assert.equal(run.status, "ok", run.error ?? "");
          assert.equal(run.scheduledAt, new Date(at).toISOString());
          assert.equal(loser.sup.child("partition_maintenance")?.incarnation, 0, "never started");
          assert.equal(lastRun(loser.jobs, "partition_maintenance"), null);
          const rows = await runs(db);
          assert.equal(rows.length, 1);
          assert.equal(rows[0]!.id, run.id);
          assert.equal(rows[0]!.node, winner.sup.node);
          assert.deepEqual([rows[0]!.status, rows[0]!.attempt], ["ok", 1], "begun once, by id");
        },
        defs,
        "n2",
      );
    },
    defs,
    "n1",
  );
});

Deno.test("JobScheduler.recover() - a run of a dead node is retried by exactly one of two survivors that sweep at once", async () => {
  await using db = await createTestDb();
  await heartbeat(db, "n1", HOUR);
  await heartbeat(db, "n2");
  await heartbeat(db, "n3");
  await using n1 = node(db, "n1");
  assert.equal(await n1.jobs.tick("backup", AT), "started");
  const [run] = await runs(db);
  const [begun] = await db.sql<{ a: number }[]>`
    select system.begin_job_run(${run!.id}, 'backup', 'n1', now()) as a`;
  assert.equal(begun!.a, 1, "n1 was running it when it died");

  await using n2 = node(db, "n2");
  await using n3 = node(db, "n3");
  // A transaction holding the row makes both sweeps read it as orphaned before either takes it.
  let sweeps!: Promise<string[][]>;
  await db.sql.begin(async (tx) => {
    await tx`select 1 from system.job_runs where id = ${run!.id} for update`;
    sweeps = Promise.all([n2.jobs.recover(), n3.jobs.recover()]);
    await eventually(async () => {
      const [w] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'`;
      return w!.n >= 2 ? true : undefined;
    });
  });
  const taken = await sweeps;
  assert.deepEqual(taken.map((t) => t.length).sort(), [0, 1]);
  const survivor = taken[0]!.length === 1 ? n2 : n3;
  const other = survivor === n2 ? n3 : n2;
  assert.deepEqual(survivor.view.started.map((s) => s.args), [{ runId: run!.id }]);
  assert.match(survivor.view.started[0]!.reason, /attempt 2 of 3.*node n1 is gone/);
  assert.equal(survivor.named("job_retried").length, 1);
  assert.deepEqual([other.view.started.length, other.named("job_retried").length], [0, 0]);
  const [after] = await runs(db);
  assert.deepEqual([after!.node, after!.status, after!.attempt], [survivor.name, "running", 1]);

  // The survivor is alive: sweeping again takes nothing, on either node.
  survivor.view.state = "running";
  assert.deepEqual(await Promise.all([n2.jobs.recover(), n3.jobs.recover()]), [[], []]);
  // The dead node's late writes are fenced; the survivor begins the run as attempt 2.
  const refused = (q: Promise<unknown>) => q.then(() => "ok", (e) => e.code);
  assert.equal(
    await refused(db.sql`select system.end_job_run(${run!.id}, 'backup', 'n1', 1, now(), 'ok',
      null, null)`),
    "RF001",
  );
  assert.equal(
    await refused(db.sql`select system.begin_job_run(${run!.id}, 'backup', 'n1', now())`),
    "RF001",
  );
  const [again] = await db.sql<{ a: number }[]>`
    select system.begin_job_run(${run!.id}, 'backup', ${survivor.name}, now()) as a`;
  assert.equal(again!.a, 2);
});

Deno.test("JobScheduler.recover() - a live node's run is not taken; a node that is not alive itself takes nothing", async () => {
  await using db = await createTestDb();
  await heartbeat(db, "n1");
  await heartbeat(db, "n2");
  await using n1 = node(db, "n1");
  await using n2 = node(db, "n2");
  await using n3 = node(db, "n3");
  assert.equal(await n1.jobs.tick("backup", AT), "started");
  assert.deepEqual(await n2.jobs.recover(), []);
  assert.deepEqual((await runs(db)).map((r) => r.node), ["n1"]);

  // n1 dies; n3 has never heartbeated, then only long ago: it is no survivor.
  await heartbeat(db, "n1", HOUR);
  assert.deepEqual(await n3.jobs.recover(), []);
  await heartbeat(db, "n3", HOUR);
  assert.deepEqual(await n3.jobs.recover(), []);
  assert.deepEqual((await runs(db)).map((r) => r.node), ["n1"]);
  assert.equal(n3.view.started.length, 0);

  // A node that stopped cleanly is gone at once, however fresh its last heartbeat.
  await heartbeat(db, "n1");
  await db.sql`update system.cluster_nodes set stopped_at = now() where node = 'n1'`;
  assert.equal((await n2.jobs.recover()).length, 1);
  assert.deepEqual((await runs(db)).map((r) => r.node), ["n2"]);
});

Deno.test("JobScheduler.recover() - each takeover is an attempt; a run out of attempts is closed as failed, not retried", async () => {
  await using db = await createTestDb();
  const defs = [{ ...BACKUP, maxAttempts: 2 }];
  await heartbeat(db, "n1", HOUR);
  await heartbeat(db, "n2");
  await heartbeat(db, "n3");
  await using n1 = node(db, "n1", { defs });
  await using n2 = node(db, "n2", { defs });
  await using n3 = node(db, "n3", { defs });
  await n1.jobs.tick("backup", AT);
  const [run] = await runs(db);
  const begin = (n: string) =>
    db.sql`select system.begin_job_run(${run!.id}, 'backup', ${n}, now())`;
  await begin("n1");
  assert.deepEqual(await n2.jobs.recover(), [run!.id]);
  assert.match(n2.view.started[0]!.reason, /attempt 2 of 2/);
  await begin("n2");
  await heartbeat(db, "n2", HOUR); // n2 dies during the last attempt
  assert.deepEqual(await n3.jobs.recover(), []);
  assert.equal(n3.view.started.length, 0);
  const [after] = await runs(db);
  assert.equal(after!.status, "failed");
  assert.match(after!.error ?? "", /node "n2" is gone; gave up after 2 of 2 attempts/);
  assert.equal(n3.named("job_failed").length, 1);
});

Deno.test("JobScheduler.watch() sweeps on its clock: a dead node's run is retried once the period has passed", async () => {
  await using db = await createTestDb();
  await heartbeat(db, "n1", HOUR);
  await heartbeat(db, "n2");
  await using n1 = node(db, "n1");
  await using n2 = node(db, "n2");
  await n1.jobs.tick("backup", AT);
  const stop = new AbortController();
  n2.jobs.watch(stop.signal, 1_000);
  await n2.clock.tick(999);
  assert.deepEqual([n2.clock.pendingTimers, n2.view.started.length], [1, 0], "not swept yet");
  await n2.clock.tick(1);
  await eventually(() => n2.view.started.length === 1 ? true : undefined);
  await n2.jobs.settled();
  stop.abort();
  assert.equal(n2.clock.pendingTimers, 0);
});

Deno.test("JobScheduler.recover() - a node whose run another node took over stops its child (job_taken)", async () => {
  await using db = await createTestDb();
  await heartbeat(db, "n1");
  await using n1 = node(db, "n1");
  await n1.jobs.tick("backup", AT);
  n1.view.state = "running";
  assert.deepEqual(await n1.jobs.recover(), []);
  assert.deepEqual(n1.view.stopped, [], "its own run: left alone");
  // n1 seemed gone for a while and n2 took the run over.
  await db.sql`update system.job_runs set node = 'n2'`;
  await n1.jobs.recover();
  assert.equal(n1.view.stopped.length, 1);
  assert.match(n1.view.stopped[0]!, /taken over by node n2/);
  assert.equal(n1.named("job_taken").length, 1);
});

Deno.test("JobScheduler.load() and recover() - a run this node's previous process left running is taken back and retried", async () => {
  await using db = await createTestDb();
  await heartbeat(db, "n1");
  {
    await using before = node(db, "n1");
    await before.jobs.tick("backup", AT);
  }
  const [run] = await runs(db);
  await db.sql`select system.begin_job_run(${run!.id}, 'backup', 'n1', now())`;
  await using after = node(db, "n1");
  await after.jobs.load();
  assert.equal(lastRun(after.jobs, "backup")?.status, "interrupted");
  assert.equal(lastRun(after.jobs, "backup")?.id, run!.id);
  assert.deepEqual(await after.jobs.recover(), [run!.id]);
  assert.deepEqual(after.view.started[0]?.args, { runId: run!.id });
  assert.match(after.view.started[0]!.reason, /attempt 2 of 3.*this node's previous process/);
});
