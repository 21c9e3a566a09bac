import assert from "node:assert/strict";
import { floorSecond, SecondBucket } from "./second_bucket.ts";

const t = (timeMs: number, price: string) => ({ timeMs, price, receivedMs: 0 });

Deno.test("SecondBucket.offer() keeps the last price of a second and emits it when a later second arrives", () => {
  const b = new SecondBucket();
  assert.deepEqual(b.offer(t(1_100, "1")), { accepted: true, emitted: null });
  assert.deepEqual(b.offer(t(1_900, "2")), { accepted: true, emitted: null });
  const r = b.offer(t(4_000, "3"));
  assert.ok(r.accepted);
  assert.deepEqual(r.emitted, { secondMs: 1_000, price: "2", receivedMs: 0 });
  assert.deepEqual(b.flush(), { secondMs: 4_000, price: "3", receivedMs: 0 });
  assert.equal(b.flush(), null);
});

Deno.test("SecondBucket.offer() keeps the later exchange time when a same-second trade arrives late", () => {
  const b = new SecondBucket();
  b.offer(t(1_800, "late-wins"));
  b.offer(t(1_200, "older"));
  assert.equal(b.flush()?.price, "late-wins");
});

Deno.test("SecondBucket.offer() rejects frames of closed seconds as stale_frame", () => {
  const b = new SecondBucket(5_000);
  assert.deepEqual(b.offer(t(5_999, "x")), { accepted: false, reason: "stale_frame" });
  b.offer(t(7_000, "a"));
  assert.deepEqual(b.offer(t(6_500, "x")), { accepted: false, reason: "stale_frame" });
  b.advance(8_000);
  assert.deepEqual(b.offer(t(7_500, "x")), { accepted: false, reason: "stale_frame" });
});

Deno.test("SecondBucket.advance() emits only once the exchange clock leaves the second", () => {
  const b = new SecondBucket();
  b.offer(t(2_000, "a"));
  assert.equal(b.advance(2_999), null);
  assert.equal(b.advance(3_000)?.secondMs, 2_000);
});

Deno.test("floorSecond() floors to the UTC second, also before 1970", () => {
  assert.equal(floorSecond(1_999), 1_000);
  assert.equal(floorSecond(-1), -1_000);
});

Deno.test("SecondBucket.markBreak() makes the held second incomplete unless a trade at or after the break's end arrives in it", () => {
  const b = new SecondBucket();
  b.offer(t(1_100, "1"));
  b.markBreak(1_100, 1_600);
  b.offer(t(1_600, "2")); // the frame that revealed the break: later than every lost one
  assert.deepEqual(b.advance(2_000), { secondMs: 1_000, price: "2", receivedMs: 0 });
  b.offer(t(2_100, "3"));
  b.markBreak(2_100, 3_500);
  const r = b.offer(t(3_500, "4"));
  assert.ok(r.accepted);
  assert.deepEqual(r.emitted, { secondMs: 2_000, price: "3", receivedMs: 0, incomplete: true });
  b.markBreak(900, 3_000); // ends before the held second's trade: nothing lost in it
  assert.equal(b.advance(4_000)?.incomplete, undefined);
});

Deno.test("SecondBucket.flush(true) emits a second not seen to end as incomplete", () => {
  const b = new SecondBucket();
  b.offer(t(5_100, "1"));
  assert.deepEqual(b.flush(true), { secondMs: 5_000, price: "1", receivedMs: 0, incomplete: true });
  b.offer(t(6_100, "2"));
  assert.equal(b.flush()?.incomplete, undefined);
});
