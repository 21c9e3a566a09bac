import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay() grows by factor from baseMs and caps at maxMs", () => {
  const b = { baseMs: 100, maxMs: 1_000, factor: 2, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 99, 1e9].map((n) => backoffDelay(n, b)), [
    100,
    100,
    200,
    400,
    800,
    1_000,
    1_000,
    1_000,
  ]);
  assert.equal(backoffDelay(3, { baseMs: 5_000, maxMs: 300_000, factor: 4, jitter: 0 }), 80_000);
});

Deno.test("backoffDelay() jitters within its rule and never beyond the cap", () => {
  const spread = { baseMs: 1_000, maxMs: 10_000, jitter: 0.2 };
  assert.equal(backoffDelay(1, spread, () => 0), 800);
  assert.equal(backoffDelay(1, spread, () => 0.999999), 1_200);
  assert.equal(backoffDelay(9, spread, () => 0.999999), 10_000, "the cap holds with jitter");
  const down = { ...spread, mode: "down" as const };
  assert.equal(backoffDelay(1, down, () => 0), 1_000);
  assert.equal(backoffDelay(1, down, () => 0.999999), 800);
  for (let i = 0; i < 1_000; i++) {
    const d = backoffDelay(3, down);
    assert.ok(d >= 3_200 && d <= 4_000, String(d));
  }
});
