/**
 * Deltas and momentum of one symbol (DESIGN.md §3), over an in-memory history of per-second rows
 * and backfilled 1-minute candles.
 *
 * `delta_Nm = (price_now - price_at(now - N min)) / price_at(now - N min) * 100` (percent), where
 * `price_at(t)` is the newest row at or before `t` and no more than 60 s older than `t`; failing
 * that, the close of a 1-minute candle covering `t`; failing that, null. Momentum is the weighted
 * mean of the available deltas (weights .30/.25/.20/.15/.05/.05), renormalised, null when none.
 *
 * @module
 */

/** Delta periods in minutes, in column order. */
export const PERIODS = [1, 2, 3, 4, 15, 30] as const;
/** Momentum weights, one per period. */
export const WEIGHTS = [0.30, 0.25, 0.20, 0.15, 0.05, 0.05] as const;
/** How far back of `t` a row may be and still be `price_at(t)`. */
export const MAX_LOOKBACK_MS = 60_000;
/** How much history the computation needs (30 min plus the lookback). */
export const HISTORY_MS = 31 * 60_000;

/** Deltas (percent) in {@linkcode PERIODS} order, null where price_at has no answer. */
export type Deltas = [
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
];

/** Weighted mean of the available deltas, renormalised; null when all are null. */
export function momentum(deltas: readonly (number | null)[]): number | null {
  let sum = 0;
  let weight = 0;
  deltas.forEach((d, i) => {
    const w = WEIGHTS[i];
    if (d === null || w === undefined) return;
    sum += w * d;
    weight += w;
  });
  return weight === 0 ? null : sum / weight;
}

/** Percent change from `then` to `now`; null when `then` is missing or not positive. */
export function percentChange(now: number, then: number | null): number | null {
  if (then === null || !(then > 0)) return null;
  return (now - then) / then * 100;
}

/**
 * Rows (ascending exchange time, one per second) and candles (minute start → close) of one
 * symbol, pruned to {@linkcode HISTORY_MS} behind the newest row.
 */
export class PriceHistory {
  #times: number[] = [];
  #prices: number[] = [];
  #head = 0;
  #candles = new Map<number, number>();

  /** Number of rows held. */
  get size(): number {
    return this.#times.length - this.#head;
  }

  /** Exchange time (ms) of the newest row, or null. */
  get newestMs(): number | null {
    return this.size === 0 ? null : this.#times[this.#times.length - 1]!;
  }

  /** Price of the newest row, or null. */
  get newestPrice(): number | null {
    return this.size === 0 ? null : this.#prices[this.#prices.length - 1]!;
  }

  /** Appends a row; rows must come in ascending time (a broken invariant otherwise). */
  add(timeMs: number, price: number): void {
    const newest = this.newestMs;
    if (newest !== null && timeMs <= newest) {
      throw new Error(`Cannot add price row at ${timeMs}: not after the newest row ${newest}`);
    }
    this.#times.push(timeMs);
    this.#prices.push(price);
    this.#prune(timeMs - HISTORY_MS - MAX_LOOKBACK_MS);
  }

  /** Records the close of the 1-minute candle starting at `startMs`. */
  addCandle(startMs: number, close: number): void {
    this.#candles.set(startMs - (startMs % 60_000), close);
  }

  /** `price_at(t)` as DESIGN.md §3 defines it. */
  priceAt(t: number): number | null {
    // Binary search for the last row with time <= t.
    let lo = this.#head;
    let hi = this.#times.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid]! <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && t - this.#times[found]! <= MAX_LOOKBACK_MS) return this.#prices[found]!;
    const candle = this.#candles.get(t - (((t % 60_000) + 60_000) % 60_000));
    return candle ?? null;
  }

  /** Deltas of a row at `timeMs` with `price` against this history. */
  deltas(timeMs: number, price: number): Deltas {
    return PERIODS.map((m) => percentChange(price, this.priceAt(timeMs - m * 60_000))) as Deltas;
  }

  #prune(before: number): void {
    while (this.#head < this.#times.length && this.#times[this.#head]! < before) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#prices = this.#prices.slice(this.#head);
      this.#head = 0;
    }
    if (this.#candles.size > 256) {
      for (const k of this.#candles.keys()) if (k < before - 60_000) this.#candles.delete(k);
    }
  }
}
