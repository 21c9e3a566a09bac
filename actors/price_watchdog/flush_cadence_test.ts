import assert from "node:assert/strict";
import { ManualClock } from "../../lib/clock.ts";
import { FlushCadence } from "./flush_cadence.ts";

/** A cadence over a fake write that records when each pass started. */
function fake(options: { flushMs?: number; writeMs?: number } = {}) {
  const clock = new ManualClock();
  const starts: number[] = [];
  const state = { waiting: true, full: 0, fail: 0, checks: 0 };
  const cadence = new FlushCadence({
    clock,
    flushMs: options.flushMs ?? 250,
    flush: () => {
      starts.push(clock.monotonic());
      if (state.full > 0) state.full--;
      const ok = state.fail > 0 ? (state.fail--, false) : true;
      if (!options.writeMs) return Promise.resolve(ok);
      return new Promise((resolve) => clock.setTimer(() => resolve(ok), options.writeMs!));
    },
    empty: () => {
      // A cadence spinning on zero-delay timers would never let ManualClock.tick() return.
      if (++state.checks > 1_000) throw new Error("the cadence spins");
      return !state.waiting;
    },
    full: () => state.full > 0,
  });
  return { clock, starts, state, cadence };
}

Deno.test("FlushCadence - passes follow flushMs from the start of the last one, aimed 2 % early, however long a write takes", async () => {
  for (const writeMs of [0, 100]) {
    const { clock, starts, cadence } = fake({ writeMs });
    cadence.start();
    await clock.tick(1_000);
    cadence.stop();
    assert.deepEqual(starts, [250, 495, 740, 985], `writes of ${writeMs} ms`);
  }
});

Deno.test("FlushCadence - while full batches wait, pass follows pass at once", async () => {
  const { clock, starts, state, cadence } = fake();
  cadence.start();
  state.full = 3; // each pass takes one full batch off
  await clock.tick(250);
  assert.deepEqual(starts, [250, 250, 250], "one pass per full batch, at once");
  await clock.tick(245);
  assert.deepEqual(starts.slice(3), [495], "then the cadence, from the last pass");
  cadence.stop();
});

Deno.test("FlushCadence - backs off flushMs x 2^failures (at most 2 s) while writes fail, then keeps the cadence again", async () => {
  const { clock, starts, state, cadence } = fake();
  state.fail = 4;
  cadence.start();
  await clock.tick(250);
  assert.equal(cadence.failures, 1);
  cadence.arrived(true); // ignored while failing: the back-off timer retries
  assert.equal(clock.nextTimerAt, 750);
  await clock.tick(5_745);
  assert.deepEqual(starts, [250, 750, 1_750, 3_750, 5_750, 5_995]);
  assert.equal(cadence.failures, 0);
  cadence.stop();
});

Deno.test("FlushCadence.arrived(true) schedules one zero-delay pass for a whole burst", async () => {
  const { clock, starts, cadence } = fake();
  cadence.start();
  await clock.tick(100);
  for (let i = 0; i < 5; i++) cadence.arrived(true);
  assert.equal(clock.pendingTimers, 1, "the cadence timer replaced by one zero-delay timer");
  assert.equal(clock.nextTimerAt, 100);
  await clock.tick(0);
  assert.deepEqual(starts, [100]);
  assert.equal(clock.nextTimerAt, 345, "the cadence goes on from that pass");
  cadence.stop();
});

Deno.test("FlushCadence.arrived(false) within flushMs of the last pass waits for the cadence", async () => {
  const { clock, starts, cadence } = fake();
  cadence.start();
  await clock.tick(249);
  cadence.arrived(false);
  assert.equal(clock.nextTimerAt, 250);
  await clock.tick(1);
  assert.deepEqual(starts, [250]);
  cadence.stop();
});

Deno.test("FlushCadence.arrived() schedules nothing while a pass runs or before start()", async () => {
  const { clock, starts, cadence } = fake({ writeMs: 50 });
  cadence.arrived(true);
  assert.equal(clock.pendingTimers, 0);
  cadence.start();
  await clock.tick(260); // the pass started at 250 is still writing
  assert.equal(cadence.flushing, true);
  const timers = clock.pendingTimers;
  cadence.arrived(true);
  assert.equal(clock.pendingTimers, timers, "no second pass scheduled");
  await clock.tick(40);
  assert.deepEqual(starts, [250]);
  cadence.stop();
});

Deno.test("FlushCadence.flushOnce() shares a running pass and skips the write when nothing waits", async () => {
  const { clock, starts, state, cadence } = fake({ writeMs: 10 });
  const a = cadence.flushOnce();
  const b = cadence.flushOnce();
  assert.equal(a, b);
  await clock.tick(10);
  assert.equal(await a, true);
  assert.deepEqual(starts, [0]);
  state.waiting = false;
  assert.equal(await cadence.flushOnce(), true);
  assert.deepEqual(starts, [0], "no write for an empty buffer");
});

Deno.test("FlushCadence.stop() cancels the pending pass", async () => {
  const { clock, starts, cadence } = fake();
  cadence.start();
  assert.equal(clock.pendingTimers, 1);
  cadence.stop();
  assert.equal(clock.pendingTimers, 0);
  await clock.tick(1_000);
  assert.deepEqual(starts, []);
});

Deno.test("FlushCadence - with nothing waiting it wakes at most once per flushMs, and a row after the quiet spell is written at once", async () => {
  const { clock, starts, state, cadence } = fake();
  cadence.start();
  await clock.tick(250);
  state.waiting = false; // the pass at 250 wrote everything
  state.checks = 0;
  await clock.tick(245); // the cadence's next pass, at 495, finds nothing
  assert.equal(clock.nextTimerAt, 500, "the rest of flushMs, for a row arriving until then");
  await clock.tick(10_000 - 495);
  // 38 wake-ups of flushMs in 9.5 s, each looking at the buffer at most twice.
  assert.ok(state.checks <= 2 * 40, `${state.checks} looks at the buffer in 9.5 s`);
  state.waiting = true;
  cadence.arrived(false); // the last pass started flushMs ago or more
  await clock.tick(0);
  assert.deepEqual(starts, [250, 10_000]);
  cadence.stop();
});
