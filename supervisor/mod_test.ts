/**
 * The Supervisor on fake time: fake workers (`tests/fakes/worker.ts`, through `workerFactory`)
 * and a `ManualClock` carrying every timer, so restart, backoff, intensity, strategies, hang,
 * stale, start timeout, stop and commands are checked with no sleeps, including that something
 * does *not* happen before its time. `tests/supervisor_test.ts` runs the same with real workers.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { fakeWorkers } from "../tests/fakes/worker.ts";
import { type ChildSpecInput, validateChildSpecs } from "./child_spec.ts";
import type { ActorStatusRow, SupervisorEvent } from "./event_log.ts";
import { Supervisor, type SupervisorOptions } from "./mod.ts";
import type { FakeBehaviour } from "../tests/fakes/worker.ts";

const TICK = 100;

function spec(id: string, extra: Partial<ChildSpecInput> = {}): ChildSpecInput {
  return {
    id,
    module: `file:///fake/${id}.ts`,
    heartbeatMs: 100,
    hangAfterMs: 1_000,
    startTimeoutMs: 2_000,
    shutdownMs: 500,
    backoff: { minMs: 1_000, maxMs: 8_000, factor: 2, jitter: 0, resetAfterMs: 60_000 },
    intensity: { maxRestarts: 3, periodMs: 60_000, coolDownMs: 5_000 },
    database: false,
    ...extra,
  };
}

function setup(
  specs: ChildSpecInput[],
  options: Partial<SupervisorOptions> = {},
  behaviour: (id: string) => FakeBehaviour = () => ({}),
) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const events: (SupervisorEvent & { at: number })[] = [];
  const statuses = new Map<string, ActorStatusRow>();
  const workers = fakeWorkers(clock, behaviour);
  const sup = new Supervisor(validateChildSpecs(specs), {
    node: "test",
    clock,
    tickMs: TICK,
    workerFactory: workers.factory,
    events: {
      record: (e) => void events.push({ ...e, at: e.at ?? clock.now() }),
      setStatus: (r) => void statuses.set(r.actorId, r),
    },
    ...options,
  });
  const of = (id: string, event?: string) =>
    events.filter((e) => e.actorId === id && (!event || e.event === event));
  const state = (id: string) => sup.child(id)?.state;
  const incarnation = (id: string) => sup.child(id)?.incarnation;
  return { clock, events, statuses, workers, sup, of, state, incarnation };
}

Deno.test("Supervisor - restarts a crashed child after its backoff, not before", async () => {
  const t = setup([spec("a")]);
  t.sup.start();
  await t.clock.tick(0);
  assert.equal(t.state("a"), "running");
  t.workers.last("a").crash("boom");
  assert.equal(t.state("a"), "backoff");
  assert.equal(t.workers.last("a").terminated, true);
  await t.clock.tick(999);
  assert.equal(t.incarnation("a"), 1, "no restart before the 1 s backoff");
  await t.clock.tick(TICK);
  assert.equal(t.incarnation("a"), 2);
  assert.equal(t.state("a"), "running");
  const c = t.sup.child("a")!;
  assert.equal(c.restarts, 1);
  assert.deepEqual(c.restartsByCause, { crash: 1 });
  assert.equal(c.lastError, "boom");
  assert.deepEqual(t.of("a").map((e) => e.event), [
    "start",
    "ready",
    "exit",
    "restart_scheduled",
    "restart",
    "start",
    "ready",
  ]);
  assert.equal(t.of("a", "exit")[0]?.reason, "crash: boom");
  assert.deepEqual(t.of("a", "restart_scheduled")[0]?.details, { delayMs: 1_000 });
  assert.equal(t.statuses.get("a")?.state, "running");
  await t.sup.stop();
});

Deno.test("Supervisor - the backoff doubles with each quick crash", async () => {
  const t = setup([spec("a")]);
  t.sup.start();
  await t.clock.tick(0);
  for (const [i, delay] of [1_000, 2_000, 4_000].entries()) {
    t.workers.last("a").crash("boom");
    assert.deepEqual(t.of("a", "restart_scheduled")[i]?.details, { delayMs: delay });
    await t.clock.tick(delay - 1);
    assert.equal(t.incarnation("a"), i + 1, `not restarted before ${delay} ms`);
    await t.clock.tick(TICK);
    assert.equal(t.incarnation("a"), i + 2);
  }
  await t.sup.stop();
});

Deno.test("Supervisor - past its intensity a critical child fails, is reported, and is retried after its cool-down", async () => {
  const critical: string[] = [];
  const t = setup(
    [spec("steady"), spec("loop", { critical: true, backoff: { minMs: 0, jitter: 0 } })],
    { onCriticalFailure: (id) => critical.push(id) },
  );
  t.sup.start();
  await t.clock.tick(0);
  for (let i = 0; i < 4; i++) {
    t.workers.last("loop").crash("boom");
    await t.clock.tick(TICK);
  }
  assert.equal(t.state("loop"), "failed");
  assert.equal(t.incarnation("loop"), 4);
  assert.deepEqual(critical, ["loop"]);
  assert.equal(t.of("loop", "failed").length, 1);
  assert.match(t.of("loop", "failed")[0]?.reason ?? "", /^intensity exceeded \(3 in 60000 ms\)/);
  assert.equal(t.sup.readiness().ready, false);
  assert.ok(t.sup.readiness().reasons.includes("loop is failed"));
  assert.equal(t.sup.child("loop")?.nextRestartAt, t.clock.now() - TICK + 5_000);
  assert.equal(t.state("steady"), "running");
  assert.equal(t.incarnation("steady"), 1, "siblings unaffected (one_for_one)");
  await t.clock.tick(4_800);
  assert.equal(t.state("loop"), "failed", "still cooling down");
  await t.clock.tick(TICK);
  assert.equal(t.state("loop"), "running");
  assert.equal(t.incarnation("loop"), 5);
  assert.equal(t.of("loop", "restart").at(-1)?.reason, "cool-down over");
  assert.equal(t.sup.child("loop")?.restartsInWindow, 0, "its history is forgotten");
  await t.sup.stop();
});

Deno.test("Supervisor - a temporary child is never restarted, a finished transient stays stopped", async () => {
  const t = setup([spec("t", { restart: "temporary" }), spec("job", { restart: "transient" })]);
  t.sup.start();
  await t.clock.tick(0);
  t.workers.last("t").crash("boom");
  t.workers.last("job").send({ type: "stopped" });
  await t.clock.tick(60_000);
  assert.equal(t.state("t"), "stopped");
  assert.equal(t.incarnation("t"), 1);
  assert.equal(t.state("job"), "stopped");
  assert.equal(t.incarnation("job"), 1);
  assert.equal(t.of("job", "exit")[0]?.reason, "normal: finished");
  await t.sup.stop();
});

Deno.test("Supervisor - one_for_all stops every sibling in reverse order and restarts them", async () => {
  const t = setup([spec("a"), spec("b"), spec("c")], { strategy: "one_for_all" });
  t.sup.start();
  await t.clock.tick(0);
  t.workers.last("b").crash("boom");
  await t.clock.tick(0);
  assert.deepEqual(t.events.filter((e) => e.event === "stop").map((e) => e.actorId), ["c", "a"]);
  assert.equal(t.of("a", "stop")[0]?.reason, "one_for_all: b crash");
  assert.equal(t.of("a", "restart")[0]?.reason, "one_for_all: b crash");
  // Siblings that depend on nothing start again as soon as they are stopped; b backs off.
  assert.deepEqual(["a", "b", "c"].map(t.incarnation), [2, 1, 2]);
  assert.equal(t.state("b"), "backoff");
  await t.clock.tick(1_000);
  assert.deepEqual(["a", "b", "c"].map(t.incarnation), [2, 2, 2]);
  assert.deepEqual(["a", "b", "c"].map(t.state), ["running", "running", "running"]);
  assert.deepEqual(t.sup.child("a")?.restartsByCause, { sibling: 1 });
  assert.deepEqual(t.sup.child("b")?.restartsByCause, { crash: 1 });
  await t.sup.stop();
});

Deno.test("Supervisor - one_for_all: a sibling that depends on the crashed child waits for it", async () => {
  const t = setup([spec("a"), spec("b", { dependsOn: ["a"] })], { strategy: "one_for_all" });
  t.sup.start();
  await t.clock.tick(0);
  t.workers.last("a").crash("boom");
  await t.clock.tick(999);
  assert.equal(t.state("b"), "stopped");
  assert.equal(t.incarnation("b"), 1, "not started while a backs off");
  await t.clock.tick(TICK);
  assert.deepEqual(["a", "b"].map(t.incarnation), [2, 2]);
  assert.deepEqual(["a", "b"].map(t.state), ["running", "running"]);
  assert.ok(t.of("b", "start")[1]!.at >= t.of("a", "ready")[1]!.at);
  await t.sup.stop();
});

Deno.test("Supervisor - rest_for_one restarts the crashed child and those after it only", async () => {
  const t = setup([spec("a"), spec("b"), spec("c")], { strategy: "rest_for_one" });
  t.sup.start();
  await t.clock.tick(0);
  t.workers.last("b").crash("boom");
  await t.clock.tick(1_000);
  assert.deepEqual(["a", "b", "c"].map(t.incarnation), [1, 2, 2]);
  assert.deepEqual(["a", "b", "c"].map(t.state), ["running", "running", "running"]);
  assert.equal(t.of("a", "stop").length, 0);
  await t.sup.stop();
});

Deno.test("Supervisor - a silent worker is replaced at once after hangAfterMs, not before, and counted as a zombie", async () => {
  const t = setup([spec("quiet")]);
  t.sup.start();
  await t.clock.tick(0);
  await t.clock.tick(5_000);
  assert.equal(t.incarnation("quiet"), 1, "heartbeats keep it alive");
  const w = t.workers.last("quiet");
  w.silent = true;
  await t.clock.tick(1_000);
  assert.equal(t.incarnation("quiet"), 1, "silent for hangAfterMs: not yet a hang");
  await t.clock.tick(TICK);
  assert.equal(w.terminated, true);
  assert.equal(t.incarnation("quiet"), 2, "replaced at once, no backoff");
  assert.match(t.of("quiet", "hang")[0]?.reason ?? "", /^no heartbeat for 1\d00 ms$/);
  assert.equal(t.of("quiet", "zombie").length, 1);
  assert.equal(t.sup.zombies(), 1);
  assert.deepEqual(t.sup.child("quiet")?.restartsByCause, { hang: 1 });
  await t.sup.stop();
});

Deno.test("Supervisor - a child not ready within startTimeoutMs is ended and backed off", async () => {
  const t = setup([spec("slow")], {}, () => ({ ready: false }));
  t.sup.start();
  await t.clock.tick(2_000);
  assert.equal(t.state("slow"), "starting", "startTimeoutMs not passed yet");
  await t.clock.tick(TICK);
  assert.equal(t.state("slow"), "backoff");
  assert.equal(t.of("slow", "hang")[0]?.reason, "not ready after 2000 ms");
  assert.match(t.of("slow", "exit")[0]?.reason ?? "", /^start_timeout: not ready after 2000 ms/);
  assert.deepEqual(t.of("slow", "restart_scheduled")[0]?.details, { delayMs: 1_000 });
  await t.sup.stop();
});

Deno.test("Supervisor - stale data restarts a live worker once freshness is exceeded after the grace", async () => {
  const t = setup([spec("feed", { freshness: 1_000, freshnessGraceMs: 500 })]);
  t.sup.start();
  await t.clock.tick(0);
  const w = t.workers.last("feed");
  const readyAt = t.clock.now();
  w.newestDataAt = readyAt;
  await t.clock.tick(1_000);
  assert.equal(t.incarnation("feed"), 1, "data exactly freshness old is not stale");
  await t.clock.tick(TICK);
  assert.equal(w.terminated, true);
  assert.equal(t.of("feed", "stale").length, 1);
  assert.equal(t.of("feed", "stale")[0]?.reason, "newest data 1100 ms old (freshness 1000 ms)");
  assert.deepEqual(t.sup.child("feed")?.restartsByCause, { stale: 1 });
  await t.clock.tick(1_000);
  assert.equal(t.incarnation("feed"), 2);
  await t.sup.stop();
});

Deno.test("Supervisor - stop waits shutdownMs for stopped, then terminates", async () => {
  const t = setup([spec("slow")], {}, () => ({ answerStop: false }));
  t.sup.start();
  await t.clock.tick(0);
  let done = false;
  const stopped = t.sup.stop("test over").then(() => done = true);
  await t.clock.tick(499);
  assert.equal(done, false, "still waiting for stopped");
  assert.equal(t.state("slow"), "stopping");
  await t.clock.tick(1);
  await stopped;
  assert.equal(t.workers.last("slow").terminated, true);
  assert.equal(t.state("slow"), "stopped");
  assert.equal(t.of("slow", "stopped")[0]?.reason, "test over (terminated after 500 ms)");
  assert.equal(t.clock.pendingTimers, 0, "the watch timer is gone too");
});

Deno.test("Supervisor - a manually stopped child, and one not autostarted, stay stopped", async () => {
  const t = setup([spec("m"), spec("job", { autostart: false, restart: "transient" })]);
  t.sup.start();
  await t.clock.tick(0);
  await t.sup.stopChild("m", "manual");
  await t.clock.tick(60_000);
  assert.equal(t.state("m"), "stopped");
  assert.equal(t.incarnation("m"), 1);
  assert.equal(t.state("job"), "stopped");
  assert.equal(t.incarnation("job"), 0);
  await t.sup.startChild("job", "schedule");
  await t.clock.tick(0);
  assert.equal(t.state("job"), "running");
  await t.sup.stop();
});

Deno.test("Supervisor - two concurrent commands of one name answered out of order each get their own answer", async () => {
  const t = setup([spec("a")]);
  t.sup.start();
  await t.clock.tick(0);
  const first = t.sup.command("a", "echo", 1);
  const second = t.sup.command("a", "echo", 2);
  const w = t.workers.last("a");
  const [c1, c2] = w.commands;
  assert.ok(c1 && c2 && c1.id !== c2.id, "each command carries its own id");
  assert.deepEqual([c1.payload, c2.payload], [1, 2]);
  w.send({ type: "command_result", id: c2.id, name: "echo", ok: true, result: "second" });
  w.send({ type: "command_result", id: c1.id, name: "echo", ok: false, error: "first failed" });
  assert.equal(await second, "second");
  await assert.rejects(first, /Command "echo" failed in "a": first failed/);
  await t.sup.stop();
});

Deno.test("Supervisor - a command with no answer is rejected after its timeout on the clock", async () => {
  const t = setup([spec("a")]);
  t.sup.start();
  await t.clock.tick(0);
  let settled = false;
  const p = t.sup.command("a", "ping", undefined, 1_000).finally(() => settled = true);
  p.catch(() => {});
  await t.clock.tick(999);
  assert.equal(settled, false);
  await t.clock.tick(1);
  await assert.rejects(p, /Cannot send "ping" to "a": no answer in 1000 ms/);
  assert.throws(() => t.sup.command("nope", "ping"), /unknown child id/);
  await t.sup.stop();
  await assert.rejects(t.sup.command("a", "ping"), /not running/);
});

Deno.test("Supervisor - a worker that cannot be created is a crash, restarted by its policy", async () => {
  const clock = new ManualClock();
  const events: SupervisorEvent[] = [];
  let calls = 0;
  const sup = new Supervisor(validateChildSpecs([spec("a")]), {
    node: "test",
    clock,
    tickMs: TICK,
    events: { record: (e) => void events.push(e), setStatus: () => {} },
    workerFactory: () => {
      calls++;
      throw new TypeError("Module not found");
    },
  });
  sup.start();
  await clock.tick(0);
  assert.equal(sup.child("a")?.state, "backoff");
  assert.equal(
    events.find((e) => e.event === "exit")?.reason,
    "crash: TypeError: Module not found",
  );
  await clock.tick(1_000);
  assert.equal(calls, 2);
  await sup.stop();
});

Deno.test("Supervisor - a zombie thread still hot after the bound escalates, once", async () => {
  const escalations: string[] = [];
  let sample = 0;
  const t = setup([spec("blocked")], {
    zombieCpuBoundMs: 2_000,
    onEscalate: (reason) => escalations.push(reason),
    // One live worker thread and one zombie burning a whole core (100 ticks a second).
    readThreadTicks: () => new Map([["live", 0], ["zombie", 100 * sample++]]),
  });
  t.sup.start();
  await t.clock.tick(0);
  t.workers.last("blocked").silent = true;
  await t.clock.tick(1_100);
  assert.equal(t.sup.zombies(), 1);
  await t.clock.tick(2_000);
  assert.deepEqual(escalations, [], "inside the bound, and a first sample only");
  await t.clock.tick(1_000);
  assert.equal(escalations.length, 1);
  assert.match(escalations[0]!, /^1 zombie worker thread\(s\) still running; 1 hot after/);
  assert.equal(t.events.filter((e) => e.event === "escalate").length, 1);
  await t.clock.tick(5_000);
  assert.equal(escalations.length, 1);
  await t.sup.stop();
});
