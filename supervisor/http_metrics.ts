/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4).
 *
 * @module
 */
import type { LifecycleState, SupervisorView } from "./types.ts";

const STATES: LifecycleState[] = [
  "starting",
  "running",
  "degraded",
  "stopping",
  "stopped",
  "backoff",
  "failed",
];

/** Escapes a label value. */
export function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** A metric-name-safe version of a counter name. */
export function metricName(v: string): string {
  const s = v.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[a-zA-Z_]/.test(s) ? s : `_${s}`;
}

class Families {
  #lines: string[] = [];
  #seen = new Set<string>();
  add(
    name: string,
    type: "gauge" | "counter",
    help: string,
    labels: Record<string, string>,
    v: number | null,
  ) {
    if (v === null || !Number.isFinite(v)) return;
    if (!this.#seen.has(name)) {
      this.#seen.add(name);
      this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    const l = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabel(x)}"`).join(",");
    this.#lines.push(`${name}${l ? `{${l}}` : ""} ${v}`);
  }
  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** Renders every metric the supervisor knows. Families are grouped (one HELP/TYPE each). */
export function renderMetrics(view: SupervisorView, now: number): string {
  const f = new Families();
  const children = view.children();
  f.add(
    "recio_ready",
    "gauge",
    "1 when every critical actor runs with fresh data.",
    {},
    view.readiness().ready ? 1 : 0,
  );
  f.add(
    "recio_zombie_workers",
    "gauge",
    "Terminated workers whose threads may still run.",
    {},
    view.zombies(),
  );
  f.add(
    "recio_uptime_seconds",
    "gauge",
    "Seconds since the supervisor started.",
    {},
    (now - view.startedAt) / 1000,
  );
  for (const c of children) {
    f.add(
      "recio_actor_up",
      "gauge",
      "1 when the actor is running or degraded.",
      { actor: c.id },
      c.state === "running" || c.state === "degraded" ? 1 : 0,
    );
  }
  for (const c of children) {
    for (const s of STATES) {
      f.add("recio_actor_state", "gauge", "Lifecycle state of the actor (one-hot).", {
        actor: c.id,
        state: s,
      }, c.state === s ? 1 : 0);
    }
  }
  for (const c of children) {
    for (const [cause, n] of Object.entries(c.restartsByCause)) {
      f.add("recio_actor_restarts_total", "counter", "Restarts by actor and cause.", {
        actor: c.id,
        cause,
      }, n);
    }
  }
  for (const c of children) {
    f.add(
      "recio_actor_incarnation",
      "gauge",
      "Incarnation of the actor.",
      { actor: c.id },
      c.incarnation,
    );
  }
  for (const c of children) {
    f.add("recio_actor_heartbeat_age_seconds", "gauge", "Seconds since the last heartbeat.", {
      actor: c.id,
    }, c.heartbeatAgeMs === null ? null : c.heartbeatAgeMs / 1000);
  }
  for (const c of children) {
    f.add("recio_actor_freshness_lag_seconds", "gauge", "Age of the actor's newest data.", {
      actor: c.id,
    }, c.freshnessLagMs === null ? null : c.freshnessLagMs / 1000);
  }
  for (const c of children) {
    f.add(
      "recio_actor_stale",
      "gauge",
      "1 when the actor's data is stale.",
      { actor: c.id },
      c.stale ? 1 : 0,
    );
  }
  for (const c of children) {
    f.add(
      "recio_actor_handled_total",
      "counter",
      "Messages or cycles handled by the current incarnation.",
      { actor: c.id },
      c.handled,
    );
  }
  for (const c of children) {
    f.add(
      "recio_actor_heap_bytes",
      "gauge",
      "Heap used by the actor's worker.",
      { actor: c.id },
      c.heapUsed,
    );
  }
  for (const c of children) {
    for (const [name, n] of Object.entries(c.counters)) {
      if (name.startsWith("rejected.")) {
        f.add(
          "recio_rejected_inputs_total",
          "counter",
          "Rejected outside inputs by actor and reason.",
          { actor: c.id, reason: name.slice(9) },
          n,
        );
      }
    }
  }
  for (const c of children) {
    for (const [name, n] of Object.entries(c.counters)) {
      if (!name.startsWith("rejected.")) {
        f.add("recio_actor_counter", "gauge", "Actor-specific counters and gauges.", {
          actor: c.id,
          name: metricName(name),
        }, n);
      }
    }
  }
  return f.text();
}
