/**
 * Supervisor behaviour with real Web Workers running `tests/fixtures/test_actor.ts`. Events go
 * to a recording sink here; `event_log_test.ts` covers writing them to PostgreSQL.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { type ChildSpecInput, validateChildSpecs } from "../supervisor/child_spec.ts";
import type { ActorStatusRow, SupervisorEvent } from "../supervisor/event_log.ts";
import { Supervisor, type SupervisorOptions } from "../supervisor/mod.ts";
import { eventually } from "./_eventually.ts";

const ACTOR = new URL("./fixtures/test_actor.ts", import.meta.url).href;

class RecordingEvents {
  events: (SupervisorEvent & { at: number })[] = [];
  statuses = new Map<string, ActorStatusRow>();
  record(e: SupervisorEvent): void {
    this.events.push({ ...e, at: e.at ?? Date.now() });
  }
  setStatus(r: ActorStatusRow): void {
    this.statuses.set(r.actorId, r);
  }
  of(actor: string, event?: string) {
    return this.events.filter((e) => e.actorId === actor && (!event || e.event === event));
  }
}

function spec(id: string, extra: Partial<ChildSpecInput> = {}): ChildSpecInput {
  return {
    id,
    module: ACTOR,
    heartbeatMs: 50,
    hangAfterMs: 1_500,
    shutdownMs: 2_000,
    backoff: { minMs: 10, maxMs: 50, factor: 2, jitter: 0.1, resetAfterMs: 60_000 },
    intensity: { maxRestarts: 5, periodMs: 60_000, coolDownMs: 600_000 },
    database: false,
    ...extra,
  };
}

async function withSupervisor(
  specs: ChildSpecInput[],
  fn: (sup: Supervisor, events: RecordingEvents) => Promise<void>,
  options: Partial<SupervisorOptions> = {},
): Promise<void> {
  const events = new RecordingEvents();
  const sup = new Supervisor(validateChildSpecs(specs), {
    node: "test",
    events,
    tickMs: 50,
    log: { format: "text", level: "fatal" },
    ...options,
  });
  sup.start();
  try {
    await fn(sup, events);
  } finally {
    await sup.stop("test over");
  }
}

const running = (sup: Supervisor, id: string, incarnation = 1) => () => {
  const c = sup.child(id);
  return c?.state === "running" && c.incarnation >= incarnation ? c : undefined;
};

Deno.test("supervisor - restarts a permanent child after it crashes, with a new incarnation", async () => {
  await withSupervisor([spec("a")], async (sup, events) => {
    await eventually(running(sup, "a"));
    await sup.command("a", "crash");
    const c = await eventually(running(sup, "a", 2));
    assert.equal(c.incarnation, 2);
    assert.equal(c.restarts, 1);
    assert.equal(c.restartsByCause.crash, 1);
    assert.match(c.lastError ?? "", /crash on command/);
    const exit = events.of("a", "exit")[0];
    assert.match(exit?.reason ?? "", /^crash: .*crash on command/);
    assert.equal(events.of("a", "restart").length, 1);
    assert.equal(events.statuses.get("a")?.state, "running");
  });
});

Deno.test("supervisor - an unhandled rejection in a worker is a crash, not the end of the process", async () => {
  await withSupervisor([spec("a")], async (sup) => {
    await eventually(running(sup, "a"));
    await sup.command("a", "reject");
    await eventually(running(sup, "a", 2));
  });
});

Deno.test("supervisor - a child whose start fails is restarted with backoff", async () => {
  await withSupervisor(
    [spec("a", { args: { failStart: true }, intensity: { maxRestarts: 2, periodMs: 60_000 } })],
    async (sup, events) => {
      await eventually(() => sup.child("a")?.state === "failed");
      assert.equal(events.of("a", "start").length, 3);
      assert.equal(events.of("a", "restart_scheduled").length, 2);
    },
  );
});

Deno.test("supervisor - transient child: normal exit not restarted, crash restarted", async () => {
  await withSupervisor([
    spec("job", { restart: "transient", args: { finishAfterMs: 100 } }),
    spec("crashy", { restart: "transient" }),
  ], async (sup, events) => {
    await eventually(() => sup.child("job")?.state === "stopped" && sup.child("job"));
    assert.equal(sup.child("job")?.incarnation, 1);
    assert.match(events.of("job", "exit")[0]?.reason ?? "", /^normal/);
    await eventually(running(sup, "crashy"));
    await sup.command("crashy", "crash");
    await eventually(running(sup, "crashy", 2));
  });
});

Deno.test("supervisor - temporary child is never restarted", async () => {
  const clock = new ManualClock();
  await withSupervisor([spec("t", { restart: "temporary" })], async (sup) => {
    await eventually(running(sup, "t"));
    await sup.command("t", "crash");
    await eventually(() => sup.child("t")?.state === "stopped");
    // Give a restart the chance it must not take: far past any backoff, on the supervisor's clock.
    await clock.tick(10_000);
    assert.equal(sup.child("t")?.incarnation, 1);
    assert.equal(sup.child("t")?.state, "stopped");
  }, { clock });
});

Deno.test("supervisor - intensity spent → failed, not ready, critical reported, siblings unaffected", async () => {
  const critical: string[] = [];
  await withSupervisor([
    spec("steady"),
    spec("loop", {
      critical: true,
      args: { crashAfterMs: 30 },
      intensity: { maxRestarts: 3, periodMs: 60_000, coolDownMs: 600_000 },
    }),
  ], async (sup, events) => {
    await eventually(() => sup.child("loop")?.state === "failed", { timeoutMs: 20_000 });
    assert.equal(sup.readiness().ready, false);
    assert.ok(sup.readiness().reasons.some((r) => r.includes("loop")));
    assert.deepEqual(critical, ["loop"]);
    assert.equal(events.of("loop", "failed").length, 1);
    assert.ok(sup.child("loop")!.nextRestartAt! > Date.now() + 500_000, "long cool-down");
    const steady = sup.child("steady")!;
    assert.equal(steady.state, "running");
    assert.equal(steady.incarnation, 1);
  }, { onCriticalFailure: (id) => critical.push(id) });
});

Deno.test("supervisor - failed child is retried after its cool-down", async () => {
  await withSupervisor([
    spec("loop", {
      args: { crashAfterMs: 30 },
      intensity: { maxRestarts: 1, periodMs: 60_000, coolDownMs: 400 },
    }),
  ], async (sup, events) => {
    await eventually(() => sup.child("loop")?.state === "failed");
    await eventually(() => events.events.some((e) => e.reason === "cool-down over"));
  });
});

Deno.test("supervisor - one_for_all restarts every sibling when one crashes", async () => {
  await withSupervisor([spec("a"), spec("b"), spec("c")], async (sup) => {
    for (const id of ["a", "b", "c"]) await eventually(running(sup, id));
    await sup.command("b", "crash");
    for (const id of ["a", "b", "c"]) await eventually(running(sup, id, 2));
    assert.equal(sup.child("a")?.restartsByCause.sibling, 1);
  }, { strategy: "one_for_all" });
});

Deno.test("supervisor - rest_for_one restarts the crashed child and those after it only", async () => {
  await withSupervisor([spec("a"), spec("b"), spec("c")], async (sup) => {
    for (const id of ["a", "b", "c"]) await eventually(running(sup, id));
    await sup.command("b", "crash");
    await eventually(running(sup, "b", 2));
    await eventually(running(sup, "c", 2));
    assert.equal(sup.child("a")?.incarnation, 1);
  }, { strategy: "rest_for_one" });
});

Deno.test("supervisor - starts in dependency order gated on readiness, stops in reverse", async () => {
  const events = new RecordingEvents();
  const sup = new Supervisor(
    validateChildSpecs([
      spec("db_user", { args: { startDelayMs: 300 } }),
      spec("middle", { dependsOn: ["db_user"], args: { startDelayMs: 100 } }),
      spec("top", { dependsOn: ["middle"] }),
    ]),
    { node: "t", events, tickMs: 50, log: { format: "text", level: "fatal" } },
  );
  sup.start();
  await eventually(running(sup, "top"));
  const at = (id: string, ev: string) => events.of(id, ev)[0]!.at;
  assert.ok(at("middle", "start") >= at("db_user", "ready"));
  assert.ok(at("top", "start") >= at("middle", "ready"));
  await sup.stop("test over");
  const order = events.events.filter((e) => e.event === "stopped").map((e) => e.actorId);
  assert.deepEqual(order, ["top", "middle", "db_user"]);
});

Deno.test("supervisor - a worker that closes itself silently is detected by its missing heartbeat", async () => {
  await withSupervisor([spec("quiet", { hangAfterMs: 400 })], async (sup, events) => {
    await eventually(running(sup, "quiet"));
    await sup.command("quiet", "close");
    await eventually(running(sup, "quiet", 2));
    assert.match(events.of("quiet", "hang")[0]?.reason ?? "", /no heartbeat/);
  });
});

Deno.test("supervisor - a worker blocked in a wait is replaced at once", async () => {
  await withSupervisor([spec("blocked", { hangAfterMs: 400 })], async (sup, events) => {
    await eventually(running(sup, "blocked"));
    await sup.command("blocked", "block");
    await eventually(running(sup, "blocked", 2));
    assert.equal(events.of("blocked", "zombie").length, 1);
    assert.equal(sup.child("blocked")?.restartsByCause.hang, 1);
  });
});

Deno.test("supervisor - stale data restarts a live worker (freshness)", async () => {
  await withSupervisor([
    spec("feed", { args: { dataEveryMs: 20 }, freshness: 300, freshnessGraceMs: 0 }),
  ], async (sup, events) => {
    await eventually(running(sup, "feed"));
    await eventually(() => (sup.child("feed")?.newestDataAt ?? 0) > 0);
    await sup.command("feed", "stall");
    await eventually(running(sup, "feed", 2));
    assert.equal(events.of("feed", "stale").length, 1);
    assert.equal(sup.child("feed")?.restartsByCause.stale, 1);
  });
});

Deno.test("supervisor - degraded and recovered reports move the child between states", async () => {
  await withSupervisor([spec("k")], async (sup, events) => {
    await eventually(running(sup, "k"));
    assert.equal(sup.child("k")?.module, "tests/fixtures/test_actor.ts", "no path of the machine");
    await sup.command("k", "degrade", "auth refused");
    await eventually(() => sup.child("k")?.state === "degraded");
    assert.equal(sup.child("k")?.reason, "auth refused");
    // Still degraded for a newer reason: the state shows it, with no second transition event.
    await sup.command("k", "degrade", "database unavailable, 12 rows buffered");
    await eventually(() => sup.child("k")?.reason === "database unavailable, 12 rows buffered");
    assert.equal(events.of("k", "degraded").length, 1);
    await sup.command("k", "recover");
    await eventually(() => sup.child("k")?.state === "running");
    assert.equal(events.of("k", "recovered").length, 1);
  });
});

Deno.test("supervisor - per-worker permissions: denied outside the spec, allowed inside", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "hello");
  try {
    await withSupervisor([
      spec("none"),
      spec("reader", { permissions: { read: [file] } }),
    ], async (sup) => {
      await eventually(running(sup, "none"));
      await eventually(running(sup, "reader"));
      await assert.rejects(sup.command("none", "read", file), /Requires read access/);
      assert.equal(await sup.command("reader", "read", file), 5);
      await assert.rejects(sup.command("reader", "read", "/etc/hostname"), /Requires read/);
      await assert.rejects(sup.command("reader", "net", "http://127.0.0.1:5999/"), /Requires net/);
      await assert.rejects(sup.command("reader", "env", "HOME"), /Requires env/);
    });
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("supervisor - a module with a syntax error crashes its child until it fails", async () => {
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/bad_actor.ts`;
  await Deno.writeTextFile(bad, "export const = ;\n");
  try {
    await withSupervisor([
      spec("fine"),
      spec("broken", {
        module: new URL(`file://${bad}`).href,
        intensity: { maxRestarts: 1, periodMs: 60_000 },
      }),
    ], async (sup, events) => {
      await eventually(() => sup.child("broken")?.state === "failed");
      assert.match(events.of("broken", "exit")[0]?.reason ?? "", /crash: .*SyntaxError/);
      await eventually(running(sup, "fine"));
      assert.equal(sup.child("fine")?.incarnation, 1);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("supervisor - stop waits shutdownMs for stopped, then terminates", async () => {
  const events = new RecordingEvents();
  const sup = new Supervisor(
    validateChildSpecs([spec("slow", { args: { stopDelayMs: 5_000 }, shutdownMs: 200 })]),
    { node: "t", events, tickMs: 50, log: { format: "text", level: "fatal" } },
  );
  sup.start();
  await eventually(running(sup, "slow"));
  const t0 = performance.now();
  await sup.stop("test over");
  assert.ok(performance.now() - t0 < 4_000, "did not wait for the slow stop");
  assert.match(events.of("slow", "stopped")[0]?.reason ?? "", /terminated after 200 ms/);
  assert.equal(sup.child("slow")?.state, "stopped");
});

Deno.test("supervisor - manual stop, start and restart through the view", async () => {
  const clock = new ManualClock();
  await withSupervisor([spec("m")], async (sup) => {
    await eventually(running(sup, "m"));
    await sup.stopChild("m", "manual");
    assert.equal(sup.child("m")?.state, "stopped");
    await clock.tick(10_000);
    assert.equal(sup.child("m")?.state, "stopped", "a manually stopped child stays stopped");
    await sup.startChild("m", "manual");
    await eventually(running(sup, "m", 2));
    await sup.restartChild("m", "manual");
    await eventually(running(sup, "m", 3));
    assert.equal(sup.child("m")?.restartsByCause.manual, 1);
    await assert.rejects(sup.restartChild("nope", "x"), /unknown child id/);
  }, { clock });
});

Deno.test("supervisor - restart history read back from the database counts toward intensity", async () => {
  const now = Date.now();
  await withSupervisor(
    [spec("loop", { intensity: { maxRestarts: 2, periodMs: 60_000 } })],
    async (sup) => {
      await eventually(running(sup, "loop"));
      assert.equal(sup.child("loop")?.restarts, 2);
      await sup.command("loop", "crash");
      await eventually(() => sup.child("loop")?.state === "failed");
    },
    { restartHistory: new Map([["loop", [now - 1_000, now - 2_000]]]) },
  );
});

Deno.test("supervisor - a child with autostart false waits until it is started", async () => {
  const clock = new ManualClock();
  await withSupervisor([spec("job", { autostart: false, restart: "transient" })], async (sup) => {
    await clock.tick(10_000);
    assert.equal(sup.child("job")?.state, "stopped");
    assert.equal(sup.child("job")?.incarnation, 0);
    await sup.startChild("job", "schedule");
    await eventually(running(sup, "job"));
  }, { clock });
});

Deno.test("supervisor - two concurrent commands of one name, answered out of order, get their own answers", async () => {
  await withSupervisor([spec("a")], async (sup) => {
    await eventually(running(sup, "a"));
    // The first echo is held until the second has been answered.
    const answers = await Promise.all([
      sup.command("a", "echo", { value: 1, hold: true }),
      sup.command("a", "echo", { value: 2 }),
    ]);
    assert.deepEqual(answers, [1, 2]);
  });
});
