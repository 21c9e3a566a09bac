/**
 * EventLog against a real PostgreSQL server, reached through a TCP proxy that the tests cut to
 * make a real outage.
 */
import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { EventLog, loadRestartHistory } from "../supervisor/event_log.ts";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { TcpProxy } from "./_proxy.ts";

Deno.test("EventLog - writes events and the newest actor status", async () => {
  await using db = await createTestDb();
  const log = new EventLog(db.sql, { node: "n1", flushMs: 20 });
  log.record({ actorId: "a", event: "start", incarnation: 1 });
  log.record({
    actorId: "a",
    event: "exit",
    incarnation: 1,
    reason: "crash: boom",
    uptimeMs: 12.7,
  });
  const status = {
    actorId: "a",
    state: "starting",
    incarnation: 1,
    restarts: 0,
    lastHeartbeatAt: null,
    newestDataAt: null,
    stale: false,
    reason: null,
    details: {},
  };
  log.setStatus(status);
  log.setStatus({ ...status, state: "running", newestDataAt: Date.UTC(2026, 0, 1) });
  assert.equal(await log.flush(), true);
  const events = await db
    .sql`select actor_id, event, reason, uptime_ms from system.supervisor_events order by id`;
  assert.deepEqual(events.map((e) => e.event), ["start", "exit"]);
  assert.equal(events[1]!.uptime_ms, "13");
  const [row] = await db
    .sql`select state, newest_data_at from system.actor_status where actor_id = 'a'`;
  assert.equal(row!.state, "running");
  assert.equal((row!.newest_data_at as Date).toISOString(), "2026-01-01T00:00:00.000Z");
  log.close();
});

Deno.test("EventLog - queues across a database outage and writes everything in order after", async () => {
  await using db = await createTestDb();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  const sql = createSql(url, { max: 2, connectTimeout: 1 });
  const log = new EventLog(sql, { node: "n1", flushMs: 20 });
  try {
    log.record({ actorId: "a", event: "before" });
    assert.equal(await log.flush(), true);
    await proxy.down();
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) log.record({ actorId: "a", event: `during_${i}` });
    assert.ok(performance.now() - t0 < 500, "record() does not block while the database is down");
    await eventually(() => log.degraded, { message: "the write failure is noticed" });
    assert.ok(log.pending >= 50);
    await proxy.up();
    await eventually(() => log.pending === 0, { timeoutMs: 20_000 });
    const rows = await db.sql`select event from system.supervisor_events order by id`;
    assert.deepEqual(rows.map((r) => r.event), [
      "before",
      ...Array.from({ length: 50 }, (_, i) => `during_${i}`),
    ]);
    assert.equal(log.dropped, 0);
  } finally {
    log.close();
    await sql.end({ timeout: 1 });
  }
});

Deno.test("EventLog - a full queue drops the oldest events and counts them", async () => {
  await using db = await createTestDb();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  await proxy.down();
  const sql = createSql(url, { max: 1, connectTimeout: 1 });
  const log = new EventLog(sql, { node: "n1", flushMs: 10, maxQueued: 10 });
  try {
    for (let i = 0; i < 15; i++) log.record({ actorId: "a", event: `e${i}` });
    assert.equal(log.dropped, 5);
    await proxy.up();
    await eventually(() => log.pending === 0, { timeoutMs: 20_000 });
    const rows = await db.sql`select event from system.supervisor_events order by id`;
    assert.deepEqual(rows.map((r) => r.event), Array.from({ length: 10 }, (_, i) => `e${i + 5}`));
  } finally {
    log.close();
    await sql.end({ timeout: 1 });
  }
});

Deno.test("loadRestartHistory() reads restarts of this node within the window", async () => {
  await using db = await createTestDb();
  const now = Date.now();
  await db.sql`insert into system.supervisor_events (at, node, actor_id, event) values
    (${new Date(now - 5_000)}, 'n1', 'a', 'restart'),
    (${new Date(now - 4_000)}, 'n1', 'a', 'restart'),
    (${new Date(now - 3_000)}, 'n1', 'a', 'start'),
    (${new Date(now - 2_000)}, 'n2', 'a', 'restart'),
    (${new Date(now - 900_000)}, 'n1', 'a', 'restart')`;
  const h = await loadRestartHistory(db.sql, "n1", new Date(now - 60_000));
  assert.deepEqual(h.get("a"), [now - 4_000, now - 5_000]);
});

Deno.test("EventLog - NUL bytes, broken UTF-16, over-long text and out-of-range numbers never stop the log", async () => {
  await using db = await createTestDb();
  const log = new EventLog(db.sql, { node: "n1", flushMs: 20 });
  try {
    log.record({ actorId: "a", event: "before" });
    // The crash_actor drill once queued `actor=%00` raw: PostgreSQL refused the batch forever.
    log.record({ actorId: "\u0000", event: "drill", reason: "crash_actor \u0000 (10 s)" });
    log.record({
      actorId: "a",
      event: "odd",
      error: "x\uD800y",
      details: { "k\u0000": "\u0000v" },
    });
    log.record({ actorId: "a", event: "long", reason: "r".repeat(50_000) });
    // Not text: an incarnation past int4 is refused by PostgreSQL alone, the rest is written.
    log.record({ actorId: "a", event: "overflow", incarnation: 2 ** 40 });
    log.record({ actorId: "a", event: "after" });
    log.setStatus({
      actorId: "b\u0000",
      state: "running",
      incarnation: 2 ** 40,
      restarts: 0,
      lastHeartbeatAt: null,
      newestDataAt: null,
      stale: false,
      reason: null,
      details: {},
    });
    log.setStatus({
      actorId: "c",
      state: "degraded",
      incarnation: 1,
      restarts: 0,
      lastHeartbeatAt: null,
      newestDataAt: null,
      stale: false,
      reason: "bad \u0000 reason",
      details: { why: "\u0000" },
    });
    const flushed = await log.flush();
    assert.equal(flushed, true, "nothing stays queued");
    assert.equal(log.degraded, false);
    assert.equal(log.rejected, 2, "the overflowing event and the overflowing status row");
    const events = await db.sql<{ actor_id: string; event: string; reason: string | null }[]>`
      select actor_id, event, reason, error, details from system.supervisor_events order by id`;
    assert.deepEqual(events.map((e) => e.event), ["before", "drill", "odd", "long", "after"]);
    assert.equal(events[1]!.actor_id, "");
    assert.equal(events[1]!.reason, "crash_actor  (10 s)");
    assert.ok(events[3]!.reason!.length <= 2_001);
    const [c] = await db.sql`select reason, details from system.actor_status where actor_id = 'c'`;
    assert.equal(c?.reason, "bad  reason");
    assert.deepEqual(c?.details, { why: "" });
    // And it keeps writing afterwards.
    log.record({ actorId: "a", event: "later" });
    assert.equal(await log.flush(), true);
    const [n] = await db.sql`select count(*)::int as n from system.supervisor_events`;
    assert.equal(n?.n, 6);
  } finally {
    log.close();
  }
});
