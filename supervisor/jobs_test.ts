import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { type JobDefinition, JobScheduler, type OutcomeReader } from "./jobs.ts";
import type { ChildStatus, LifecycleState } from "./types.ts";

/** A supervisor view with one settable state per child; records startChild calls. */
class FakeView {
  states = new Map<string, LifecycleState>();
  started: string[] = [];
  child(id: string): ChildStatus | undefined {
    const state = this.states.get(id);
    return state ? ({ id, state, incarnation: 1 } as ChildStatus) : undefined;
  }
  startChild(id: string): Promise<void> {
    this.started.push(id);
    this.states.set(id, "starting");
    return Promise.resolve();
  }
}

class Events {
  list: SupervisorEvent[] = [];
  record(e: SupervisorEvent): void {
    this.list.push(e);
  }
  named(event: string) {
    return this.list.filter((e) => e.event === event);
  }
}

const BACKUP: JobDefinition = { name: "backup", childId: "backup", schedule: "0 4 * * *" };

function setup(readOutcome?: OutcomeReader, clock = new ManualClock(Date.UTC(2026, 10, 24, 8))) {
  const view = new FakeView();
  view.states.set("backup", "stopped");
  const events = new Events();
  const jobs = new JobScheduler([BACKUP], { view, events, clock, readOutcome, node: "n1" });
  return { view, events, jobs, clock };
}

Deno.test("JobScheduler.tick() starts the job's child when no run is going", async () => {
  const { view, jobs, events } = setup();
  assert.equal(await jobs.tick("backup"), "started");
  assert.deepEqual(view.started, ["backup"]);
  assert.equal(events.named("job_skipped").length, 0);
});

Deno.test("JobScheduler.tick() records job_skipped instead of a second run while one is going", async () => {
  for (const state of ["starting", "running", "degraded", "stopping", "backoff"] as const) {
    const { view, jobs, events } = setup();
    view.states.set("backup", state);
    assert.equal(await jobs.tick("backup"), "skipped", state);
    assert.deepEqual(view.started, [], state);
    const [skip] = events.named("job_skipped");
    assert.equal(skip?.actorId, "backup");
    assert.match(skip?.reason ?? "", new RegExp(`overlap prevented.*${state}`));
    assert.equal(jobs.jobs()[0]?.skipped, 1);
  }
});

Deno.test("JobScheduler.tick() refuses an unknown job", async () => {
  const { jobs } = setup();
  await assert.rejects(() => jobs.tick("nope"), /unknown job/);
});

Deno.test("JobScheduler - refuses a bad cron expression and a duplicate job name", () => {
  const view = new FakeView();
  const events = new Events();
  assert.throws(
    () => new JobScheduler([{ ...BACKUP, schedule: "0 25 * * *" }], { view, events, node: "n1" }),
    /Cannot parse cron expression/,
  );
  assert.throws(
    () => new JobScheduler([BACKUP, BACKUP], { view, events, node: "n1" }),
    /duplicate job/,
  );
  assert.throws(
    () => new JobScheduler([{ ...BACKUP, maxAttempts: 0 }], { view, events, node: "n1" }),
    /maxAttempts must be >= 1/,
  );
});

Deno.test("JobScheduler.jobs() shows the next run computed from the schedule", () => {
  const { jobs, clock } = setup();
  assert.equal(jobs.jobs()[0]?.nextRunAt, "2026-11-25T04:00:00.000Z");
  clock.set(Date.UTC(2026, 10, 25, 3, 59));
  assert.equal(jobs.jobs()[0]?.nextRunAt, "2026-11-25T04:00:00.000Z");
  clock.set(Date.UTC(2026, 10, 25, 4, 0));
  assert.equal(jobs.jobs()[0]?.nextRunAt, "2026-11-26T04:00:00.000Z");
  const manual = new JobScheduler([{ ...BACKUP, schedule: null }], {
    view: new FakeView(),
    events: new Events(),
    node: "n1",
  });
  assert.equal(manual.jobs()[0]?.nextRunAt, null);
});

