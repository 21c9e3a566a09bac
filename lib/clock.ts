/**
 * The one clock seam. Nothing outside the wiring reads `Date.now()` or sets a timer directly, so
 * tests control time: {@linkcode ManualClock} moves only when told to and fires its timers then,
 * in time order, so code built on `setTimer` runs on fake time with no sleeps.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock(Date.UTC(2026, 0, 1));
 * const fired: number[] = [];
 * clock.setTimer(() => fired.push(clock.monotonic()), 250);
 * await clock.tick(1_000);
 * console.log(fired); // [250]
 * ```
 *
 * @module
 */

/** A source of wall-clock and monotonic time, and of timers on the monotonic one. */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock, UTC). */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonic(): number;
  /** Calls `fn` once, `ms` monotonic milliseconds from now; the result cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now: number;
  #mono = 0;
  #seq = 0;
  #timers: Pending[] = [];
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  monotonic(): number {
    return this.#mono;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const t: Pending = { at: this.#mono + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(t);
    this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return () => {
      this.#timers = this.#timers.filter((x) => x !== t);
    };
  }
  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
  /** Monotonic time of the next timer, if any. */
  get nextTimerAt(): number | undefined {
    return this.#timers[0]?.at;
  }
  /**
   * Moves both clocks forward by `ms`, firing the timers that fall due on the way in time order
   * (each at its own instant; a timer set by one that fires within the span fires too).
   */
  advance(ms: number): void {
    const end = this.#mono + ms;
    for (let t = this.#due(end); t; t = this.#due(end)) {
      this.#moveTo(t.at);
      t.fn();
    }
    this.#moveTo(end);
  }
  /**
   * As {@linkcode advance}, but lets promise continuations run after each timer, so async code
   * a timer starts (a restart, a database write) settles before the next one fires.
   */
  async tick(ms: number): Promise<void> {
    const end = this.#mono + ms;
    await settle();
    for (let t = this.#due(end); t; t = this.#due(end)) {
      this.#moveTo(t.at);
      t.fn();
      await settle();
    }
    this.#moveTo(end);
    await settle();
  }
  /** Sets the wall clock (the monotonic clock and timers are not moved). */
  set(ms: number): void {
    this.#now = ms;
  }
  #due(end: number): Pending | undefined {
    const t = this.#timers[0];
    if (!t || t.at > end) return undefined;
    this.#timers.shift();
    return t;
  }
  #moveTo(mono: number): void {
    if (mono <= this.#mono) return;
    this.#now += mono - this.#mono;
    this.#mono = mono;
  }
}

/** Lets queued promise continuations run (a macrotask turn drains every microtask). */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
