/**
 * The supervisor process end to end (`supervisor/main.ts` as a subprocess on a real database):
 * graceful shutdown flushes, a spinning zombie worker escalates to a non-zero exit, and bad
 * start-up inputs end the process with a clear error.
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { startSupervisor, TEST_ACTOR, writeChildrenFile } from "./_system.ts";

const base = { module: TEST_ACTOR, heartbeatMs: 100, hangAfterMs: 1_000, database: true };

Deno.test("system - SIGTERM stops actors in reverse order, flushes them and the events, exits 0", async () => {
  await using db = await createTestDb();
  const file = await writeChildrenFile([
    { ...base, id: "first", args: { flushJob: "first_flushed" } },
    { ...base, id: "second", dependsOn: ["first"], args: { flushJob: "second_flushed" } },
  ]);
  const p = startSupervisor({ DATABASE_URL: db.url, RECIO_CHILDREN_FILE: file });
  try {
    const url = await p.url;
    await eventually(async () => {
      const s = await (await fetch(`${url}/status`)).json();
      return s.actors.every((a: { state: string }) => a.state === "running");
    });
    assert.equal(await p.stop(), 0, p.stderr()); // SIGTERM, then the exit code
    const jobs = await db.sql`select job from system.job_runs order by id`;
    assert.deepEqual(jobs.map((j) => j.job), ["second_flushed", "first_flushed"]);
    const events = await db.sql`select actor_id, event from system.supervisor_events
      where event in ('stopped', 'supervisor_stop') order by id`;
    assert.deepEqual(events.map((e) => `${e.actor_id ?? "-"}:${e.event}`), [
      "second:stopped",
      "first:stopped",
      "-:supervisor_stop",
    ]);
    const states = await db.sql`select actor_id, state from system.actor_status order by actor_id`;
    assert.deepEqual(states.map((s) => s.state), ["stopped", "stopped"]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("system - a spinning worker is replaced at once, then the process exits 70 for the heart", async () => {
  await using db = await createTestDb();
  const file = await writeChildrenFile([
    {
      ...base,
      id: "spinner",
      args: { spinAfterMs: 200 },
      hangAfterMs: 500,
      intensity: { maxRestarts: 1, periodMs: 60_000 },
    },
    { ...base, id: "bystander" },
  ]);
  const p = startSupervisor({
    DATABASE_URL: db.url,
    RECIO_CHILDREN_FILE: file,
    RECIO_ZOMBIE_CPU_BOUND_MS: "1500",
  });
  try {
    await p.child.status; // it ends by itself
    const code = await p.stop();
    assert.equal(code, 70, p.stderr());
    const events = await db.sql`select actor_id, event, incarnation from system.supervisor_events
      order by id`;
    const kinds = events.map((e) => e.event);
    assert.ok(kinds.includes("hang"));
    assert.ok(kinds.includes("zombie"));
    assert.ok(kinds.includes("escalate"));
    assert.ok(
      events.some((e) => e.actor_id === "spinner" && e.event === "start" && e.incarnation === 2),
      "a replacement was spawned before escalating",
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("system - an unreachable DATABASE_URL exits 3 naming host and port, never the password", async () => {
  const p = startSupervisor({
    DATABASE_URL: "postgres://recio:s3cret-pass@127.0.0.1:1/recio",
    RECIO_DB_CONNECT_TIMEOUT_MS: "1000",
  });
  await p.child.status; // it ends by itself
  const code = await p.stop();
  assert.equal(code, 3);
  assert.match(p.stderr(), /127\.0\.0\.1:1/);
  assert.ok(!p.stderr().includes("s3cret-pass"));
  assert.ok(!p.stdout().includes("s3cret-pass"));
});

Deno.test("system - invalid configuration exits 2 naming the variable", async () => {
  const p = startSupervisor({ DATABASE_URL: "postgres://x@127.0.0.1:1/x", RECIO_HTTP_PORT: "abc" });
  await p.child.status; // it ends by itself
  const code = await p.stop();
  assert.equal(code, 2);
  assert.match(p.stderr(), /RECIO_HTTP_PORT/);
});

Deno.test("system - bad child lists are start-up errors with a clear message", async () => {
  await using db = await createTestDb();
  const cases: [unknown[], RegExp][] = [
    [[{ ...base, id: "a" }, { ...base, id: "a" }], /Cannot start child "a": duplicate child id/],
    [[{ ...base, id: "a", dependsOn: ["db"] }], /Cannot start child "a": unknown dependency "db"/],
    [
      [{ ...base, id: "a", module: "./nope/worker.ts" }],
      /Cannot start child "a": module not found/,
    ],
    [
      [{ ...base, id: "a", restart: "sometimes" }],
      /Cannot start child "a": invalid spec \(restart/,
    ],
    [
      [{
        ...base,
        id: "p",
        module: new URL("../actors/price_watchdog/worker.ts", import.meta.url).href,
        args: { symbol: "BTC", flushMS: 250 },
      }],
      /Child "p": Cannot start price_watchdog: invalid args \(.*"flushMS"/,
    ],
  ];
  for (const [specs, expected] of cases) {
    const file = await writeChildrenFile(specs);
    try {
      const p = startSupervisor({ DATABASE_URL: db.url, RECIO_CHILDREN_FILE: file });
      await p.child.status; // it ends by itself
      const code = await p.stop();
      assert.equal(code, 2);
      assert.match(p.stderr(), expected);
    } finally {
      await Deno.remove(file);
    }
  }
});

Deno.test("system - a changed applied migration stops start-up naming the file", async () => {
  await using db = await createTestDb();
  await db.sql`update system.schema_migrations set checksum = 'tampered' where version = 2`;
  const p = startSupervisor({ DATABASE_URL: db.url });
  await p.child.status; // it ends by itself
  const code = await p.stop();
  assert.equal(code, 3);
  assert.match(p.stderr(), /0002_system\.sql has changed/);
});
