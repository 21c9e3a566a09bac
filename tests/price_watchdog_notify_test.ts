/**
 * The price store writes a row as soon as it is queued (rows queued during a write go right after
 * it, together) and announces every committed write with exactly one `NOTIFY recio_price_<sym>`
 * (`lib/notify_channels.ts`), never for a write that did not commit (fenced), for a standby, or
 * for a write that inserted nothing; and the watchdog queues a second the moment it is known
 * complete. Real PostgreSQL; the store's and the actor's timers on a `ManualClock` where time
 * matters, so nothing here waits on the wall clock to prove something did not happen: absence is
 * shown by a marker notification sent after the write, which LISTEN delivers in commit order.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PriceRow } from "../actors/price_watchdog/store.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql, type Sql } from "../lib/db.ts";
import type { LeaseGrant } from "../lib/fence.ts";
import { parsePriceNotification, priceChannel } from "../lib/notify_channels.ts";
import { createTestDb, eventually } from "./_db.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { hostWatchdog, readRows, testStore } from "./_price_watchdog.ts";

const START = Date.UTC(2026, 5, 1, 12, 0, 0);
const NAME = "price_watchdog:btc";
const iso = (ms: number) => new Date(ms).toISOString();

function row(secondMs: number, price: string): PriceRow {
  return {
    secondMs,
    price,
    receivedMs: secondMs + 100,
    momentum: null,
    deltas: [null, null, null, null, null, null],
  };
}

/** LISTENs on `recio_price_btc`; `untilMarker()` sends a marker and resolves what came before. */
async function listen(sql: Sql) {
  const got: string[] = [];
  const channel = priceChannel("btc");
  const { unlisten } = await sql.listen(channel, (payload) => void got.push(payload));
  let markers = 0;
  return {
    got,
    /** Parsed notifications so far (markers left out). */
    notices: () => got.filter((p) => !p.startsWith("marker")).map(parsePriceNotification),
    /** Everything delivered before a marker committed now (commit order). */
    async untilMarker() {
      const marker = `marker ${++markers}`;
      await sql`select pg_notify(${channel}, ${marker})`;
      await eventually(() => got.includes(marker), { message: `no ${marker}` });
      return got.filter((p) => !p.startsWith("marker")).map(parsePriceNotification);
    },
    unlisten,
  };
}

async function holdLease(sql: Sql, holder: string): Promise<LeaseGrant> {
  const [r] = await sql<{ epoch: string }[]>`
    insert into system.leases (name, holder, epoch, acquired_at, renewed_at, expires_at)
    values (${NAME}, ${holder}, nextval('system.lease_epoch'), now(), now(), now() + '1 hour')
    on conflict (name) do update set holder = excluded.holder, epoch = excluded.epoch,
      renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
    returning epoch::text`;
  return { name: NAME, node: holder, epoch: Number(r!.epoch) };
}

Deno.test("createPriceStore() writes a queued row at once (no interval, the clock never moves) and the rows queued during that write right after it, in one write: one notification each", async () => {
  await using db = await createTestDb();
  const l = await listen(db.sql);
  const clock = new ManualClock(START);
  const batches: number[][] = [];
  const s = testStore(db.sql, {}, {
    maxBatch: 500,
    bufferRows: 3_600,
    clock,
    flushMs: 60_000,
    onDurable: (rows) => void batches.push(rows.map((r) => r.secondMs)),
  });
  s.start();
  // Inserts wait behind this lock until it is released: the first write is in flight meanwhile.
  const locker = createSql(db.url, { max: 1 });
  const release = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const holding = locker.begin(async (tx) => {
    await tx`lock table live_data.btc_price_log in share mode`;
    locked.resolve();
    await release.promise;
  });
  await locked.promise;
  s.enqueue(row(START, "100.50"));
  await clock.tick(0); // the zero-delay pass: no interval to wait for
  await eventually(async () => {
    const [w] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    return w!.n === 1;
  }, { message: "the first write is not waiting on the lock" });
  s.enqueue(row(START + 1_000, "101"));
  s.enqueue(row(START + 2_000, "102.25000"));
  release.resolve();
  await holding;
  await locker.end();
  // No timer fires from here on (the manual clock stays put): the pass goes on by itself.
  await eventually(() => batches.length === 2, { message: `batches ${JSON.stringify(batches)}` });
  assert.deepEqual(batches, [[START], [START + 1_000, START + 2_000]]);
  assert.deepEqual(await l.untilMarker(), [
    { symbol: "btc", timestamp: iso(START), price: "100.5", rows: 1 },
    { symbol: "btc", timestamp: iso(START + 2_000), price: "102.25", rows: 2 },
  ]);
  await s.close(1_000);
  await l.unlisten();
});

