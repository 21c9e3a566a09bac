/**
 * `deno task status`: the actor table of a running system, read from its status API
 * (`RECIO_HTTP_HOST`/`RECIO_HTTP_PORT`), or, when nothing answers there, the last state recorded
 * in `system.actor_status` (`DATABASE_URL`, or the embedded database in `RECIO_PG_DIR` when it is
 * running). Exit codes: 0 the system answered, 3 the system is down (state from the database or
 * not available at all), 2 invalid configuration.
 *
 * @module
 */
import { commandConfig } from "../lib/cli.ts";
import type { Config } from "../lib/config.ts";
import { runningEmbedded } from "../lib/embedded_db/running.ts";
import { createSql, describeTarget } from "../lib/db.ts";
import { redactText } from "../lib/log.ts";
import { schemaProblem } from "../lib/schema_check.ts";

/** One row of the table, whichever source it came from. */
export interface ActorRow {
  id: string;
  state: string;
  incarnation: number;
  restarts: number;
  heartbeatAgeMs: number | null;
  freshnessLagMs: number | null;
  stale: boolean;
  reason: string | null;
}

/** What `status` found. */
export interface StatusReport {
  source: "http" | "database" | "none";
  /** One line about where the table came from and the system's state. */
  summary: string;
  actors: ActorRow[];
}

function age(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

/** The table as text, columns padded. */
export function formatTable(rows: readonly ActorRow[]): string {
  const head = ["ACTOR", "STATE", "INC", "RESTARTS", "HEARTBEAT", "FRESHNESS", "REASON"];
  const body = rows.map((r) => [
    r.id,
    r.state,
    String(r.incarnation),
    String(r.restarts),
    age(r.heartbeatAgeMs),
    r.freshnessLagMs === null ? "-" : `${age(r.freshnessLagMs)}${r.stale ? " STALE" : ""}`,
    (r.reason ?? "").split("\n")[0]!.slice(0, 80),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body]
    .map((cols) =>
      cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")
    )
    .map((l) => l.trimEnd())
    .join("\n");
}

function statusUrl(config: Config): string {
  const host = config.http.host === "0.0.0.0" || config.http.host === "::"
    ? "127.0.0.1"
    : config.http.host.includes(":")
    ? `[${config.http.host}]`
    : config.http.host;
  return `http://${host}:${config.http.port}`;
}

async function fromHttp(base: string, timeoutMs: number): Promise<StatusReport | undefined> {
  let body: {
    node: string;
    readiness: { ready: boolean; reasons: string[] };
    actors: (ActorRow & { lastError?: string | null })[];
  };
  try {
    const r = await fetch(`${base}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    body = await r.json();
    if (!Array.isArray(body?.actors)) return undefined;
  } catch {
    return undefined;
  }
  const ready = body.readiness?.ready
    ? "ready"
    : `not ready (${(body.readiness?.reasons ?? []).join("; ")})`;
  return {
    source: "http",
    summary: `${body.node}: running, ${ready} (from ${base})`,
    actors: body.actors.map((a) => ({
      id: a.id,
      state: a.state,
      incarnation: a.incarnation,
      restarts: a.restarts,
      heartbeatAgeMs: a.heartbeatAgeMs,
      freshnessLagMs: a.freshnessLagMs,
      stale: a.stale,
      reason: a.reason ?? a.lastError ?? null,
    })),
  };
}

/** Where the database is: its URL, or why there is none to read. */
function databaseUrl(config: Config): { url: string } | { why: string } {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const found = runningEmbedded(config.pgDir);
  return "url" in found
    ? { url: found.url }
    : { why: `${found.why} (start with \`deno task start\`)` };
}

async function fromDatabase(url: string, now: number): Promise<StatusReport> {
  const sql = createSql(url, { max: 1, applicationName: "recio-status", connectTimeout: 3 });
  try {
    const problem = await schemaProblem(sql, { command: "status", target: describeTarget(url) });
    if (problem) return { source: "none", summary: problem, actors: [] };
    const rows = await sql<
      {
        actor_id: string;
        node: string;
        state: string;
        incarnation: number;
        restarts: number;
        last_heartbeat_at: Date | null;
        newest_data_at: Date | null;
        stale: boolean;
        reason: string | null;
        updated_at: Date;
      }[]
    >`select actor_id, node, state, incarnation, restarts, last_heartbeat_at, newest_data_at,
             stale, reason, updated_at
      from system.actor_status
      order by actor_id`;
    const newest = rows.reduce((m, r) => Math.max(m, r.updated_at.getTime()), 0);
    const nodes = [...new Set(rows.map((r) => r.node))].join(", ") || "no actors recorded";
    return {
      source: "database",
      summary: `${nodes}: not running; last recorded state` +
        (newest ? ` at ${new Date(newest).toISOString()}` : "") + ` (from ${describeTarget(url)})`,
      actors: rows.map((r) => ({
        id: r.actor_id,
        state: r.state,
        incarnation: r.incarnation,
        restarts: r.restarts,
        heartbeatAgeMs: r.last_heartbeat_at ? now - r.last_heartbeat_at.getTime() : null,
        freshnessLagMs: r.newest_data_at ? now - r.newest_data_at.getTime() : null,
        stale: r.stale,
        reason: r.reason,
      })),
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Reads the actor table from the running system, else from the database. */
export async function readStatus(
  config: Config,
  options: { timeoutMs?: number; now?: () => number } = {},
): Promise<StatusReport> {
  const base = statusUrl(config);
  const live = await fromHttp(base, options.timeoutMs ?? 2_000);
  if (live) return live;
  const db = databaseUrl(config);
  const down = `no answer from ${base}`;
  if ("why" in db) return { source: "none", summary: `${down}; ${db.why}`, actors: [] };
  try {
    const report = await fromDatabase(db.url, (options.now ?? Date.now)());
    return { ...report, summary: `${down}; ${report.summary}` };
  } catch (e) {
    const why = redactText(e instanceof Error ? e.message : String(e));
    return {
      source: "none",
      summary: `${down}; cannot read ${describeTarget(db.url)}: ${why}`,
      actors: [],
    };
  }
}

async function main(): Promise<number> {
  const config = commandConfig("status");
  const report = await readStatus(config);
  console.log(report.summary);
  if (report.actors.length > 0) console.log(formatTable(report.actors));
  return report.source === "http" ? 0 : 3;
}

if (import.meta.main) Deno.exit(await main());
