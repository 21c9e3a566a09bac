/**
 * The status projection: what `/status`, `/actors/:id`, `/readyz` and the actor status rows show
 * of the supervisor's children, computed from its records and the time. Pure.
 *
 * @module
 */
import { moduleName } from "../lib/module_name.ts";
import type { Child } from "./_child.ts";
import type { ActorStatusRow } from "./event_log.ts";
import { isAlive } from "./lifecycle.ts";
import type { ChildStatus, Readiness } from "./types.ts";

/** One child as the status API shows it at `now`. */
export function childStatus(c: Child, now: number): ChildStatus {
  const newest = c.newestDataAt;
  return {
    id: c.spec.id,
    module: moduleName(c.spec.module),
    state: c.state,
    incarnation: c.incarnation,
    restarts: c.restarts,
    restartsInWindow: c.restartHistory.filter((t) => t > now - c.spec.intensity.periodMs).length,
    critical: c.spec.critical,
    restart: c.spec.restart,
    dependsOn: c.spec.dependsOn,
    startedAt: c.startedAt,
    readyAt: c.readyAt,
    lastHeartbeatAt: c.lastHeartbeatAt,
    heartbeatAgeMs: isAlive(c.state) && c.lastHeartbeatAt !== null ? now - c.lastHeartbeatAt : null,
    newestDataAt: newest,
    freshnessMs: c.spec.freshness,
    freshnessLagMs: newest === null ? null : now - newest,
    stale: c.stale,
    handled: c.handled,
    heapUsed: c.heapUsed,
    counters: { ...c.counters },
    details: { ...c.details },
    reason: c.reason,
    lastError: c.lastError,
    nextRestartAt: c.nextRestartAt,
    restartsByCause: { ...c.restartsByCause },
    lease: c.lease ? { ...c.lease } : null,
    singleton: c.spec.singleton,
  };
}

/** Ready when every critical child runs with fresh data and no child is failed. */
export function readiness(children: readonly Child[]): Readiness {
  const reasons: string[] = [];
  for (const c of children) {
    if (!c.spec.critical) continue;
    // A cold singleton whose lease another node holds is a standby, as it should be.
    if (c.spec.singleton === "cold" && c.lease && !c.lease.held) continue;
    if (c.state !== "running") reasons.push(`${c.spec.id} is ${c.state}`);
    else if (c.stale) reasons.push(`${c.spec.id} has stale data`);
  }
  const failed = children.filter((c) => c.state === "failed").map((c) => c.spec.id);
  for (const id of failed) {
    if (!reasons.some((r) => r.startsWith(`${id} `))) reasons.push(`${id} is failed`);
  }
  return { ready: reasons.length === 0, reasons };
}

/** The row the event log keeps as the child's current status. */
export function statusRow(c: Child): ActorStatusRow {
  return {
    actorId: c.spec.id,
    state: c.state,
    incarnation: c.incarnation,
    restarts: c.restarts,
    lastHeartbeatAt: c.lastHeartbeatAt,
    newestDataAt: c.newestDataAt,
    stale: c.stale,
    reason: c.reason,
    details: { counters: c.counters, ...c.details, ...(c.lease ? { lease: c.lease } : {}) },
  };
}
