/**
 * When the price store writes: one pass at a time; at once (one zero-delay pass for a burst) when
 * something ready arrives (`arrived(true)`: the store calls it for every row, each a second known
 * complete, and for gap records); pass after pass while ready rows wait (`full()`: what arrived
 * during a write is written right after it, so rows coalesce into batches only while a write is in
 * flight); and backing off (`flushMs`·2^failures, at most 2 s) while writes fail. Besides, a pass
 * is due `flushMs` after the last one started (aimed 2 % early) while anything is left, and with
 * nothing waiting it wakes once per `flushMs`: a safety net, not the way rows are written.
 * `arrived(false)` (not ready yet) waits for that pass. Its timers run on the clock seam, so
 * `flush_cadence_test.ts` drives it on a `ManualClock` with no sleeps.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../../lib/clock.ts";
 * import { FlushCadence } from "./flush_cadence.ts";
 * const clock = new ManualClock();
 * let waiting = 3;
 * const cadence = new FlushCadence({
 *   clock,
 *   flushMs: 250,
 *   flush: () => Promise.resolve((waiting = 0, true)),
 *   empty: () => waiting === 0,
 *   full: () => false,
 * });
 * cadence.start();
 * await clock.tick(250);
 * console.log(waiting); // 0
 * cadence.stop();
 * ```
 *
 * @module
 */
import { backoffDelay } from "../../lib/backoff.ts";
import type { Clock } from "../../lib/clock.ts";

/** Options of {@linkcode FlushCadence}. */
export interface FlushCadenceOptions {
  clock: Clock;
  /** The safety-net interval between passes and the base of the back-off. */
  flushMs: number;
  /** Writes one batch; resolves false when the write failed and everything was kept. */
  flush(): Promise<boolean>;
  /** Nothing waits (a pass then writes nothing). */
  empty(): boolean;
  /** Rows ready to write wait (the pass goes on at once). */
  full(): boolean;
}

/** Longest back-off between failing passes. */
const MAX_BACKOFF_MS = 2_000;

/** The flush scheduling of one price store. */
export class FlushCadence {
  #o: FlushCadenceOptions;
  #flushing: Promise<boolean> | undefined;
  #cancel: (() => void) | undefined;
  /** A zero-delay pass is already pending (rows arriving in a burst re-arm no timer). */
  #immediate = false;
  #running = false;
  #failures = 0;
  #lastFlushStart = 0;

  constructor(options: FlushCadenceOptions) {
    this.#o = options;
  }

  /** Starts the cadence: the first pass is due `flushMs` from now. */
  start(): void {
    this.#running = true;
    this.#lastFlushStart = this.#o.clock.monotonic();
    this.#schedule(this.#o.flushMs);
  }

  /** Stops scheduling passes (one in flight finishes; {@linkcode flushOnce} still works). */
  stop(): void {
    this.#running = false;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /**
   * Something arrived: a pass is scheduled at once when `now` (ready to write) or when the last
   * pass started `flushMs` ago, unless one runs or writes are failing (the running pass, which
   * goes on while `full()`, or the back-off picks it up).
   */
  arrived(now: boolean): void {
    if (!this.#running || this.#flushing || this.#failures > 0) return;
    if (now || this.#o.clock.monotonic() - this.#lastFlushStart >= this.#o.flushMs) {
      this.#schedule(0);
    }
  }

  /** One pass, shared with a pass already running; true when it wrote (or had nothing to). */
  flushOnce(): Promise<boolean> {
    if (this.#flushing) return this.#flushing;
    if (this.#o.empty()) return Promise.resolve(true);
    this.#lastFlushStart = this.#o.clock.monotonic();
    this.#flushing = this.#o.flush()
      .then((ok) => {
        this.#failures = ok ? 0 : this.#failures + 1;
        return ok;
      })
      .finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** A pass is running. */
  get flushing(): boolean {
    return this.#flushing !== undefined;
  }

  /** Passes failed in a row since the last that wrote. */
  get failures(): number {
    return this.#failures;
  }

  #schedule(delay: number): void {
    if (delay === 0 && this.#immediate && this.#running) return;
    this.#cancel?.();
    this.#cancel = undefined;
    this.#immediate = false;
    if (!this.#running) return;
    this.#immediate = delay === 0;
    this.#cancel = this.#o.clock.setTimer(() => void this.#tick(), delay);
  }

  async #tick(): Promise<void> {
    this.#cancel = undefined;
    this.#immediate = false;
    const idle = !this.#flushing && this.#o.empty();
    let ok = await this.flushOnce();
    // Keep writing while ready rows wait (they arrived during the write); back off while the
    // database fails.
    while (ok && this.#running && this.#o.full()) ok = await this.flushOnce();
    const flushMs = this.#o.flushMs;
    const since = this.#o.clock.monotonic() - this.#lastFlushStart;
    if (idle) {
      // Nothing waited: no cadence to keep (rescheduling at its due time would spin on zero-delay
      // timers until something arrives). A row arriving flushMs or more after the last pass is
      // written at once (arrived()); one arriving before waits for this timer, due by then.
      this.#schedule(since < flushMs ? flushMs - since : flushMs);
      return;
    }
    const due = Math.max(0, flushMs * 0.98 - since);
    // flushMs·2^failures exactly (no jitter: one store per symbol, nothing to spread out).
    const retry = backoffDelay(this.#failures, {
      baseMs: 2 * flushMs,
      maxMs: MAX_BACKOFF_MS,
      jitter: 0,
    });
    this.#schedule(ok ? due : retry);
  }
}
