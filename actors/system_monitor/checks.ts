/**
 * The system monitor's health rule as a pure function: database reachability, actor states and
 * freshness, free disk, process memory → `healthy` | `degraded` | `down` with the reasons.
 *
 * @module
 */

/** One actor as `system.actor_status` holds it. */
export interface ActorRow {
  actor_id: string;
  state: string;
  stale: boolean | null;
  updated_at: Date;
  newest_data_at: Date | null;
}

/** Everything one check run measured. */
export interface Measurements {
  database: { ok: boolean; latencyMs: number | null; error?: string };
  actors: ActorRow[];
  disk: { path: string; freeBytes: number; totalBytes: number } | { path: string; error: string };
  memory: { rssBytes: number | null };
}

/** Thresholds of the health rule. */
export interface Thresholds {
  minFreeDiskBytes: number;
  minFreeDiskRatio: number;
  maxRssBytes: number;
  /** An actor_status row older than this means the supervisor stopped reporting it. */
  maxStatusAgeMs: number;
  slowDbMs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  minFreeDiskBytes: 1024 ** 3,
  minFreeDiskRatio: 0.05,
  maxRssBytes: 4 * 1024 ** 3,
  maxStatusAgeMs: 120_000,
  slowDbMs: 500,
};

/** The outcome of one run. */
export interface Verdict {
  overall: "healthy" | "degraded" | "down";
  reasons: string[];
}

/** Applies the health rule. The database being unreachable is `down`; any other problem degrades. */
export function assess(m: Measurements, now: number, t: Thresholds = DEFAULT_THRESHOLDS): Verdict {
  const reasons: string[] = [];
  if (!m.database.ok) {
    return { overall: "down", reasons: [`database unreachable: ${m.database.error ?? "error"}`] };
  }
  if (m.database.latencyMs !== null && m.database.latencyMs > t.slowDbMs) {
    reasons.push(`database slow: ${Math.round(m.database.latencyMs)} ms`);
  }
  for (const a of m.actors) {
    if (a.state === "stopped") continue;
    if (a.state !== "running") reasons.push(`${a.actor_id} is ${a.state}`);
    else if (a.stale) reasons.push(`${a.actor_id} has stale data`);
    if (now - a.updated_at.getTime() > t.maxStatusAgeMs && a.state !== "failed") {
      reasons.push(
        `${a.actor_id} status not updated for ${
          Math.round((now - a.updated_at.getTime()) / 1000)
        } s`,
      );
    }
  }
  if ("error" in m.disk) reasons.push(`disk check failed: ${m.disk.error}`);
  else if (
    m.disk.freeBytes < t.minFreeDiskBytes ||
    m.disk.freeBytes < m.disk.totalBytes * t.minFreeDiskRatio
  ) {
    reasons.push(`low disk space: ${(m.disk.freeBytes / 1024 ** 3).toFixed(2)} GiB free`);
  }
  if (m.memory.rssBytes !== null && m.memory.rssBytes > t.maxRssBytes) {
    reasons.push(`high memory: ${(m.memory.rssBytes / 1024 ** 2).toFixed(0)} MiB RSS`);
  }
  return { overall: reasons.length === 0 ? "healthy" : "degraded", reasons };
}
