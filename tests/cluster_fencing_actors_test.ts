/**
 * Fencing of two cold singletons (cluster mode, `lib/fence.ts`), `kalshi_market_watchdog` and
 * `strike_coordinator`, each hosted by the real runtime with a lease grant in its init, against a
 * real PostgreSQL and the fake Kalshi. A held grant writes; once the lease row moves to another
 * node the next write commits nothing (nor any archive or JSON file), `writes.fenced` is counted
 * and `fenced` is posted; a lost lease (null) stops writing at once; a new grant writes again; a
 * grant for a missing or an expired lease row is fenced from the start. The account sync:
 * `cluster_fencing_account_sync_test.ts`.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { FENCED_SQLSTATE, type LeaseGrant } from "../lib/fence.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createMarketWatchdog, resolveArgs } from "../actors/kalshi_market_watchdog/mod.ts";
import { createMarketStore } from "../actors/kalshi_market_watchdog/store.ts";
import { validateSnapshot } from "../actors/kalshi_market_watchdog/snapshot.ts";
import { writeJsonAtomic } from "../actors/strike_coordinator/files.ts";
import {
  type CoordinatorSettings,
  createStrikeCoordinator,
} from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { seedStrikeEvent } from "./_strike_seed.ts";
import { eventually } from "./_eventually.ts";
import { grantLease, hostLeased, moveLease } from "./_leased_actor.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
/** 10:30 UTC on 1 Sep 2026: the watchdog's current event settles at 11:00 UTC. */
const NOW = Date.UTC(2026, 8, 1, 10, 30);
const H = 3_600_000;
const isRefusal = (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE;

async function count(sql: Sql, table: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
  return r!.n;
}

// ---- kalshi_market_watchdog ------------------------------------------------------------------

const WATCHDOG = "kalshi_market_watchdog";

function watchdog(db: TestDb, fake: FakeKalshi, lease: LeaseGrant | null, archiveDir?: string) {
  const clock = new ManualClock(NOW);
  const h = hostLeased((ctx) =>
    createMarketWatchdog(ctx, {
      settings: resolveArgs({
        baseUrl: fake.baseUrl,
        series: ["KXBTCD"],
        ...(archiveDir ? { archiveDir, archiveEveryMs: 0 } : {}),
      }),
      client: new KalshiClient({ baseUrl: fake.baseUrl, clock, retry: { maxAttempts: 1 } }),
      store: createMarketStore(db.sql),
      autoPoll: false,
    }), { id: WATCHDOG, lease, clock });
  return { h, clock };
}

async function archived(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    n += e.isDirectory ? await archived(`${dir}/${e.name}`) : 1;
  }
  return n;
}

Deno.test("kalshi_market_watchdog writes under a held grant; after the lease moves, its next snapshots commit nothing, are counted and reported once, and it stops polling", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const current = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const archive = await Deno.makeTempDir();
  const grant = await grantLease(db, WATCHDOG);
  const { h, clock } = watchdog(db, fake, grant, archive);
  try {
    await h.ready();
    const first = await h.actor().cycle();
    assert.equal(first.written, 2);
    assert.equal(await count(db.sql, "live_data.kalshi_market_history"), 150);
    assert.equal(await archived(archive), 2);

    await moveLease(db, WATCHDOG);
    fake.updateMarket(`${current}-T100249.99`, { yes_bid_dollars: undefined, yes_bid: 61 });
    clock.advance(1_000);
    const second = await h.actor().cycle();
    assert.deepEqual([second.written, second.historyRows, second.failed], [0, 0, 0]);
    assert.equal(await count(db.sql, "live_data.kalshi_market_history"), 150, "no quote change");
    const [s] = await db.sql<{ newest: Date }[]>`
      select max(observed_at) as newest from live_data.kalshi_market_state`;
    assert.equal(s!.newest.getTime(), NOW, "the state is the held grant's");
    assert.equal(await archived(archive), 2, "no archive file without the lease");
    // Both events' writes were refused; the step-down is reported once, for the held grant.
    await eventually(() => h.counter("writes.fenced") === 2);
    assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
    assert.match(h.fenced()[0]!.error, /Fenced/);
    assert.equal(h.counter("errors.write"), 0, "not a database failure");

    const calls = fake.calls.length;
    const third = await h.actor().cycle();
    assert.equal(third.written, 0);
    assert.equal(fake.calls.length, calls, "stepped down: Kalshi is not polled");
  } finally {
    await h.stop();
    await Deno.remove(archive, { recursive: true });
  }
});

