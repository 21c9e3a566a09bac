/**
 * What one cycle of the market watchdog did (`mod.ts` runs the cycles, `follow.ts` tallies the
 * events it follows to their results into the same record).
 *
 * @module
 */

/** What one cycle did. */
export interface CycleResult {
  written: number;
  rejected: number;
  missing: number;
  historyRows: number;
  /** Final results recorded (rows inserted or changed in `kalshi_market_results`). */
  results: number;
  /** Events past the current and next hour polled for their results. */
  followed: number;
  /** Events whose fetch failed (network, 5xx after retries, authentication). */
  failed: number;
  /** Events whose fetch Kalshi answered with 429. */
  rateLimited: number;
  /** The longest `Retry-After` of those 429s, when any was sent. */
  retryAfterMs?: number | undefined;
  ms: number;
}

/** A cycle that did nothing yet. */
export function emptyCycleResult(): CycleResult {
  return {
    written: 0,
    rejected: 0,
    missing: 0,
    historyRows: 0,
    results: 0,
    followed: 0,
    failed: 0,
    rateLimited: 0,
    ms: 0,
  };
}
