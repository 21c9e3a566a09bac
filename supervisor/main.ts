/**
 * The supervisor process: config → database (with bounded retry) → its live/demo mark (a database
 * of the other mode is refused before anything is written, exit 2; see `schema/database_mode.ts`)
 * → schema migrations → the mark, on a database that had none → each user's schema and own login
 * (`lib/db_users.ts`; a missing or unsafe password file is exit 2) → the supervision tree → the
 * HTTP status server. Run by the heart (`main.ts`), which passes `DATABASE_URL` (its embedded
 * server's when none is configured). `RECIO_DEMO=1` (set by `deno task demo`) makes it a demo
 * supervisor.
 *
 * Exit codes: 0 clean stop, 1 a critical child failed, 2 invalid configuration, 3 database
 * unreachable or migration refused, 70 a zombie worker kept burning CPU (restart needed).
 *
 * @module
 */
import { type Config, loadConfig } from "../lib/config.ts";
import { connectWithRetry, describeTarget, type Sql } from "../lib/db.ts";
import { provisionUserLogins } from "../lib/db_users.ts";
import {
  ConfigError,
  DatabaseError,
  DatabaseRefusedError,
  SupervisorError,
} from "../lib/errors.ts";
import { getLogger, redactText, setupLogging } from "../lib/log.ts";
import { checkDatabaseMode, markDatabaseMode } from "../schema/database_mode.ts";
import { migrate } from "../schema/migrate.ts";
import { type ChildSpecInput, databaseUser, validateChildSpecs } from "./child_spec.ts";
import {
  assertArgsValid,
  assertModulesExist,
  defaultChildren,
  jobDefinitions,
  readChildrenFile,
} from "./children.ts";
import { EventBus } from "./event_bus.ts";
import { EventLog, loadRestartHistory } from "./event_log.ts";
import { forwardDrills } from "./http_drills.ts";
import { createStatusApp } from "./http.ts";
import { serveGuarded } from "./http_guard.ts";
import { allowedHosts } from "./http_host.ts";
import { JobScheduler, registerCron } from "./jobs.ts";
import { Supervisor } from "./mod.ts";
import { joinCluster } from "./cluster.ts";
import { systemClock } from "../lib/clock.ts";

/** Exit codes of the supervisor process. */
export const EXIT = {
  ok: 0,
  critical: 1,
  config: 2,
  database: 3,
  zombie: 70,
} as const;

/** A running supervisor process. */
export interface RunningSystem {
  supervisor: Supervisor;
  sql: Sql;
  events: EventLog;
  url: string;
  /** Stops everything gracefully; resolves with the exit code given. */
  shutdown(code: number, reason: string): Promise<number>;
  /** Resolves when the system has shut down, with its exit code. */
  done: Promise<number>;
  /** The job scheduler (`tick()` runs a job now, as its schedule would). */
  jobs: JobScheduler;
}

