/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `capacity`; {@linkcode
 * TokenBucket.take} waits until a token is there. Kalshi meters reads and writes in separate
 * buckets (exchange-protocols.md §B6; Basic tier: 20 reads/s, 10 writes/s at default cost).
 *
 * @module
 */

/** Time and waiting, injectable for tests. */
export interface BucketTime {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms` (rejects when `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Sleeps `ms`, rejecting with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const realTime: BucketTime = { now: () => performance.now(), sleep };

/** A token bucket (one per budget). */
export class TokenBucket {
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();
  readonly ratePerSecond: number;
  readonly capacity: number;
  readonly #time: BucketTime;

  constructor(ratePerSecond: number, options: { capacity?: number; time?: BucketTime } = {}) {
    if (!(ratePerSecond > 0)) {
      throw new RangeError("Cannot create a token bucket: rate must be > 0");
    }
    this.ratePerSecond = ratePerSecond;
    this.capacity = options.capacity ?? Math.max(1, ratePerSecond);
    this.#time = options.time ?? realTime;
    this.#tokens = this.capacity;
    this.#last = this.#time.now();
  }

  #refill(): void {
    const now = this.#time.now();
    this.#tokens = Math.min(
      this.capacity,
      this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond,
    );
    this.#last = now;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes one token, waiting in FIFO order for it when the bucket is empty. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        this.#refill();
        if (this.#tokens >= 1) {
          this.#tokens -= 1;
          return;
        }
        const waitMs = ((1 - this.#tokens) / this.ratePerSecond) * 1000;
        await this.#time.sleep(Math.ceil(waitMs), signal);
      }
    });
    // A waiter that aborts must not block the ones behind it.
    this.#queue = turn.catch(() => {});
    return turn;
  }
}