Deno.test("kalshi_market_watchdog stops writing at once when the lease is lost and writes under a new grant; the old grant stays refused", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const current = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const old = await grantLease(db, WATCHDOG);
  const { h, clock } = watchdog(db, fake, old);
  await using _ = h;
  await h.ready();
  assert.equal((await h.actor().cycle()).written, 2);

  h.setLease(null);
  fake.updateMarket(`${current}-T100249.99`, { yes_bid_dollars: undefined, yes_bid: 61 });
  clock.advance(1_000);
  const calls = fake.calls.length;
  assert.equal((await h.actor().cycle()).written, 0);
  assert.equal(fake.calls.length, calls);
  assert.equal(await count(db.sql, "live_data.kalshi_market_history"), 150);

  const renewed = await grantLease(db, WATCHDOG);
  assert.ok(renewed.epoch > old.epoch);
  h.setLease(renewed);
  const again = await h.actor().cycle();
  assert.deepEqual([again.written, again.historyRows], [2, 1]);
  assert.equal(h.counter("writes.fenced"), 0, "nothing was refused");
  assert.deepEqual(h.fenced(), []);

  // A snapshot written under the superseded grant is refused by the database, whole.
  const client = new KalshiClient({ baseUrl: fake.baseUrl, retry: { maxAttempts: 1 } });
  fake.updateMarket(`${current}-T100249.99`, { yes_bid_dollars: undefined, yes_bid: 40 });
  const body = await client.request("GET", `/events/${current}`, {
    query: { with_nested_markets: true },
  });
  const v = validateSnapshot(body, current);
  assert.ok(v.ok);
  await assert.rejects(
    createMarketStore(db.sql).writeSnapshot(v.snapshot, new Date(NOW + 5_000), "btc", old),
    isRefusal,
  );
  const [s] = await db.sql<{ newest: Date; history: number }[]>`
    select max(observed_at) as newest,
      (select count(*)::int from live_data.kalshi_market_history) as history
    from live_data.kalshi_market_state`;
  assert.deepEqual([s!.newest.getTime(), s!.history], [NOW + 1_000, 151]);
});

Deno.test("kalshi_market_watchdog with a grant for a missing lease row or an expired lease writes nothing and reports it", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  const missing: LeaseGrant = { name: WATCHDOG, node: "node-a", epoch: 1 };
  const expired = await grantLease(db, `${WATCHDOG}:expired`, { ttl: "-1 second" });
  for (const grant of [missing, expired]) {
    const { h } = watchdog(db, fake, grant);
    await using _ = h;
    await h.ready();
    assert.equal((await h.actor().cycle()).written, 0);
    await eventually(() => h.counter("writes.fenced") === 1);
    assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
    assert.equal(await count(db.sql, "live_data.kalshi_market_state"), 0);
    assert.equal(await count(db.sql, "live_data.kalshi_events"), 0);
  }
});

// ---- strike_coordinator ----------------------------------------------------------------------

const COORDINATOR = "strike_coordinator:btc";
const EVENT = "KXBTCD-26NOV2415";
/** Half an hour before EVENT's strike time (20:00 UTC). */
const T0 = Date.UTC(2026, 10, 24, 19, 30);

/** Ten minutes of BTC prices up to `clock`'s now, EVENT and its 40 markets, all fresh. */
async function seedCoordinator(db: TestDb, now: number): Promise<void> {
  const prices = Array.from({ length: 601 }, (_, i) => ({
    timestamp: new Date(now - (600 - i) * 1000),
    price: String(i % 2 === 0 ? 100_000 : 100_050),
  }));
  await db.sql`insert into live_data.btc_price_log ${db.sql(prices, "timestamp", "price")}`;
  await seedStrikeEvent(db, {
    event: EVENT,
    strikeDate: new Date(now + 1_800_000),
    observedAt: new Date(now),
  });
}

function coordinator(db: TestDb, outputDir: string, lease: LeaseGrant | null, clock: ManualClock) {
  const settings: CoordinatorSettings = {
    symbol: "BTC",
    mode: "closed_form",
    cycleMs: H, // cycles are driven by the test
    strikeCount: 21,
    volWindowS: 600,
    volFloorAnnual: 0.01,
    momentumDrift: 0,
    priceMaxAgeMs: 10_000,
    marketMaxAgeMs: 15_000,
    outputDir,
    watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
  };
  return hostLeased((ctx) =>
    createStrikeCoordinator(ctx, {
      store: createCoordinatorStore(db.sql, "BTC"),
      settings,
      writeJson: writeJsonAtomic,
    }), { id: COORDINATOR, lease, clock });
}