Deno.test("JobScheduler.observe() closes a run by its outcome row; a failed one is an event and a degraded reason", async () => {
  let outcome: Awaited<ReturnType<OutcomeReader>> = {
    status: "failed",
    error: "ConfigError: needs pg_dump 18",
    details: { path: "/backups/x.dump" },
  };
  const { jobs, events, clock } = setup(() => Promise.resolve(outcome));
  const start = clock.now();
  jobs.observe({ actorId: "backup", event: "start", at: start });
  assert.equal(jobs.jobs()[0]?.lastRun?.status, "running");
  assert.deepEqual(jobs.degradedReasons(), []);
  jobs.observe({ actorId: "backup", event: "exit", reason: "normal: finished", at: start + 500 });
  await jobs.settled();
  const run = jobs.jobs()[0]?.lastRun;
  assert.deepEqual(run, {
    id: null,
    scheduledAt: null,
    startedAt: start,
    endedAt: start + 500,
    status: "failed",
    error: "ConfigError: needs pg_dump 18",
    details: { path: "/backups/x.dump" },
  });
  assert.equal(events.named("job_failed").length, 1);
  assert.match(jobs.degradedReasons()[0] ?? "", /^job backup failed at .*needs pg_dump 18/);

  // The next run succeeds: no longer degraded.
  outcome = { status: "ok", error: null };
  jobs.observe({ actorId: "backup", event: "start", at: start + 1000 });
  jobs.observe({ actorId: "backup", event: "exit", reason: "normal: finished", at: start + 1500 });
  await jobs.settled();
  assert.equal(jobs.jobs()[0]?.lastRun?.status, "ok");
  assert.deepEqual(jobs.degradedReasons(), []);
});

Deno.test("JobScheduler.observe() counts an abnormal exit as a failed run", async () => {
  const { jobs, events } = setup(() => Promise.resolve({ status: "ok", error: null }));
  jobs.observe({ actorId: "backup", event: "start", at: 1 });
  jobs.observe({ actorId: "backup", event: "exit", reason: "crash: Error: boom", at: 2 });
  await jobs.settled();
  assert.equal(jobs.jobs()[0]?.lastRun?.status, "failed");
  assert.equal(jobs.jobs()[0]?.lastRun?.error, "crash: Error: boom");
  assert.equal(events.named("job_failed")[0]?.reason, "crash: Error: boom");
  // Events of other actors are ignored.
  jobs.observe({ actorId: "system_monitor", event: "start", at: 3 });
  assert.equal(jobs.jobs()[0]?.lastRun?.startedAt, 1);
});

Deno.test("JobScheduler.observe() counts a normal exit without an outcome row as ok, and a stop as stopped", async () => {
  const { jobs } = setup(() => Promise.resolve(undefined));
  jobs.observe({ actorId: "backup", event: "start", at: 1 });
  jobs.observe({ actorId: "backup", event: "exit", reason: "normal: finished", at: 2 });
  await jobs.settled();
  assert.equal(jobs.jobs()[0]?.lastRun?.status, "ok");
  jobs.observe({ actorId: "backup", event: "start", at: 3 });
  jobs.observe({ actorId: "backup", event: "stopped", reason: "supervisor stopping", at: 4 });
  assert.equal(jobs.jobs()[0]?.lastRun?.status, "stopped");
  assert.deepEqual(jobs.degradedReasons(), []);
});

Deno.test("JobScheduler.fire() runs the occurrence its clock is at; a job without a schedule cannot fire", async () => {
  const { view, jobs, clock } = setup();
  clock.set(Date.UTC(2026, 10, 25, 4, 0, 0, 800));
  assert.equal(await jobs.fire("backup"), "started");
  assert.deepEqual(view.started, ["backup"]);
  jobs.observe({ actorId: "backup", event: "start", at: clock.now() });
  assert.equal(jobs.jobs()[0]?.lastRun?.scheduledAt, "2026-11-25T04:00:00.000Z");
  const manual = new JobScheduler([{ ...BACKUP, schedule: null }], {
    view: new FakeView(),
    events: new Events(),
    node: "n1",
  });
  assert.throws(() => manual.fire("backup"), /Cannot fire job "backup": no schedule/);
});
