import assert from "node:assert/strict";
import { type BucketTime, TokenBucket } from "./rate_limiter.ts";

function fakeTime(): BucketTime & { t: number; slept: number[] } {
  const time = {
    t: 0,
    slept: [] as number[],
    now: () => time.t,
    sleep: (ms: number) => {
      time.slept.push(ms);
      time.t += ms;
      return Promise.resolve();
    },
  };
  return time;
}

Deno.test("TokenBucket.take() allows a burst of capacity, then paces at the rate", async () => {
  const time = fakeTime();
  const bucket = new TokenBucket(20, { time });
  for (let i = 0; i < 20; i++) await bucket.take();
  assert.equal(time.t, 0, "the first 20 take no time");
  for (let i = 0; i < 20; i++) await bucket.take();
  assert.ok(time.t >= 1000 && time.t <= 1020, `20 more take about 1 s (took ${time.t})`);
});

Deno.test("TokenBucket.take() serves waiters in order", async () => {
  const time = fakeTime();
  const bucket = new TokenBucket(1, { time, capacity: 1 });
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((n) => bucket.take().then(() => order.push(n))));
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(time.t, 2000);
});

Deno.test("TokenBucket.take() rejects when aborted and does not block later takers", async () => {
  const bucket = new TokenBucket(0.001, { capacity: 1 });
  await bucket.take();
  const ac = new AbortController();
  const waiting = bucket.take(ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
});

Deno.test("TokenBucket refuses a rate of zero", () => {
  assert.throws(() => new TokenBucket(0), RangeError);
});
