import assert from "node:assert/strict";
import { ManualClock } from "../clock.ts";
import { OutageRefused, serverControl } from "./outage.ts";

/** A server that records its starts and stops; `failStarts` starts fail first. */
function fakeServer(clock: ManualClock, failStarts = 0) {
  const calls: string[] = [];
  let releases = 0;
  let failing = failStarts;
  const control = serverControl({
    dir: "/srv/pg",
    clock,
    startServer: () => {
      calls.push(`start@${clock.monotonic()}`);
      return failing-- > 0 ? Promise.reject(new Error("port taken")) : Promise.resolve();
    },
    stopServer: () => {
      calls.push(`stop@${clock.monotonic()}`);
      return Promise.resolve();
    },
    release: () => releases++,
  });
  return { control, calls, releases: () => releases };
}

Deno.test("serverControl().outage() stops the server, waits downMs and starts it again", async () => {
  const clock = new ManualClock();
  const s = fakeServer(clock);
  let back = false;
  const done = s.control.outage(5_000).then(() => (back = true));
  await clock.tick(4_999);
  assert.deepEqual(s.calls, ["stop@0"]);
  assert.equal(back, false);
  await clock.tick(1);
  await done;
  assert.deepEqual(s.calls, ["stop@0", "start@5000"]);
  assert.equal(s.releases(), 0, "the lock is kept through an outage");
});

Deno.test("serverControl().outage() is refused while another runs, and runs again after it", async () => {
  const clock = new ManualClock();
  const s = fakeServer(clock);
  const first = s.control.outage(1_000);
  await assert.rejects(s.control.outage(1_000), (e) => {
    assert.ok(e instanceof OutageRefused);
    assert.match(e.message, /an outage is already running/);
    return true;
  });
  await clock.tick(1_000);
  await first;
  const second = s.control.outage(1_000);
  await clock.tick(1_000);
  await second;
  assert.deepEqual(s.calls, ["stop@0", "start@1000", "stop@1000", "start@2000"]);
});

Deno.test("serverControl().outage() retries a failed start a second apart and gives up after five attempts", async () => {
  const clock = new ManualClock();
  const s = fakeServer(clock, 2);
  const done = s.control.outage(100);
  await clock.tick(100 + 2 * 1_000);
  await done;
  assert.deepEqual(s.calls, ["stop@0", "start@100", "start@1100", "start@2100"]);

  const hopeless = fakeServer(clock, 99);
  const failed = hopeless.control.outage(0).then(() => undefined, (e: Error) => e);
  await clock.tick(10_000);
  assert.equal((await failed)?.message, "port taken");
  assert.equal(hopeless.calls.filter((c) => c.startsWith("start")).length, 5);
  // Once it gave up, another outage may be asked for (and is not refused).
  const again = hopeless.control.outage(0).then(() => undefined, (e: Error) => e);
  await clock.tick(10_000);
  const e = await again;
  assert.ok(!(e instanceof OutageRefused));
  assert.equal(e?.message, "port taken");
});

Deno.test("serverControl().stop() cuts a running outage short, the server stays stopped, and later outages are refused", async () => {
  const clock = new ManualClock();
  const s = fakeServer(clock);
  const long = s.control.outage(600_000);
  await clock.tick(0);
  await s.control.stop();
  await long;
  assert.deepEqual(s.calls, ["stop@0", "stop@0"], "no start after stop");
  assert.equal(s.releases(), 1);
  await assert.rejects(s.control.outage(1_000), (e) => {
    assert.ok(e instanceof OutageRefused);
    assert.match(e.message, /it is shutting down/);
    return true;
  });
  await s.control.stop(); // idempotent
  assert.equal(s.calls.length, 2);
  assert.equal(s.releases(), 1);
  assert.equal(clock.pendingTimers, 0, "no timer left behind");
});
