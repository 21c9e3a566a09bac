/**
 * The price watchdog as a fenced, warm-standby singleton (cluster mode, DESIGN.md section 6):
 * fake Coinbase -> actor -> real PostgreSQL, with the lease rows in `system.leases` written here
 * (holding, stealing, expiring a lease) and lease messages sent as the supervisor sends them.
 * Prices tell the writers apart: rows "committed by the other node" are inserted here with
 * prices this node never receives.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PriceRow } from "../actors/price_watchdog/store.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql, type Sql } from "../lib/db.ts";
import type { LeaseGrant } from "../lib/fence.ts";
import { createTestDb, eventually } from "./_db.ts";
import { type FakeCandle, FakeCoinbase } from "./fakes/coinbase_server.ts";
import { hostWatchdog, readCandles, readRows, testStore } from "./_price_watchdog.ts";

/** The child id (lease name) and the node the harness runs the actor on. */
const NAME = "price_watchdog:btc";
const NODE = "test";
const START = Date.UTC(2026, 5, 1, 12, 0, 0);

function argsFor(fake: FakeCoinbase) {
  return {
    symbol: "BTC",
    feed: "advanced",
    wsUrl: fake.advancedUrl,
    restUrl: fake.restUrl,
    flushMs: 50,
  };
}

/** Grants the lease to `holder` at a new epoch for `ttl` (negative: already expired). */
async function holdLease(sql: Sql, holder = NODE, ttl = "1 hour"): Promise<LeaseGrant> {
  const [row] = await sql<{ epoch: string }[]>`
    insert into system.leases (name, holder, epoch, acquired_at, renewed_at, expires_at)
    values (${NAME}, ${holder}, nextval('system.lease_epoch'), now(), now(),
      now() + ${ttl}::interval)
    on conflict (name) do update set holder = excluded.holder, epoch = excluded.epoch,
      acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,
      expires_at = excluded.expires_at
    returning epoch::text`;
  return { name: NAME, node: holder, epoch: Number(row!.epoch) };
}

/** Rows another node committed (distinguishable prices). */
async function otherNodeRows(sql: Sql, rows: [number, string][]): Promise<void> {
  for (const [t, price] of rows) {
    await sql`insert into live_data.btc_price_log ("timestamp", price, received_at)
      values (${new Date(t)}, ${price}, ${new Date(t + 100)})`;
  }
}

/** One trade in each second from `fromMs`, then a heartbeat that closes the last one. */
function sendSeconds(fake: FakeCoinbase, fromMs: number, prices: number[]): void {
  fake.tick(prices.map((p, i) => ({ timeMs: fromMs + i * 1_000 + 100, price: String(p) })));
  fake.heartbeat(fromMs + prices.length * 1_000 + 500);
}

const seconds = (fromMs: number, n: number) =>
  Array.from({ length: n }, (_, i) => fromMs + i * 1_000);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

async function stored(sql: Sql): Promise<[number, number][]> {
  return (await readRows(sql)).map((r) => [r.t, Number(r.price)]);
}

Deno.test("price_watchdog (leased) - the holder writes under its grant; once the lease moves its next write is fenced: nothing committed, the rows kept, a standby", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  const grant = await holdLease(db.sql);
  await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock, lease: grant });
  await eventually(() => fake.subscribers() === 1);
  const base = START - 60_000;
  sendSeconds(fake, base, range(100, 5));
  await eventually(async () => (await readRows(db.sql)).length === 5, { message: "not written" });
  assert.equal(w.progress().details?.role, "holder");
  assert.equal(w.progress().details?.epoch, grant.epoch);

  await holdLease(db.sql, "other"); // stolen: a higher epoch, another holder
  sendSeconds(fake, base + 5_000, range(105, 5));
  await eventually(() => (w.counters()["writes.fenced"] ?? 0) >= 1, { message: "not fenced" });
  await eventually(() => w.progress().details?.buffered === 5, { message: "rows not kept" });
  assert.deepEqual(await stored(db.sql), seconds(base, 5).map((t, i) => [t, 100 + i]));
  const fenced = w.messages.filter((m) => m.type === "fenced");
  assert.equal(fenced.length, 1, "reported once");
  assert.deepEqual(fenced[0]!.type === "fenced" && fenced[0]!.lease, grant);
  assert.equal(w.counters()["db.write_failed"], undefined, "a fenced write is no db failure");
  assert.equal(w.progress().details?.role, "standby");
  assert.equal(w.progress().details?.databaseAvailable, true);

  // The kept rows were not lost: granted again, this node writes them.
  const again = await holdLease(db.sql);
  w.send({ type: "lease", lease: again });
  await eventually(async () => (await readRows(db.sql)).length === 10, {
    message: "not taken over",
  });
  assert.deepEqual(await stored(db.sql), seconds(base, 10).map((t, i) => [t, 100 + i]));
  assert.equal(w.counters()["writes.fenced"], 1);
});

