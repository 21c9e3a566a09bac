import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { sleep } from "./sleep.ts";

Deno.test("sleep() resolves when the clock has moved on by ms, not before", async () => {
  const clock = new ManualClock();
  let done = false;
  const slept = sleep(1_000, { clock }).then(() => (done = true));
  await clock.tick(999);
  assert.equal(done, false);
  await clock.tick(1);
  await slept;
  assert.equal(done, true);
});

Deno.test("sleep() rejects with the reason when aborted, before or during, and leaves no timer", async () => {
  const clock = new ManualClock();
  const before = new AbortController();
  before.abort(new Error("stopped"));
  await assert.rejects(sleep(10, { clock, signal: before.signal }), /stopped/);
  const during = new AbortController();
  const slept = sleep(10_000, { clock, signal: during.signal });
  during.abort(new Error("stop now"));
  await assert.rejects(slept, /stop now/);
  assert.equal(clock.pendingTimers, 0);
});
