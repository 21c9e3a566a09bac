/**
 * `GET /events/stream` on a real database: live delivery, heartbeats, `Last-Event-ID` replay from
 * the ring and from `system.supervisor_events`, bad ids, slow clients, the client limit, and
 * closing on shutdown.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import { EventBus } from "../supervisor/event_bus.ts";
import { EventLog } from "../supervisor/event_log.ts";
import { createStatusApp } from "../supervisor/http.ts";
import { addEventStreamRoute, type StreamRouteDeps } from "../supervisor/http_stream.ts";
import { problemResponse } from "../supervisor/http_problem.ts";
import { fixedView } from "./_view.ts";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";

interface Frame {
  comment?: string;
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
}

/** Reads SSE frames from a response body as they arrive. */
function reader(res: Response) {
  const frames: Frame[] = [];
  let buf = "";
  let ended = false;
  const r = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: Frame = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) f.comment = line.slice(1).trim();
          else {
            const k = line.slice(0, line.indexOf(":")) as keyof Frame;
            f[k] = line.slice(line.indexOf(":") + 1).trimStart();
          }
        }
        frames.push(f);
      }
    }
    ended = true;
  })().catch(() => (ended = true));
  const events = () =>
    frames.filter((f) => f.event === "supervision").map((f) => ({
      id: f.id!,
      ...JSON.parse(f.data!),
    }));
  return {
    frames,
    events,
    ended: () => ended,
    async cancel() {
      await r.cancel().catch(() => {});
      await pump;
    },
  };
}

function streamApp(
  deps: Partial<StreamRouteDeps> & { bus: EventBus; sql: StreamRouteDeps["sql"] },
) {
  const rejected: string[] = [];
  const app = new Hono();
  app.onError((e) => problemResponse(e));
  addEventStreamRoute(app, { reject: (r) => rejected.push(r), ...deps });
  return { app, rejected };
}

Deno.test("GET /events/stream - sends each recorded event live, named supervision, with its id", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app } = streamApp({ bus, sql: db.sql });
  const res = await app.request("/events/stream");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const s = reader(res);
  try {
    await eventually(() => s.frames.some((f) => f.comment === "connected"));
    assert.equal(s.frames[0]?.retry, "2000");
    bus.publish({ actorId: "a", event: "restart", at: 1_700_000_000_000, reason: "crash" });
    await eventually(() => s.events().length === 1);
    const e = s.events()[0];
    assert.equal(e.id, "1700000000000-1");
    assert.equal(e.actor_id, "a");
    assert.equal(e.event, "restart");
    assert.equal(e.reason, "crash");
    assert.equal(e.node, "n1");
    assert.equal(e.at, new Date(1_700_000_000_000).toISOString());
  } finally {
    await s.cancel();
  }
  await eventually(() => bus.subscribers === 0, { message: "cancel unsubscribes" });
});

Deno.test("GET /events/stream - writes a heartbeat comment every heartbeatMs while idle", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app } = streamApp({ bus, sql: db.sql, heartbeatMs: 50 });
  const s = reader(await app.request("/events/stream"));
  try {
    await eventually(() => s.frames.filter((f) => f.comment === "heartbeat").length >= 2);
    assert.equal(s.events().length, 0);
  } finally {
    await s.cancel();
  }
});

Deno.test("GET /events/stream - Last-Event-ID of this process replays exactly the missed events", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app } = streamApp({ bus, sql: db.sql });
  for (let i = 1; i <= 4; i++) bus.publish({ actorId: "a", event: `e${i}`, at: 1_000 });
  const s = reader(await app.request("/events/stream", { headers: { "Last-Event-ID": "1000-2" } }));
  try {
    await eventually(() => s.events().length === 2);
    bus.publish({ actorId: "a", event: "e5", at: 2_000 });
    await eventually(() => s.events().length === 3);
    assert.deepEqual(s.events().map((e) => `${e.id}:${e.event}`), [
      "1000-3:e3",
      "1000-4:e4",
      "2000-5:e5",
    ]);
  } finally {
    await s.cancel();
  }
});

Deno.test("GET /events/stream - Last-Event-ID of another process replays newer rows from the database", async () => {
  await using db = await createTestDb();
  // A previous process wrote these.
  const old = new EventLog(db.sql, { node: "n1" });
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  old.record({ actorId: "a", event: "start", at: t0, incarnation: 1 });
  old.record({ actorId: "a", event: "exit", at: t0 + 10, incarnation: 1, reason: "crash: x" });
  old.record({ actorId: "a", event: "restart", at: t0 + 20, incarnation: 2, restartCount: 1 });
  assert.ok(await old.flush());
  old.close();
  // This process has one event not yet written.
  const bus = new EventBus({ node: "n1" });
  bus.publish({ actorId: "b", event: "start", at: t0 + 30 });
  const { app } = streamApp({ bus, sql: db.sql });
  const s = reader(
    await app.request("/events/stream", { headers: { "Last-Event-ID": `${t0}-7` } }),
  );
  try {
    await eventually(() => s.events().length === 3);
    assert.deepEqual(s.events().map((e) => `${e.actor_id}:${e.event}:${e.incarnation}`), [
      "a:exit:1",
      "a:restart:2",
      "b:start:null",
    ]);
    assert.equal(s.events()[0].id, `${t0 + 10}-0`);
    assert.equal(s.events()[1].restart_count, 1);
    // A replayed row has exactly the fields of a live event.
    assert.deepEqual(Object.keys(s.events()[0]).sort(), Object.keys(s.events()[2]).sort());
  } finally {
    await s.cancel();
  }
});

