/**
 * Health of a Kalshi actor as one small transition function: the actor observes a condition
 * after each poll or sync (a problem with a `key` such as `auth`, `rate_limited`, `unreachable`,
 * or `null` for healthy, or `undefined` when the attempt told nothing either way), and
 * {@linkcode healthTransition} says whether that is a transition to report. A problem is reported
 * once when it starts (or when its kind changes), and recovery once when it ends; the same
 * problem seen on every request is not a new transition, even when its text changes.
 *
 * {@linkcode HealthReporter} applies it: each transition goes to the supervisor (degraded /
 * recovered) and to the log, once.
 *
 * @example
 * ```ts
 * import { healthTransition } from "./health.ts";
 * const r = healthTransition(null, { key: "rate_limited", reason: "kalshi rate limited (HTTP 429)" });
 * // r.change: { type: "degraded", reason: "kalshi rate limited (HTTP 429)", from: null }
 * ```
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** A problem that lasts: `key` names its kind, `reason` is what /status and the log show. */
export interface Condition {
  key: string;
  reason: string;
}

/** A transition to report. */
export type HealthChange =
  | { type: "degraded"; reason: string; from: Condition | null }
  | { type: "recovered"; from: Condition };

/**
 * The health after observing `observed` from `current`, and the transition to report, if any.
 * `observed` undefined (nothing learnt) keeps the current health.
 */
export function healthTransition(
  current: Condition | null,
  observed: Condition | null | undefined,
): { next: Condition | null; change: HealthChange | null } {
  if (observed === undefined) return { next: current, change: null };
  if (observed === null) {
    return current === null
      ? { next: null, change: null }
      : { next: null, change: { type: "recovered", from: current } };
  }
  if (current !== null && current.key === observed.key) return { next: current, change: null };
  return { next: observed, change: { type: "degraded", reason: observed.reason, from: current } };
}

/** Where a {@linkcode HealthReporter} reports (an actor's context has all three). */
export interface HealthTarget {
  degraded(reason: string): void;
  recovered(): void;
  log: Logger;
}

/** Tracks an actor's health and reports each transition to the supervisor and the log, once. */
export class HealthReporter {
  #current: Condition | null = null;
  readonly #target: HealthTarget;

  constructor(target: HealthTarget) {
    this.#target = target;
  }

  /** The problem in force, or null when healthy. */
  get current(): Condition | null {
    return this.#current;
  }

  /** Applies an observation; returns the transition it reported, if any. */
  observe(observed: Condition | null | undefined): HealthChange | null {
    const { next, change } = healthTransition(this.#current, observed);
    this.#current = next;
    if (change?.type === "degraded") {
      this.#target.log.warn("Degraded: {reason}", {
        reason: change.reason,
        ...(change.from ? { previously: change.from.reason } : {}),
      });
      this.#target.degraded(change.reason);
    } else if (change?.type === "recovered") {
      this.#target.log.info("Recovered from: {reason}", { reason: change.from.reason });
      this.#target.recovered();
    }
    return change;
  }
}
