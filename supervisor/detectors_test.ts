import assert from "node:assert/strict";
import { validateChildSpecs } from "./child_spec.ts";
import { detect, isStale, tick, type Watched } from "./detectors.ts";

const spec = validateChildSpecs([{
  id: "a",
  module: "file:///a.ts",
  startTimeoutMs: 5_000,
  hangAfterMs: 1_000,
  freshness: 2_000,
  freshnessGraceMs: 500,
}])[0]!;

const running = (extra: Partial<Watched> = {}): Watched => ({
  spec,
  state: "running",
  incarnation: 1,
  wanted: true,
  startedAt: 0,
  readyAt: 100,
  lastHeartbeatAt: 100,
  newestDataAt: 100,
  nextRestartAt: null,
  stale: false,
  ...extra,
});

Deno.test("detect() reports a hang once the heartbeat is older than hangAfterMs", () => {
  assert.equal(detect(running(), 1_100), null, "exactly hangAfterMs is not yet a hang");
  assert.deepEqual(detect(running(), 1_101), { kind: "hang", reason: "no heartbeat for 1001 ms" });
  assert.deepEqual(detect(running({ state: "degraded" }), 1_101)?.kind, "hang");
});

Deno.test("detect() gives a starting child startTimeoutMs before its first heartbeat counts", () => {
  const starting = running({ state: "starting", readyAt: null, lastHeartbeatAt: null });
  assert.equal(detect(starting, 5_000), null);
  assert.deepEqual(detect(starting, 5_001), {
    kind: "start_timeout",
    reason: "not ready after 5000 ms",
  });
  // A heartbeat while starting starts hang detection too.
  assert.equal(detect({ ...starting, lastHeartbeatAt: 1_000 }, 2_001)?.kind, "hang");
});

Deno.test("isStale() applies freshness only after the grace, counting from ready", () => {
  assert.equal(isStale(running({ newestDataAt: null }), 599), false, "within the grace");
  assert.equal(isStale(running({ newestDataAt: null }), 2_100), false);
  assert.equal(isStale(running({ newestDataAt: null }), 2_101), true);
  assert.equal(isStale(running({ newestDataAt: 1_000 }), 3_001), true);
  assert.equal(isStale(running({ newestDataAt: 1_000 }), 2_999), false);
  assert.equal(isStale(running({ readyAt: null }), 10_000), false, "not ready: not stale");
  const off = { ...running(), spec: { ...spec, freshness: null } };
  assert.equal(isStale(off, 100_000), false);
});

Deno.test("detect() reports stale data once per incarnation, naming the lag", () => {
  const c = running({ lastHeartbeatAt: 3_000, newestDataAt: 1_000 });
  assert.deepEqual(detect(c, 3_001), {
    kind: "stale",
    reason: "newest data 2001 ms old",
    eventReason: "newest data 2001 ms old (freshness 2000 ms)",
  });
  assert.equal(detect({ ...c, stale: true }, 3_001), null);
});

Deno.test("detect() says when a backoff or a failed child's cool-down is over", () => {
  const backoff = running({ state: "backoff", nextRestartAt: 2_000, lastHeartbeatAt: null });
  assert.equal(detect(backoff, 1_999), null);
  assert.deepEqual(detect(backoff, 2_000), { kind: "restart", afterCoolDown: false });
  assert.deepEqual(detect({ ...backoff, state: "failed" }, 2_000), {
    kind: "restart",
    afterCoolDown: true,
  });
  assert.equal(detect({ ...backoff, wanted: false }, 9_000), null, "not wanted: left alone");
  assert.equal(detect({ ...backoff, state: "stopped" }, 9_000), null);
  assert.equal(detect(running({ state: "stopping", lastHeartbeatAt: 0 }), 9_000), null);
});

Deno.test("tick() returns one action per child that needs one, with the state it was seen in", () => {
  const actions = tick([
    running(),
    running({ lastHeartbeatAt: 0, incarnation: 3 }),
    running({ state: "backoff", nextRestartAt: 0 }),
  ], 1_050);
  assert.deepEqual(actions, [
    {
      index: 1,
      incarnation: 3,
      state: "running",
      detection: { kind: "hang", reason: "no heartbeat for 1050 ms" },
    },
    {
      index: 2,
      incarnation: 1,
      state: "backoff",
      detection: { kind: "restart", afterCoolDown: false },
    },
  ]);
});
