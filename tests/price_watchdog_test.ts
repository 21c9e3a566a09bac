/**
 * Integration tests of the price watchdog: fake Coinbase (both formats) → actor → real PostgreSQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createTestDb, eventually } from "./_db.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import {
  expectedDeltas,
  expectedSeconds,
  hostWatchdog,
  randomTicks,
  readRows,
  sameNumeric,
} from "./_price_watchdog.ts";

function argsFor(fake: FakeCoinbase, feed: "advanced" | "exchange", extra = {}) {
  return {
    symbol: "BTC",
    feed,
    wsUrl: feed === "advanced" ? fake.advancedUrl : fake.exchangeUrl,
    restUrl: fake.restUrl,
    flushMs: 50,
    ...extra,
  };
}

function assertRowsMatch(
  rows: Awaited<ReturnType<typeof readRows>>,
  want: { t: number; price: string }[],
  candles?: Map<number, number>,
) {
  assert.deepEqual(rows.map((r) => r.t), want.map((w) => w.t), "one row per traded second");
  rows.forEach((r, i) => assert.equal(Number(r.price), Number(want[i]!.price), `price at ${r.t}`));
  const exp = expectedDeltas(want, candles);
  let nonNull = 0;
  rows.forEach((r, i) => {
    const e = exp[i]!;
    e.deltas.forEach((d, k) => {
      assert.ok(
        sameNumeric(r.deltas[k]!, d),
        `delta ${k} at ${new Date(r.t).toISOString()}: got ${r.deltas[k]}, want ${d}`,
      );
      if (d !== null) nonNull++;
    });
    assert.ok(
      sameNumeric(r.momentum, e.momentum),
      `momentum at ${r.t}: ${r.momentum} vs ${e.momentum}`,
    );
  });
  return nonNull;
}

for (const feed of ["advanced", "exchange"] as const) {
  Deno.test(`price_watchdog (${feed}) - writes one row per second with every delta and momentum as DESIGN §3 defines them`, async () => {
    await using db = await createTestDb();
    await using fake = new FakeCoinbase();
    const w = await hostWatchdog({ sql: db.sql, args: argsFor(fake, feed) });
    try {
      await eventually(() => fake.subscribers() === 1);
      const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
      const ticks = randomTicks(end - 40 * 60_000, end, {
        seed: feed === "advanced" ? 1 : 2,
        longGaps: true,
      });
      fake.tick(ticks);
      fake.heartbeat(end + 1_000); // closes the last second
      const want = expectedSeconds(ticks);
      await eventually(async () => (await readRows(db.sql)).length === want.length, {
        message: "rows not written",
      });
      const rows = await readRows(db.sql);
      const nonNull = assertRowsMatch(rows, want);
      assert.ok(nonNull > want.length * 3, "most deltas are computed");
      assert.ok(
        rows.some((r) => r.deltas[0] === null && r.t > want[0]!.t + 120_000),
        "a delta across a >60 s gap is null",
      );
      // Exchange time, not receive time.
      for (const r of rows) {
        assert.ok(r.receivedAt - r.t > 55_000, "received long after the exchange time");
      }
      assert.equal(w.counters()["rejected.stale_frame"] ?? 0, 0);
      assert.equal(w.progress().newestDataAt, want[want.length - 1]!.t);
    } finally {
      await w.stop();
    }
  });
}

Deno.test("price_watchdog - last price of a second wins, empty seconds have no row, across both 2026 DST changes", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const w = await hostWatchdog({ sql: db.sql, args: argsFor(fake, "advanced") });
  try {
    await eventually(() => fake.subscribers() === 1);
    const spring = Date.UTC(2026, 2, 8, 7, 0, 0); // 02:00 EST → 03:00 EDT
    const fall = Date.UTC(2026, 10, 1, 6, 0, 0); // 02:00 EDT → 01:00 EST
    const ticks = [
      { timeMs: spring - 1_800, price: "80000.10" },
      { timeMs: spring - 1_100, price: "80001.00" }, // second -2: wins over -1.8 s
      { timeMs: spring - 300, price: "80002.50" },
      { timeMs: spring + 100, price: "80003.00" },
      { timeMs: spring + 999.999, price: "80004.00" }, // last of second 0
      // seconds 1 and 2 empty
      { timeMs: spring + 3_000, price: "80005.00" },
      { timeMs: fall - 500, price: "81000.00" },
      { timeMs: fall, price: "81000.50" },
      { timeMs: fall + 400, price: "81001.25" },
      { timeMs: fall + 3_600_000, price: "81002.00" }, // one hour later: the repeated local hour
    ];
    fake.tick(ticks);
    fake.heartbeat(fall + 3_601_000);
    await eventually(async () => (await readRows(db.sql)).length === 7);
    const rows = await readRows(db.sql);
    assert.deepEqual(rows.map((r) => [new Date(r.t).toISOString(), r.price]), [
      ["2026-03-08T06:59:58.000Z", "80001.00000000"],
      ["2026-03-08T06:59:59.000Z", "80002.50000000"],
      ["2026-03-08T07:00:00.000Z", "80004.00000000"],
      ["2026-03-08T07:00:03.000Z", "80005.00000000"],
      ["2026-11-01T05:59:59.000Z", "81000.00000000"],
      ["2026-11-01T06:00:00.000Z", "81001.25000000"],
      ["2026-11-01T07:00:00.000Z", "81002.00000000"],
    ]);
  } finally {
    await w.stop();
  }
});

Deno.test("price_watchdog - a restart seeds from the table and keeps the deltas continuous", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const first = randomTicks(end - 35 * 60_000, end - 10 * 60_000, { seed: 3 });
  const second = randomTicks(end - 10 * 60_000 + 2_000, end, { seed: 4, price: 68_100 });
  const w1 = await hostWatchdog({ sql: db.sql, args: argsFor(fake, "advanced") });
  await eventually(() => fake.subscribers() === 1);
  fake.tick(first);
  await eventually(() => w1.counters()["ticks"] === first.length);
  await w1.stop();
  const written = (await readRows(db.sql)).length;
  assert.equal(written, expectedSeconds(first).length, "stop flushed the open second");

  const w2 = await hostWatchdog({ sql: db.sql, args: argsFor(fake, "advanced") });
  try {
    assert.equal(w2.counters()["rows.seeded"], written, "seeded from the table");
    await eventually(() => fake.subscribers() === 1);
    fake.tick(second);
    fake.heartbeat(end + 1_000);
    const want = expectedSeconds([...first, ...second]);
    await eventually(async () => (await readRows(db.sql)).length === want.length);
    const rows = await readRows(db.sql);
    assertRowsMatch(rows, want);
    const firstAfter = rows.find((r) => r.t >= second[0]!.timeMs - 1_000)!;
    assert.ok(firstAfter.deltas[4] !== null, "15-minute delta right after the restart");
  } finally {
    await w2.stop();
  }
});

Deno.test("price_watchdog - stop flushes buffered rows and the open second before stopped", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const w = await hostWatchdog({
    sql: db.sql,
    args: argsFor(fake, "advanced", { flushMs: 60_000 }),
  });
  await eventually(() => fake.subscribers() === 1);
  const base = Math.floor(Date.now() / 1000) * 1000 - 30_000;
  const ticks = [0, 1_200, 2_500, 2_700].map((d, i) => ({
    timeMs: base + d,
    price: `${70000 + i}`,
  }));
  fake.tick(ticks);
  await eventually(() => (w.counters()["ticks"] ?? 0) === 4);
  // The two closed seconds are written at once, not on the (60 s) flushMs; the open one waits.
  await eventually(async () => (await readRows(db.sql)).length === 2);
  await w.stop();
  assert.deepEqual((await readRows(db.sql)).map((r) => r.price), [
    "70000.00000000",
    "70001.00000000",
    "70003.00000000",
  ]);
});

Deno.test("price_watchdog - rejects and counts every bad frame kind, ignores unknown types, never writes them", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  await using fake = new FakeCoinbase();
  const w = await hostWatchdog({ sql: db.sql, args: argsFor(fake, "advanced"), clock });
  try {
    await eventually(() => fake.subscribers() === 1);
    const t0 = clock.now() - 10_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const ticker = (product: string, price: unknown, ms: number, type = "update") => ({
      channel: "ticker",
      client_id: "",
      timestamp: iso(ms),
      events: [{ type, tickers: [{ type: "ticker", product_id: product, price }] }],
    });
    fake.tick({ timeMs: t0, price: "68000.00" });
    fake.tick({ timeMs: t0 + 1_000, price: "68001.00" }); // closes second t0
    await eventually(() => (w.counters()["ticks"] ?? 0) === 2);
    fake.sendRaw("{not json");
    fake.sendEnvelope({ channel: "mystery_feed", client_id: "", timestamp: iso(t0), events: [] });
    fake.sendEnvelope(ticker("ETH-USD", "3000.00", t0 + 1_100));
    for (const bad of ["0", "-5", "NaN", "Infinity", "1e400", "690000.00", "6799.99", 12]) {
      fake.sendEnvelope(ticker("BTC-USD", bad, t0 + 1_200));
    }
    fake.sendEnvelope(ticker("BTC-USD", "68002.00", clock.now() + 60_000)); // future
    fake.sendEnvelope(ticker("BTC-USD", "68003.00", t0 + 500)); // second t0 already closed
    fake.sendEnvelope({
      channel: "ticker",
      client_id: "",
      timestamp: iso(t0 + 1_300),
      events: [{ tickers: "x" }],
    });
    fake.sendJson({ channel: "ticker", timestamp: iso(t0 + 1_300), events: [] }); // no sequence_num
    fake.sendEnvelope({ channel: "ticker", client_id: "", timestamp: "yesterday", events: [] });
    // Unknown new message types: ignored, not rejected.
    fake.sendEnvelope(ticker("BTC-USD", "68004.00", t0 + 1_400, "brand_new_event"));
    fake.sendEnvelope({
      channel: "market_trades",
      client_id: "",
      timestamp: iso(t0 + 1_400),
      events: [],
    });
    fake.tick({ timeMs: t0 + 2_000, price: "68005.00" });
    fake.heartbeat(t0 + 3_000);
    await eventually(() => (w.counters()["ticks"] ?? 0) === 3);
    await eventually(async () => (await readRows(db.sql)).length === 3);
    const c = w.counters();
    assert.equal(c["rejected.malformed_json"], 1);
    assert.equal(c["rejected.unknown_channel"], 1);
    assert.equal(c["rejected.wrong_product"], 1);
    assert.equal(c["rejected.bad_price"], 8, "0, -5, NaN, Infinity, 1e400, >10x, <0.1x, 12");
    assert.equal(c["rejected.future_timestamp"], 1);
    assert.equal(c["rejected.stale_frame"], 1);
    assert.equal(c["rejected.schema"], 3);
    assert.equal(c["ignored"], 2);
    assert.equal(w.fatal(), undefined);
    const rows = await readRows(db.sql);
    assert.deepEqual(rows.map((r) => r.price), [
      "68000.00000000",
      "68001.00000000",
      "68005.00000000",
    ]);
  } finally {
    await w.stop();
  }
});

Deno.test("price_watchdog (exchange) - rejects a wrong-product heartbeat and ignores unknown message types", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const w = await hostWatchdog({ sql: db.sql, args: argsFor(fake, "exchange") });
  try {
    await eventually(() => fake.subscribers() === 1);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 20_000;
    fake.tick({ timeMs: t0, price: "68000.00" });
    fake.sendJson({
      type: "heartbeat",
      sequence: 1,
      last_trade_id: 0,
      product_id: "ETH-USD",
      time: new Date(t0).toISOString(),
    });
    fake.sendJson({ type: "status", products: [] });
    fake.sendJson({ type: "ticker", product_id: "BTC-USD", price: "68000.00" }); // no time: schema
    fake.sendJson({
      type: "ticker",
      sequence: 9,
      product_id: "BTC-USD",
      price: "68000.00",
      time: new Date(Date.now() + 60_000).toISOString(),
    });
    fake.heartbeat(t0 + 1_000);
    await eventually(async () => (await readRows(db.sql)).length === 1);
    const c = w.counters();
    assert.equal(c["rejected.wrong_product"], 1);
    assert.equal(c["rejected.schema"], 1);
    assert.equal(c["rejected.future_timestamp"], 1);
    assert.equal(c["ignored"], 1);
  } finally {
    await w.stop();
  }
});
