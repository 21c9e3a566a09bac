/**
 * The supervisor's detectors as pure functions of a child and the time: a start that never ends
 * in `ready` (`startTimeoutMs`), a missing heartbeat (`hangAfterMs`: a spinning worker, or one that
 * closed itself, for which Deno sends no event), stale data (`freshness`), and a restart that has
 * come due (after a backoff, or after a `failed` child's cool-down). {@linkcode tick} returns what
 * to do; the supervisor does it.
 *
 * @example
 * ```ts
 * import { tick } from "./detectors.ts";
 * import { validateChildSpecs } from "./child_spec.ts";
 * const [spec] = validateChildSpecs([{ id: "a", module: "file:///a.ts", hangAfterMs: 1_000 }]);
 * const child = {
 *   spec: spec!, state: "running" as const, incarnation: 1, wanted: true, startedAt: 0,
 *   readyAt: 0, lastHeartbeatAt: 0, newestDataAt: null, nextRestartAt: null, stale: false,
 * };
 * console.log(tick([child], 1_500)[0]?.detection.kind); // "hang"
 * ```
 *
 * @module
 */
import type { ChildSpec } from "./child_spec.ts";
import type { LifecycleState } from "./types.ts";

/** What the detectors read of a child. */
export interface Watched {
  spec: Pick<
    ChildSpec,
    "startTimeoutMs" | "hangAfterMs" | "freshness" | "freshnessGraceMs"
  >;
  state: LifecycleState;
  incarnation: number;
  wanted: boolean;
  startedAt: number | null;
  readyAt: number | null;
  lastHeartbeatAt: number | null;
  newestDataAt: number | null;
  nextRestartAt: number | null;
  /** Already reported stale (reported once per incarnation). */
  stale: boolean;
}

/** What a detector found. */
export type Detection =
  /** A hung worker (`hang`) or one not ready in time (`start_timeout`): replace it. */
  | { kind: "hang" | "start_timeout"; reason: string }
  /** Its newest data is too old: report `eventReason` as stale, then end it for `reason`. */
  | { kind: "stale"; reason: string; eventReason: string }
  /** Its restart is due; `afterCoolDown`: it was `failed`, so its restart history is forgotten. */
  | { kind: "restart"; afterCoolDown: boolean };

/** One thing to do, for the child at `index` as it was seen (`state`, `incarnation`). */
export interface Action {
  index: number;
  incarnation: number;
  state: LifecycleState;
  detection: Detection;
}

/**
 * Whether a ready child's data is stale: older than `freshness` once `freshnessGraceMs` after
 * `ready` has passed. Data of a previous incarnation does not count: the age runs from `ready`.
 */
export function isStale(c: Watched, now: number): boolean {
  const f = c.spec.freshness;
  if (f === null || c.readyAt === null) return false;
  if (now - c.readyAt < c.spec.freshnessGraceMs) return false;
  return now - Math.max(c.readyAt, c.newestDataAt ?? 0) > f;
}

/** What, if anything, is wrong with (or due for) one child at `now`. */
export function detect(c: Watched, now: number): Detection | null {
  if (c.state === "starting" || c.state === "running" || c.state === "degraded") {
    if (c.state === "starting" && now - (c.startedAt ?? now) > c.spec.startTimeoutMs) {
      return { kind: "start_timeout", reason: `not ready after ${c.spec.startTimeoutMs} ms` };
    }
    // Hang detection starts with the first heartbeat; until then startTimeoutMs applies.
    const silent = c.lastHeartbeatAt === null ? 0 : now - c.lastHeartbeatAt;
    if (silent > c.spec.hangAfterMs) {
      return { kind: "hang", reason: `no heartbeat for ${silent} ms` };
    }
    if (!c.stale && isStale(c, now)) {
      const lag = now - Math.max(c.readyAt ?? now, c.newestDataAt ?? 0);
      return {
        kind: "stale",
        reason: `newest data ${lag} ms old`,
        eventReason: `newest data ${lag} ms old (freshness ${c.spec.freshness} ms)`,
      };
    }
    return null;
  }
  if (
    (c.state === "backoff" || c.state === "failed") && c.wanted && c.nextRestartAt !== null &&
    now >= c.nextRestartAt
  ) {
    return { kind: "restart", afterCoolDown: c.state === "failed" };
  }
  return null;
}

/**
 * Runs every detector over `children` (in list order) at `now`. The supervisor applies each
 * action only while its child is still in the state and incarnation it was seen in, since an
 * earlier action (a strategy stopping siblings) may have moved it on.
 */
export function tick(children: readonly Watched[], now: number): Action[] {
  const out: Action[] = [];
  children.forEach((c, index) => {
    const detection = detect(c, now);
    if (detection) out.push({ index, incarnation: c.incarnation, state: c.state, detection });
  });
  return out;
}
