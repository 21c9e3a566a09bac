/**
 * Test helpers of the scheduled jobs: a real supervisor over job children with a scheduler wired
 * to its recorded events, as `supervisor/main.ts` wires them, and the job's last run.
 *
 * @module
 */
import { loadConfig } from "../lib/config.ts";
import { type ChildSpecInput, validateChildSpecs } from "../supervisor/child_spec.ts";
import { EventLog } from "../supervisor/event_log.ts";
import { type JobDefinition, JobScheduler } from "../supervisor/jobs.ts";
import { Supervisor } from "../supervisor/mod.ts";
import type { TestDb } from "./_db.ts";

/** What a test gets inside {@linkcode withJobs}. */
export interface JobHarness {
  sup: Supervisor;
  jobs: JobScheduler;
  events: EventLog;
}

/** A supervisor over `specs` with a scheduler wired to its events, as supervisor/main.ts does. */
export async function withJobs(
  db: TestDb,
  specs: ChildSpecInput[],
  fn: (h: JobHarness) => Promise<void>,
  defs: JobDefinition[] = specs.map((s) => ({ name: s.id, childId: s.id, schedule: "0 4 * * *" })),
): Promise<void> {
  const events = new EventLog(db.sql, {
    node: "test",
    flushMs: 20,
    onEvent: (e) => jobs.observe(e),
  });
  const sup = new Supervisor(validateChildSpecs(specs), {
    node: "test",
    events,
    databaseUrl: db.url,
    tickMs: 50,
    log: { format: "text", level: "fatal" },
  });
  const jobs = new JobScheduler(defs, { view: sup, events, sql: db.sql });
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
