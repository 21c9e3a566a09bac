/**
 * Reconnects, gaps, candle backfill and a PostgreSQL outage for the price watchdog, against the
 * fake Coinbase and a real PostgreSQL server (cut off through a TCP proxy).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { createTestDb, eventually } from "./_db.ts";
import { TcpProxy } from "./_proxy.ts";
import { type FakeCandle, FakeCoinbase } from "./fakes/coinbase_server.ts";
import {
  expectedDeltas,
  expectedSeconds,
  hostWatchdog,
  randomTicks,
  readCandles,
  readRows,
  sameNumeric,
} from "./_price_watchdog.ts";

interface GapDbRow {
  gap_from: Date;
  gap_to: Date;
  cause: string;
  backfilled: boolean;
}

function args(fake: FakeCoinbase, extra: Record<string, unknown> = {}) {
  return {
    symbol: "BTC",
    feed: "advanced",
    wsUrl: fake.advancedUrl,
    restUrl: fake.restUrl,
    flushMs: 50,
    silenceMs: 5_000,
    ...extra,
  };
}

for (
  const [cause, breakFeed] of [
    ["close", (f: FakeCoinbase) => f.dropConnections()],
    ["silence", (f: FakeCoinbase) => f.silence(true)],
  ] as const
) {
  Deno.test(`price_watchdog - reconnects after ${cause}, records the gap and backfills it from candles`, async () => {
    await using db = await createTestDb();
    await using fake = new FakeCoinbase();
    await using w = await hostWatchdog({
      sql: db.sql,
      args: args(fake, cause === "silence" ? { silenceMs: 400 } : {}),
    });
    await eventually(() => fake.subscribers() === 1);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const before = randomTicks(base, base + 3 * 60_000, { seed: 11 });
    fake.tick(before);
    await eventually(() => w.counters()["ticks"] === before.length);
    const lastBefore = before[before.length - 1]!.timeMs;
    breakFeed(fake);
    await eventually(() => (w.counters()[`disconnects.${cause}`] ?? 0) >= 1, {
      message: `no ${cause} disconnect`,
    });
    if (cause === "silence") fake.silence(false);
    await eventually(() => fake.subscribers() === 1 && fake.connectionsOpened >= 2);
    // Three minutes of gap; the fake has candles for them.
    const resume = lastBefore + 3 * 60_000 + 7_000;
    const candles: FakeCandle[] = [];
    for (let m = Math.floor(lastBefore / 60_000) + 1; m * 60_000 < resume - 60_000; m++) {
      candles.push([m * 60, 67_000, 69_000, 68_000, 68_500 + m % 7, 12.5]);
    }
    fake.setCandles("BTC-USD", candles);
    const after = randomTicks(resume, resume + 60_000, { seed: 12 });
    fake.tick(after);
    fake.heartbeat(resume + 61_000);
    const gaps = await eventually(async () => {
      const g = await db.sql<GapDbRow[]>`
        select gap_from, gap_to, cause, backfilled from system.ingest_gaps`;
      return g.length === 1 ? g : null;
    }, { message: "no ingest gap row" });
    assert.equal(gaps[0]!.cause, cause);
    assert.equal(gaps[0]!.gap_from.getTime(), lastBefore);
    assert.equal(gaps[0]!.gap_to.getTime(), resume);
    assert.equal(gaps[0]!.backfilled, true);
    const want = expectedSeconds([...before, ...after]);
    await eventually(async () => (await readRows(db.sql)).length === want.length);
    const stored = await readCandles(db.sql);
    assert.equal(stored.size, candles.length, "every finished gap minute stored");
    const rows = await readRows(db.sql);
    const exp = expectedDeltas(want, stored);
    rows.forEach((r, i) => {
      exp[i]!.deltas.forEach((d, k) =>
        assert.ok(sameNumeric(r.deltas[k]!, d), `delta ${k} at ${r.t}`)
      );
      assert.ok(sameNumeric(r.momentum, exp[i]!.momentum));
    });
    // The first row after the gap: price_at(t - 1 min) falls in the gap, so a candle serves.
    const first = rows.find((r) => r.t >= resume)!;
    assert.notEqual(first.deltas[0], null, "delta_1m across the gap comes from a candle close");
    assert.ok(fake.candleRequests.length >= 1);
    assert.equal(w.fatal(), undefined);
  });
}

// A sequence gap keeps the connection (a reconnect recovers nothing: the ticker channel has no
// replay) and uses the frame that revealed it.
Deno.test("price_watchdog - keeps the connection after sequence_gap, records the gap and backfills it from candles", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const before = randomTicks(base, base + 3 * 60_000, { seed: 11 });
  fake.tick(before);
  await eventually(() => w.counters()["ticks"] === before.length);
  const lastBefore = before[before.length - 1]!.timeMs;
  const resume = lastBefore + 3 * 60_000 + 7_000;
  const candles: FakeCandle[] = [];
  for (let m = Math.floor(lastBefore / 60_000) + 1; m * 60_000 < resume - 60_000; m++) {
    candles.push([m * 60, 67_000, 69_000, 68_000, 68_500 + m % 7, 12.5]);
  }
  fake.setCandles("BTC-USD", candles);
  fake.skipSequence(3);
  // The first trade after the skipped numbers reveals the gap: it is used.
  const after = randomTicks(resume, resume + 60_000, { seed: 12 });
  fake.tick(after);
  fake.heartbeat(resume + 61_000);
  const gaps = await eventually(async () => {
    const g = await db.sql<GapDbRow[]>`
      select gap_from, gap_to, cause, backfilled from system.ingest_gaps`;
    return g.length === 1 ? g : null;
  }, { message: "no ingest gap row" });
  assert.equal(gaps[0]!.cause, "sequence_gap");
  assert.equal(gaps[0]!.gap_from.getTime(), lastBefore);
  assert.equal(gaps[0]!.gap_to.getTime(), resume);
  assert.equal(gaps[0]!.backfilled, true);
  const want = expectedSeconds([...before, ...after]);
  await eventually(async () => (await readRows(db.sql)).length === want.length);
  const rows = await readRows(db.sql);
  assert.deepEqual(
    rows.map((r) => [r.t, Number(r.price)]),
    want.map((x) => [x.t, Number(x.price)]),
  );
  const stored = await readCandles(db.sql);
  assert.equal(stored.size, candles.length, "every finished gap minute stored");
  const exp = expectedDeltas(want, stored);
  rows.forEach((r, i) => assert.ok(sameNumeric(r.momentum, exp[i]!.momentum), `momentum ${i}`));
  const first = rows.find((r) => r.t >= resume)!;
  assert.notEqual(first.deltas[0], null, "delta_1m across the gap comes from a candle close");
  assert.equal(fake.connectionsOpened, 1, "no reconnect");
  assert.equal(w.counters()["disconnects.sequence_gap"] ?? 0, 0);
  assert.equal(w.counters()["gaps.lost_frames"], 3);
  assert.equal(w.fatal(), undefined);
});

Deno.test("price_watchdog - a gap of 5 s or less is not recorded", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  fake.tick({ timeMs: t0, price: "68000" });
  await eventually(() => w.counters()["ticks"] === 1);
  fake.dropConnections();
  await eventually(() => fake.connectionsOpened >= 2 && fake.subscribers() === 1);
  fake.tick({ timeMs: t0 + 4_000, price: "68001" });
  fake.heartbeat(t0 + 5_000);
  await eventually(async () => (await readRows(db.sql)).length === 2);
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from system.ingest_gaps`;
  assert.equal(row?.n, 0);
});

Deno.test("price_watchdog - gives up after maxReconnectAttempts without data and reports it", async () => {
  await using db = await createTestDb();
  const fake = new FakeCoinbase();
  const url = fake.advancedUrl;
  await fake.close(); // nothing listens there any more
  await using w = await hostWatchdog({
    sql: db.sql,
    args: { symbol: "BTC", wsUrl: url, restUrl: "http://127.0.0.1:9", maxReconnectAttempts: 2 },
  });
  const error = await eventually(() => w.fatal(), { timeoutMs: 20_000 });
  assert.match(String(error), /2 reconnect attempts failed/);
});

Deno.test("price_watchdog - PostgreSQL cut off during ingest then back: no row lost, none duplicated", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const { proxy: tcpProxy, url: proxyUrl } = await TcpProxy.forUrl(db.url);
  await using tcp = tcpProxy;
  const sql = createSql(proxyUrl, { max: 2, connectTimeout: 2 });
  await using w = await hostWatchdog({ sql, args: args(fake), endSql: true });
  await eventually(() => fake.subscribers() === 1);
  const base = Math.floor(Date.now() / 1000) * 1000 - 20 * 60_000;
  const ticks = randomTicks(base, base + 15 * 60_000, { seed: 21 });
  const cut = Math.floor(ticks.length / 3);
  const back = Math.floor((2 * ticks.length) / 3);
  fake.tick(ticks.slice(0, cut));
  await eventually(() => w.counters()["ticks"] === cut);
  await eventually(() => w.counters()["buffer.depth"] === 0);
  await tcp.down();
  fake.tick(ticks.slice(cut, back));
  await eventually(() => (w.counters()["db.write_failed"] ?? 0) >= 2, {
    message: "no failed write",
  });
  assert.ok((w.counters()["buffer.depth"] ?? 0) > 0, "rows wait in the buffer");
  await tcp.up();
  fake.tick(ticks.slice(back));
  fake.heartbeat(base + 16 * 60_000);
  const want = expectedSeconds(ticks);
  await eventually(async () => (await readRows(db.sql)).length === want.length, {
    timeoutMs: 30_000,
  });
  const rows = await readRows(db.sql);
  assert.deepEqual(
    rows.map((r) => [r.t, Number(r.price)]),
    want.map((x) => [x.t, Number(x.price)]),
  );
  const exp = expectedDeltas(want);
  rows.forEach((r, i) => assert.ok(sameNumeric(r.momentum, exp[i]!.momentum), `momentum ${i}`));
  assert.equal(w.counters()["rows.dropped"] ?? 0, 0);
});
