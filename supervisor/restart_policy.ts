/**
 * Restart decisions as pure functions (OTP `add_restart`): intensity is a sliding window, backoff
 * is separate, and whether to restart at all depends only on the restart type and the exit kind.
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
import type { Backoff } from "./child_spec.ts";

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
  const base = Math.min(b.maxMs, b.minMs * Math.pow(b.factor, Math.max(0, step)));
  const spread = base * b.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(b.maxMs, base + spread)));
}

/** The backoff step after a run of `ranMs`: a stable run resets it. */
export function nextBackoffStep(step: number, ranMs: number, b: Backoff): number {
  return ranMs >= b.resetAfterMs ? 0 : step + 1;
}
