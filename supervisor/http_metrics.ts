/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4): one HELP and one TYPE line
 * per family, every family listed even when it has no samples yet, label values escaped, counter
 * names from actors sanitised to Prometheus' name rules.
 *
 * @module
 */
import type { ChildStatus, LifecycleState, SupervisorView } from "./types.ts";

const STATES: readonly LifecycleState[] = [
  "starting",
  "running",
  "degraded",
  "stopping",
  "stopped",
  "backoff",
  "failed",
];

/** The counter-name prefix that marks rejected outside input. */
export const REJECTED_PREFIX = "rejected.";

/** Escapes a label value (backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** A name that follows Prometheus' rules (`[a-zA-Z_:][a-zA-Z0-9_:]*`, here without colons). */
export function metricName(v: string): string {
  const s = v.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[a-zA-Z_]/.test(s) ? s : `_${s}`;
}

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: [Labels, number][];
}

function family(name: string, type: Family["type"], help: string): Family {
  return { name, type, help, samples: [] };
}

function add(f: Family, labels: Labels, v: number | null | undefined): void {
  if (v === null || v === undefined || !Number.isFinite(v)) return;
  f.samples.push([labels, v]);
}

function render(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    const help = f.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
    lines.push(`# HELP ${f.name} ${help}`, `# TYPE ${f.name} ${f.type}`);
    for (const [labels, v] of f.samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabel(x)}"`).join(",");
      lines.push(`${f.name}${l ? `{${l}}` : ""} ${v}`);
    }
  }
  return lines.join("\n") + "\n";
}

function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}

/** Extra inputs for {@linkcode renderMetrics}. */
export interface MetricsExtra {
  /** Rejected requests of the HTTP server itself, by reason. */
  httpRejected?: Record<string, number>;
  /** The supervision event log's queue. */
  eventLog?: {
    pending: number;
    dropped: number;
    written: number;
    degraded: boolean;
    /** Rows PostgreSQL refused for their data, dropped alone. */
    rejected?: number;
  };
  /** Open `GET /events/stream` connections. */
  streamClients?: number;
  /** Job runs and backups read from the database (see `ops_metrics.ts`). */
  ops?: OpsMetrics;
  /** Cluster mode: nodes, leases and the lease manager's cycles (`GET /cluster`'s data). */
  cluster?: ClusterMetrics;
}

/** What `/metrics` shows of the cluster. */
export interface ClusterMetrics {
  node: string;
  nodes: { node: string; alive: boolean }[];
  leases: { name: string; holder: string | null; epoch: number }[];
  cycles: number;
  failures: number;
}

/** Families for the cluster: live nodes, each lease's holder and epoch, lease cycles. */
function clusterFamilies(extra: MetricsExtra): Family[] {
  const c = extra.cluster;
  const alive = family("recio_cluster_nodes_alive", "gauge", "Live nodes of the cluster.");
  const held = family("recio_lease_held", "gauge", "1 when this node holds the lease.");
  const epoch = family("recio_lease_epoch", "gauge", "Epoch of the lease as last seen.");
  const cycles = family("recio_lease_cycles_total", "counter", "Lease cycles run by this node.");
  const failed = family(
    "recio_lease_cycle_failures_total",
    "counter",
    "Lease cycles of this node that failed (database unreachable).",
  );
  if (c) {
    add(alive, {}, c.nodes.filter((n) => n.alive).length);
    for (const l of c.leases) {
      add(held, { lease: l.name, holder: l.holder ?? "" }, l.holder === c.node ? 1 : 0);
      add(epoch, { lease: l.name }, l.epoch);
    }
    add(cycles, {}, c.cycles);
    add(failed, {}, c.failures);
  }
  return [alive, held, epoch, cycles, failed];
}

/** The newest run of each scheduled job and the newest successful backup. */
export interface OpsMetrics {
  jobs: { job: string; ok: boolean; startedAt: number; durationMs: number | null }[];
  lastBackupAt: number | null;
  lastBackupBytes: number | null;
}

