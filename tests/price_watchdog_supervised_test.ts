/**
 * The price watchdog under a real supervisor: a feed that stays connected (heartbeats keep
 * coming) but stops sending trades is restarted by the supervisor's `freshness` rule (cause
 * `stale`), and the new incarnation writes rows again once trades resume. A burst of seconds
 * drains through COPY from the permission-restricted worker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hostPort } from "../lib/host_port.ts";
import { validateChildSpecs } from "../supervisor/child_spec.ts";
import type { ActorStatusRow, SupervisorEvent } from "../supervisor/event_log.ts";
import { Supervisor } from "../supervisor/mod.ts";
import { createTestDb, eventually } from "./_db.ts";
import { readRows } from "./_price_watchdog.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { TcpProxy } from "./_proxy.ts";

const WORKER = new URL("../actors/price_watchdog/worker.ts", import.meta.url).href;
const ID = "price_watchdog:btc";

class RecordingEvents {
  events: SupervisorEvent[] = [];
  record(e: SupervisorEvent): void {
    this.events.push(e);
  }
  setStatus(_r: ActorStatusRow): void {}
  of(event: string) {
    return this.events.filter((e) => e.actorId === ID && e.event === event);
  }
}

Deno.test("price_watchdog under the supervisor - a stalled-but-connected feed is restarted as stale and writes again after ticks resume", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const events = new RecordingEvents();
  const sup = new Supervisor(
    validateChildSpecs([{
      id: ID,
      module: WORKER,
      args: {
        symbol: "BTC",
        wsUrl: fake.advancedUrl,
        restUrl: fake.restUrl,
        flushMs: 50,
        // Longer than freshness: the feed itself must not notice anything (heartbeats flow).
        silenceMs: 30_000,
      },
      heartbeatMs: 100,
      hangAfterMs: 10_000,
      // Rows close when the next second begins, so the newest row lags the clock by 1-2 s: a
      // freshness bound must sit above that.
      freshness: 4_000,
      freshnessGraceMs: 0,
      backoff: { minMs: 10, maxMs: 50, factor: 2, jitter: 0.1, resetAfterMs: 60_000 },
      intensity: { maxRestarts: 20, periodMs: 60_000, coolDownMs: 600_000 },
      permissions: { net: [hostPort(fake.advancedUrl)] },
    }]),
    {
      node: "test",
      events,
      tickMs: 50,
      databaseUrl: db.url,
      log: { format: "json", level: "fatal" },
    },
  );

  // The fake's clock: a heartbeat every 200 ms always; a trade every 250 ms while `trading`.
  let trading = true;
  let price = 68_000;
  const heartbeats = setInterval(() => fake.heartbeat(Date.now()), 200);
  const trades = setInterval(() => {
    if (!trading) return;
    price += 0.5;
    fake.tick({ timeMs: Date.now(), price: price.toFixed(2) });
  }, 250);
  sup.start();
  try {
    await eventually(() => sup.child(ID)?.state === "running" && fake.subscribers() === 1, {
      timeoutMs: 30_000,
      message: "watchdog not running",
    });
    await eventually(async () => (await readRows(db.sql)).length >= 2, {
      timeoutMs: 10_000,
      message: "no rows from the first incarnation",
    });
    assert.equal(sup.child(ID)?.incarnation, 1);
    assert.equal(sup.child(ID)?.restartsByCause.stale ?? 0, 0, "fresh while trading");

    // Stall: still connected, heartbeats still arrive, but no trade.
    trading = false;
    const restarted = await eventually(() => {
      const c = sup.child(ID);
      return c && (c.restartsByCause.stale ?? 0) >= 1 && c.incarnation >= 2 ? c : undefined;
    }, { timeoutMs: 15_000, message: "the supervisor did not restart the stalled feed" });
    // Freshness counts from the newest row's second (the last traded second before the stall).
    const newest = Math.max(...(await readRows(db.sql)).map((r) => r.t));
    assert.ok(Date.now() - newest >= 4_000, "not before freshness ran out");
    assert.equal(restarted.restartsByCause.crash ?? 0, 0);
    assert.equal(restarted.restartsByCause.hang ?? 0, 0);
    const stale = events.of("stale");
    assert.ok(stale.length >= 1, "a stale event");
    assert.match(stale[0]!.reason ?? "", /freshness 4000 ms/);
    assert.ok(events.of("exit").some((e) => /^stale/.test(e.reason ?? "")), "exit cause stale");

    // Trades resume: the running incarnation (≥ 2) writes rows again.
    trading = true;
    const resumedAt = Date.now();
    await eventually(async () => {
      const rows = await readRows(db.sql);
      return rows.filter((r) => r.t >= Math.floor(resumedAt / 1000) * 1000).length >= 2;
    }, { timeoutMs: 10_000, message: "no rows after trades resumed" });
    const now = await eventually(() => {
      const c = sup.child(ID);
      return c?.state === "running" && c.incarnation >= 2 && (c.counters["rows.written"] ?? 0) > 0
        ? c
        : undefined;
    }, { timeoutMs: 5_000, message: "the new incarnation reports no written rows" });
    assert.equal(now.stale, false);
    assert.ok(fake.connectionsOpened >= 2, "the new incarnation opened its own connection");
    // No second of exchange time was written twice (the table is unique on it), and the rows
    // before and after the restart are one continuous series.
    const rows = await readRows(db.sql);
    assert.deepEqual(
      rows.map((r) => r.t),
      [...new Set(rows.map((r) => r.t))].sort((a, b) => a - b),
    );
  } finally {
    clearInterval(trades);
    clearInterval(heartbeats);
    await sup.stop("test over");
  }
});

Deno.test("price_watchdog under the supervisor - 3,000 seconds buffered through an outage drain through COPY from the restricted worker, every row once", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  const sup = new Supervisor(
    validateChildSpecs([{
      id: ID,
      module: WORKER,
      args: { symbol: "BTC", wsUrl: fake.advancedUrl, restUrl: fake.restUrl, flushMs: 250 },
      heartbeatMs: 100,
      permissions: { net: [hostPort(fake.advancedUrl)] },
    }]),
    {
      node: "test",
      events: new RecordingEvents(),
      tickMs: 50,
      databaseUrl: url,
      log: { format: "json", level: "fatal" },
    },
  );
  sup.start();
  try {
    await eventually(() => sup.child(ID)?.state === "running" && fake.subscribers() === 1, {
      timeoutMs: 30_000,
      message: "watchdog not running",
    });
    await proxy.down();
    const n = 3_000;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (n + 5) * 1000;
    const ticks = Array.from({ length: n + 1 }, (_, i) => ({
      timeMs: t0 + i * 1000,
      price: (68_000 + (i % 700) / 4).toFixed(2),
    }));
    for (let i = 0; i < ticks.length; i += 500) fake.tick(ticks.slice(i, i + 500));
    await eventually(() =>
      (sup.child(ID)?.counters["db.write_failed"] ?? 0) >= 1 &&
      (sup.child(ID)?.counters["ticks"] ?? 0) >= n + 1, {
      timeoutMs: 30_000,
      message: "the burst did not wait in the buffer",
    });
    await proxy.up();
    // The last tick only closes the second before it.
    const c = await eventually(() => {
      const child = sup.child(ID);
      return (child?.counters["rows.written"] ?? 0) >= n ? child : undefined;
    }, { timeoutMs: 30_000, message: "the burst was not written" });
    assert.ok((c.counters["rows.copied"] ?? 0) > 0, JSON.stringify(c.counters));
    assert.equal(c.counters["db.bulk_failed"] ?? 0, 0);
    const rows = await readRows(db.sql);
    assert.equal(rows.length, n);
    assert.deepEqual(rows.map((r) => r.t), ticks.slice(0, n).map((t) => t.timeMs));
    assert.deepEqual(
      rows.map((r) => Number(r.price)),
      ticks.slice(0, n).map((t) => Number(t.price)),
    );
  } finally {
    await sup.stop("test over");
  }
});
