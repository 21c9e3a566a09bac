/**
 * The price store against a real PostgreSQL server: idempotent batches, buffer overflow recorded
 * in `system.ingest_drops`, seeding.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSql, type Sql } from "../lib/db.ts";
import type { PriceRow } from "../actors/price_watchdog/store.ts";
import { createTestDb, eventually } from "./_db.ts";
import { TcpProxy } from "./_proxy.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { readRows, testStore } from "./_price_watchdog.ts";

function row(secondMs: number, price: string): PriceRow {
  return {
    secondMs,
    price,
    receivedMs: secondMs + 100,
    momentum: 0.5,
    deltas: [0.25, null, null, null, null, 1e-7],
  };
}

function store(sql: Sql, counters: Record<string, number>, extra = {}) {
  return testStore(sql, counters, { maxBatch: 2, bufferRows: 5, ...extra });
}

Deno.test("createPriceStore() writes in batches and a second write of the same second changes nothing", async () => {
  await using db = await createTestDb();
  const counters: Record<string, number> = {};
  const s = store(db.sql, counters);
  s.start();
  const t = Date.UTC(2026, 5, 1);
  s.enqueue(row(t, "100.5"));
  s.enqueue(row(t + 1_000, "101"));
  s.enqueue(row(t, "999")); // the same second again (a replay)
  await s.close(2_000);
  const rows = await readRows(db.sql);
  assert.deepEqual(rows.map((r) => r.price), ["100.50000000", "101.00000000"]);
  assert.equal(rows[0]!.deltas[5], "0.000000", "1e-7 rounds into numeric(10,6)");
  assert.equal(rows[0]!.deltas[0], "0.250000");
});

Deno.test("createPriceStore() drops the oldest rows beyond bufferRows while PostgreSQL is down and records the drop", async () => {
  await using db = await createTestDb();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  const sql = createSql(url, { max: 1, connectTimeout: 2 });
  const counters: Record<string, number> = {};
  const s = store(sql, counters, { endSql: true });
  s.start();
  await proxy.down();
  const t = Date.UTC(2026, 5, 1);
  for (let i = 0; i < 8; i++) s.enqueue(row(t + i * 1_000, String(100 + i)));
  await eventually(() => (counters["db.write_failed"] ?? 0) >= 1);
  assert.equal(counters["rows.dropped"], 3);
  assert.equal(s.pending, 5);
  await proxy.up();
  await s.close(10_000);
  const rows = await readRows(db.sql);
  assert.deepEqual(
    rows.map((r) => Number(r.price)),
    [103, 104, 105, 106, 107],
    "newest kept, in order",
  );
  const drops = await db.sql<
    { source: string; dropped_rows: string; first_ts: Date; last_ts: Date }[]
  >`
    select source, dropped_rows, first_ts, last_ts from system.ingest_drops`;
  assert.equal(drops.length, 1);
  assert.equal(drops[0]!.source, "price_watchdog:btc");
  assert.equal(Number(drops[0]!.dropped_rows), 3);
  assert.equal(drops[0]!.first_ts.getTime(), t);
  assert.equal(drops[0]!.last_ts.getTime(), t + 2_000);
});

Deno.test("createPriceStore() seed() returns the last 32 minutes of rows and candles", async () => {
  await using db = await createTestDb();
  const counters: Record<string, number> = {};
  const s = store(db.sql, counters, { maxBatch: 100, bufferRows: 100 });
  s.start();
  const t = Date.UTC(2026, 5, 1);
  for (let m = 0; m <= 40; m += 5) s.enqueue(row(t + m * 60_000, String(100 + m)));
  await s.drain(2_000);
  await s.insertCandles([{
    startMs: t + 20 * 60_000,
    open: "1",
    high: "2",
    low: "1",
    close: "1.5",
    volume: "0",
  }]);
  assert.equal(
    await s.insertCandles([{
      startMs: t + 20 * 60_000,
      open: "9",
      high: "9",
      low: "9",
      close: "9",
      volume: "0",
    }]),
    0,
    "an existing minute is left as it is",
  );
  const seed = await s.seed();
  assert.deepEqual(seed.rows.map((r) => (r.timeMs - t) / 60_000), [10, 15, 20, 25, 30, 35, 40]);
  assert.deepEqual(seed.candles, [{ startMs: t + 20 * 60_000, close: "1.50000000" }]);
  await s.close(1_000);
});

Deno.test("FakeCoinbase closes a connection that does not subscribe within the deadline", async () => {
  await using fake = new FakeCoinbase({ subscribeDeadlineMs: 100 });
  const ws = new WebSocket(fake.advancedUrl);
  const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
  assert.equal(await closed, 4001);
  assert.equal(fake.deadlineCloses, 1);
});

Deno.test("createPriceStore() stores complete = false for incomplete rows through the unnest path and through COPY alike", async () => {
  await using db = await createTestDb();
  const t = Date.UTC(2026, 5, 1);
  const rows = Array.from({ length: 300 }, (_, i) => ({
    ...row(t + i * 1_000, `${100 + i}`),
    ...(i % 7 === 3 ? { complete: false } : {}),
  }));
  const viaCopy: Record<string, number> = {};
  const a = testStore(db.sql, viaCopy, {
    maxBatch: 10,
    bufferRows: 1_000,
    bulk: () => createSql(db.url, { max: 1, noDelay: true }),
  });
  const b = testStore(db.sql, {}, { maxBatch: 10, bufferRows: 1_000, symbol: "eth" });
  for (const r of rows) {
    a.enqueue(r);
    b.enqueue(r);
  }
  a.start();
  b.start();
  await a.close(10_000);
  await b.close(10_000);
  assert.ok((viaCopy["rows.copied"] ?? 0) > 0, "the backlog went through COPY");
  const want = rows.map((r) => r.complete !== false);
  assert.deepEqual((await readRows(db.sql, "btc")).map((r) => r.complete), want);
  assert.deepEqual((await readRows(db.sql, "eth")).map((r) => r.complete), want);
});

Deno.test("createPriceStore() refuses or cleans what PostgreSQL cannot store (NUL, broken UTF-16, over-long text, out-of-range numbers), writes every good row and keeps writing", async () => {
  await using db = await createTestDb();
  const counters: Record<string, number> = {};
  const s = store(db.sql, counters, { maxBatch: 100, bufferRows: 1_000 });
  s.start();
  const t = Date.UTC(2026, 5, 1);
  const bad: PriceRow[] = [
    row(t + 100_000, "1.5\u0000"), // a NUL
    row(t + 101_000, "1.\uD800"), // an unpaired surrogate (invalid UTF-8)
    row(t + 102_000, `1.${"5".repeat(100)}`), // over-long
    row(t + 103_000, "0.000000001"), // rounds to 0 in numeric(20, 8): the price > 0 check
    row(t + 104_000, "999999999999.999999999"), // rounds to 10^12: numeric(20, 8) overflows
  ];
  for (const r of bad) s.enqueue(r);
  assert.equal(counters["rejected.unstorable_row"], bad.length);
  for (let i = 0; i < 10; i++) s.enqueue(row(t + i * 1_000, String(100 + i)));
  // 9999.9999999 is below 10^4 but rounds to it in numeric(10, 6): stored as null.
  s.enqueue({
    ...row(t + 10_000, "110"),
    momentum: 9999.9999999,
    deltas: [-9999.9999996, 1, null, null, null, null],
  });
  s.recordGap({ fromMs: t, toMs: t + 6_000, cause: "silence\u0000" });
  s.recordGap({ fromMs: t + 1, toMs: t + 7_000, cause: "close \uD800" });
  s.recordGap({ fromMs: t + 2, toMs: t + 8_000, cause: "x".repeat(100_000) });
  s.recordGap({ fromMs: t + 3, toMs: 8.64e15 + 1, cause: "silence" }); // beyond timestamptz
  assert.equal(counters["rejected.unstorable_gap"], 1);
  const candle = { open: "1", high: "2", low: "1", close: "1.5", volume: "3" };
  const inserted = await s.insertCandles([
    { startMs: t, ...candle },
    { startMs: t + 60_000, ...candle, volume: "1000000000000000" }, // beyond numeric(20, 8)
    { startMs: t + 120_000, ...candle },
  ]);
  assert.equal(inserted, 2);
  assert.equal(counters["candles.rejected"], 1);
  assert.equal(await s.drain(5_000), true, "nothing left buffered");

  const rows = await readRows(db.sql);
  assert.deepEqual(
    rows.map((r) => Number(r.price)),
    Array.from({ length: 11 }, (_, i) => 100 + i),
  );
  assert.equal(rows[10]!.momentum, null);
  assert.deepEqual(rows[10]!.deltas.slice(0, 2), [null, "1.000000"]);
  assert.equal(counters["rows.percent_nulled"], 1);
  const stored = await db.sql<{ cause: string }[]>`
    select cause from system.ingest_gaps order by gap_from`;
  assert.deepEqual(stored.slice(0, 2).map((g) => g.cause), ["silence", "close \uFFFD"]);
  assert.ok(stored[2]!.cause.length <= 201, "an over-long cause is bounded");
  assert.equal(stored.length, 3);
  const candles = await db.sql`select 1 from historical_data.btc_ohlc_1m`;
  assert.equal(candles.length, 2);

  // And it keeps writing.
  s.enqueue(row(t + 20_000, "120"));
  await s.close(5_000);
  assert.equal((await readRows(db.sql)).length, 12);
  assert.equal(counters["db.write_failed"], undefined, "no write was refused as a whole");
});
