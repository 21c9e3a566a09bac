/**
 * The status HTTP API (Hono): liveness, readiness, status, actors, supervision events, Prometheus
 * metrics, token-guarded control endpoints, read endpoints for prices and strike tables, and a
 * status page. A factory: only the supervisor's main calls `Deno.serve`; tests use
 * `app.request()`.
 *
 * Every request parameter is parsed with zod at the edge; a bad one is a 400 problem naming the
 * parameter and is counted (`/metrics` and `/status`, actor `http`). Errors are JSON problems
 * (see `http_problem.ts`); no error carries a secret or the database URL.
 *
 * `/status` is one document built at most every 250 ms and served as bytes (`status_doc.ts`); a
 * counted rejection or a control request marks it stale at once.
 *
 * @example
 * ```ts ignore
 * const app = createStatusApp({ view: supervisor, sql, token: Deno.env.get("STATUS_TOKEN") });
 * Deno.serve({ hostname: "127.0.0.1", port: 7070 }, app.fetch);
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { errorInfo } from "../lib/errors.ts";
import { getLogger, RateLimitedLog, redactText } from "../lib/log.ts";
import type { DrillRunner } from "./http_drills.ts";
import { addMarketRoutes } from "./http_market.ts";
import { addJournalRoutes } from "./http_journal.ts";
import { addEventStreamRoute } from "./http_stream.ts";
import { type AllowedHosts, allowedHosts, hostAllowed } from "./http_host.ts";
import { bearerMatches } from "../lib/same_secret.ts";
import { readOpsMetrics } from "./ops_metrics.ts";
import type { ClusterDoc } from "./cluster.ts";
import type { EventBus } from "./event_bus.ts";
import { readEvents } from "./event_log.ts";
import { type MetricsExtra, renderMetrics } from "./http_metrics.ts";
import { classify, problem, problemError, problemResponse } from "./http_problem.ts";
import { STATUS_PAGE } from "./status_page.ts";
import { type DbPing, pingDb, singleFlight, StatusDocument } from "./status_doc.ts";
import type { Readiness, SupervisorView } from "./types.ts";

/** What the status app reads from and acts on. */
export interface StatusAppDeps {
  view: SupervisorView;
  sql: Sql;
  /** Bearer token for the control endpoints; without one they answer 403. */
  token?: string | undefined;
  clock?: Clock;
  version?: string;
  /** Live supervision events for `GET /events/stream` (absent: the route answers 503). */
  bus?: EventBus;
  /** The event log's queue, for `/metrics` (an `EventLog` fits). */
  eventLog?: MetricsExtra["eventLog"];
  /** Optional extra sections of `/status`. */
  extra?: {
    jobs?: () => unknown;
    /** Reasons the system runs degraded (a failed backup); shown by `/readyz`, still 200. */
    degraded?: () => string[];
  };
  /**
   * `Host` names answered (`http_host.ts`); default: the loopback names. Others get 421, so a
   * page using DNS rebinding cannot read the API.
   */
  allowedHosts?: AllowedHosts;
  /** Fault drills (demo mode only): `POST /drills/:name`, token-guarded (see `http_drills.ts`). */
  drills?: DrillRunner;
  /** Cluster mode: `GET /cluster`, and the cluster in `/status` and `/metrics`. */
  cluster?: {
    doc(): Promise<ClusterDoc>;
    stats(): { cycles: number; failures: number };
  };
}

/** How long `/readyz` and `/status` wait for `select 1`. */
const DB_TIMEOUT_MS = 1_000;

/** The instants PostgreSQL and `Date` both hold exactly: 1970 through 9999, in UTC. */
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const EventsQuery = z.strictObject({
  actor: z.string().min(1).max(200)
    // deno-lint-ignore no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, "no control characters").optional(),
  since: z.iso.datetime({ offset: true })
    .refine((v) => {
      const ms = Date.parse(v);
      return ms >= 0 && ms <= LAST_INSTANT;
    }, "a time from 1970 through 9999 (UTC)")
    .optional(),
  limit: z.string().regex(/^\d{1,4}$/, "a whole number from 1 to 1000").transform(Number)
    .pipe(z.number().int().min(1).max(1000)).default(100),
});

