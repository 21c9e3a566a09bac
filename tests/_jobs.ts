/**
 * Test helpers of the scheduled jobs: a real supervisor over job children with a scheduler wired
 * to its recorded events, as `supervisor/main.ts` wires them, the job's last run, and one run of a
 * job actor in this process.
 *
 * @module
 */
import { createJobActor, type JobWork, takeRunId } from "../actors/jobs/_job.ts";
import { hostActor, type Port } from "../actors/_runtime.ts";
import type { Clock } from "../lib/clock.ts";
import { loadConfig } from "../lib/config.ts";
import { createSql } from "../lib/db.ts";
import type { ActorMessage } from "../schema/messages.ts";
import { type ChildSpecInput, databaseUser, validateChildSpecs } from "../supervisor/child_spec.ts";
import { EventLog } from "../supervisor/event_log.ts";
import { type JobDefinition, JobScheduler } from "../supervisor/jobs.ts";
import { Supervisor } from "../supervisor/mod.ts";
import type { TestDb } from "./_db.ts";
import { testUserLogins } from "./_db_users.ts";
import { eventually } from "./_eventually.ts";

/** What a test gets inside {@linkcode withJobs}. */
export interface JobHarness {
  sup: Supervisor;
  jobs: JobScheduler;
  events: EventLog;
}

/**
 * A supervisor over `specs` with a scheduler wired to its events, as supervisor/main.ts does, as
 * node `node` (several of them on one database are a cluster).
 */
export async function withJobs(
  db: TestDb,
  specs: ChildSpecInput[],
  fn: (h: JobHarness) => Promise<void>,
  defs: JobDefinition[] = specs.map((s) => ({ name: s.id, childId: s.id, schedule: "0 4 * * *" })),
  node = "test",
): Promise<void> {
  const events = new EventLog(db.sql, {
    node,
    flushMs: 20,
    onEvent: (e) => jobs.observe(e),
  });
  const validated = validateChildSpecs(specs);
  // A user's job connects as that user's own role, as under supervisor/main.ts.
  const users = [...new Set(validated.map(databaseUser).filter((u) => u !== undefined))];
  const sup = new Supervisor(validated, {
    node,
    events,
    databaseUrl: db.url,
    userDatabaseUrls: await testUserLogins(db, users),
    tickMs: 50,
    log: { format: "text", level: "fatal" },
  });
  const jobs = new JobScheduler(defs, { view: sup, events, sql: db.sql, node });
  sup.start();
  try {
    await fn({ sup, jobs, events });
  } finally {
    await sup.stop("test over");
    await jobs.settled();
    await events.flush();
    events.close();
  }
}

/** The configuration of a test node. */
export function jobConfig(env: Record<string, string> = {}) {
  return loadConfig({ RECIO_NODE: "test", ...env });
}

/** The newest run of job `name`, as `/status` shows it. */
export function lastRun(jobs: JobScheduler, name: string) {
  return jobs.jobs().find((j) => j.name === name)?.lastRun ?? null;
}

/** For `eventually()`: the last run of `name` once it is over. */
export const done = (jobs: JobScheduler, name: string) => () => {
  const r = lastRun(jobs, name);
  return r && r.status !== "running" ? r : undefined;
};

/** What one in-process run of a job actor ended with. */
export interface JobRunResult {
  /** `stopped` after `ctx.finish()`, `fatal` when the run crashed. */
  end: "stopped" | "fatal";
  counters: Record<string, number>;
}

/**
 * Runs `work` once as job `job` through {@linkcode createJobActor}, in this process (no worker),
 * on `clock`, with the init args a scheduler would give (`args.runId`, on node `node`); resolves
 * when the actor has stopped or crashed.
 */
export async function runJobInProcess(
  db: TestDb,
  job: string,
  work: JobWork,
  clock: Clock,
  init: { args?: Record<string, unknown>; node?: string; databaseUrl?: string } = {},
): Promise<JobRunResult> {
  const posted: ActorMessage[] = [];
  const port: Port = { postMessage: (m) => posted.push(m), onmessage: null };
  const url = init.databaseUrl ?? db.url;
  hostActor(port, (ctx) => {
    const { runId } = takeRunId(ctx.args);
    return createJobActor(ctx, { job, runId, sql: createSql(url, { max: 1 }), work });
  }, { clock });
  port.onmessage!(
    new MessageEvent("message", {
      data: {
        type: "init",
        id: job,
        incarnation: 1,
        node: init.node ?? "test",
        args: init.args ?? {},
        heartbeatMs: 20,
        databaseUrl: db.url,
        log: { format: "text", level: "fatal" },
      },
    }),
  );
  const end = await eventually(() =>
    posted.find((m) => m.type === "stopped" || m.type === "fatal")?.type as JobRunResult["end"]
  );
  if (end === "fatal") port.onmessage!(new MessageEvent("message", { data: { type: "stop" } }));
  const beats = posted.filter((m) => m.type === "heartbeat");
  const last = beats.at(-1);
  return { end, counters: last?.type === "heartbeat" ? { ...last.progress.counters } : {} };
}