Deno.test("createPriceStore() announces exactly one notification per committed write on every path (unnest, with a gap record, COPY, a refused row split out) and none for a write that inserted nothing", async () => {
  await using db = await createTestDb();
  const l = await listen(db.sql);
  const counters: Record<string, number> = {};
  const bulk = () => createSql(db.url, { max: 1, noDelay: true });
  const s = testStore(db.sql, counters, { maxBatch: 10, bufferRows: 10_000, bulk });
  s.start();
  const want: unknown[] = [];
  // Rows already stored: the write inserts nothing and announces nothing.
  await db.sql`insert into live_data.btc_price_log ("timestamp", price, received_at)
    values (${new Date(START)}, 1, ${new Date(START)}), (${new Date(START + 1_000)}, 2, now())`;
  s.enqueue(row(START, "1"));
  s.enqueue(row(START + 1_000, "2"));
  assert.equal(await s.drain(5_000), true);
  assert.deepEqual(await l.untilMarker(), want, "nothing inserted, nothing announced");

  // Rows with a gap record: one transaction, one notification, the stored row not counted.
  s.recordGap({ fromMs: START - 60_000, toMs: START - 10_000, cause: "close" });
  for (const k of [1, 2, 3]) s.enqueue(row(START + k * 1_000, String(10 + k)));
  assert.equal(await s.drain(5_000), true);
  want.push({ symbol: "btc", timestamp: iso(START + 3_000), price: "13", rows: 2 });
  assert.deepEqual(await l.untilMarker(), want);

  // A backlog through COPY: one notification per COPY transaction.
  for (let k = 0; k < 50; k++) s.enqueue(row(START + 100_000 + k * 1_000, String(200 + k)));
  assert.equal(await s.drain(10_000), true);
  assert.equal(counters["rows.copied"], 50);
  want.push({ symbol: "btc", timestamp: iso(START + 149_000), price: "249", rows: 50 });
  assert.deepEqual(await l.untilMarker(), want);

  // A row PostgreSQL refuses: the batch is split in savepoints, the rest commits, one notice.
  await db.sql.unsafe(`alter table live_data.btc_price_log
    add constraint test_refuses_4242 check (price <> 4242)`);
  s.enqueue(row(START + 200_000, "300"));
  s.enqueue(row(START + 201_000, "4242"));
  s.enqueue(row(START + 202_000, "302"));
  s.enqueue(row(START + 203_000, "4242"));
  assert.equal(await s.drain(5_000), true);
  assert.equal(counters["rows.rejected"], 2);
  want.push({ symbol: "btc", timestamp: iso(START + 202_000), price: "302", rows: 2 });
  assert.deepEqual(await l.untilMarker(), want);
  assert.equal(counters["notifications"], 3);
  await s.close(1_000);
  await l.unlisten();
});