Deno.test("GET /events/stream - an invalid Last-Event-ID is a 400 problem and counted", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app, rejected } = streamApp({ bus, sql: db.sql });
  for (const bad of ["abc", "1-2-3", "12;drop table x"]) {
    const res = await app.request("/events/stream", { headers: { "Last-Event-ID": bad } });
    assert.equal(res.status, 400, bad);
    assert.match((await res.json()).detail, /Last-Event-ID/);
  }
  assert.deepEqual(rejected, ["bad_last_event_id", "bad_last_event_id", "bad_last_event_id"]);
  assert.equal(bus.subscribers, 0);
});

Deno.test("GET /events/stream - a Last-Event-ID from the future is a 400, judged on the clock seam", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const { app, rejected } = streamApp({ bus, sql: db.sql, clock });
  for (const id of ["999999999999999-0", `${clock.now() + 61_000}-1`]) {
    const res = await app.request("/events/stream", { headers: { "Last-Event-ID": id } });
    assert.equal(res.status, 400, id);
    assert.match((await res.json()).detail, /Last-Event-ID.*future/);
  }
  assert.deepEqual(rejected, ["bad_last_event_id", "bad_last_event_id"]);
  assert.equal(bus.subscribers, 0);
});

Deno.test("GET /events/stream - a replay the database cannot answer ends the stream cleanly, counted", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there any more: every query fails to connect
  const sql = createSql(`postgres://postgres@127.0.0.1:${port}/x`, { max: 1, connectTimeout: 2 });
  const bus = new EventBus({ node: "n1" });
  const { app, rejected } = streamApp({ bus, sql });
  try {
    const res = await app.request("/events/stream", {
      headers: { "Last-Event-ID": `${Date.UTC(2026, 0, 1)}-3` },
    });
    assert.equal(res.status, 200);
    const text = await res.text(); // the stream ends by itself
    assert.match(text, /: replay failed/);
    assert.deepEqual(rejected, ["replay_failed"]);
    assert.equal(bus.subscribers, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("GET /events/stream - a client with more than maxQueued events waiting is disconnected", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app } = streamApp({ bus, sql: db.sql, maxQueued: 3 });
  const res = await app.request("/events/stream");
  // Nobody reads the body: the queue fills up synchronously.
  await eventually(() => bus.subscribers === 1);
  for (let i = 0; i < 10; i++) bus.publish({ actorId: "a", event: `e${i}`, at: i });
  const s = reader(res);
  await eventually(() => s.ended(), { message: "stream ended" });
  assert.ok(s.events().length <= 4);
  assert.equal(bus.subscribers, 0);
});

Deno.test("GET /events/stream - answers 503 beyond maxClients and after the bus closed", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const { app } = streamApp({ bus, sql: db.sql, maxClients: 1 });
  const s = reader(await app.request("/events/stream"));
  const second = await app.request("/events/stream");
  assert.equal(second.status, 503);
  await second.body?.cancel();
  bus.close();
  await eventually(() => s.ended(), { message: "open stream ends when the bus closes" });
  const late = await app.request("/events/stream");
  assert.equal(late.status, 503);
  await late.body?.cancel();
});

Deno.test("createStatusApp() - /events/stream streams from the bus given, 503 without one", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  const app = createStatusApp({ view: fixedView("n1"), sql: db.sql, bus });
  const s = reader(await app.request("/events/stream"));
  try {
    bus.publish({ actorId: "x", event: "ready", at: 5 });
    await eventually(() => s.events().length === 1);
  } finally {
    await s.cancel();
  }
  const without = createStatusApp({ view: fixedView("n1"), sql: db.sql });
  assert.equal((await without.request("/events/stream")).status, 503);
});

Deno.test("GET /metrics - reports the event log queue, open streams, job runs and backup age", async () => {
  await using db = await createTestDb();
  const bus = new EventBus({ node: "n1" });
  await db.sql`insert into system.job_runs (job, started_at, finished_at, status)
    values ('retention', now() - interval '10 seconds', now() - interval '7 seconds', 'ok'),
           ('backup', now() - interval '1 hour', now() - interval '1 hour', 'failed')`;
  await db.sql`insert into system.backups (started_at, finished_at, path, size_bytes, status)
    values (now() - interval '2 hours', now() - interval '2 hours', 'b.dump', 1234, 'ok')`;
  const eventLog = { pending: 3, dropped: 2, written: 40, degraded: true, rejected: 5 };
  const app = createStatusApp({ view: fixedView("n1"), sql: db.sql, bus, eventLog });
  const s = reader(await app.request("/events/stream"));
  try {
    await eventually(() => bus.subscribers === 1);
    const text = await (await app.request("/metrics")).text();
    const value = (name: string) => {
      const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    assert.equal(value("recio_event_log_pending"), 3);
    assert.equal(value("recio_event_log_dropped_total"), 2);
    assert.equal(value("recio_event_log_rejected_total"), 5);
    assert.equal(value("recio_event_log_written_total"), 40);
    assert.equal(value("recio_event_log_degraded"), 1);
    assert.equal(value("recio_event_stream_clients"), 1);
    assert.equal(value('recio_job_last_duration_seconds{job="retention"}'), 3);
    assert.equal(value('recio_job_last_run_ok{job="retention"}'), 1);
    assert.equal(value('recio_job_last_run_ok{job="backup"}'), 0);
    const age = value("recio_backup_age_seconds")!;
    assert.ok(age > 7_100 && age < 7_300, String(age));
    assert.equal(value("recio_backup_last_size_bytes"), 1234);
  } finally {
    await s.cancel();
  }
});
