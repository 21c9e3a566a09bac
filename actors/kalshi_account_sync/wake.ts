/**
 * The account sync's wake-up: a socket frame asks for a prompt sync (`wake`), and the loops wait
 * with `pause`, which a wake-up (unless ignored) or the stop signal cuts short.
 *
 * @module
 */

/** A wake-up flag and the pause it cuts short. */
export interface Waker {
  /** Asks for a prompt sync: ends a pause that listens, or the next one at once. */
  wake(): void;
  /** Whether a wake-up came since the last `clear`. */
  readonly pending: boolean;
  /** Forgets the wake-ups so far (a sync is starting). */
  clear(): void;
  /** Ends a pause that listens, without asking for a sync (stop). */
  interrupt(): void;
  /** Waits `delayMs`, or less when woken (unless `ignoreWake`) or stopped. */
  pause(delayMs: number, ignoreWake?: boolean): Promise<void>;
}

/** Creates the waker of one actor; `signal` (its stop) ends every pause. */
export function createWaker(signal: AbortSignal): Waker {
  let pending = false;
  let wakeUp: (() => void) | undefined;
  return {
    wake() {
      pending = true;
      wakeUp?.();
    },
    get pending() {
      return pending;
    },
    clear() {
      pending = false;
    },
    interrupt() {
      wakeUp?.();
    },
    async pause(delayMs, ignoreWake = false) {
      if (pending && !ignoreWake) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delayMs);
        const onAbort = () => done();
        signal.addEventListener("abort", onAbort, { once: true });
        if (!ignoreWake) wakeUp = done;
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          if (wakeUp === done) wakeUp = undefined;
          resolve();
        }
      });
    },
  };
}
