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
