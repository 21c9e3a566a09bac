/**
 * The strike coordinator driven by notifications (`actors/strike_coordinator/triggers.ts`),
 * hosted by the real runtime on a fake clock against a real PostgreSQL, listening on its own
 * pool: a price row committed with its `NOTIFY` (as the price watchdog writes it) runs a cycle
 * at once, the timer never firing; a burst of 100 runs two cycles and the table shows the newest
 * price; the safety-net timer still runs a cycle without notifications, and a refused LISTEN is
 * retried; a coordinator fenced
 * from the start publishes and notifies nothing; malformed payloads are ignored and counted; a
 * market snapshot of its series runs a cycle. And the market watchdog's snapshot transaction
 * notifies `recio_market_snapshot` only when it commits.
 *
 * "Nothing was notified" is shown without waiting: the test sends a sentinel on the same channel
 * afterwards, and PostgreSQL delivers notifications in commit order, so the sentinel must come
 * first.
 */
import assert from "node:assert/strict";
import { writeJsonAtomic } from "../actors/strike_coordinator/files.ts";
import {
  type CoordinatorSettings,
  createStrikeCoordinator,
} from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { createMarketStore } from "../actors/kalshi_market_watchdog/store.ts";
import { validateSnapshot } from "../actors/kalshi_market_watchdog/snapshot.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import { FENCED_SQLSTATE, type LeaseGrant } from "../lib/fence.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import {
  MARKET_SNAPSHOT_CHANNEL,
  parseStrikeTableNotification,
  priceChannel,
  strikeTableChannel,
} from "../lib/notify_channels.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { seedStrikeEvent } from "./_strike_seed.ts";
import { eventually } from "./_eventually.ts";
import { grantLease, hostLeased, NODE } from "./_leased_actor.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const ID = "strike_coordinator:btc";
const EVENT = "KXBTCD-26NOV2415";
/** Half an hour before EVENT's strike time (20:00 UTC). */
const T0 = Date.UTC(2026, 10, 24, 19, 30);
const CYCLE_MS = 1_000;
const SAFETY_MS = 5 * CYCLE_MS;
const TABLE = strikeTableChannel("btc");

/** Ten minutes of prices ending 200 s before T0, EVENT and its 40 markets observed at T0. */
async function seed(db: TestDb): Promise<void> {
  const prices = Array.from({ length: 601 }, (_, i) => ({
    timestamp: new Date(T0 - 200_000 - (600 - i) * 1000),
    price: String(i % 2 === 0 ? 100_000 : 100_050),
  }));
  await db.sql`insert into live_data.btc_price_log ${db.sql(prices, "timestamp", "price")}`;
  await seedStrikeEvent(db, {
    event: EVENT,
    strikeDate: new Date(T0 + 1_800_000),
    observedAt: new Date(T0),
  });
}

/** A price row and its notification in one transaction, as the price watchdog commits them. */
async function writePrice(db: TestDb, atMs: number, price: string): Promise<void> {
  await db.sql.begin(async (tx) => {
    await tx`insert into live_data.btc_price_log ("timestamp", price)
      values (${new Date(atMs)}, ${price})`;
    await tx`select pg_notify(${priceChannel("btc")}, ${
      JSON.stringify({ symbol: "btc", timestamp: new Date(atMs).toISOString(), price, rows: 1 })
    })`;
  });
}

const notify = (db: TestDb, channel: string, payload: string) =>
  db.sql`select pg_notify(${channel}, ${payload})`;

async function headerPrice(db: TestDb): Promise<string | null> {
  const [h] = await db.sql<{ price: string }[]>`
    select current_price::text as price from live_data.strike_table_header where symbol = 'BTC'`;
  return h?.price ?? null;
}

/**
 * The coordinator on `clock` with `grant`, listening on its own pool; `gate` (when given) holds
 * every cycle's first read until it resolves.
 */
function coordinator(
  db: TestDb,
  grant: LeaseGrant,
  clock: ManualClock,
  gate?: { wait: () => Promise<void> },
  refuse?: () => boolean,
) {
  const sql = createSql(db.url, { max: 2 });
  const settings: CoordinatorSettings = {
    symbol: "BTC",
    mode: "closed_form",
    cycleMs: CYCLE_MS,
    strikeCount: 21,
    volWindowS: 600,
    volFloorAnnual: 0.01,
    momentumDrift: 0,
    priceMaxAgeMs: 3_600_000,
    marketMaxAgeMs: 3_600_000,
    outputDir: null,
    watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
  };
  const store = createCoordinatorStore(sql, "BTC");
  return hostLeased((ctx) =>
    createStrikeCoordinator(ctx, {
      store: gate
        ? { ...store, latestPrice: () => gate.wait().then(() => store.latestPrice()) }
        : store,
      settings,
      writeJson: writeJsonAtomic,
      listen: (channel, fn, onListen) =>
        refuse?.()
          ? Promise.reject(new Error("connection refused"))
          : sql.listen(channel, fn, onListen),
      close: () => sql.end({ timeout: 1 }),
    }), { id: ID, lease: grant, clock });
}