Deno.test("price_watchdog (standby) - writes nothing, then on its grant writes exactly the seconds after the table's newest row", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  const base = START - 120_000; // minute-aligned
  // The holder's last row before this node starts: the standby's start sees a restart gap.
  await otherNodeRows(db.sql, [[base - 60_000, "500"]]);
  const candles: FakeCandle[] = [[(base - 60_000) / 1000, 90, 110, 100, 100, 1], [
    base / 1000,
    90,
    110,
    100,
    101,
    1,
  ]];
  fake.setCandles("BTC-USD", candles);
  await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock, lease: null });
  assert.equal(w.progress().details?.role, "standby");
  await eventually(() => fake.subscribers() === 1);
  sendSeconds(fake, base, range(100, 10));
  await eventually(() => w.progress().details?.buffered === 10, { message: "rows not retained" });
  assert.equal(w.counters()["gaps.restart"], 1);
  assert.equal(w.counters()["candles.standby_skipped"], 2, "the backfill's inserts skipped");
  // The holder commits the first six of those seconds meanwhile.
  await otherNodeRows(db.sql, seconds(base, 6).map((t, i) => [t, String(500 + i)]));
  assert.equal(await w.command("flush"), false, "asked to flush, a standby writes nothing");
  const before = await stored(db.sql);
  assert.equal(before.length, 7);
  assert.ok(before.every(([, p]) => p >= 500), "only the other node's rows");
  assert.equal(await recordCount(db.sql, "ingest_gaps"), 0);
  assert.equal((await readCandles(db.sql)).size, 0);
  assert.equal(w.counters()["rows.written"], undefined);

  const grant = await holdLease(db.sql);
  w.send({ type: "lease", lease: grant });
  await eventually(async () => (await readRows(db.sql)).length === 11, { message: "no takeover" });
  assert.deepEqual(await stored(db.sql), [
    [base - 60_000, 500],
    ...seconds(base, 6).map((t, i): [number, number] => [t, 500 + i]),
    ...seconds(base + 6_000, 4).map((t, i): [number, number] => [t, 106 + i]),
  ], "none missing, none overwritten, none twice");
  assert.equal(w.counters()["takeover.rows_skipped"], 6);
  assert.equal(w.counters()["takeover.gaps_skipped"], 1, "the holder had rows after the gap");
  assert.equal(await recordCount(db.sql, "ingest_gaps"), 0);

  // It goes on as the writer.
  sendSeconds(fake, base + 10_000, [110, 111]);
  await eventually(async () => (await readRows(db.sql)).length === 13, { message: "not writing" });
  await eventually(() => w.progress().details?.role === "holder");
  assert.equal(w.progress().details?.epoch, grant.epoch);
});

Deno.test("price_watchdog (standby) - taking over from a holder that died writes every retained second and the gap the standby saw", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  const base = START - 120_000;
  await otherNodeRows(db.sql, [[base - 60_000, "500"]]); // the holder's last row
  await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock, lease: null });
  await eventually(() => fake.subscribers() === 1);
  sendSeconds(fake, base, range(100, 5));
  await eventually(() => w.progress().details?.buffered === 5, { message: "rows not retained" });
  w.send({ type: "lease", lease: await holdLease(db.sql) });
  await eventually(async () => (await readRows(db.sql)).length === 6, { message: "no takeover" });
  assert.deepEqual(await stored(db.sql), [
    [base - 60_000, 500],
    ...seconds(base, 5).map((t, i): [number, number] => [t, 100 + i]),
  ]);
  const gaps = await eventually(async () => {
    const g = await db.sql<{ gap_from: Date; gap_to: Date; cause: string; backfilled: boolean }[]>`
      select gap_from, gap_to, cause, backfilled from system.ingest_gaps`;
    return g.length === 1 ? g : null;
  }, { message: "no gap record" });
  assert.deepEqual(gaps.map((g) => [g.gap_from.getTime(), g.gap_to.getTime(), g.cause]), [
    [base - 60_000, base + 100, "restart"],
  ]);
  assert.equal(gaps[0]!.backfilled, false, "a standby inserted no candle for it");
  assert.equal(w.counters()["takeover.rows_skipped"], undefined);
});

