/**
 * `live_data.strike_table_history` against a real PostgreSQL: N published cycles are N stored
 * tables, each read back column by column as the table and header that were published, with the
 * model's YES probability, the bids, the close and the inputs' ages; a stale cycle stores nothing;
 * a fenced coordinator stores no history; the partition jobs create and drop its months, and the
 * backup dumps and restores it.
 */
import assert from "node:assert/strict";
import {
  type CoordinatorSettings,
  createStrikeCoordinator,
} from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { runBackup } from "../actors/jobs/backup/mod.ts";
import { verifyBackup } from "../actors/jobs/backup/verify.ts";
import { maintainPartitions } from "../actors/jobs/partition_maintenance/mod.ts";
import { applyRetention } from "../actors/jobs/retention/mod.ts";
import { ManualClock } from "../lib/clock.ts";
import { pgBinDirs } from "../lib/pg_tools.ts";
import type { Sql } from "../lib/db.ts";
import { FENCED_SQLSTATE } from "../lib/fence.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { seedStrikeEvent } from "./_strike_seed.ts";
import { eventually } from "./_eventually.ts";
import { testContext } from "./_kalshi.ts";
import { grantLease, hostLeased, moveLease } from "./_leased_actor.ts";
import { NO_PG_TOOLS } from "./_pg_tools.ts";
import { tempDir } from "./_temp.ts";

const EVENT = "KXBTCD-26NOV2415";
/** Half an hour before EVENT's strike time (20:00 UTC). */
const T0 = Date.UTC(2026, 10, 24, 19, 30);
const CLOSE = Date.UTC(2026, 10, 24, 20);
/** The newest price row and the market snapshot are this old at every cycle. */
const PRICE_AGE = 1_250;
const MARKET_AGE = 2_500;

const SETTINGS: CoordinatorSettings = {
  symbol: "BTC",
  mode: "closed_form",
  cycleMs: 3_600_000, // cycles are driven by the test
  strikeCount: 21,
  volWindowS: 600,
  volFloorAnnual: 0.01,
  momentumDrift: 0,
  priceMaxAgeMs: 10_000,
  marketMaxAgeMs: 15_000,
  outputDir: null,
  watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
};

/** Ten minutes of prices ending PRICE_AGE before `now`, EVENT and 40 markets seen MARKET_AGE ago. */
async function seed(db: TestDb, now: number): Promise<void> {
  const prices = Array.from({ length: 601 }, (_, i) => ({
    timestamp: new Date(now - PRICE_AGE - (600 - i) * 1000),
    price: String(i % 2 === 0 ? 100_000 : 100_050),
    momentum: "0.015",
  }));
  await db.sql`insert into live_data.btc_price_log ${
    db.sql(prices, "timestamp", "price", "momentum")
  }`;
  await seedStrikeEvent(db, {
    event: EVENT,
    strikeDate: new Date(CLOSE),
    observedAt: new Date(now - MARKET_AGE),
    market: (i) => ({
      yes_bid: i === 20 ? null : "0.4900",
      yes_ask: "0.5000",
      no_bid: "0.4800",
      no_ask: i === 30 ? null : "0.5100",
      volume: String(1_000 + i),
      close_time: new Date(CLOSE),
    }),
  });
}

/** The next second: a new price (moving the table) and a new market snapshot, both as old as always. */
async function tick(db: TestDb, clock: ManualClock, i: number): Promise<void> {
  clock.advance(1_000);
  await db.sql`insert into live_data.btc_price_log ("timestamp", price, momentum)
    values (${new Date(clock.now() - PRICE_AGE)}, ${100_000 + 40 * i}, ${(0.01 * i).toFixed(3)})`;
  await db.sql`update live_data.kalshi_market_state
    set observed_at = ${new Date(clock.now() - MARKET_AGE)}, yes_ask = ${
    (0.5 + i / 100).toFixed(2)
  }`;
}

function coordinator(db: TestDb, clock: ManualClock) {
  const t = testContext({ id: "strike_coordinator:btc", clock });
  return createStrikeCoordinator(t.ctx, {
    store: createCoordinatorStore(db.sql, "BTC"),
    settings: SETTINGS,
    writeJson: () => Promise.resolve(),
  });
}

/** The published table and header, every column as text. */
async function publishedNow(sql: Sql) {
  const rows = await sql<Record<string, string | null>[]>`
    select strike::text, buffer::text, buffer_pct::text, probability::text, yes_ask::text,
      no_ask::text, yes_diff::text, no_diff::text, volume::text, ticker, active_side, event_ticker
    from live_data.strike_table where symbol = 'BTC' order by strike`;
  const [h] = await sql<Record<string, string | null>[]>`
    select current_price::text, ttc_seconds::text, event_ticker, model_mode, momentum::text,
      last_updated from live_data.strike_table_header where symbol = 'BTC'`;
  return { rows: rows.map((r) => ({ ...r })), header: { ...h! } };
}

