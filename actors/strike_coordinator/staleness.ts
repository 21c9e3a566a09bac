/**
 * How the coordinator words and logs staleness, as pure functions: an age that visibly exceeds
 * its bound, and when a stale table is worth a WARN line.
 *
 * @example
 * ```ts
 * import { staleAge, warnStale } from "./staleness.ts";
 * staleAge(10_390, 10_000); // "10.4"
 * let w = warnStale(null, "price_age", 0); // { warn: true, last: { kind: "price_age", at: 0 } }
 * w = warnStale(w.last, "price_age", 1_000); // warn: false until a minute has passed
 * ```
 *
 * @module
 */

/**
 * Seconds of `ageMs` with as few decimals (1 to 3) as make it read larger than `boundMs`, so
 * that a 10.39 s old price reads "10.4" and a 10.04 s old one "10.04" against a 10 s bound,
 * never "10". Ages are whole milliseconds, so three decimals always suffice.
 */
export function staleAge(ageMs: number, boundMs: number): string {
  let text = "";
  for (let decimals = 1; decimals <= 3; decimals++) {
    text = (ageMs / 1000).toFixed(decimals);
    if (Number(text) * 1000 > boundMs) return text;
  }
  return text;
}

/** The WARN the coordinator last logged about its stale table. */
export interface StaleWarning {
  /** The cause (`price_age`, `no_event`, ...), stable while only the age in the reason changes. */
  kind: string;
  /** Monotonic ms (the clock seam's `monotonic()`). */
  at: number;
}

/** Between two WARN lines about the same stale cause. */
export const STALE_WARN_EVERY_MS = 60_000;

/**
 * Whether a stale cycle of cause `kind` at `now` logs a WARN: on the transition into stale
 * (`last` null) or to another cause, then at most once per `everyMs` while it lasts. `last` is
 * what to pass next time; set it back to null when the table is fresh again.
 */
export function warnStale(
  last: StaleWarning | null,
  kind: string,
  now: number,
  everyMs: number = STALE_WARN_EVERY_MS,
): { warn: boolean; last: StaleWarning } {
  if (last === null || last.kind !== kind || now - last.at >= everyMs) {
    return { warn: true, last: { kind, at: now } };
  }
  return { warn: false, last };
}