/** Families for the event log, event streams, jobs and backups (empty ones still listed). */
function opsFamilies(now: number, extra: MetricsExtra): Family[] {
  const pending = family(
    "recio_event_log_pending",
    "gauge",
    "Supervision events and status rows waiting to be written.",
  );
  const dropped = family(
    "recio_event_log_dropped_total",
    "counter",
    "Supervision events dropped because the queue was full.",
  );
  const rejected = family(
    "recio_event_log_rejected_total",
    "counter",
    "Supervision events and status rows PostgreSQL refused for their data (dropped alone).",
  );
  const written = family(
    "recio_event_log_written_total",
    "counter",
    "Supervision events written to PostgreSQL.",
  );
  const degraded = family(
    "recio_event_log_degraded",
    "gauge",
    "1 when the last write of supervision events failed.",
  );
  const streams = family("recio_event_stream_clients", "gauge", "Open event streams (SSE).");
  const jobDuration = family(
    "recio_job_last_duration_seconds",
    "gauge",
    "Duration of the newest finished run of each job.",
  );
  const jobStarted = family(
    "recio_job_last_run_timestamp_seconds",
    "gauge",
    "Start time (Unix seconds) of the newest finished run of each job.",
  );
  const jobOk = family(
    "recio_job_last_run_ok",
    "gauge",
    "1 when the newest finished run of the job succeeded.",
  );
  const backupAge = family(
    "recio_backup_age_seconds",
    "gauge",
    "Seconds since the newest successful backup finished.",
  );
  const backupBytes = family(
    "recio_backup_last_size_bytes",
    "gauge",
    "Size of the newest successful backup.",
  );
  const e = extra.eventLog;
  if (e) {
    add(pending, {}, e.pending);
    add(dropped, {}, e.dropped);
    add(rejected, {}, e.rejected ?? 0);
    add(written, {}, e.written);
    add(degraded, {}, e.degraded ? 1 : 0);
  }
  add(streams, {}, extra.streamClients);
  for (const j of extra.ops?.jobs ?? []) {
    add(jobDuration, { job: j.job }, seconds(j.durationMs));
    add(jobStarted, { job: j.job }, j.startedAt / 1000);
    add(jobOk, { job: j.job }, j.ok ? 1 : 0);
  }
  const at = extra.ops?.lastBackupAt;
  if (at !== undefined && at !== null) add(backupAge, {}, (now - at) / 1000);
  add(backupBytes, {}, extra.ops?.lastBackupBytes);
  return [
    pending,
    dropped,
    rejected,
    written,
    degraded,
    streams,
    jobDuration,
    jobStarted,
    jobOk,
    backupAge,
    backupBytes,
  ];
}

/** Renders every metric the supervisor knows, at wall-clock time `now` (ms). */
export function renderMetrics(view: SupervisorView, now: number, extra: MetricsExtra = {}): string {
  const children: ChildStatus[] = view.children();
  const ready = family("recio_ready", "gauge", "1 when every critical actor runs with fresh data.");
  const zombies = family(
    "recio_zombie_workers",
    "gauge",
    "Terminated workers whose threads may still run.",
  );
  const uptime = family("recio_uptime_seconds", "gauge", "Seconds since the supervisor started.");
  const up = family("recio_actor_up", "gauge", "1 when the actor is running or degraded.");
  const state = family("recio_actor_state", "gauge", "Lifecycle state of the actor (one-hot).");
  const restarts = family("recio_actor_restarts_total", "counter", "Restarts by actor and cause.");
  const incarnation = family("recio_actor_incarnation", "gauge", "Incarnation of the actor.");
  const heartbeat = family(
    "recio_actor_heartbeat_age_seconds",
    "gauge",
    "Seconds since the actor's last heartbeat.",
  );
  const lag = family(
    "recio_actor_freshness_lag_seconds",
    "gauge",
    "Age of the actor's newest data in seconds.",
  );
  const stale = family("recio_actor_stale", "gauge", "1 when the actor's data is stale.");
  const handled = family(
    "recio_actor_handled_total",
    "counter",
    "Messages or cycles handled by the actor's current incarnation.",
  );
  const heap = family("recio_actor_heap_bytes", "gauge", "Heap used by the actor's worker.");
  const rejected = family(
    "recio_rejected_inputs_total",
    "counter",
    "Rejected outside inputs by actor and reason.",
  );
  const counter = family(
    "recio_actor_counter",
    "gauge",
    "Other counters and gauges the actor reports, by sanitised name.",
  );

  add(ready, {}, view.readiness().ready ? 1 : 0);
  add(zombies, {}, view.zombies());
  add(uptime, {}, (now - view.startedAt) / 1000);
  for (const c of children) {
    const actor = { actor: c.id };
    add(up, actor, c.state === "running" || c.state === "degraded" ? 1 : 0);
    for (const s of STATES) add(state, { actor: c.id, state: s }, c.state === s ? 1 : 0);
    for (const [cause, n] of Object.entries(c.restartsByCause)) {
      add(restarts, { actor: c.id, cause }, n);
    }
    add(incarnation, actor, c.incarnation);
    add(heartbeat, actor, seconds(c.heartbeatAgeMs));
    add(lag, actor, seconds(c.freshnessLagMs));
    add(stale, actor, c.stale ? 1 : 0);
    add(handled, actor, c.handled);
    add(heap, actor, c.heapUsed);
    for (const [name, n] of Object.entries(c.counters)) {
      if (name.startsWith(REJECTED_PREFIX)) {
        add(rejected, { actor: c.id, reason: metricName(name.slice(REJECTED_PREFIX.length)) }, n);
      } else {
        add(counter, { actor: c.id, name: metricName(name) }, n);
      }
    }
  }
  for (const [reason, n] of Object.entries(extra.httpRejected ?? {})) {
    add(rejected, { actor: "http", reason: metricName(reason) }, n);
  }
  return render([
    ready,
    zombies,
    uptime,
    up,
    state,
    restarts,
    incarnation,
    heartbeat,
    lag,
    stale,
    handled,
    heap,
    rejected,
    counter,
    ...opsFamilies(now, extra),
    ...clusterFamilies(extra),
  ]);
}
