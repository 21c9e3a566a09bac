/**
 * `system_monitor`: every `intervalMs` (15 s by default) checks database reachability and
 * round-trip latency, each actor's state and data freshness from `system.actor_status`, free disk
 * of the data directory and process memory, and writes one `system.health_status` row per run.
 * Rows that cannot be written while the database is down are kept (bounded) and written later.
 * Text in a row (error messages, actor ids) is cleaned (NUL, broken UTF-16, bounded length); a row
 * PostgreSQL still refuses for its data is dropped alone and counted (`health_rows.rejected`,
 * logged at most 5 times a minute), so one bad row never stops the others.
 *
 * @example
 * ```ts ignore
 * const monitor = createSystemMonitor(ctx, { sql, intervalMs: 15_000, dataDir: "./data" });
 * await monitor.start();
 * ```
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import type { Actor, ActorContext } from "../_runtime.ts";
import { cleanJson, cleanText, rejectionReason, writeSplitting } from "../../lib/bad_rows.ts";
import type { Sql } from "../../lib/db.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import {
  type ActorRow,
  assess,
  DEFAULT_THRESHOLDS,
  type Measurements,
  type Thresholds,
} from "./checks.ts";

export interface MonitorOptions {
  sql: Sql;
  intervalMs: number;
  dataDir: string;
  thresholds?: Thresholds;
  /** Most unwritten health rows kept while the database is down. */
  maxPending?: number;
  /** Free and total bytes of the file system holding `path` (default: `statfs`). */
  statDisk?: (path: string) => Promise<{ freeBytes: number; totalBytes: number }>;
}

async function statDisk(path: string): Promise<{ freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

interface HealthRow {
  checked_at: Date;
  node: string;
  overall_status: string;
  database_ok: boolean;
  db_latency_ms: number | null;
  details: Record<string, unknown>;
}

/**
 * The resident set size of the whole process (all workers share it). `Deno.memoryUsage().rss`
 * needs no file access (reading `/proc/self/status` from a worker is refused without -A).
 */
function rssBytes(): number | null {
  try {
    return Deno.memoryUsage().rss;
  } catch {
    return null;
  }
}

/** Builds the monitor actor. */
export function createSystemMonitor(ctx: ActorContext, o: MonitorOptions): Actor {
  const pending: HealthRow[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  const rejectLog = new RateLimitedLog(ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => ctx.clock.monotonic(),
  });

  function insert(rows: readonly HealthRow[]) {
    return o.sql`insert into system.health_status ${
      o.sql(
        rows as never,
        "checked_at",
        "node",
        "overall_status",
        "database_ok",
        "db_latency_ms",
        "details",
      )
    }`;
  }

  async function measure(): Promise<Measurements> {
    const t0 = ctx.clock.monotonic();
    let database: Measurements["database"];
    let actors: ActorRow[] = [];
    try {
      await o.sql`select 1`;
      database = { ok: true, latencyMs: ctx.clock.monotonic() - t0 };
      actors = await o.sql<ActorRow[]>`
        select actor_id, state, stale, updated_at, newest_data_at from system.actor_status
        where node = ${ctx.node} order by actor_id`;
    } catch (e) {
      database = { ok: false, latencyMs: null, error: e instanceof Error ? e.message : String(e) };
    }
    let disk: Measurements["disk"];
    try {
      disk = { path: o.dataDir, ...await (o.statDisk ?? statDisk)(o.dataDir) };
    } catch (e) {
      disk = { path: o.dataDir, error: e instanceof Error ? e.message : String(e) };
    }
    return { database, actors, disk, memory: { rssBytes: rssBytes() } };
  }

  async function runOnce(): Promise<void> {
    const m = await measure();
    const now = ctx.clock.now();
    const v = assess(m, now, o.thresholds ?? DEFAULT_THRESHOLDS);
    pending.push({
      checked_at: new Date(now),
      node: cleanText(ctx.node, 200),
      overall_status: v.overall,
      database_ok: m.database.ok,
      db_latency_ms: m.database.latencyMs,
      // Error messages quote what they were given (a path, a server's text): cleaned here.
      details: cleanJson({
        reasons: v.reasons,
        ...m,
        actors: m.actors.map((a) => ({ id: a.actor_id, state: a.state, stale: a.stale })),
      }, 2_000),
    });
    const max = o.maxPending ?? 240;
    if (pending.length > max) {
      const n = pending.length - max;
      pending.splice(0, n);
      ctx.count("health_rows.dropped", n);
    }
    try {
      // A row refused for its data is dropped alone; a connection error keeps the rest pending.
      await writeSplitting(pending.slice(), {
        write: async (rows) => {
          await insert(rows);
          ctx.count("health_rows.written", rows.length);
        },
        onReject: (row, e) => {
          ctx.count("health_rows.rejected");
          rejectLog.warn(
            "rejected",
            "Health row of {checkedAt} refused by PostgreSQL and dropped: {reason}",
            { checkedAt: String(row.checked_at), reason: rejectionReason(e) },
          );
        },
        onDone: (rows) => void pending.splice(0, rows.length),
      });
    } catch {
      ctx.count("health_rows.write_failed");
    }
    ctx.gauge("health_rows.pending", pending.length);
    ctx.handled();
    ctx.dataAt(now);
    ctx.setDetails({ overall: v.overall, reasons: v.reasons });
  }

  function loop(): void {
    running = runOnce().catch((e) => {
      ctx.log.error("Health check failed: {error}", { error: String(e) });
    }).finally(() => {
      running = undefined;
      if (!ctx.signal.aborted) timer = setTimeout(loop, o.intervalMs);
    });
  }

  return {
    start() {
      loop();
      return Promise.resolve();
    },
    async stop() {
      if (timer !== undefined) clearTimeout(timer);
      await running;
      await o.sql.end({ timeout: 2 });
    },
    async command(name) {
      if (name === "check_now") {
        await running;
        await runOnce();
        return "checked";
      }
      throw new Error(`unknown command "${name}"`);
    },
  };
}
