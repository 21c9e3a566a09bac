import assert from "node:assert/strict";
import {
  backoffDelay,
  decide,
  nextBackoffStep,
  recordRestart,
  type RestartInput,
  shouldRestart,
  strategySiblings,
} from "./restart_policy.ts";
import { Backoff, validateChildSpecs } from "./child_spec.ts";

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

const spec = (extra: Record<string, unknown> = {}) =>
  validateChildSpecs([{
    id: "a",
    module: "file:///a.ts",
    backoff: { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0, resetAfterMs: 5_000 },
    intensity: { maxRestarts: 2, periodMs: 10_000, coolDownMs: 60_000 },
    ...extra,
  }])[0]!;
const child = (extra: Partial<RestartInput> = {}): RestartInput => ({
  spec: spec(),
  restartHistory: [],
  restarts: 0,
  backoffStep: 0,
  startedAt: 1_000,
  ...extra,
});

Deno.test("decide() backs a crashed permanent child off, counting the restart", () => {
  const d = decide(child(), { kind: "crash", reason: "boom" }, 1_500);
  assert.equal(d.state, "backoff");
  assert.equal(d.delayMs, 100);
  assert.equal(d.restartAt, 1_600);
  assert.deepEqual(d.restartHistory, [1_500]);
  assert.equal(d.restarts, 1);
  assert.equal(d.backoffStep, 1);
  assert.equal(d.counted, "crash");
  assert.equal(d.cause, "crash: boom");
  assert.equal(d.wanted, true);
  assert.deepEqual(d.events, [
    { event: "exit", reason: "crash: boom", restartCount: 0, uptimeMs: 500 },
    {
      event: "restart_scheduled",
      reason: "crash: boom",
      restartCount: 1,
      details: { delayMs: 100 },
    },
  ]);
});

Deno.test("decide() grows the backoff with each quick restart and resets it after a stable run", () => {
  let c = child();
  const delays: number[] = [];
  for (const now of [1_100, 1_200, 1_300]) {
    const d = decide({ ...c, startedAt: now - 50 }, { kind: "crash", reason: "x" }, now);
    delays.push(d.delayMs!);
    c = { ...c, restartHistory: [], backoffStep: d.backoffStep };
  }
  assert.deepEqual(delays, [100, 200, 400]);
  const stable = decide({ ...c, startedAt: 0 }, { kind: "crash", reason: "x" }, 5_000);
  assert.equal(stable.backoffStep, 0);
  assert.equal(stable.delayMs, 100);
});

Deno.test("decide() replaces a hung worker at once; a start timeout backs off", () => {
  const hang = decide(child(), { kind: "hang", reason: "no heartbeat" }, 2_000);
  assert.equal(hang.delayMs, 0);
  assert.equal(hang.restartAt, 2_000);
  assert.equal(hang.counted, "hang");
  const late = decide(child(), { kind: "start_timeout", reason: "not ready" }, 2_000);
  assert.equal(late.delayMs, 100);
});

Deno.test("decide() fails a child past its intensity, retried after coolDownMs; critical reported", () => {
  const c = child({ restartHistory: [1_000, 1_200], restarts: 2 });
  const d = decide(c, { kind: "crash", reason: "boom" }, 1_500);
  assert.equal(d.state, "failed");
  assert.equal(d.restartAt, 61_500);
  assert.equal(d.restarts, 3);
  assert.equal(d.backoffStep, 0, "the backoff is left alone");
  assert.equal(d.cause, null);
  assert.equal(d.critical, false);
  assert.equal(d.events[1]?.event, "failed");
  assert.equal(d.events[1]?.reason, "intensity exceeded (2 in 10000 ms): crash: boom");
  const critical = decide(
    { ...c, spec: spec({ critical: true }) },
    { kind: "crash", reason: "b" },
    1,
  );
  assert.equal(critical.critical, true);
  const later = decide(c, { kind: "crash", reason: "boom" }, 11_100);
  assert.equal(later.state, "backoff", "restarts older than periodMs no longer count");
});

Deno.test("decide() keeps a finished transient, a crashed temporary and a stopping tree stopped", () => {
  const transient = decide(
    child({ spec: spec({ restart: "transient" }) }),
    { kind: "normal", reason: "finished" },
    2_000,
  );
  assert.equal(transient.state, "stopped");
  assert.equal(transient.wanted, false);
  assert.equal(transient.restartAt, null);
  assert.equal(transient.counted, null);
  assert.equal(transient.restarts, 0);
  assert.deepEqual(transient.events.map((e) => e.event), ["exit"]);
  const temporary = decide(
    child({ spec: spec({ restart: "temporary" }) }),
    { kind: "crash", reason: "boom" },
    2_000,
  );
  assert.equal(temporary.state, "stopped");
  assert.equal(temporary.wanted, false);
  const stopping = decide(child(), { kind: "crash", reason: "boom" }, 2_000, {
    supervisorStopping: true,
  });
  assert.equal(stopping.state, "stopped");
  assert.equal(stopping.wanted, true, "a permanent child stays wanted for the next start");
  const permanentNormal = decide(child(), { kind: "normal", reason: "finished" }, 2_000);
  assert.equal(permanentNormal.state, "backoff", "a permanent child is restarted even then");
});

Deno.test("decide() spreads the delay by the jitter it is given", () => {
  const c = child({ spec: spec({ backoff: { minMs: 100, jitter: 0.5 } }) });
  assert.equal(decide(c, { kind: "crash", reason: "x" }, 2_000, { random: () => 0 }).delayMs, 50);
  assert.equal(decide(c, { kind: "crash", reason: "x" }, 2_000, { random: () => 1 }).delayMs, 150);
});

Deno.test("strategySiblings() names none, every other, or those after the child", () => {
  assert.deepEqual(strategySiblings("one_for_one", 4, 1), []);
  assert.deepEqual(strategySiblings("one_for_all", 4, 1), [0, 2, 3]);
  assert.deepEqual(strategySiblings("rest_for_one", 4, 1), [2, 3]);
  assert.deepEqual(strategySiblings("rest_for_one", 4, 3), []);
});
