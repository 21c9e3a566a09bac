/**
 * The one sleep of the runtime: waits on the clock seam (so fake time can drive it) and ends
 * early, rejecting with the signal's reason, when `signal` aborts.
 *
 * @example
 * ```ts
 * import { sleep } from "./sleep.ts";
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock();
 * const slept = sleep(1_000, { clock });
 * await clock.tick(1_000);
 * await slept;
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";

/** Options of {@linkcode sleep}. */
export interface SleepOptions {
  signal?: AbortSignal | undefined;
  clock?: Clock;
}

/** Waits `ms` (0 or less: one timer turn); rejects with the signal's reason when it aborts. */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options;
  const clock = options.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
