/**
 * The lifecycle of a child as one transition table (NautilusTrader): any transition not listed
 * is a bug and throws.
 *
 * ```
 * stopped ─start─▶ starting ─ready─▶ running ⇄ degraded
 *    ▲                │                  │
 *    │             crash/hang         stop / crash
 *    │                ▼                  ▼
 *    └─── stopping ◀─ backoff ─▶ failed (cool-down) ─▶ starting
 * ```
 *
 * @module
 */
import { SupervisorError } from "../lib/errors.ts";
import type { LifecycleState } from "./types.ts";

const TABLE: Record<LifecycleState, readonly LifecycleState[]> = {
  stopped: ["starting"],
  starting: ["running", "stopping", "backoff", "failed", "stopped"],
  running: ["degraded", "stopping", "backoff", "failed", "stopped"],
  degraded: ["running", "stopping", "backoff", "failed", "stopped"],
  stopping: ["stopped"],
  backoff: ["starting", "stopped", "failed"],
  failed: ["starting", "stopped"],
};

/** Whether `from → to` is a legal transition. */
export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return TABLE[from].includes(to);
}

/** Returns `to`, or throws when `from → to` is not in the table. */
export function transition(id: string, from: LifecycleState, to: LifecycleState): LifecycleState {
  if (!canTransition(from, to)) {
    throw new SupervisorError(
      `Cannot move child "${id}" from ${from} to ${to}: illegal transition`,
    );
  }
  return to;
}

/** States in which a worker exists. */
export function isAlive(state: LifecycleState): boolean {
  return state === "starting" || state === "running" || state === "degraded" ||
    state === "stopping";
}
