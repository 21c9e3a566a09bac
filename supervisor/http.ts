/**
 * The status HTTP API (Hono): health, readiness, status, actors, events, Prometheus metrics, the
 * read endpoints for prices and strike tables, a status page, and token-guarded control
 * endpoints. A factory: only the supervisor's main calls `Deno.serve`; tests use `app.request()`.
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
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import type { Sql } from "../lib/db.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { redactText } from "../lib/log.ts";
import { renderMetrics } from "./http_metrics.ts";
import { STATUS_PAGE } from "./status_page.ts";
import type { SupervisorView } from "./types.ts";

export interface StatusAppDeps {
  view: SupervisorView;
  sql: Sql;
  token?: string | undefined;
  clock?: Clock;
  version?: string;
}

/** Throws a JSON problem. */
function problem(
  status: 400 | 401 | 403 | 404 | 503,
  detail: string,
  headers?: HeadersInit,
): never {
  throw new HTTPException(status, {
    message: detail,
    res: headers ? new Response(null, { headers }) : undefined,
  });
}

const EventsQuery = z.object({
  actor: z.string().min(1).max(200).optional(),
  since: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const SYMBOL = /^[a-z]{2,10}$/;

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

async function dbCheck(sql: Sql, timeoutMs: number, clock: Clock) {
  const t0 = clock.monotonic();
  try {
    await Promise.race([
      sql`select 1`,
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), timeoutMs)),
    ]);
    return { reachable: true, latencyMs: Math.round((clock.monotonic() - t0) * 10) / 10 };
  } catch {
    return { reachable: false, latencyMs: null };
  }
}

/** Builds the status app. */
export function createStatusApp(deps: StatusAppDeps): Hono {
  const { view, sql } = deps;
  const clock = deps.clock ?? systemClock;
  const app = new Hono();

  app.onError((err) => {
    const status = err instanceof HTTPException ? err.status : 500;
    const detail = err instanceof HTTPException ? err.message : "internal error";
    if (!(err instanceof HTTPException)) console.error(redactText(String(err)));
    const headers = new Headers({ "content-type": "application/problem+json" });
    if (err instanceof HTTPException && err.res) {
      for (const [k, v] of err.res.headers) headers.set(k, v);
    }
    return new Response(
      JSON.stringify({ type: "about:blank", title: titleOf(status), status, detail }),
      { status, headers },
    );
  });
  app.notFound(() => problem(404, "no such endpoint"));

  app.get("/", (c) => c.html(STATUS_PAGE));
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const r = view.readiness();
    const db = await dbCheck(sql, 1_000, clock);
    const reasons = [...r.reasons, ...(db.reachable ? [] : ["database unreachable"])];
    return c.json({ ready: reasons.length === 0, reasons }, reasons.length === 0 ? 200 : 503);
  });

  app.get("/status", async (c) => {
    const db = await dbCheck(sql, 1_000, clock);
    let health: unknown = null;
    if (db.reachable) {
      const rows = await sql`select * from system.health_status_latest`.catch(() => []);
      health = rows[0] ?? null;
    }
    const children = view.children();
    const rejected: Record<string, number> = {};
    for (const ch of children) {
      for (const [name, n] of Object.entries(ch.counters)) {
        if (name.startsWith("rejected.")) {
          const reason = name.slice("rejected.".length);
          rejected[reason] = (rejected[reason] ?? 0) + n;
        }
      }
    }
    return c.json({
      node: view.node,
      version: deps.version ?? "dev",
      uptimeMs: clock.now() - view.startedAt,
      readiness: view.readiness(),
      database: db,
      zombies: view.zombies(),
      rejectedInputs: rejected,
      health,
      actors: children,
    });
  });

  app.get("/actors", (c) => c.json(view.children()));
  app.get("/actors/:id", (c) => {
    const child = view.child(c.req.param("id"));
    if (!child) problem(404, `unknown actor "${c.req.param("id")}"`);
    return c.json(child);
  });

  app.get("/events", async (c) => {
    const parsed = EventsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      problem(400, `invalid query parameter "${issue.path.join(".")}": ${issue.message}`);
    }
    const q = parsed.data;
    const rows = await sql`
      select id, at, node, actor_id, incarnation, event, reason, error, restart_count,
             uptime_ms, details
      from system.supervisor_events
      where true
        ${q.actor ? sql`and actor_id = ${q.actor}` : sql``}
        ${q.since ? sql`and at >= ${new Date(q.since)}` : sql``}
      order by at desc, id desc
      limit ${q.limit}`;
    return c.json(rows);
  });

  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(renderMetrics(view, clock.now()));
  });

  const control = (action: "restart" | "stop" | "start") =>
    app.post(`/actors/:id/${action}`, async (c) => {
      if (!deps.token) problem(403, "control endpoints are disabled (set STATUS_TOKEN)");
      const auth = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !timingSafeEqual(m[1]!.trim(), deps.token)) {
        problem(401, "a valid bearer token is required", { "WWW-Authenticate": "Bearer" });
      }
      const id = c.req.param("id");
      if (!view.child(id)) problem(404, `unknown actor "${id}"`);
      const reason = "manual via API";
      if (action === "restart") await view.restartChild(id, reason);
      else if (action === "stop") await view.stopChild(id, reason);
      else await view.startChild(id, reason);
      return c.json(view.child(id), 202);
    });
  control("restart");
  control("stop");
  control("start");

  app.get("/prices/:symbol/latest", async (c) => {
    const symbol = c.req.param("symbol").toLowerCase();
    if (!SYMBOL.test(symbol)) problem(400, `invalid symbol "${c.req.param("symbol")}"`);
    const table = `${symbol}_price_log`;
    const exists = await sql`select to_regclass(${`live_data.${table}`}) as t`;
    if (!exists[0]?.t) problem(404, `no price log for "${symbol}"`);
    const rows = await sql`
      select "timestamp", price, momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m,
             delta_30m
      from ${sql("live_data")}.${sql(table)} order by "timestamp" desc limit 1`;
    const row = rows[0];
    if (!row) problem(404, `no prices yet for "${symbol}"`);
    const ageMs = clock.now() - (row.timestamp as Date).getTime();
    return c.json({ symbol: symbol.toUpperCase(), ...row, ageMs });
  });

  app.get("/strike-table/:symbol", async (c) => {
    const symbol = c.req.param("symbol").toUpperCase();
    if (!SYMBOL.test(symbol.toLowerCase())) {
      problem(400, `invalid symbol "${c.req.param("symbol")}"`);
    }
    const [header] =
      await sql`select * from live_data.strike_table_header where symbol = ${symbol}`;
    if (!header) problem(404, `no strike table for "${symbol}"`);
    const strikes = await sql`
      select * from live_data.strike_table where symbol = ${symbol} order by strike`;
    return c.json({ ...header, strikes });
  });

  return app;
}

function titleOf(status: number): string {
  return ({
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    503: "Service Unavailable",
  } as Record<number, string>)[status] ?? "Internal Server Error";
}