/** One stored cycle, in the shape {@linkcode publishedNow} reads, plus the history's own columns. */
async function storedCycle(sql: Sql, cycleAt: Date) {
  const rows = await sql<Record<string, string | null>[]>`
    select strike::text, buffer::text, buffer_pct::text, side_probability::text as probability,
      yes_ask::text, no_ask::text, yes_diff::text, no_diff::text, volume::text, ticker,
      active_side, event_ticker, current_price::text, ttc_seconds::text, model_mode,
      momentum::text, probability::text as prob_yes, yes_bid::text, no_bid::text, close_time,
      price_age_ms, market_age_ms, stale
    from live_data.strike_table_history where symbol = 'BTC' and cycle_at = ${cycleAt}
    order by strike`;
  return rows.map((r) => ({ ...r }));
}

Deno.test("strike_table_history - N published cycles are N stored tables, each read back exactly as published", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock.now());
  const c = coordinator(db, clock);
  const published: Awaited<ReturnType<typeof publishedNow>>[] = [];
  const N = 6;
  for (let i = 0; i < N; i++) {
    if (i > 0) await tick(db, clock, i);
    assert.deepEqual(await c.cycle(), { published: true, strikes: 21 });
    published.push(await publishedNow(db.sql));
  }
  const cycles = await db.sql<{ cycle_at: Date; n: number }[]>`
    select cycle_at, count(*)::int as n from live_data.strike_table_history
    group by cycle_at order by cycle_at`;
  assert.deepEqual(
    cycles.map((x) => [x.cycle_at.getTime(), x.n]),
    Array.from({ length: N }, (_, i) => [T0 + i * 1000, 21]),
  );
  assert.notDeepEqual(published[0]!.rows, published[N - 1]!.rows, "the table moved");

  for (const p of published) {
    const cycleAt = p.header.last_updated as unknown as Date;
    const stored = await storedCycle(db.sql, cycleAt);
    assert.equal(stored.length, p.rows.length);
    for (const [k, s] of stored.entries()) {
      const { current_price, ttc_seconds, model_mode, momentum, ...row } = s;
      const table = Object.fromEntries(Object.keys(p.rows[k]!).map((key) => [key, row[key]]));
      assert.deepEqual(table, p.rows[k], `cycle ${cycleAt.toISOString()} strike ${s.strike}`);
      assert.deepEqual(
        { current_price, ttc_seconds, model_mode, momentum, event_ticker: s.event_ticker },
        {
          current_price: p.header.current_price,
          ttc_seconds: p.header.ttc_seconds,
          model_mode: p.header.model_mode,
          momentum: p.header.momentum,
          event_ticker: p.header.event_ticker,
        },
      );
      // The history's own columns: P(YES) behind the active side's probability and the edges.
      const pYes = Number(s.prob_yes);
      const side = Number(s.probability);
      if (s.active_side === "yes") assert.equal(pYes, side);
      else assert.ok(Math.abs(pYes + side - 100) <= 0.01 + 1e-9, `${pYes} + ${side}`);
      assert.ok(Math.abs(pYes - Number(s.yes_ask) - Number(s.yes_diff)) <= 0.01 + 1e-9);
      const strike = Number(s.strike);
      assert.equal(s.yes_bid, strike === 100_000 ? null : "49");
      assert.equal(s.no_bid, "48");
      assert.equal((s.close_time as unknown as Date).getTime(), CLOSE);
      assert.deepEqual([s.price_age_ms, s.market_age_ms, s.stale], [PRICE_AGE, MARKET_AGE, false]);
    }
  }
});

