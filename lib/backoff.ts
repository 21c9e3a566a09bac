/**
 * The one exponential backoff of the runtime: the delay before retry number `attempt` (1-based)
 * is `baseMs · factor^(attempt − 1)`, capped at `maxMs`, then jittered so that many clients
 * retrying together spread out. Two jitter rules, both bounded by the cap:
 *
 * - `"spread"` (default): ±`jitter` around the delay (restarts, the heart, database connects);
 * - `"down"`: up to `jitter` of the delay taken off (a client that must never wait longer than
 *   the nominal delay: the price feed's reconnects, Kalshi's retries).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * const b = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2, mode: "down" as const };
 * console.log(backoffDelay(1, b, () => 0.5), backoffDelay(10, b, () => 0)); // 450 15000
 * ```
 *
 * @module
 */

/** A backoff policy. */
export interface Backoff {
  /** Delay before the first retry. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
  /** Growth per retry (default 2). */
  factor?: number;
  /** Fraction of the delay that is random (0..1, default 0.2). */
  jitter?: number;
  /** `"spread"`: ± the jitter (default); `"down"`: only ever shorter. */
  mode?: "spread" | "down";
}

/** Delay (ms, whole) before retry number `attempt` (1-based; 0 or less counts as 1). */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random) {
  const factor = b.factor ?? 2;
  const jitter = b.jitter ?? 0.2;
  const steps = Math.min(Math.max(0, attempt - 1), 1_000);
  const base = Math.min(b.maxMs, b.baseMs * factor ** steps);
  const jittered = b.mode === "down"
    ? base * (1 - jitter * random())
    : base * (1 + jitter * (random() * 2 - 1));
  return Math.max(0, Math.round(Math.min(b.maxMs, jittered)));
}
