/**
 * How the coordinator words staleness: an age that visibly exceeds its bound.
 *
 * @example
 * ```ts
 * import { staleAge } from "./staleness.ts";
 * staleAge(10_390, 10_000); // "10.4"
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
