/**
 * The price watchdog's health while PostgreSQL is down (issue 12 §6): `degraded` with "database
 * unavailable, N rows buffered" (N kept current) until the buffer has drained, then `running`.
 * The database is cut off through a TCP proxy in front of a real PostgreSQL server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { createTestDb, eventually } from "./_db.ts";
import { TcpProxy } from "./_proxy.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { type Hosted, hostWatchdog, readRows } from "./_price_watchdog.ts";

const REASON = /^database unavailable, (\d+) rows buffered$/;

/** Health reports in order: the reason, or null for `running`. */
function health(w: Hosted): (string | null)[] {
  return w.messages.flatMap((m) =>
    m.type === "health" ? [m.state === "degraded" ? m.reason ?? "" : null] : []
  );
}

Deno.test("price_watchdog - degraded with the rows buffered while PostgreSQL is down, running again once they are written", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using tcp = proxy;
  const sql = createSql(url, { max: 2, connectTimeout: 2 });
  const w = await hostWatchdog({
    sql,
    endSql: true,
    args: { symbol: "BTC", wsUrl: fake.advancedUrl, restUrl: fake.restUrl, flushMs: 50 },
  });
  try {
    await eventually(() => fake.subscribers() === 1);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
    let sent = 0;
    const trade = (n: number) => {
      for (let i = 0; i < n; i++, sent++) {
        fake.tick({ timeMs: t0 + sent * 1000, price: `${68_000 + sent}` });
      }
      fake.heartbeat(t0 + sent * 1000); // closes the last second
    };
    trade(3);
    await eventually(async () => (await readRows(db.sql)).length === 3);
    assert.deepEqual(health(w), [], "running while the database answers");

    await tcp.down();
    trade(5);
    const first = await eventually(() => health(w).find((r) => r !== null && REASON.test(r)), {
      message: "no database degraded report",
    });
    assert.ok(Number(REASON.exec(first)![1]) >= 1);
    trade(7);
    // The count stays current while it is down.
    await eventually(() => health(w).some((r) => r === "database unavailable, 12 rows buffered"));
    assert.ok(!health(w).includes(null), "not running again while the rows wait");

    await tcp.up();
    await eventually(() => health(w).at(-1) === null, { timeoutMs: 20_000 });
    assert.equal((await readRows(db.sql)).length, 15, "every buffered row written");
    assert.equal(w.counters()["buffer.depth"], 0);
    assert.equal(w.progress().details?.databaseAvailable, true);
  } finally {
    await w.stop();
  }
});
