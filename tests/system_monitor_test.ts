/**
 * system_monitor against a real PostgreSQL: one health row per run, the latest view, and a
 * database outage recorded as `down` once the database is back (rows are kept meanwhile).
 */
import assert from "node:assert/strict";
import { hostActor, type Port } from "../actors/_runtime.ts";
import { createSystemMonitor } from "../actors/system_monitor/mod.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import type { ActorMessage } from "../schema/messages.ts";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { TcpProxy } from "./_proxy.ts";

/** Runs an actor in-process over a port; returns what it posted and a way to talk to it. */
function inProcess(
  factory: Parameters<typeof hostActor>[1],
  databaseUrl: string,
  options: Parameters<typeof hostActor>[2] = {},
) {
  const posted: ActorMessage[] = [];
  const port: Port = { postMessage: (m) => posted.push(m), onmessage: null };
  hostActor(port, factory, options);
  const send = (data: unknown) => port.onmessage!(new MessageEvent("message", { data }));
  send({
    type: "init",
    id: "system_monitor",
    incarnation: 1,
    node: "n1",
    args: {},
    heartbeatMs: 50,
    databaseUrl,
    log: { format: "text", level: "fatal" },
  });
  return { posted, send };
}

Deno.test("system_monitor - writes one health_status row per run and the view shows the latest", async () => {
  await using db = await createTestDb();
  await db.sql`insert into system.actor_status (actor_id, node, state, stale, updated_at)
    values ('price_watchdog:btc', 'n1', 'failed', false, now()),
           ('other_node_actor', 'n2', 'failed', false, now())`;
  const dataDir = await Deno.makeTempDir();
  const { posted, send } = inProcess(
    (ctx) =>
      createSystemMonitor(ctx, {
        sql: createSql(db.url, { max: 1 }),
        intervalMs: 100,
        dataDir,
      }),
    db.url,
  );
  try {
    await eventually(() => posted.some((m) => m.type === "ready"));
    await eventually(async () =>
      Number((await db.sql`select count(*) from system.health_status`)[0]!.count) >= 3
    );
    const [latest] = await db.sql`select * from system.health_status_latest`;
    assert.equal(latest!.overall_status, "degraded");
    assert.equal(latest!.database_ok, true);
    assert.deepEqual(latest!.details.reasons, ["price_watchdog:btc is failed"]);
    assert.equal(typeof latest!.details.disk.freeBytes, "number");
    assert.ok(latest!.details.memory.rssBytes > 0, "process memory is measured");
  } finally {
    send({ type: "stop", reason: "test over" });
    await eventually(() => posted.some((m) => m.type === "stopped"));
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("system_monitor - an outage is recorded as down once the database is back", async () => {
  await using db = await createTestDb();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  const { posted, send } = inProcess(
    (ctx) =>
      createSystemMonitor(ctx, {
        sql: createSql(url, { max: 1, connectTimeout: 1 }),
        intervalMs: 100,
        dataDir: ".",
      }),
    url,
  );
  try {
    await eventually(async () =>
      Number((await db.sql`select count(*) from system.health_status`)[0]!.count) >= 1
    );
    await proxy.down();
    // Wait for at least one run that saw the database down.
    await eventually(() =>
      posted.some((m) =>
        m.type === "heartbeat" && (m.progress.counters["health_rows.write_failed"] ?? 0) > 0
      ) || (send({ type: "command", id: 1, name: "check_now" }), false)
    );
    await proxy.up();
    await eventually(async () =>
      Number(
        (await db.sql`select count(*) from system.health_status where overall_status = 'down'`)[0]!
          .count,
      ) >= 1, { timeoutMs: 20_000 });
  } finally {
    send({ type: "stop", reason: "test over" });
    await eventually(() => posted.some((m) => m.type === "stopped"));
  }
});

Deno.test("system_monitor - a NUL, an unpaired surrogate, an over-long text or an out-of-range time never stops the health rows", async () => {
  await using db = await createTestDb();
  const start = Date.UTC(2026, 2, 1);
  const clock = new ManualClock(start);
  // The disk probe quotes what it was given (as statfs quotes its path): each run gets the next
  // outcome, then the disk is fine.
  let calls = 0;
  const outcomes: (() => void)[] = [
    () => {},
    () => {
      throw new Error("statfs 'data\u0000dir'");
    },
    () => {
      throw new Error("no such file or directory, statfs 'data\uD800'");
    },
    () => {
      throw new Error(`statfs '${"d".repeat(50_000)}'`);
    },
    // A wall clock PostgreSQL cannot store (year -271821): that row alone is refused.
    () => clock.set(-8.64e15),
    () => clock.set(start + 60_000),
  ];
  const { posted, send } = inProcess(
    (ctx) =>
      createSystemMonitor(ctx, {
        sql: createSql(db.url, { max: 1 }),
        intervalMs: 10,
        dataDir: "data",
        statDisk: () => {
          (outcomes[calls++] ?? (() => {}))();
          return Promise.resolve({ freeBytes: 1024 ** 4, totalBytes: 2 * 1024 ** 4 });
        },
      }),
    db.url,
    { clock },
  );
  const counter = (name: string) => {
    const beats = posted.filter((m) => m.type === "heartbeat");
    const last = beats.at(-1);
    return last?.type === "heartbeat" ? last.progress.counters[name] ?? 0 : 0;
  };
  try {
    await eventually(async () =>
      calls > outcomes.length + 2 &&
      Number((await db.sql`select count(*) from system.health_status`)[0]!.count) >=
        outcomes.length + 1
    );
    await eventually(() => counter("health_rows.rejected") === 1);
    const rows = await db.sql<{ checked_at: Date; details: { disk: { error?: string } } }[]>`
      select checked_at, details from system.health_status order by id`;
    assert.equal(rows[0]!.details.disk.error, undefined);
    assert.equal(rows[1]!.details.disk.error, "statfs 'datadir'");
    assert.equal(rows[2]!.details.disk.error, "no such file or directory, statfs 'data\uFFFD'");
    assert.ok(rows[3]!.details.disk.error!.length <= 2_001, "over-long text is bounded");
    // The refused row is the only one missing: the next run is written, and the runs after it.
    assert.equal(rows[4]!.checked_at.getTime(), start + 60_000);
    assert.equal(rows.filter((r) => r.checked_at.getTime() < start).length, 0);
    assert.equal(counter("health_rows.rejected"), 1);
    assert.equal(counter("health_rows.write_failed"), 0);
  } finally {
    send({ type: "stop", reason: "test over" });
    await eventually(() => posted.some((m) => m.type === "stopped"));
  }
});