/** Payloads received on `channel` by the test's own connection. */
async function listening(db: TestDb, channel: string): Promise<string[]> {
  const seen: string[] = [];
  await db.sql.listen(channel, (p) => seen.push(p));
  return seen;
}

Deno.test("strike_coordinator - a committed price row runs a cycle at once (the timer does not fire) and the table is notified", async () => {
  await using db = await createTestDb();
  await seed(db);
  const tables = await listening(db, TABLE);
  const clock = new ManualClock(T0);
  await using h = coordinator(db, await grantLease(db, ID), clock);
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1);
  assert.equal(await headerPrice(db), "100000");

  clock.set(T0 + 1_000); // wall clock only: no timer fires
  await writePrice(db, T0 - 100_000, "101000.5");
  await eventually(async () => (await headerPrice(db)) === "101000.5");
  await eventually(() => h.counter("cycles.published") === 2);
  assert.equal(h.counter("triggers.price"), 1);
  assert.equal(h.counter("triggers.timer"), 0, "the safety-net timer did not fire");
  assert.equal(clock.nextTimerAt, SAFETY_MS, "re-armed from the cycle's end (fake time 0)");

  const [hist] = await db.sql<{ n: number }[]>`select count(*)::int as n
    from live_data.strike_table_history where cycle_at = ${new Date(T0 + 1_000)}
      and current_price = 101000.5`;
  assert.equal(hist!.n, 21, "the history row of that cycle committed with the table");
  await eventually(() => tables.length === 2);
  assert.deepEqual(tables.map((p) => parseStrikeTableNotification(p)), [
    { symbol: "btc", cycleAt: new Date(T0).toISOString() },
    { symbol: "btc", cycleAt: new Date(T0 + 1_000).toISOString() },
  ]);
});

Deno.test("strike_coordinator - a burst of 100 price notifications runs two cycles and the last table shows the newest price", async () => {
  await using db = await createTestDb();
  await seed(db);
  let hold: Promise<void> | null = null;
  let release = () => {};
  const gate = { wait: () => hold ?? Promise.resolve() };
  const clock = new ManualClock(T0);
  await using h = coordinator(db, await grantLease(db, ID), clock, gate);
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1);

  hold = new Promise<void>((r) => (release = r));
  for (let i = 1; i <= 100; i++) await writePrice(db, T0 - 200_000 + i * 1000, String(100_000 + i));
  // One cycle held in flight, one queued, 98 folded into the queued one.
  await eventually(() => h.counter("triggers.coalesced") === 98);
  assert.equal(h.counter("triggers.price"), 1);
  hold = null;
  release();
  await eventually(() => h.counter("cycles.published") === 3);
  assert.equal(h.counter("triggers.price"), 2, "bounded: the running cycle and one queued");
  assert.equal(await headerPrice(db), "100100");
  assert.equal(h.counter("cycles.failed"), 0);
});

Deno.test("strike_coordinator - without notifications the safety-net timer still runs a cycle", async () => {
  await using db = await createTestDb();
  await seed(db);
  const clock = new ManualClock(T0);
  await using h = coordinator(db, await grantLease(db, ID), clock);
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1);
  await db.sql`insert into live_data.btc_price_log ("timestamp", price)
    values (${new Date(T0 - 100_000)}, 99000)`; // no NOTIFY
  await clock.tick(SAFETY_MS);
  await eventually(async () => (await headerPrice(db)) === "99000");
  await eventually(() => h.counter("triggers.timer") === 1);
  assert.equal(h.counter("triggers.price"), 0);
});

Deno.test("strike_coordinator - a refused LISTEN is counted, the timer still cycles, and it listens again", async () => {
  await using db = await createTestDb();
  await seed(db);
  let refuse = true;
  const clock = new ManualClock(T0);
  await using h = coordinator(db, await grantLease(db, ID), clock, undefined, () => refuse);
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1 && h.counter("listen.failed") === 1);
  refuse = false;
  await clock.tick(SAFETY_MS); // the safety net and the retry of the LISTEN
  await eventually(() => h.counter("triggers.timer") === 1 && h.counter("triggers.relisten") === 1);
  await writePrice(db, T0 - 100_000, "103000");
  await eventually(async () => (await headerPrice(db)) === "103000");
  await eventually(() => h.counter("triggers.price") === 1);
  assert.equal(h.counter("listen.failed"), 1);
});