Deno.test("strike_table_history - a cycle at the same instant replaces its history; a stale cycle stores nothing", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock.now());
  const c = coordinator(db, clock);
  assert.equal((await c.cycle()).published, true);
  await db.sql`update live_data.kalshi_market_state set yes_ask = 0.61`;
  assert.equal((await c.cycle()).published, true, "the same cycle_at does not fail the publish");
  const stored = await storedCycle(db.sql, new Date(T0));
  assert.equal(stored.length, 21);
  assert.ok(stored.every((r) => r.yes_ask === "61"), "the later table of that instant");

  clock.advance(60_000); // every input is stale now
  const r = await c.cycle();
  assert.equal(r.published, false);
  const [n] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from live_data.strike_table_history`;
  assert.equal(n!.n, 21);
});

Deno.test("strike_table_history - a fenced coordinator stores no history, and the old grant cannot write any", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock.now());
  const name = "strike_coordinator:btc";
  const grant = await grantLease(db, name);
  const store = createCoordinatorStore(db.sql, "BTC");
  const h = hostLeased((ctx) =>
    createStrikeCoordinator(ctx, {
      store,
      settings: SETTINGS,
      writeJson: () => Promise.resolve(),
    }), { id: name, lease: grant, clock });
  await using _ = h;
  await h.ready();
  await eventually(() => h.counter("cycles.published") === 1);
  const history = async () =>
    (await db.sql<{ n: number }[]>`
      select count(*)::int as n from live_data.strike_table_history`)[0]!.n;
  assert.equal(await history(), 21);

  await moveLease(db, name);
  await tick(db, clock, 1);
  assert.deepEqual(await h.actor().cycle(), { published: false, fenced: true });
  await eventually(() => h.counter("writes.fenced") === 1);
  assert.equal(await history(), 21, "nothing of the fenced cycle");

  const [header] = await db.sql<{ last_updated: Date }[]>`
    select last_updated from live_data.strike_table_header`;
  await assert.rejects(
    store.publish(
      {
        symbol: "BTC",
        current_price: 1,
        ttc_seconds: 1,
        broker: "Kalshi",
        event_ticker: EVENT,
        market_title: null,
        strike_tier: null,
        market_status: null,
        momentum: null,
        deltas: {},
        model_mode: "closed_form",
        last_updated: new Date(T0 + 5_000),
      },
      [],
      { priceAgeMs: 0, marketAgeMs: 0 },
      grant,
    ),
    (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE,
  );
  assert.equal(await history(), 21);
  const [after] = await db.sql<{ last_updated: Date }[]>`
    select last_updated from live_data.strike_table_header`;
  assert.deepEqual(after, header);
});

Deno.test("strike_table_history - partition_maintenance creates its months and retention drops whole expired months", async () => {
  await using db = await createTestDb();
  const now = Date.UTC(2031, 4, 15);
  const r = await maintainPartitions({ sql: db.sql, now, monthsAhead: 3, retentionMonths: 1 });
  const mine = r.tables.find((t) => t.table === "live_data.strike_table_history");
  assert.deepEqual(mine, { table: "live_data.strike_table_history", created: 4, defaultRows: 0 });
  // Rows of May and June 2031 (cycles written the way the coordinator writes them).
  for (const at of [Date.UTC(2031, 4, 20), Date.UTC(2031, 5, 10)]) {
    const clock = new ManualClock(at);
    await db.sql`delete from live_data.kalshi_market_state`;
    await db.sql`delete from live_data.kalshi_events`;
    await db.sql`delete from live_data.btc_price_log`;
    await seed(db, at);
    await db.sql`update live_data.kalshi_events set strike_date = ${new Date(at + 1_800_000)}`;
    assert.equal((await coordinator(db, clock).cycle()).published, true);
  }
  const parts = async () =>
    (await db.sql<{ partition: string; n: number }[]>`
      select tableoid::regclass::text as partition, count(*)::int as n
      from live_data.strike_table_history group by 1 order by 1`).map((x) => [x.partition, x.n]);
  assert.deepEqual(await parts(), [
    ["live_data.strike_table_history_p203105", 21],
    ["live_data.strike_table_history_p203106", 21],
  ]);

  // Keeping one whole month before July 2031 (cutoff 2031-06-01): May goes, whole.
  const kept = await applyRetention({ sql: db.sql, now: Date.UTC(2031, 6, 2), retentionMonths: 1 });
  assert.ok(kept.dropped.some((d) => d.partition === "live_data.strike_table_history_p203105"));
  assert.deepEqual(await parts(), [["live_data.strike_table_history_p203106", 21]]);
});

Deno.test({
  name: "strike_table_history - the backup dumps it: its rows are counted in the dump and restored",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const clock = new ManualClock(T0);
  await seed(db, clock.now());
  const c = coordinator(db, clock);
  for (let i = 0; i < 3; i++) {
    if (i > 0) await tick(db, clock, i);
    assert.equal((await c.cycle()).published, true);
  }
  const b = await runBackup({
    sql: db.sql,
    databaseUrl: db.url,
    dir: tmp.path,
    pgBinDirs: pgBinDirs(),
    keepDaily: 7,
    keepWeekly: 4,
    now: () => clock.now(),
  });
  assert.equal(b.status, "ok", b.error);
  const v = await verifyBackup({ sql: db.sql, url: db.url, pgBinDirs: pgBinDirs() });
  assert.equal(v.ok, true);
  const mine = v.rows.filter((x) => x.table.startsWith("live_data.strike_table_history"));
  assert.equal(mine.reduce((a, x) => a + (x.restored ?? 0), 0), 63);
});
