/**
 * The status server as `supervisor/main.ts` serves it, for the HTTP benchmark: `createStatusApp`
 * behind `serveGuarded`, over a realistic view (the default tree's 10 children with their
 * counters and leases, the four scheduled jobs from a real `JobScheduler` with their last runs,
 * the cluster document from a real `joinCluster` on the database, a health row) and a fresh
 * migrated database for its queries.
 *
 * Alone it serves for a while (for a CPU profile under an external load):
 * `DATABASE_URL=... deno run -A --cpu-prof bench/_status_server.ts 20` prints the URL, serves
 * for 20 s and exits.
 *
 * @module
 */
import { systemClock } from "../lib/clock.ts";
import { loadConfig } from "../lib/config.ts";
import { validateChildSpecs } from "../supervisor/child_spec.ts";
import { defaultChildren, jobDefinitions } from "../supervisor/children.ts";
import { joinCluster } from "../supervisor/cluster.ts";
import { createStatusApp, type StatusAppDeps } from "../supervisor/http.ts";
import { type GuardedServer, serveGuarded } from "../supervisor/http_guard.ts";
import { JobScheduler } from "../supervisor/jobs.ts";
import type { ChildStatus, SupervisorView } from "../supervisor/types.ts";
import { createTestDb } from "../tests/_db.ts";

const NODE = "bench-node";

/** A running status server and what stands behind it. */
export interface StatusFixture {
  server: GuardedServer;
  base: string;
  close(): Promise<void>;
}

type Spec = ReturnType<typeof validateChildSpecs>[number];

/** A child of the default tree as a running supervisor shows it (a job between runs). */
function status(spec: Spec, i: number, now: number, epoch: (id: string) => number): ChildStatus {
  const job = !spec.autostart;
  const started = now - 3_600_000 + i * 1_000;
  return {
    id: spec.id,
    module: spec.module,
    state: job ? "stopped" : "running",
    incarnation: job ? 1 : 2,
    restarts: job ? 0 : 1,
    restartsInWindow: 0,
    critical: spec.critical,
    restart: spec.restart,
    dependsOn: [...spec.dependsOn],
    startedAt: started,
    readyAt: job ? null : started + 800,
    lastHeartbeatAt: job ? null : now - 400,
    heartbeatAgeMs: job ? null : 400,
    newestDataAt: job ? null : now - 900,
    freshnessMs: spec.freshness,
    freshnessLagMs: job ? null : 900,
    stale: false,
    handled: job ? 3 : 12_345 + i,
    heapUsed: job ? null : 8_000_000 + i * 100_000,
    counters: job ? { "rows.written": 1_000 } : {
      "rejected.bad_frame": 2,
      "ws.frames": 12_000 + i,
      "db.writes": 3_600,
      "ws.reconnects": 1,
    },
    details: job ? {} : { endpoint: "wss://example.invalid/feed", lastSecond: now - 1_000 },
    reason: job ? "exited normally" : null,
    lastError: null,
    nextRestartAt: null,
    restartsByCause: job ? {} : { crash: 1 },
    lease: spec.singleton === null ? null : { held: true, holder: NODE, epoch: epoch(spec.id) },
    singleton: spec.singleton,
  };
}

/** The app's dependencies as `main.ts` wires them, on a fresh database; `close` undoes it. */
export async function statusDeps(): Promise<{ deps: StatusAppDeps; close(): Promise<void> }> {
  const config = loadConfig({});
  const specs = validateChildSpecs(defaultChildren(config));
  const db = await createTestDb();
  await db.sql`
    insert into system.health_status (checked_at, node, overall_status, database_ok, db_latency_ms, details)
    values (now(), ${NODE}, 'healthy', true, 0.42, ${db.sql.json({ checks: 7, failing: [] })})`;
  for (const j of jobDefinitions(config)) {
    await db.sql`
      insert into system.job_runs (job, scheduled_at, started_at, finished_at, status, node, attempt, max_attempts, claimed_at, details)
      values (${j.name}, now() - interval '1 day', now() - interval '1 day', now() - interval '1 day' + interval '20 s',
              'ok', ${NODE}, 1, 3, now() - interval '1 day', ${db.sql.json({ rows: 1234 })})`;
  }
  const cluster = await joinCluster({
    sql: db.sql,
    node: NODE,
    specs,
    clock: systemClock,
    instance: crypto.randomUUID(),
    onChange: () => {},
    onNodeLost: () => {},
  });
  await cluster.start();
  const startedAt = Date.now() - 3_600_000;
  const epoch = (id: string) => cluster.leases.grant(id)?.epoch ?? 0;
  // A supervisor builds fresh statuses on every call; so does this view.
  const children = () => specs.map((s, i) => status(s, i, Date.now(), epoch));
  const view: SupervisorView = {
    node: NODE,
    startedAt,
    children,
    child: (id) => children().find((c) => c.id === id),
    readiness: () => ({ ready: true, reasons: [] }),
    zombies: () => 0,
    restartChild: () => Promise.resolve(),
    stopChild: () => Promise.resolve(),
    startChild: () => Promise.resolve(),
  };
  const scheduler = new JobScheduler(jobDefinitions(config), {
    view,
    events: { record: () => {} },
    node: NODE,
    sql: db.sql,
    scheduled: true,
  });
  await scheduler.load();
  const deps: StatusAppDeps = {
    view,
    sql: db.sql,
    token: "bench-token",
    version: "bench",
    extra: { jobs: () => scheduler.jobs(), degraded: () => scheduler.degradedReasons() },
    cluster: { doc: () => cluster.doc(), stats: () => cluster.leases.stats },
  };
  return {
    deps,
    async close() {
      await cluster.stop().catch(() => {});
      await db.drop();
    },
  };
}

/** Starts the database, cluster membership, scheduler and the guarded status server. */
export async function startStatusFixture(): Promise<StatusFixture> {
  const { deps, close } = await statusDeps();
  const server = await serveGuarded(createStatusApp(deps).fetch, {
    hostname: "127.0.0.1",
    port: 0,
  });
  return {
    server,
    base: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      await close();
    },
  };
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 20);
  const f = await startStatusFixture();
  console.log(f.base);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await f.close();
}
