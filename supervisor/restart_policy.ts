/**
 * Restart decisions as pure functions (OTP `restart/2` and `add_restart`): intensity is a sliding
 * window, backoff is separate, whether to restart at all depends only on the restart type and the
 * exit kind, and {@linkcode decide} puts them together into what follows one exit.
 *
 * @example
 * ```ts
 * import { recordRestart } from "./restart_policy.ts";
 * const r = recordRestart([], 1_000, { maxRestarts: 3, periodMs: 60_000 });
 * console.log(r.exceeded); // false
 * ```
 *
 * @module
 */
import { backoffDelay as libBackoffDelay } from "../lib/backoff.ts";
import type { Backoff, ChildSpec } from "./child_spec.ts";

/** How a child ended. `normal` = it finished by itself; everything else is abnormal. */
export type ExitKind = "normal" | "crash" | "hang" | "stale" | "start_timeout";

/** The intensity part of a child spec. */
export interface RestartPolicy {
  maxRestarts: number;
  periodMs: number;
}

/** Keeps restarts inside the window; `exceeded` means give up. */
export function recordRestart(
  history: readonly number[],
  now: number,
  p: RestartPolicy,
): { history: number[]; exceeded: boolean } {
  const kept = [now, ...history.filter((t) => t > now - p.periodMs)];
  return { history: kept, exceeded: kept.length > p.maxRestarts };
}

/** Whether a child of restart type `restart` is restarted after an exit of kind `exit`. */
export function shouldRestart(
  restart: "permanent" | "transient" | "temporary",
  exit: ExitKind,
): boolean {
  if (restart === "temporary") return false;
  if (restart === "transient") return exit !== "normal";
  return true;
}

/**
 * Delay before restart number `step` (0-based): `minMs * factor^step`, capped at `maxMs`, with
 * `±jitter` spread. `random` is injectable for tests.
 */
export function backoffDelay(step: number, b: Backoff, random: () => number = Math.random): number {
  const policy = { baseMs: b.minMs, maxMs: b.maxMs, factor: b.factor, jitter: b.jitter };
  return libBackoffDelay(Math.max(0, step) + 1, policy, random);
}

/** The backoff step after a run of `ranMs`: a stable run resets it. */
export function nextBackoffStep(step: number, ranMs: number, b: Backoff): number {
  return ranMs >= b.resetAfterMs ? 0 : step + 1;
}

/** Restart strategy, as in OTP. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** What {@linkcode decide} needs to know about a child. */
export interface RestartInput {
  spec: Pick<ChildSpec, "restart" | "intensity" | "backoff" | "critical">;
  restartHistory: readonly number[];
  restarts: number;
  backoffStep: number;
  startedAt: number | null;
}

/** How a child's worker ended. */
export interface Exit {
  kind: ExitKind;
  reason: string;
}

/** An event a decision asks to record (the supervisor adds the child's id and incarnation). */
export interface DecisionEvent {
  event: "exit" | "restart_scheduled" | "failed";
  reason: string;
  restartCount: number;
  uptimeMs?: number;
  details?: Record<string, unknown>;
}

/** What happens to a child after an exit (OTP `restart/2`). */
export interface Decision {
  /** The state the child moves to. */
  state: "stopped" | "backoff" | "failed";
  /** The reason shown with that state. */
  reason: string;
  /** When it is spawned again: after its backoff or its cool-down; null = not by itself. */
  restartAt: number | null;
  /** The backoff delay (`backoff` only; 0 = spawn at once). */
  delayMs: number | null;
  /** Whether the supervisor still wants the child (false: it finished, or is temporary). */
  wanted: boolean;
  restartHistory: number[];
  restarts: number;
  backoffStep: number;
  /** The cause counted in `restartsByCause` (null: the exit is not a restart). */
  counted: ExitKind | null;
  /** Why the next restart happens (null: leave it as it is). */
  cause: string | null;
  /** A critical child failed: the process should end. */
  critical: boolean;
  /** The events to record: `events[0]` is the exit report, the rest follow the transition. */
  events: [DecisionEvent, ...DecisionEvent[]];
}

/**
 * Decides what follows an exit, from the child's restart type, its intensity window and its
 * backoff: stay stopped, back off and restart, or fail (retried after `coolDownMs`). A hung worker
 * is replaced at once; `supervisorStopping` means no restart at all. Pure: `random` is the jitter.
 */
export function decide(
  child: RestartInput,
  exit: Exit,
  now: number,
  options: { supervisorStopping?: boolean; random?: () => number } = {},
): Decision {
  const { spec } = child;
  const why = `${exit.kind}: ${exit.reason}`;
  const ranMs = now - (child.startedAt ?? now);
  const report: DecisionEvent = {
    event: "exit",
    reason: why,
    restartCount: child.restarts,
    uptimeMs: ranMs,
  };
  const same = {
    restartHistory: [...child.restartHistory],
    restarts: child.restarts,
    backoffStep: child.backoffStep,
  };
  if (options.supervisorStopping || !shouldRestart(spec.restart, exit.kind)) {
    return {
      ...same,
      state: "stopped",
      reason: why,
      restartAt: null,
      delayMs: null,
      wanted: !(spec.restart === "temporary" || exit.kind === "normal"),
      counted: null,
      cause: null,
      critical: false,
      events: [report],
    };
  }
  const r = recordRestart(child.restartHistory, now, spec.intensity);
  const restarts = child.restarts + 1;
  if (r.exceeded) {
    const { maxRestarts, periodMs } = spec.intensity;
    return {
      ...same,
      restartHistory: r.history,
      restarts,
      state: "failed",
      reason: why,
      restartAt: now + spec.intensity.coolDownMs,
      delayMs: null,
      wanted: true,
      counted: exit.kind,
      cause: null,
      critical: spec.critical,
      events: [report, {
        event: "failed",
        reason: `intensity exceeded (${maxRestarts} in ${periodMs} ms): ${why}`,
        restartCount: restarts,
      }],
    };
  }
  const backoffStep = nextBackoffStep(child.backoffStep, ranMs, spec.backoff);
  const delayMs = exit.kind === "hang"
    ? 0
    : backoffDelay(backoffStep - 1, spec.backoff, options.random);
  return {
    restartHistory: r.history,
    restarts,
    backoffStep,
    state: "backoff",
    reason: why,
    restartAt: now + delayMs,
    delayMs,
    wanted: true,
    counted: exit.kind,
    cause: why,
    critical: false,
    events: [report, {
      event: "restart_scheduled",
      reason: why,
      restartCount: restarts,
      details: { delayMs },
    }],
  };
}

/**
 * The siblings (list indices, in list order) stopped and restarted with the child at `index`:
 * none for `one_for_one`, every other for `one_for_all`, those after it for `rest_for_one`.
 */
export function strategySiblings(strategy: Strategy, count: number, index: number): number[] {
  if (strategy === "one_for_one") return [];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i !== index && (strategy === "one_for_all" || i > index)) out.push(i);
  }
  return out;
}