/** Starts the whole system from `config`. */
export async function startSystem(
  config: Config,
  options: { children?: ChildSpecInput[] } = {},
): Promise<RunningSystem> {
  const log = getLogger("supervisor");
  const databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    throw new ConfigError(
      "DATABASE_URL: not set (run `deno task start`, whose heart starts the embedded database)",
    );
  }
  const sql = await connectWithRetry(databaseUrl, {
    timeoutMs: config.dbConnectTimeoutMs,
    max: config.dbPoolMax,
    applicationName: "recio-supervisor",
    onRetry: (attempt, delay) =>
      log.warn("Database {target} not reachable (attempt {attempt}); retrying in {delay} ms", {
        target: describeTarget(databaseUrl),
        attempt,
        delay: Math.round(delay),
      }),
  });
  const mode = config.demo ? "demo" : "live";
  const target = describeTarget(databaseUrl);
  try {
    // Read only: a database of the other mode is refused before anything is written to it.
    const found = await checkDatabaseMode(sql, mode, target);
    const migrated = await migrate(sql, { log });
    if (migrated.applied.length > 0) {
      log.info("Applied migrations {applied}", { applied: migrated.applied });
    }
    await markDatabaseMode(sql, mode, found, {
      by: `${config.demo ? "deno task demo" : "deno task start"} (supervisor pid ${Deno.pid})`,
      target,
      log,
    });
  } catch (e) {
    await sql.end({ timeout: 2 });
    throw e;
  }

  const specs = validateChildSpecs(
    options.children ??
      (config.childrenFile ? readChildrenFile(config.childrenFile) : defaultChildren(config)),
  );
  assertModulesExist(specs);
  assertArgsValid(specs);
  // Every user whose children connect as its own role (in the default tree, every user in
  // KALSHI_USERS) gets its schema and login now; the URLs (secrets) go only to those children.
  const users = [...new Set(specs.map(databaseUser).filter((u) => u !== undefined))];
  let userDatabaseUrls: Map<string, string>;
  try {
    userDatabaseUrls = await provisionUserLogins(sql, databaseUrl, {
      users,
      dir: config.dbUsers.dir,
      generate: config.dbUsers.generate,
      log,
      connectTimeout: Math.max(1, Math.ceil(config.dbConnectTimeoutMs / 1000)),
    });
  } catch (e) {
    await sql.end({ timeout: 2 });
    throw e;
  }

  const bus = new EventBus({ node: config.node });
  // Scheduled jobs: transient children started on their cron schedules (Deno.cron); the
  // scheduler follows their runs through the recorded events.
  const scheduler = new JobScheduler(
    jobDefinitions(config).filter((j) => specs.some((s) => s.id === j.childId)),
    {
      view: {
        child: (id) => supervisor.child(id),
        startChild: (id, reason, args) => supervisor.startChild(id, reason, args),
        stopChild: (id, reason) => supervisor.stopChild(id, reason),
      },
      events: { record: (e) => events.record(e) },
      node: config.node,
      sql,
      scheduled: config.jobs.enabled,
    },
  );
  const events = new EventLog(sql, {
    node: config.node,
    onEvent: (e) => {
      bus.publish(e);
      scheduler.observe(e);
    },
  });
  const longestPeriod = Math.max(60_000, ...specs.map((s) => s.intensity.periodMs));
  const history = await loadRestartHistory(
    sql,
    config.node,
    new Date(Date.now() - longestPeriod),
  );

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let shuttingDown: Promise<number> | undefined;

  // Cluster mode: register the node (a live twin of its name is exit 2) before any child runs.
  const cluster = await joinCluster({
    sql,
    node: config.node,
    specs,
    clock: systemClock,
    onChange: (c) => supervisor.leaseChanged(c),
    onNodeLost: (reason) => void shutdown(EXIT.config, reason),
  }).catch(async (e) => {
    await sql.end({ timeout: 2 });
    throw e;
  });

  const supervisor: Supervisor = new Supervisor(specs, {
    node: config.node,
    leases: cluster.leases,
    strategy: config.strategy,
    events,
    databaseUrl,
    userDatabaseUrls,
    log: { format: config.log.format, level: config.log.level },
    restartHistory: history,
    zombieCpuBoundMs: config.zombieCpuBoundMs,
    onCriticalFailure: (id, reason) =>
      void shutdown(EXIT.critical, `critical child ${id} failed: ${reason}`),
    onEscalate: (reason) => void shutdown(EXIT.zombie, reason),
  });

  await scheduler.load().catch((e) =>
    log.warn("Cannot read the last job runs: {error}", { error: redactText(String(e)) })
  );
  const cronStop = new AbortController();
  if (config.jobs.enabled) registerCron(scheduler, { signal: cronStop.signal });

  const app = createStatusApp({
    view: supervisor,
    sql,
    token: config.http.token,
    bus,
    eventLog: events,
    allowedHosts: allowedHosts(config.http.host, config.http.allowedHosts),
    extra: { jobs: () => scheduler.jobs(), degraded: () => scheduler.degradedReasons() },
    // Demo mode: the drills run in the demo's own process (demo/drills.ts), next to the heart
    // that owns the embedded database; this process only forwards them.
    drills: config.demo && config.demoControlUrl ? forwardDrills(config.demoControlUrl) : undefined,
    cluster: { doc: () => cluster.doc(), stats: () => cluster.leases.stats },
  });
  // Deno.serve has no header or idle timeout: the guard owns the port and bounds both.
  const server = await serveGuarded(app.fetch, {
    hostname: config.http.host,
    port: config.http.port,
    headerTimeoutMs: config.http.headerTimeoutMs,
    idleTimeoutMs: config.http.idleTimeoutMs,
  });
  const url = `http://${config.http.host}:${server.addr.port}`;

  const shutdown = (code: number, reason: string): Promise<number> => {
    shuttingDown ??= (async () => {
      log.info("Shutting down ({reason})", { reason });
      cronStop.abort();
      await supervisor.stop(reason);
      await cluster.stop().catch((e) =>
        log.warn("Cannot mark node {node} stopped: {error}", {
          node: config.node,
          error: redactText(String(e)),
        })
      );
      await scheduler.settled();
      events.record({ actorId: null, event: "supervisor_stop", reason, details: { code } });
      const flushed = await events.flush(5_000);
      if (!flushed) {
        log.error("Could not write {pending} supervision events before exit", {
          pending: events.pending,
        });
      }
      events.close();
      bus.close(); // ends the event streams, or server.shutdown() would wait for them forever
      await server.shutdown();
      await sql.end({ timeout: 2 });
      resolveDone(code);
      return code;
    })();
    return shuttingDown;
  };

  events.record({
    actorId: null,
    event: "supervisor_start",
    details: { pid: Deno.pid, children: specs.map((s) => s.id), url },
  });
  await cluster.start();
  supervisor.start();
  log.info("Status server on {url}", { url });
  return { supervisor, sql, events, url, shutdown, done, jobs: scheduler };
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return EXIT.config;
  }
  await setupLogging({ format: config.log.format, level: config.log.level, file: config.log.file });
  const log = getLogger("supervisor");
  let system: RunningSystem;
  try {
    system = await startSystem(config);
  } catch (e) {
    const msg = redactText(e instanceof Error ? e.message : String(e));
    log.fatal("Cannot start: {error}", { error: msg });
    console.error(msg);
    if (
      e instanceof ConfigError || e instanceof SupervisorError || e instanceof DatabaseRefusedError
    ) return EXIT.config;
    if (e instanceof DatabaseError) return EXIT.database;
    throw e;
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void system.shutdown(EXIT.ok, `${signal} received`));
  }
  // Machine-readable line for the heart and for tests.
  console.log(JSON.stringify({ event: "listening", url: system.url, pid: Deno.pid }));
  return await system.done;
}

if (import.meta.main) {
  Deno.exit(await main());
}