Deno.test("strike_coordinator - fenced from the start (missing or expired lease), a notified cycle publishes nothing and notifies nothing", async () => {
  await using db = await createTestDb();
  await seed(db);
  const expired = await grantLease(db, `${ID}:expired`, { ttl: "-1 second" });
  // Missing: fresh inputs (the publish is refused); expired: an hour later (the stale flag is).
  const cases: [LeaseGrant, number][] = [[{ name: ID, node: NODE, epoch: 1 }, T0], [
    expired,
    T0 + 3_600_000 * 2,
  ]];
  for (const [grant, now] of cases) {
    const tables = await listening(db, TABLE);
    const h = coordinator(db, grant, new ManualClock(now));
    try {
      await h.ready();
      await eventually(() => h.counter("writes.fenced") === 1);
      await writePrice(db, now - 1_000, "102000");
      await eventually(() => h.counter("triggers.price") === 1 && h.counter("cycles.standby") >= 1);
      await notify(db, TABLE, "sentinel");
      await eventually(() => tables.length >= 1);
      assert.deepEqual(tables, ["sentinel"], "nothing was notified before the sentinel");
      assert.equal(await headerPrice(db), null);
      const [n] = await db.sql<{ n: number }[]>`select
        (select count(*)::int from live_data.strike_table) +
        (select count(*)::int from live_data.strike_table_history) as n`;
      assert.equal(n!.n, 0);
      assert.equal(h.counter("cycles.published"), 0);
    } finally {
      await h.stop();
      await db.sql`delete from live_data.btc_price_log where price = 102000`;
    }
  }
});

Deno.test("strike_coordinator - malformed notification payloads are ignored and counted; a market snapshot of its series runs a cycle", async () => {
  await using db = await createTestDb();
  await seed(db);
  const clock = new ManualClock(T0);
  await using h = coordinator(db, await grantLease(db, ID), clock);
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1);
  const price = priceChannel("btc");
  const good = { symbol: "btc", timestamp: new Date(T0).toISOString(), price: "1", rows: 1 };
  for (
    const [channel, payload] of [
      [price, "not json"],
      [price, JSON.stringify({ ...good, symbol: "eth" })],
      [price, JSON.stringify({ ...good, price: 1 })],
      [price, ""],
      [MARKET_SNAPSHOT_CHANNEL, JSON.stringify({ event: EVENT, series: "KXBTCD" })],
    ]
  ) await notify(db, channel!, payload!);
  const snapshot = { event: "KXETHD-X", series: "KXETHD", observedAt: good.timestamp, markets: 3 };
  await notify(db, MARKET_SNAPSHOT_CHANNEL, JSON.stringify(snapshot)); // another series: ignored
  await notify(db, MARKET_SNAPSHOT_CHANNEL, JSON.stringify({ ...snapshot, series: "KXBTCD" }));
  await eventually(() => h.counter("triggers.market") === 1);
  assert.equal(h.counter("rejected.bad_notification"), 5);
  assert.equal(h.counter("triggers.price"), 0, "no malformed payload ran a cycle");
  await eventually(() => h.counter("cycles.published") === 2);
});

Deno.test("kalshi_market_watchdog store - a committed snapshot notifies recio_market_snapshot; a fenced one notifies nothing", async () => {
  await using db = await createTestDb();
  const keys = await generateTestKeys();
  await using fake = FakeKalshi.start(keys);
  const now = Date.UTC(2026, 8, 1, 10, 30);
  const current = fake.addHourlyEvent("KXBTCD", now + 1_800_000);
  const client = new KalshiClient({ baseUrl: fake.baseUrl, retry: { maxAttempts: 1 } });
  const body = await client.request("GET", `/events/${current}`, {
    query: { with_nested_markets: true },
  });
  const v = validateSnapshot(body, current);
  assert.ok(v.ok);
  const seen = await listening(db, MARKET_SNAPSHOT_CHANNEL);
  const store = createMarketStore(db.sql);
  const stale: LeaseGrant = { name: "kalshi_market_watchdog", node: NODE, epoch: 1 };
  await assert.rejects(
    store.writeSnapshot(v.snapshot, new Date(now), "btc", stale),
    (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE,
  );
  await notify(db, MARKET_SNAPSHOT_CHANNEL, "sentinel");
  await eventually(() => seen.length === 1);
  assert.deepEqual(seen, ["sentinel"]);
  const written = await store.writeSnapshot(v.snapshot, new Date(now), "btc");
  await eventually(() => seen.length === 2);
  assert.deepEqual(JSON.parse(seen[1]!), {
    event: current,
    series: "KXBTCD",
    observedAt: new Date(now).toISOString(),
    markets: written.markets,
  });
  assert.ok(written.markets > 0);
});
