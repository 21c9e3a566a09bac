/**
 * The supervisor's record of one child (private to `supervisor/`): the spec, the live worker, and
 * what the decision, detector and status modules read. Only `mod.ts` changes it.
 *
 * @module
 */
import type { ChildSpec } from "./child_spec.ts";
import type { LifecycleState } from "./types.ts";

/** One supervised child. */
export interface Child {
  spec: ChildSpec;
  state: LifecycleState;
  worker: Worker | undefined;
  incarnation: number;
  /** The supervisor wants it running (false after a manual stop or a finished transient). */
  wanted: boolean;
  restartHistory: number[];
  restarts: number;
  restartsByCause: Record<string, number>;
  backoffStep: number;
  startedAt: number | null;
  readyAt: number | null;
  lastHeartbeatAt: number | null;
  newestDataAt: number | null;
  handled: number;
  heapUsed: number | null;
  counters: Record<string, number>;
  details: Record<string, unknown>;
  reason: string | null;
  lastError: string | null;
  nextRestartAt: number | null;
  /** Why the next restart happens (for the restart event). */
  restartCause: string | null;
  stopWaiter: (() => void) | undefined;
  stale: boolean;
  /** Arguments of this start added to the spec's (a job's run id), kept for its restarts. */
  startArgs: Record<string, unknown>;
  /** A singleton's lease as this node last saw it (null: not a singleton, or no cluster). */
  lease: ChildLease | null;
}

/** A singleton child's lease, as its status shows it. */
export interface ChildLease {
  /** This node holds it (its epoch), or not (another node, or nobody, does). */
  held: boolean;
  holder: string | null;
  epoch: number | null;
}

/** A stopped child that has never run, with the restart times read back from the database. */
export function newChild(spec: ChildSpec, restartHistory: number[] = []): Child {
  return {
    spec,
    state: "stopped",
    worker: undefined,
    incarnation: 0,
    wanted: false,
    restartHistory,
    restarts: restartHistory.length,
    restartsByCause: {},
    backoffStep: 0,
    startedAt: null,
    readyAt: null,
    lastHeartbeatAt: null,
    newestDataAt: null,
    handled: 0,
    heapUsed: null,
    counters: {},
    details: {},
    reason: null,
    lastError: null,
    nextRestartAt: null,
    restartCause: null,
    stopWaiter: undefined,
    stale: false,
    startArgs: {},
    lease: null,
  };
}

/** Starts the record of the child's next incarnation at `now` (its progress starts afresh). */
export function nextIncarnation(c: Child, now: number): void {
  c.incarnation++;
  c.startedAt = now;
  c.readyAt = null;
  // Hang detection starts with the first heartbeat; until then startTimeoutMs applies
  // (loading a worker's module graph can take seconds on a busy machine).
  c.lastHeartbeatAt = null;
  c.nextRestartAt = null;
  c.stale = false;
  c.handled = 0;
  c.counters = {};
}

/** Whether a child in `state` lets the children that depend on it start. */
export function readyForDependents(state: LifecycleState): boolean {
  return state === "running" || state === "degraded";
}
