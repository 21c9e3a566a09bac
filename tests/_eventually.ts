/**
 * Bounded polling for tests: no sleeps to wait for things.
 *
 * @module
 */

/** Polls `fn` until it returns a truthy value (or stops throwing); fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = new Error(`condition was ${String(v)}`);
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) {
      const why = last instanceof Error ? last.message : String(last);
      throw new Error(`${options.message ?? "Condition not met in time"}: ${why}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 25));
  }
}
