/**
 * The supervisor's public view: child states as the status API and the monitor see them.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { InitMessage, LeaseGrant } from "../schema/messages.ts";
import type { EventLog } from "./event_log.ts";
import type { Strategy } from "./restart_policy.ts";
import type { WorkerFactory } from "./spawn.ts";

/** Lifecycle states (the transition table is in `lifecycle.ts`). */
export type LifecycleState =
  | "starting"
  | "running"
  | "degraded"
  | "stopping"
  | "stopped"
  | "backoff"
  | "failed";

/** One child as `/status` and `/actors/:id` show it. */
export interface ChildStatus {
  id: string;
  module: string;
  state: LifecycleState;
  /** Increases on every (re)start of the child. */
  incarnation: number;
  /** Restarts since the supervisor process started (plus those read back from the database). */
  restarts: number;
  restartsInWindow: number;
  critical: boolean;
  restart: "permanent" | "transient" | "temporary";
  dependsOn: string[];
  startedAt: number | null;
  readyAt: number | null;
  lastHeartbeatAt: number | null;
  heartbeatAgeMs: number | null;
  newestDataAt: number | null;
  freshnessMs: number | null;
  freshnessLagMs: number | null;
  stale: boolean;
  handled: number;
  heapUsed: number | null;
  counters: Record<string, number>;
  details: Record<string, unknown>;
  /** Why the child is in its state (degraded reason, last exit reason). */
  reason: string | null;
  lastError: string | null;
  nextRestartAt: number | null;
  /** Restarts by cause (crash, hang, stale, manual, dependency). */
  restartsByCause: Record<string, number>;
  /**
   * Cluster mode: a singleton's lease (`held` by this node, or who holds it), a warm or cold
   * singleton (`supervisor/leases.ts`); null for other children and without a cluster.
   */
  lease: { held: boolean; holder: string | null; epoch: number | null } | null;
  singleton: "warm" | "cold" | null;
}

/** Readiness: every critical child running with fresh data. */
export interface Readiness {
  ready: boolean;
  reasons: string[];
}

/** What the HTTP status server needs from a supervisor. */
export interface SupervisorView {
  readonly node: string;
  readonly startedAt: number;
  children(): ChildStatus[];
  child(id: string): ChildStatus | undefined;
  readiness(): Readiness;
  /** Counted zombie workers (terminated but possibly still running). */
  zombies(): number;
  restartChild(id: string, reason: string): Promise<void>;
  stopChild(id: string, reason: string): Promise<void>;
  /**
   * Starts a stopped child; `extraArgs` (a job's `runId`) join its spec's args for this start and
   * the restarts that follow it.
   */
  startChild(id: string, reason: string, extraArgs?: Record<string, unknown>): Promise<void>;
  /** Terminates a running child's worker as a crash (restarted by its policy). */
  terminateChild?(id: string, reason: string): void;
  /** Cluster mode: the node holding a singleton's lease when it is not this one, else null. */
  heldElsewhere?(id: string): string | null;
  /** Cluster mode: hands a singleton's lease to a live standby node; resolves with that node. */
  handover?(id: string): Promise<string>;
}

/** What the supervisor needs of the lease manager (`leases.ts`). */
export interface LeasePort {
  grant(name: string): LeaseGrant | undefined;
  holder(name: string): string | null;
  /** Stop wanting `name` (a stop hands it over; no cycle takes it back). */
  retire(name: string): void;
  /** Gives `name` to a live standby (or to nobody); resolves with the node, or null. */
  handOver(name: string): Promise<string | null>;
  /** A live node other than this one that can take `name`, or null. */
  standbyFor(name: string): Promise<string | null>;
  /** Runs a cycle soon (after a fenced write). */
  cycle(): Promise<void>;
}

/** How a `Supervisor` (`mod.ts`) is set up. */
export interface SupervisorOptions {
  node: string;
  strategy?: Strategy;
  events: Pick<EventLog, "record" | "setStatus">;
  /** Time and every timer of the supervisor (a `ManualClock` in tests). */
  clock?: Clock;
  databaseUrl?: string;
  /**
   * Each user's own connection URL (secrets), for the children with `database: { user }`; they
   * never get `databaseUrl`.
   */
  userDatabaseUrls?: ReadonlyMap<string, string>;
  log?: InitMessage["log"];
  /** Restart times per child read back from the database. */
  restartHistory?: Map<string, number[]>;
  /** Watch interval for heartbeats, freshness and timers. */
  tickMs?: number;
  /** How long a zombie thread may burn CPU before `onEscalate`. */
  zombieCpuBoundMs?: number;
  /** A critical child failed. */
  onCriticalFailure?: (id: string, reason: string) => void;
  /** A zombie worker still burns CPU: the process should restart. */
  onEscalate?: (reason: string) => void;
  /** Creates the workers (a fake one in unit tests). */
  workerFactory?: WorkerFactory;
  /** Reads the worker threads' CPU ticks for the zombie check (injectable for tests). */
  readThreadTicks?: () => Map<string, number>;
  /** Cluster mode: the node's lease manager; singletons then run as their lease says. */
  leases?: LeasePort;
}
