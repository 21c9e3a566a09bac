/**
 * system_monitor against a real PostgreSQL: one health row per run, the latest view, and a
 * database outage recorded as `down` once the database is back (rows are kept meanwhile).
 */
import assert from "node:assert/strict";
import { hostActor, type Port } from "../actors/_runtime.ts";
import { createSystemMonitor } from "../actors/system_monitor/mod.ts";
import { createSql } from "../lib/db.ts";
import type { ActorMessage } from "../schema/messages.ts";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { TcpProxy } from "./_proxy.ts";

/** Runs an actor in-process over a port; returns what it posted and a way to talk to it. */
function inProcess(factory: Parameters<typeof hostActor>[1], databaseUrl: string) {
  const posted: ActorMessage[] = [];
  const port: Port = { postMessage: (m) => posted.push(m), onmessage: null };
  hostActor(port, factory);
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
      ) || (send({ type: "command", name: "check_now" }), false)
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