/** Builds the status app. */
export function createStatusApp(deps: StatusAppDeps): Hono {
  const { view, sql } = deps;
  const clock = deps.clock ?? systemClock;
  const log = getLogger("http");
  const limited = new RateLimitedLog(log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => clock.now(),
  });
  const httpRejected: Record<string, number> = {};
  const reject = (reason: string) => {
    httpRejected[reason] = (httpRejected[reason] ?? 0) + 1;
    status.invalidate(); // /status counts it at once
  };
  const ping = singleFlight(() => pingDb(sql, clock, DB_TIMEOUT_MS));
  const app = new Hono();

  app.onError((err, c) => {
    const { status } = classify(err);
    if (status >= 500) {
      const info = errorInfo(err);
      limited.warn(
        `${c.req.method} ${c.req.routePath}`,
        "Request {method} {path} failed: {error}",
        {
          method: c.req.method,
          path: c.req.routePath,
          error: redactText(`${info.name}: ${info.message}`),
        },
      );
    }
    return problemResponse(err);
  });
  app.notFound((c) => problemResponse(problemError(404, `no such endpoint: ${c.req.method}`)));

  const hosts = deps.allowedHosts ?? allowedHosts("127.0.0.1", []);
  app.use("*", async (c, next) => {
    // In-process requests (tests, app.request) carry no Host header: their URL's host counts.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!hostAllowed(host, hosts)) {
      reject("bad_host");
      problem(421, "this server does not answer to that Host (see RECIO_HTTP_ALLOWED_HOSTS)");
    }
    await next();
    // A control request changed the supervisor's state: /status shows it at once.
    if (c.req.method === "POST") status.invalidate();
  });

  const readiness = async (): Promise<Readiness & { database: DbPing }> => {
    const r = view.readiness();
    const database = await ping();
    const reasons = [...r.reasons, ...(database.reachable ? [] : ["database unreachable"])];
    return { ready: reasons.length === 0, reasons, database };
  };

  app.get("/", (c) => {
    c.header("cache-control", "no-store");
    return c.html(STATUS_PAGE);
  });
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const { ready, reasons } = await readiness();
    const degraded = deps.extra?.degraded?.() ?? [];
    const detail = degraded.length > 0 ? { status: "degraded", degraded } : {};
    return c.json(ready ? { ready, ...detail } : { ready, reasons, ...detail }, ready ? 200 : 503);
  });

  const statusResponse = (bytes: Uint8Array<ArrayBuffer>) =>
    new Response(bytes, { headers: { "content-type": "application/json" } });
  app.get("/status", (): Response | Promise<Response> => {
    const bytes = status.bytes();
    return bytes instanceof Uint8Array ? statusResponse(bytes) : bytes.then(statusResponse);
  });

  const health = singleFlight(latestHealth);
  /** The newest `system.health_status` row; null while there is none (or no table yet). */
  async function latestHealth(): Promise<unknown> {
    try {
      const rows = await sql`select * from system.health_status_latest`;
      return rows[0] ?? null;
    } catch (e) {
      // 42P01: the table or view does not exist (yet); anything else is worth a warning.
      if ((e as { code?: string }).code !== "42P01") {
        limited.warn("health", "Cannot read system.health_status_latest: {error}", {
          error: redactText(errorInfo(e).message),
        });
      }
      return null;
    }
  }

  const clusterDoc = singleFlight(() => deps.cluster!.doc());
  /** `/status`, built at most every 250 ms (`status_doc.ts`); control requests invalidate it. */
  const status = new StatusDocument({
    view,
    clock,
    version: deps.version ?? "dev",
    ping,
    health,
    ...(deps.cluster ? { cluster: clusterDoc } : {}),
    ...(deps.extra?.jobs ? { jobs: deps.extra.jobs } : {}),
    httpRejected,
  });
  app.get("/cluster", async (c) => {
    if (!deps.cluster) problem(404, "this supervisor runs no cluster membership");
    return c.json(await clusterDoc());
  });

  app.get("/actors", (c) => c.json(view.children()));
  app.get("/actors/:id", (c) => {
    const id = c.req.param("id");
    const child = view.child(id);
    if (!child) problem(404, `unknown actor "${id.slice(0, 100)}"`);
    return c.json(child);
  });

  app.get("/events", async (c) => {
    const parsed = EventsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      reject("bad_query");
      const issue = parsed.error.issues[0]!;
      const name = issue.code === "unrecognized_keys"
        ? issue.keys.join(", ")
        : issue.path.join(".");
      problem(400, `invalid query parameter "${name.slice(0, 100)}": ${issue.message}`);
    }
    const q = parsed.data;
    const rows = await readEvents(sql, {
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.since ? { since: new Date(q.since) } : {}),
      order: "newest",
      limit: q.limit,
    });
    return c.json(rows);
  });

  app.get("/metrics", async (c) => {
    const ops = await readOpsMetrics(sql);
    const cluster = deps.cluster
      ? await clusterDoc().then((d) => ({ ...d, ...deps.cluster!.stats() })).catch(() => undefined)
      : undefined;
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(renderMetrics(view, clock.now(), {
      httpRejected,
      ...(deps.eventLog ? { eventLog: deps.eventLog } : {}),
      ...(deps.bus ? { streamClients: deps.bus.subscribers } : {}),
      ...(ops ? { ops } : {}),
      ...(cluster ? { cluster } : {}),
    }));
  });

  /** The bearer-token guard of every endpoint that changes state. */
  const authorize = async (header: string | undefined) => {
    if (!deps.token) problem(403, "control endpoints are disabled (set STATUS_TOKEN)");
    if (!(await bearerMatches(header, deps.token))) {
      reject("unauthorized");
      problem(401, "a valid bearer token is required", { "WWW-Authenticate": "Bearer" });
    }
  };

  app.post("/drills/:name", async (c) => {
    await authorize(c.req.header("authorization"));
    if (!deps.drills) problem(404, "fault drills are available in demo mode only");
    const name = c.req.param("name");
    if (!/^[a-z0-9_]{1,40}$/.test(name)) problem(400, "invalid drill name");
    const answer = await deps.drills(name, c.req.query(), c.req.header("authorization"));
    if (answer.status !== 202) problem(answer.status, answer.detail);
    return c.json(answer.body, 202);
  });

  /** A control request for a singleton whose lease another node holds is that node's to answer. */
  const onThisNode = (id: string) => {
    if (!view.child(id)) problem(404, `unknown actor "${id.slice(0, 100)}"`);
    const holder = view.heldElsewhere?.(id) ?? null;
    if (holder !== null) {
      problem(409, `actor "${id}" runs on node "${holder}", which holds its lease; ask that node`);
    }
  };

  // Hands a singleton's lease to a live standby node (at a second boundary for a price feed).
  app.post("/actors/:id/handover", async (c) => {
    await authorize(c.req.header("authorization"));
    const id = c.req.param("id");
    onThisNode(id);
    if (!view.handover || view.child(id)?.singleton == null) {
      problem(400, `actor "${id}" is not a singleton: it has no lease to hand over`);
    }
    let to: string;
    try {
      to = await view.handover!(id);
    } catch (e) {
      problem(409, errorInfo(e).message);
    }
    return c.json({ actor: id, handedOverTo: to!, status: view.child(id) }, 202);
  });

  // Terminates the actor's worker at once, as a crash: its restart policy applies.
  app.post("/actors/:id/kill", async (c) => {
    await authorize(c.req.header("authorization"));
    const id = c.req.param("id");
    onThisNode(id);
    if (!view.terminateChild) problem(404, "this supervisor cannot terminate actors");
    view.terminateChild(id, "killed via API");
    return c.json(view.child(id), 202);
  });

  for (const action of ["restart", "stop", "start"] as const) {
    app.post(`/actors/:id/${action}`, async (c) => {
      await authorize(c.req.header("authorization"));
      const id = c.req.param("id");
      onThisNode(id);
      const reason = "manual via API";
      if (action === "restart") await view.restartChild(id, reason);
      else if (action === "stop") await view.stopChild(id, reason);
      else await view.startChild(id, reason);
      return c.json(view.child(id), 202);
    });
  }

  addMarketRoutes(app, { sql, clock, reject });
  addJournalRoutes(app, { sql, reject });
  if (deps.bus) addEventStreamRoute(app, { bus: deps.bus, sql, reject, clock });
  else app.get("/events/stream", () => problem(503, "no live event stream in this process"));
  return app;
}