Deno.test("price_watchdog (leased) - release writes every closed second under the grant, answers the last one, then writes nothing", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  const grant = await holdLease(db.sql);
  const w = await hostWatchdog({
    sql: db.sql,
    args: { ...argsFor(fake), flushMs: 60_000 }, // nothing is written before the release
    clock,
    lease: grant,
  });
  await eventually(() => fake.subscribers() === 1);
  const base = START - 60_000;
  // Seconds 0-4 closed, second 5 open.
  fake.tick(range(0, 6).map((i) => ({ timeMs: base + i * 1_000 + 100, price: String(100 + i) })));
  await eventually(() => w.counters()["ticks"] === 6);
  assert.deepEqual(await w.command("release"), { lastCommittedMs: base + 4_000 });
  assert.deepEqual(await stored(db.sql), seconds(base, 5).map((t, i) => [t, 100 + i]));
  await eventually(() => w.progress().details?.role === "standby");
  assert.deepEqual(await w.command("release"), { lastCommittedMs: base + 4_000 }, "idempotent");

  // The supervisor moves the lease; this node is told. What follows is the new holder's.
  await holdLease(db.sql, "other");
  w.send({ type: "lease", lease: null });
  sendSeconds(fake, base + 6_000, [106, 107]); // closes the open second 5 too
  await eventually(() => w.progress().details?.buffered === 3, { message: "not retained" });
  assert.equal(await w.command("flush"), false);
  await w.stop(); // a standby's stop writes nothing either
  assert.deepEqual(await stored(db.sql), seconds(base, 5).map((t, i) => [t, 100 + i]));
  assert.equal(w.counters()["writes.fenced"], undefined, "it never tried");
});

for (
  const [label, lease] of [
    ["a grant for a lease row that does not exist", () => ({ name: NAME, node: NODE, epoch: 42 })],
    ["an expired lease", (sql: Sql) => holdLease(sql, NODE, "-1 second")],
  ] as const
) {
  Deno.test(`price_watchdog (leased) - ${label} is fenced: no row written, a standby`, async () => {
    await using db = await createTestDb();
    await using fake = new FakeCoinbase();
    const grant = await lease(db.sql);
    const clock = new ManualClock(START);
    await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock, lease: grant });
    await eventually(() => fake.subscribers() === 1);
    sendSeconds(fake, START - 60_000, range(100, 3));
    await eventually(() => (w.counters()["writes.fenced"] ?? 0) >= 1, { message: "not fenced" });
    await eventually(() => w.progress().details?.buffered === 3, { message: "rows not kept" });
    assert.deepEqual(await stored(db.sql), []);
    assert.equal(w.counters()["db.write_failed"], undefined);
    assert.equal(w.progress().details?.role, "standby");
    assert.equal(w.messages.filter((m) => m.type === "fenced").length, 1);
  });
}

Deno.test("price_watchdog (leased) - a lease message with a lower epoch after a higher one is fenced by the database", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  const grant = await holdLease(db.sql);
  await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock, lease: grant });
  await eventually(() => fake.subscribers() === 1);
  const base = START - 60_000;
  sendSeconds(fake, base, [100, 101]);
  await eventually(async () => (await readRows(db.sql)).length === 2, { message: "not written" });
  const stale = { ...grant, epoch: grant.epoch - 1 };
  w.send({ type: "lease", lease: stale });
  sendSeconds(fake, base + 2_000, [102, 103]);
  await eventually(() => (w.counters()["writes.fenced"] ?? 0) >= 1, { message: "not fenced" });
  assert.deepEqual(await stored(db.sql), [[base, 100], [base + 1_000, 101]]);
  const fenced = w.messages.find((m) => m.type === "fenced");
  assert.deepEqual(fenced?.type === "fenced" && fenced.lease, stale);
  assert.equal(w.progress().details?.role, "standby");
});

