import assert from "node:assert/strict";
import { backoffDelay, nextBackoffStep, recordRestart, shouldRestart } from "./restart_policy.ts";
import { Backoff } from "./child_spec.ts";

const policy = { maxRestarts: 3, periodMs: 10_000 };

Deno.test("recordRestart() reports exceeded on the 4th restart within periodMs", () => {
  let h: number[] = [];
  for (const t of [1_000, 2_000, 3_000]) {
    const r = recordRestart(h, t, policy);
    assert.equal(r.exceeded, false);
    h = r.history;
  }
  assert.equal(recordRestart(h, 4_000, policy).exceeded, true);
});

Deno.test("recordRestart() forgets restarts older than periodMs", () => {
  const r = recordRestart([1_000, 2_000, 3_000], 12_500, policy);
  assert.deepEqual(r.history, [12_500, 3_000]);
  assert.equal(r.exceeded, false);
});

Deno.test("recordRestart() with maxRestarts 0 gives up on the first restart", () => {
  assert.equal(recordRestart([], 1, { maxRestarts: 0, periodMs: 1000 }).exceeded, true);
});

Deno.test("shouldRestart() follows permanent, transient and temporary semantics", () => {
  assert.equal(shouldRestart("permanent", "normal"), true);
  assert.equal(shouldRestart("permanent", "crash"), true);
  assert.equal(shouldRestart("transient", "normal"), false);
  assert.equal(shouldRestart("transient", "crash"), true);
  assert.equal(shouldRestart("transient", "hang"), true);
  assert.equal(shouldRestart("temporary", "crash"), false);
  assert.equal(shouldRestart("temporary", "normal"), false);
});

Deno.test("backoffDelay() grows by factor, caps at maxMs and stays within jitter", () => {
  const b = Backoff.parse({ minMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2 });
  assert.equal(backoffDelay(0, b, () => 0.5), 100);
  assert.equal(backoffDelay(1, b, () => 0.5), 200);
  assert.equal(backoffDelay(3, b, () => 0.5), 800);
  assert.equal(backoffDelay(10, b, () => 0.5), 1_000);
  assert.equal(backoffDelay(0, b, () => 0), 80);
  assert.equal(backoffDelay(0, b, () => 1), 120);
  assert.equal(backoffDelay(10, b, () => 1), 1_000, "jitter never exceeds maxMs");
});

Deno.test("nextBackoffStep() resets after a stable run", () => {
  const b = Backoff.parse({ resetAfterMs: 5_000 });
  assert.equal(nextBackoffStep(3, 4_999, b), 4);
  assert.equal(nextBackoffStep(3, 5_000, b), 0);
});
