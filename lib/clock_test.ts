import assert from "node:assert/strict";
import { ManualClock, systemClock } from "./clock.ts";

Deno.test("ManualClock.advance() fires due timers in time order, each at its own instant", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const fired: [string, number, number][] = [];
  const at = (name: string) => () => fired.push([name, clock.monotonic(), clock.now()]);
  clock.setTimer(at("b"), 200);
  clock.setTimer(at("a"), 100);
  clock.setTimer(at("a2"), 100); // same instant: in the order set
  const cancel = clock.setTimer(at("never"), 150);
  cancel();
  clock.setTimer(() => {
    at("c")();
    clock.setTimer(at("from c"), 50); // set by a timer, due within the span
    clock.setTimer(at("later"), 5_000);
  }, 300);
  clock.advance(400);
  assert.deepEqual(fired.map(([n, m]) => [n, m]), [
    ["a", 100],
    ["a2", 100],
    ["b", 200],
    ["c", 300],
    ["from c", 350],
  ]);
  assert.equal(fired[0]![2], Date.UTC(2026, 0, 1) + 100, "the wall clock moves with it");
  assert.equal(clock.monotonic(), 400);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAt, 5_300);
  clock.advance(0);
  assert.equal(fired.length, 5, "nothing fires early");
});

Deno.test("ManualClock.tick() lets async work a timer starts settle before the next timer", async () => {
  const clock = new ManualClock();
  const log: string[] = [];
  clock.setTimer(async () => {
    log.push("first");
    await Promise.resolve();
    await Promise.resolve();
    log.push("first done");
  }, 10);
  clock.setTimer(() => log.push("second"), 20);
  await clock.tick(30);
  assert.deepEqual(log, ["first", "first done", "second"]);
});

Deno.test("ManualClock.set() moves only the wall clock; a zero or negative delay fires at once", () => {
  const clock = new ManualClock(1_000);
  clock.set(5_000);
  assert.equal(clock.now(), 5_000);
  assert.equal(clock.monotonic(), 0);
  let n = 0;
  clock.setTimer(() => n++, 0);
  clock.setTimer(() => n++, -5);
  clock.advance(0);
  assert.equal(n, 2);
});

Deno.test("systemClock.setTimer() fires once and can be cancelled", async () => {
  const fired: string[] = [];
  const done = Promise.withResolvers<void>();
  systemClock.setTimer(() => fired.push("kept"), 1);
  const cancel = systemClock.setTimer(() => fired.push("cancelled"), 1);
  cancel();
  // Timers fire in due order: once this later one fired, the cancelled one would have too.
  systemClock.setTimer(() => done.resolve(), 3);
  await done.promise;
  assert.deepEqual(fired, ["kept"]);
});
