/**
 * The one clock seam. Nothing outside the wiring reads `Date.now()` directly, so tests control time.
 *
 * @module
 */

/** A source of wall-clock and monotonic time. */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock, UTC). */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonic(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now: number;
  #mono = 0;
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  monotonic(): number {
    return this.#mono;
  }
  /** Moves both clocks forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
    this.#mono += ms;
  }
  /** Sets the wall clock. */
  set(ms: number): void {
    this.#now = ms;
  }
}