/** The stored header and the two files (null when absent). */
async function published(db: TestDb, dir: string) {
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`).catch(() => null);
  const [h] = await db.sql<{ price: string; stale: boolean; reason: string | null }[]>`
    select current_price::text as price, stale, stale_reason as reason
    from live_data.strike_table_header where symbol = 'BTC'`;
  return {
    header: h ? { ...h } : null,
    rows: await count(db.sql, "live_data.strike_table"),
    table: await read("btc_strike_table.json"),
    watchlist: await read("btc_watchlist.json"),
  };
}

Deno.test("strike_coordinator publishes under a held grant; after the lease moves its next cycle commits nothing, writes no file, is counted and reported", async () => {
  await using db = await createTestDb();
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  await seedCoordinator(db, T0);
  const grant = await grantLease(db, COORDINATOR);
  const h = coordinator(db, dir, grant, clock);
  try {
    await h.ready();
    await eventually(() => h.counter("cycles.published") === 1);
    const before = await published(db, dir);
    assert.deepEqual([before.header?.price, before.rows], ["100000", 21]);
    assert.ok(before.table && before.watchlist);

    await moveLease(db, COORDINATOR);
    clock.advance(1_000);
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values (${new Date(clock.now())}, 100500)`;
    assert.deepEqual(await h.actor().cycle(), { published: false, fenced: true });
    assert.deepEqual(await published(db, dir), before, "neither the table nor a file changed");
    await eventually(() => h.counter("writes.fenced") === 1);
    assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
    assert.equal(h.counter("cycles.failed"), 0, "not a failed cycle");

    assert.deepEqual(await h.actor().cycle(), { published: false, fenced: true });
    assert.equal(h.counter("writes.fenced"), 1, "stepped down: nothing more is tried");
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("strike_coordinator stops writing at once when the lease is lost and writes under a new grant; the old grant cannot flag the table stale", async () => {
  await using db = await createTestDb();
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  await seedCoordinator(db, T0);
  const old = await grantLease(db, COORDINATOR);
  const h = coordinator(db, dir, old, clock);
  try {
    await h.ready();
    await eventually(() => h.counter("cycles.published") === 1);
    const fresh = await published(db, dir);

    h.setLease(null);
    clock.advance(60_000); // the inputs are stale now: a holder would flag the table
    assert.deepEqual(await h.actor().cycle(), { published: false, fenced: true });
    assert.deepEqual(await published(db, dir), fresh);

    h.setLease(await grantLease(db, COORDINATOR));
    const r = await h.actor().cycle();
    assert.equal(r.published, false);
    assert.ok("stale" in r);
    const stale = await published(db, dir);
    assert.deepEqual(stale.header, { price: "100000", stale: true, reason: r.stale });
    assert.equal(JSON.parse(stale.table!).stale, true);
    assert.equal(h.counter("writes.fenced"), 0);

    const store = createCoordinatorStore(db.sql, "BTC");
    await assert.rejects(store.markStale("from the old grant", old), isRefusal);
    assert.deepEqual((await published(db, dir)).header, stale.header);
    assert.deepEqual(h.fenced(), []);
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("strike_coordinator with a grant for a missing lease row or an expired lease writes no table, flag or file", async () => {
  await using db = await createTestDb();
  await seedCoordinator(db, T0);
  const expired = await grantLease(db, `${COORDINATOR}:expired`, { ttl: "-1 second" });
  // Missing: fresh inputs (the publish is refused); expired: an hour later (the stale flag is).
  const cases: [LeaseGrant, number][] = [
    [{ name: COORDINATOR, node: "node-a", epoch: 1 }, T0],
    [expired, T0 + H],
  ];
  for (const [grant, now] of cases) {
    const dir = await Deno.makeTempDir();
    const h = coordinator(db, dir, grant, new ManualClock(now));
    try {
      await h.ready();
      await eventually(() => h.counter("writes.fenced") === 1);
      assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
      assert.deepEqual(await published(db, dir), {
        header: null,
        rows: 0,
        table: null,
        watchlist: null,
      });
    } finally {
      await h.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }
});
