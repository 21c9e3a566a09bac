/**
 * A sliding-window rate limiter: {@linkcode RateLimiter.take} waits until a request may go out
 * without any one-second window (anywhere, sliding) holding more than `ratePerSecond` requests.
 * Kalshi meters reads and writes in separate budgets (exchange-protocols.md §B6; Basic tier: 20
 * reads/s, 10 writes/s at default cost), so a client keeps one limiter per budget.
 *
 * Why not a token bucket: a bucket that holds one second of tokens lets a full bucket go out at
 * once and then refills at the rate, so a one-second window can see twice the rate (a full bucket
 * plus one second of refill). Remembering when the last `ratePerSecond` requests went out and
 * waiting until the oldest is a second old bounds every window exactly.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * const reads = new RateLimiter(20);
 * await reads.take(); // at most 20 takes in any one-second window
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { sleep } from "../sleep.ts";

/** Options of a {@linkcode RateLimiter}: its time source and its way of waiting (tests inject both). */
export interface RateLimiterOptions {
  /** Only `monotonic()` is read. */
  clock?: Pick<Clock, "monotonic">;
  /** Resolves after `ms` (rejects when `signal` aborts). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** At most `ratePerSecond` grants in any one-second window (one grant per `1/rate` s below 1/s). */
export class RateLimiter {
  readonly ratePerSecond: number;
  /** Grants allowed in any window of {@linkcode RateLimiter.windowMs}. */
  readonly perWindow: number;
  /** 1000 ms, or longer for rates below one per second (one grant per window). */
  readonly windowMs: number;
  /** Monotonic times of the newest grants (at most `perWindow`): a ring, oldest at `#head`. */
  readonly #grants: Float64Array;
  #head = 0;
  #count = 0;
  #queue: Promise<void> = Promise.resolve();
  readonly #clock: Pick<Clock, "monotonic">;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(ratePerSecond: number, options: RateLimiterOptions = {}) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError("Cannot create a rate limiter: rate must be a finite number > 0");
    }
    this.ratePerSecond = ratePerSecond;
    // A fractional rate above 1/s rounds down: 2.5/s allows 2 in a second, never 3.
    this.perWindow = ratePerSecond >= 1 ? Math.floor(ratePerSecond) : 1;
    this.windowMs = ratePerSecond >= 1 ? 1_000 : 1_000 / ratePerSecond;
    this.#grants = new Float64Array(this.perWindow);
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? ((ms, signal) => sleep(ms, { signal }));
  }

  #prune(now: number): void {
    while (this.#count > 0 && this.#grants[this.#head]! <= now - this.windowMs) {
      this.#head = (this.#head + 1) % this.perWindow;
      this.#count--;
    }
  }

  /** Grants that could go out now without waiting. */
  available(): number {
    this.#prune(this.#clock.monotonic());
    return this.perWindow - this.#count;
  }

  /** Takes one grant, waiting in FIFO order until the window has room. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        const now = this.#clock.monotonic();
        this.#prune(now);
        if (this.#count < this.perWindow) {
          this.#grants[(this.#head + this.#count) % this.perWindow] = now;
          this.#count++;
          return;
        }
        // The oldest grant leaves the window at `oldest + windowMs`; a timer that fires a little
        // early just loops once more.
        const waitMs = this.#grants[this.#head]! + this.windowMs - now;
        await this.#sleep(Math.max(1, Math.ceil(waitMs)), signal);
      }
    });
    // A waiter that aborts must not block the ones behind it.
    this.#queue = turn.catch(() => {});
    return turn;
  }
}