Deno.test("createPriceStore() (leased) announces nothing for a fenced write nor as a standby, and announces the rows once a grant writes them", async () => {
  await using db = await createTestDb();
  const l = await listen(db.sql);
  const clock = new ManualClock(START);
  let current: LeaseGrant | null = await holdLease(db.sql, "test");
  let fenced = 0;
  const s = testStore(db.sql, {}, {
    maxBatch: 10,
    bufferRows: 3_600,
    clock,
    lease: () => current,
    fenced: () => void fenced++,
  });
  s.start();
  await holdLease(db.sql, "other"); // the lease moved: this node's next write is fenced
  s.enqueue(row(START, "1"));
  await clock.tick(0);
  await eventually(() => fenced === 1, { message: "the write was not fenced" });
  assert.equal(s.role.role, "standby");
  assert.deepEqual(await l.untilMarker(), [], "a fenced write announces nothing");

  current = null; // a standby: queues, writes nothing
  s.enqueue(row(START + 1_000, "2"));
  await clock.tick(5_000);
  assert.equal(await s.drain(0), false);
  assert.deepEqual(await l.untilMarker(), [], "a standby announces nothing");
  assert.deepEqual(await readRows(db.sql), []);

  current = await holdLease(db.sql, "test");
  s.leaseChanged(current);
  assert.equal(await s.drain(5_000), true);
  assert.deepEqual(await l.untilMarker(), [
    { symbol: "btc", timestamp: iso(START + 1_000), price: "2", rows: 2 },
  ]);
  await s.close(1_000);
  await l.unlisten();
});

Deno.test("createPriceStore() refuses a symbol that makes no valid channel name", async () => {
  await using db = await createTestDb();
  for (const symbol of ["b1", "x", "abcdefghijk"]) {
    assert.throws(
      () => testStore(db.sql, {}, { maxBatch: 10, bufferRows: 3_600, symbol }),
      /Cannot name a channel for symbol/,
      symbol,
    );
  }
  // Symbols the store itself refuses (they would name no table either).
  assert.throws(
    () => testStore(db.sql, {}, { maxBatch: 10, bufferRows: 3_600, symbol: "btc_x; --" }),
    /is not \[a-z\]/,
  );
});

Deno.test("price_watchdog - the next second's first frame writes the previous second at once; with no further frame the last is written once the clock passes its end plus the grace", async () => {
  await using db = await createTestDb();
  const l = await listen(db.sql);
  await using fake = new FakeCoinbase();
  const clock = new ManualClock(START);
  await using w = await hostWatchdog({
    sql: db.sql,
    clock,
    args: {
      symbol: "BTC",
      wsUrl: fake.advancedUrl,
      restUrl: fake.restUrl,
      flushMs: 60_000,
      idleEmitMs: 30_000,
    },
  });
  await eventually(() => fake.subscribers() === 1);
  fake.tick({ timeMs: START + 100, price: "100" });
  fake.tick({ timeMs: START + 1_100, price: "101" }); // closes START; START + 1 s stays open
  // The actor's clock has not moved: no timer closed START, and no store interval wrote it.
  await eventually(async () => (await readRows(db.sql)).length === 1);
  assert.deepEqual(await l.untilMarker(), [
    { symbol: "btc", timestamp: iso(START), price: "100", rows: 1 },
  ]);
  // No later frame: START + 1 s closes at its end plus the grace (its exact instant is
  // ingest_test.ts's), complete.
  await clock.tick(1_000 - 100 + 150);
  await eventually(async () => (await readRows(db.sql)).length === 2);
  const rows = await readRows(db.sql);
  assert.deepEqual(rows.map((r) => [r.t, r.complete]), [[START, true], [START + 1_000, true]]);
  assert.deepEqual(await l.untilMarker(), [
    { symbol: "btc", timestamp: iso(START), price: "100", rows: 1 },
    { symbol: "btc", timestamp: iso(START + 1_000), price: "101", rows: 1 },
  ]);
  await clock.tick(100); // a heartbeat carries the counters
  assert.equal(w.counters()["rows.closed_by_clock"], 1);
  await w.stop();
  await l.unlisten();
});
