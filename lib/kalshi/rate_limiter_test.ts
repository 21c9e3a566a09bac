import assert from "node:assert/strict";
import { ManualClock } from "../clock.ts";
import { RateLimiter } from "./rate_limiter.ts";

/** A limiter on a manual clock whose sleeps move that clock (no real waiting). */
function manual(rate: number) {
  const clock = new ManualClock();
  const slept: number[] = [];
  const limiter = new RateLimiter(rate, {
    clock,
    sleep: (ms) => {
      slept.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
  });
  const grants: number[] = [];
  const take = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await limiter.take();
      grants.push(clock.monotonic());
    }
  };
  return { clock, limiter, grants, slept, take };
}

/** The most grants in any window `[t, t + windowMs)`; the fullest one starts at a grant. */
function busiestWindow(grants: readonly number[], windowMs = 1_000): number {
  let most = 0;
  for (const start of grants) {
    most = Math.max(most, grants.filter((g) => g >= start && g < start + windowMs).length);
  }
  return most;
}

Deno.test("RateLimiter.take() lets no one-second window hold more than the rate, from a full start", async () => {
  const { grants, take } = manual(20);
  await take(100);
  assert.equal(busiestWindow(grants), 20);
  assert.deepEqual(grants.slice(0, 20), Array(20).fill(0), "the first 20 go at once");
  assert.equal(grants[20], 1_000, "the 21st waits until the first is a second old");
  assert.equal(grants.at(-1), 4_000, "100 take 4 s, not 4 s minus the bucket (about 3.95 s)");
});

Deno.test("RateLimiter.take() bounds every sliding window after an idle spell and mixed bursts", async () => {
  const { clock, grants, take } = manual(10);
  await take(3);
  clock.advance(400);
  await take(9); // 7 fit before t=1000, the rest wait for the first three to age out
  clock.advance(2_500); // idle: a token bucket would refill to full here
  await take(25);
  for (let i = 0; i < 40; i++) {
    clock.advance(37 * (i % 5)); // uneven gaps between single requests
    await take(1);
  }
  assert.equal(busiestWindow(grants), 10);
  for (const windowMs of [250, 500, 999, 1_000]) {
    assert.ok(busiestWindow(grants, windowMs) <= 10, `window ${windowMs} ms`);
  }
  assert.ok(busiestWindow(grants, 2_000) <= 20, "two seconds hold at most twice the rate");
});

Deno.test("RateLimiter.take() rounds a fractional rate down and spaces rates below 1/s", async () => {
  const a = manual(2.5);
  await a.take(10);
  assert.equal(a.limiter.perWindow, 2);
  assert.equal(busiestWindow(a.grants), 2);
  const b = manual(0.5);
  await b.take(3);
  assert.deepEqual(b.grants, [0, 2_000, 4_000]);
  assert.equal(busiestWindow(b.grants), 1);
});

Deno.test("RateLimiter.take() serves concurrent waiters in order", async () => {
  const { clock, limiter } = manual(1);
  const order: [number, number][] = [];
  await Promise.all(
    [1, 2, 3].map((n) => limiter.take().then(() => order.push([n, clock.monotonic()]))),
  );
  assert.deepEqual(order, [[1, 0], [2, 1_000], [3, 2_000]]);
});

Deno.test("RateLimiter.available() counts the grants the window still has room for", async () => {
  const { clock, limiter, take } = manual(5);
  assert.equal(limiter.available(), 5);
  await take(3);
  assert.equal(limiter.available(), 2);
  clock.advance(999);
  assert.equal(limiter.available(), 2);
  clock.advance(1);
  assert.equal(limiter.available(), 5);
});

Deno.test("RateLimiter.take() rejects when aborted and does not block later takers", async () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter(1, {
    clock,
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  });
  await limiter.take();
  const ac = new AbortController();
  const waiting = limiter.take(ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
  clock.advance(1_000);
  await limiter.take(); // the aborted waiter took nothing and holds nobody up
});

Deno.test("RateLimiter refuses a rate of zero, a negative or an infinite rate", () => {
  for (const rate of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
    assert.throws(() => new RateLimiter(rate), RangeError, String(rate));
  }
});