Deno.test("price_watchdog - release is refused when the watchdog is not leased, and it keeps writing", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  await using w = await hostWatchdog({ sql: db.sql, args: argsFor(fake), clock });
  await eventually(() => fake.subscribers() === 1);
  await assert.rejects(w.command("release"), /not leased/);
  sendSeconds(fake, START - 60_000, [100, 101]);
  await eventually(async () => (await readRows(db.sql)).length === 2, { message: "not written" });
  assert.equal(w.progress().details?.role, "holder");
  assert.equal(w.progress().details?.epoch, null);
});

function priceRow(secondMs: number, price: number): PriceRow {
  return {
    secondMs,
    price: String(price),
    receivedMs: secondMs + 100,
    momentum: null,
    deltas: [null, null, null, null, null, null],
  };
}

async function recordCount(sql: Sql, table: "ingest_gaps" | "ingest_drops"): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${
    sql(`system.${table}`)
  }`;
  return row!.n;
}

Deno.test("createPriceStore() under a stale grant writes nothing on any path (one statement, the records transaction, COPY) and keeps every row", async () => {
  await using db = await createTestDb();
  await holdLease(db.sql, "other");
  const stale: LeaseGrant = { name: NAME, node: NODE, epoch: 1 };
  for (const path of ["statement", "transaction", "copy"] as const) {
    const counters: Record<string, number> = {};
    let opened = 0;
    const s = testStore(db.sql, counters, {
      maxBatch: 2,
      bufferRows: 10,
      lease: () => stale,
      ...(path === "copy" ? { bulk: () => (opened++, createSql(db.url, { max: 1 })) } : {}),
    });
    const n = path === "copy" ? 5 : 2; // a backlog beyond maxBatch goes through COPY
    for (let i = 0; i < n; i++) s.enqueue(priceRow(START + i * 1_000, 100 + i));
    if (path === "transaction") s.recordGap({ fromMs: START - 9_000, toMs: START, cause: "close" });
    assert.equal(await s.drain(1_000), false, path);
    assert.equal(counters["writes.fenced"], 1, path);
    assert.equal(counters["db.write_failed"], undefined, path);
    assert.equal(counters["db.bulk_failed"], undefined, path);
    assert.equal(opened, path === "copy" ? 1 : 0, `${path}: COPY tried`);
    assert.equal(s.pending, n, `${path}: kept`);
    assert.equal(s.role.role, "standby");
    await s.close(1_000);
  }
  assert.deepEqual(await stored(db.sql), []);
  assert.equal(await recordCount(db.sql, "ingest_gaps"), 0);
});

Deno.test("createPriceStore() as a standby writes nothing on its cadence, retains the newest bufferRows seconds without a drop record, skips candles; a grant writes the retention", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(START);
  let current: LeaseGrant | null = null;
  const counters: Record<string, number> = {};
  const s = testStore(db.sql, counters, {
    maxBatch: 2,
    bufferRows: 4,
    clock,
    lease: () => current,
  });
  s.start();
  for (let i = 0; i < 6; i++) s.enqueue(priceRow(START + i * 1_000, 100 + i));
  s.recordGap({ fromMs: START + 3_000, toMs: START + 4_000, cause: "close" });
  const candle = { startMs: START, open: "1", high: "2", low: "1", close: "1.5", volume: "3" };
  assert.equal(await s.insertCandles([candle]), 0);
  await clock.tick(5_000); // twenty flush periods
  assert.equal(await s.drain(0), false, "nothing drains");
  assert.deepEqual(await stored(db.sql), []);
  assert.equal((await readCandles(db.sql)).size, 0);
  assert.equal(await recordCount(db.sql, "ingest_gaps"), 0);
  assert.equal(s.pending, 4);
  assert.equal(counters["standby.trimmed"], 2);
  assert.equal(counters["rows.dropped"], undefined, "trimming a retention is no drop");
  assert.equal(counters["candles.standby_skipped"], 1);
  assert.deepEqual(s.role, { role: "standby", epoch: null });

  current = await holdLease(db.sql);
  s.leaseChanged(current);
  assert.equal(await s.drain(2_000), true);
  assert.deepEqual(await stored(db.sql), seconds(START + 2_000, 4).map((t, i) => [t, 102 + i]));
  assert.equal(await recordCount(db.sql, "ingest_gaps"), 1, "the gap the standby saw");
  assert.equal(await recordCount(db.sql, "ingest_drops"), 0);
  assert.equal(await s.insertCandles([candle]), 1, "the holder writes candles");
  assert.deepEqual(s.role, { role: "holder", epoch: current.epoch });
  await s.close(1_000);
});
