/**
 * strike_coordinator against a real PostgreSQL: the table and files it publishes, its
 * probabilities against an independent computation, staleness and recovery, the empirical model
 * built from candles, atomic files under concurrent reads, bad rows.
 */
import assert from "node:assert/strict";
import { hostActor, type Port } from "../actors/_runtime.ts";
import { writeJsonAtomic } from "../actors/strike_coordinator/files.ts";
import { buildModel } from "../actors/strike_coordinator/model_build.ts";
import {
  type CoordinatorSettings,
  createStrikeCoordinator,
  type CycleResult,
} from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import type { ActorMessage } from "../schema/messages.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";

const EVENT = "KXBTCD-26NOV2415";
/** Half an hour before EVENT's strike time (3 pm EST = 20:00 UTC); every test's "now". */
const T0 = Date.UTC(2026, 10, 24, 19, 30);

/** Φ by Simpson integration of the normal density: independent of the code under test. */
function phi(x: number): number {
  const n = 4_000;
  const a = -10;
  const h = (x - a) / n;
  const f = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
  let s = f(a) + f(x);
  for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 === 0 ? 2 : 4);
  return (s * h) / 3;
}

async function seed(
  db: TestDb,
  clock: ManualClock,
  opts: {
    priceAgeMs?: number;
    marketAgeMs?: number;
    strikeInS?: number;
    /** Status of the market at `strike` (default "active"). */
    status?: (strike: number) => string;
  } = {},
) {
  const now = clock.now();
  // 10 minutes of prices alternating ±0.05 % every second around 100,000.
  const rows = [];
  for (let i = 600; i >= 0; i--) {
    const price = i % 2 === 0 ? 100_000 : 100_050;
    rows.push({
      timestamp: new Date(now - (opts.priceAgeMs ?? 0) - i * 1000),
      price: String(price),
      momentum: i === 0 ? "0.012" : null,
      delta_1m: i === 0 ? "0.01" : null,
    });
  }
  await db.sql`insert into live_data.btc_price_log ${
    db.sql(rows as never, "timestamp", "price", "momentum", "delta_1m")
  }`;
  await db
    .sql`insert into live_data.kalshi_events (event_ticker, series_ticker, symbol, title, strike_date, status)
    values (${EVENT}, 'KXBTCD', 'BTC', 'Bitcoin price today at 3pm EST?',
            ${new Date(now + (opts.strikeInS ?? 1800) * 1000)}, 'open')`;
  const markets = Array.from({ length: 75 }, (_, i) => {
    const strike = 90_750 + i * 250;
    return {
      market_ticker: `${EVENT}-T${strike - 0.01}`,
      event_ticker: EVENT,
      series_ticker: "KXBTCD",
      floor_strike: String(strike - 0.01),
      status: opts.status?.(strike) ?? "active",
      yes_ask: i === 40 ? null : (strike < 100_000 ? "0.95" : "0.10"),
      no_ask: i === 40 ? null : (strike < 100_000 ? "0.06" : "0.91"),
      volume: i === 41 ? "0" : "2500",
      observed_at: new Date(now - (opts.marketAgeMs ?? 0)),
    };
  });
  await db.sql`insert into live_data.kalshi_market_state ${
    db.sql(
      markets as never,
      "market_ticker",
      "event_ticker",
      "series_ticker",
      "floor_strike",
      "status",
      "yes_ask",
      "no_ask",
      "volume",
      "observed_at",
    )
  }`;
  return now;
}

function settings(
  outputDir: string | null,
  extra: Partial<CoordinatorSettings> = {},
): CoordinatorSettings {
  return {
    symbol: "BTC",
    mode: "closed_form",
    cycleMs: 3_600_000, // cycles are driven by the test
    strikeCount: 21,
    volWindowS: 1_800,
    volFloorAnnual: 0.01,
    momentumDrift: 0,
    priceMaxAgeMs: 10_000,
    marketMaxAgeMs: 15_000,
    outputDir,
    watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
    ...extra,
  };
}

/**
 * Hosts the coordinator in-process on `clock`; `ready()` waits until its first (own) cycle is
 * done, `cycle()` runs one more and returns its result, `counters()` are the latest heartbeat's.
 */
function host(db: TestDb, s: CoordinatorSettings, clock: ManualClock) {
  const posted: ActorMessage[] = [];
  const port: Port = { postMessage: (m) => posted.push(structuredClone(m)), onmessage: null };
  const sql = createSql(db.url, { max: 2 });
  let actor: ReturnType<typeof createStrikeCoordinator> | undefined;
  hostActor(port, (ctx) => {
    actor = createStrikeCoordinator(ctx, {
      store: createCoordinatorStore(sql, s.symbol),
      settings: s,
      writeJson: writeJsonAtomic,
      close: () => sql.end({ timeout: 1 }),
    });
    return actor;
  }, { clock });
  const send = (data: unknown) => port.onmessage!(new MessageEvent("message", { data }));
  send({
    type: "init",
    id: "strike_coordinator:btc",
    incarnation: 1,
    node: "t",
    args: {},
    heartbeatMs: 50,
    log: { format: "text", level: "fatal" },
  });
  const counters = (): Record<string, number> => {
    const beats = posted.filter((m) => m.type === "heartbeat");
    const last = beats[beats.length - 1];
    return last?.type === "heartbeat" ? last.progress.counters : {};
  };
  return {
    posted,
    counters,
    ready: async () => {
      await eventually(() => posted.some((m) => m.type === "ready"));
      await eventually(() => {
        const c = counters();
        return (c["cycles.published"] ?? 0) + (c["cycles.stale"] ?? 0) +
            (c["cycles.failed"] ?? 0) >= 1;
      });
    },
    cycle: (): Promise<CycleResult> => actor!.cycle(),
    stop: async () => {
      send({ type: "stop", reason: "test over" });
      await eventually(() => posted.some((m) => m.type === "stopped"));
    },
  };
}

Deno.test("strike_coordinator - publishes 21 strikes with closed-form probabilities checked independently", async () => {
  await using db = await createTestDb();
  const out = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  const now = await seed(db, clock);
  const c = host(db, settings(out), clock);
  try {
    await c.ready();
    const r = await c.cycle();
    assert.deepEqual(r, { published: true, strikes: 21 });
    const rows = await db
      .sql`select * from live_data.strike_table where symbol = 'BTC' order by strike`;
    assert.equal(rows.length, 21);
    assert.equal(Number(rows[0]!.strike), 97_500);
    assert.equal(Number(rows[20]!.strike), 102_500);
    const [h] = await db.sql`select * from live_data.strike_table_header where symbol = 'BTC'`;
    assert.equal(h!.stale, false);
    assert.equal(h!.event_ticker, EVENT);
    assert.equal(Number(h!.strike_tier), 250);
    assert.ok(Math.abs(h!.ttc_seconds - 1800) <= 2, "ttc from the event's strike time");

    // Independent: σ² = mean of r² per second over the window; price alternates ±0.05 %.
    const r1 = Math.log(100_050 / 100_000);
    const sigma = Math.sqrt((r1 * r1 * 600) / 600);
    const ttc = Number(h!.ttc_seconds);
    for (const row of rows) {
      const k = Number(row.strike) - 0.01;
      const pYes = phi(
        (Math.log(100_000 / k) - (sigma * sigma / 2) * ttc) / (sigma * Math.sqrt(ttc)),
      );
      const expected = Number(row.strike) < 100_000 ? pYes * 100 : 100 - pYes * 100;
      assert.ok(
        Math.abs(Number(row.probability) - expected) < 0.05,
        `strike ${row.strike}: ${row.probability} vs ${expected}`,
      );
      assert.equal(row.active_side, Number(row.strike) < 100_000 ? "yes" : "no");
    }
    const file = JSON.parse(await Deno.readTextFile(`${out}/btc_strike_table.json`));
    assert.equal(file.strikes.length, 21);
    assert.equal(file.stale, false);
    assert.equal(file.momentum.weighted_score, 0.012);
    const watch = JSON.parse(await Deno.readTextFile(`${out}/btc_watchlist.json`));
    assert.ok(watch.strikes.every((s: { volume: number }) => s.volume >= 1_000));
    assert.deepEqual(watch.settings.minVolume, 1_000);
    assert.ok(now > 0);
  } finally {
    await c.stop();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("strike_coordinator - a stale price publishes nothing, flags the table and recovers", async () => {
  await using db = await createTestDb();
  const out = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  await seed(db, clock);
  const c = host(db, settings(out), clock);
  try {
    await c.ready();
    assert.equal((await c.cycle()).published, true);
    const before = await db
      .sql`select strike, probability from live_data.strike_table order by strike`;
    // The feed stops: make every price row 60 s older.
    await db
      .sql`update live_data.btc_price_log set "timestamp" = "timestamp" - interval '60 seconds'`;
    const r = await c.cycle();
    assert.equal(r.published, false);
    assert.equal((r as { stale: string }).stale, "price is 60.0 s old (bound 10 s)");
    const [h] = await db.sql`select stale, stale_reason from live_data.strike_table_header`;
    assert.equal(h!.stale, true);
    assert.match(h!.stale_reason, /price/);
    assert.deepEqual(
      await db.sql`select strike, probability from live_data.strike_table order by strike`,
      before,
    );
    const file = JSON.parse(await Deno.readTextFile(`${out}/btc_strike_table.json`));
    assert.equal(file.stale, true);
    assert.match(file.stale_reason, /price/);
    assert.ok(c.posted.some((m) => m.type === "health" && m.state === "degraded"));
    // Fresh again.
    await db.sql`insert into live_data.btc_price_log ("timestamp", price) values (${new Date(
      clock.now(),
    )}, 100010)`;
    assert.equal((await c.cycle()).published, true);
    const [h2] = await db.sql`select stale, stale_reason from live_data.strike_table_header`;
    assert.equal(h2!.stale, false);
    assert.equal(h2!.stale_reason, null);
    assert.ok(c.posted.some((m) => m.type === "health" && m.state === "running"));
  } finally {
    await c.stop();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("strike_coordinator - a stale market snapshot or a closed event publishes nothing", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock, { marketAgeMs: 60_000 });
  const c = host(db, settings(null), clock);
  try {
    await c.ready();
    const r = await c.cycle();
    assert.match((r as { stale: string }).stale, /market snapshot is 60\.0 s old/);
    await db.sql`update live_data.kalshi_market_state set observed_at = ${new Date(clock.now())}`;
    assert.equal((await c.cycle()).published, true);
    await db.sql`update live_data.kalshi_events set strike_date = ${new Date(clock.now() - 1000)}`;
    const closed = await c.cycle();
    assert.match((closed as { stale: string }).stale, /no open event/);
    assert.equal((await db.sql`select count(*) from live_data.strike_table`)[0]!.count, "21");
  } finally {
    await c.stop();
  }
});

Deno.test("strike_coordinator - missing asks and zero volume are handled; null momentum is fine", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock);
  await db.sql`update live_data.btc_price_log set momentum = null`;
  const c = host(db, settings(null), clock);
  try {
    await c.ready();
    assert.equal((await c.cycle()).published, true);
    const [missing] = await db
      .sql`select yes_diff, no_diff from live_data.strike_table where strike = 100750`;
    assert.equal(missing!.yes_diff, null);
    assert.equal(missing!.no_diff, null);
    const [zero] = await db.sql`select volume from live_data.strike_table where strike = 101000`;
    assert.equal(zero!.volume, "0");
  } finally {
    await c.stop();
  }
});

Deno.test("strike_coordinator - empirical mode uses the table model:build made from candles", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock, { strikeInS: 600 });
  // Synthetic candles: the close moves +0.1 % then −0.1 % every minute for 3 days.
  const start = Date.UTC(2026, 10, 20);
  const candles = [];
  let p = 100_000;
  for (let i = 0; i < 3 * 1440; i++) {
    candles.push({
      timestamp: new Date(start + i * 60_000),
      open: p,
      high: p,
      low: p,
      close: p,
      volume: 1,
    });
    p = i % 2 === 0 ? p * 1.001 : p * 0.999;
  }
  for (let i = 0; i < candles.length; i += 2_000) {
    await db.sql`insert into historical_data.btc_ohlc_1m ${
      db.sql(
        candles.slice(i, i + 2_000) as never,
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
      )
    }`;
  }
  const built = await buildModel(db.sql, "BTC", { now: Date.UTC(2026, 10, 24) });
  assert.equal(built.candles, 3 * 1440);
  const [cell] = await db.sql`select p_up, p_down from analytics.probability_lookup
    where symbol = 'BTC' and bucket = 'all' and ttc_minutes = 1 and move_pct = 0.10`;
  assert.ok(Math.abs(cell!.p_up - 0.5) < 0.01 && Math.abs(cell!.p_down - 0.5) < 0.01);

  const c = host(db, settings(null, { mode: "empirical" }), clock);
  try {
    await c.ready();
    assert.equal((await c.cycle()).published, true);
    const [h] = await db.sql`select model_mode from live_data.strike_table_header`;
    assert.equal(h!.model_mode, "empirical");
    // Moves never exceed 0.1 % over 10 minutes here: strikes ≥ 0.25 % away are certain.
    const rows = await db
      .sql`select strike, probability from live_data.strike_table order by strike`;
    const far = rows.filter((r) => Math.abs(Number(r.strike) - 100_000) >= 250);
    assert.ok(far.length > 0);
    for (const r of far) assert.equal(Number(r.probability), 100, `strike ${r.strike}`);
  } finally {
    await c.stop();
  }
});

Deno.test("strike_coordinator - empirical mode without a table is flagged, not guessed", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock);
  const c = host(db, settings(null, { mode: "empirical" }), clock);
  try {
    await c.ready();
    const r = await c.cycle();
    assert.match((r as { stale: string }).stale, /model:build/);
  } finally {
    await c.stop();
  }
});

/** The keys README "Strike tables" documents for the table file; the watchlist adds `settings`. */
const TABLE_KEYS = [
  "broker",
  "current_price",
  "event_ticker",
  "last_updated",
  "market_status",
  "market_title",
  "model_mode",
  "momentum",
  "stale",
  "stale_reason",
  "strike_tier",
  "strikes",
  "symbol",
  "ttc",
].sort();
const WATCH_KEYS = [...TABLE_KEYS, "settings"].sort();

async function readFiles(out: string) {
  const table = JSON.parse(await Deno.readTextFile(`${out}/btc_strike_table.json`));
  const watch = JSON.parse(await Deno.readTextFile(`${out}/btc_watchlist.json`));
  return { table, watch };
}

Deno.test("strike_coordinator - stale and fresh files have the documented keys; the watchlist keeps its settings", async () => {
  await using db = await createTestDb();
  const out = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  const s = settings(out);
  const c = host(db, s, clock);
  const shape = (f: { table: Record<string, unknown>; watch: Record<string, unknown> }) => {
    assert.deepEqual(Object.keys(f.table).sort(), TABLE_KEYS);
    assert.deepEqual(Object.keys(f.watch).sort(), WATCH_KEYS);
    for (const m of [f.table.momentum, f.watch.momentum]) {
      assert.deepEqual(Object.keys(m as object).sort(), ["deltas", "weighted_score"]);
    }
    assert.deepEqual(f.watch.settings, s.watchlist);
  };
  try {
    // Stale before anything was ever published: no price yet.
    await c.ready();
    assert.deepEqual(await c.cycle(), { published: false, stale: "no price yet" });
    const never = await readFiles(out);
    shape(never);
    assert.equal(never.table.stale, true);
    assert.equal(never.table.current_price, null);
    assert.deepEqual(never.watch.strikes, []);

    await seed(db, clock);
    assert.equal((await c.cycle()).published, true);
    const fresh = await readFiles(out);
    shape(fresh);
    assert.equal(fresh.watch.stale, false);

    // Stale after a publish: the last table, flagged; the watchlist empty, settings kept.
    clock.advance(60_000);
    assert.equal((await c.cycle()).published, false);
    const stale = await readFiles(out);
    shape(stale);
    assert.equal(stale.watch.stale, true);
    assert.deepEqual(stale.watch.strikes, []);
    assert.equal(stale.table.strikes.length, 21);
    assert.equal(stale.table.last_updated, fresh.table.last_updated);
  } finally {
    await c.stop();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("strike_coordinator - a stale reason shows an age that visibly exceeds its bound", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock, { marketAgeMs: 15_040 - 10_390 });
  const c = host(db, settings(null), clock);
  try {
    await c.ready();
    clock.advance(10_390);
    assert.deepEqual(await c.cycle(), {
      published: false,
      stale: "price is 10.4 s old (bound 10 s)",
    });
    const [h] = await db.sql`select stale_reason from live_data.strike_table_header`;
    assert.equal(h!.stale_reason, "price is 10.4 s old (bound 10 s)");
    // A fresh price: the market snapshot is now 15.04 s old, which one decimal would hide.
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values (${new Date(clock.now())}, 100010)`;
    assert.deepEqual(await c.cycle(), {
      published: false,
      stale: "market snapshot is 15.04 s old (bound 15 s)",
    });
  } finally {
    await c.stop();
  }
});

Deno.test("strike_coordinator - a stale table warns on the transition, then at most once a minute", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  await seed(db, clock);
  const c = host(db, settings(null), clock);
  const settled = async (stale: number) => {
    await eventually(() => c.counters()["cycles.stale"] === stale);
    return c.counters();
  };
  try {
    await c.ready();
    // 121 stale cycles one second apart (the price ages, so the reason changes every cycle).
    clock.advance(10_000);
    for (let i = 0; i <= 120; i++) {
      clock.advance(1_000);
      assert.equal((await c.cycle()).published, false);
    }
    // At 11 s (the transition), 71 s and 131 s.
    assert.equal((await settled(121))["stale.warnings"], 3);
    // Fresh again, then stale again: a new transition warns at once.
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values (${new Date(clock.now())}, 100010)`;
    await db.sql`update live_data.kalshi_market_state set observed_at = ${new Date(clock.now())}`;
    assert.equal((await c.cycle()).published, true);
    clock.advance(11_000);
    assert.equal((await c.cycle()).published, false);
    assert.equal((await settled(122))["stale.warnings"], 4);
  } finally {
    await c.stop();
  }
});

Deno.test("strike_coordinator - market_status is the status of the market nearest the price", async () => {
  await using db = await createTestDb();
  const out = await Deno.makeTempDir();
  const clock = new ManualClock(T0);
  // Every market's status differs from its neighbours'; the first row stored is "closed".
  const statuses: Record<number, string> = {
    100_000: "active",
    100_250: "initialized",
    101_000: "inactive",
  };
  await seed(db, clock, { status: (k) => statuses[k] ?? "closed" });
  const c = host(db, settings(out), clock);
  const status = async () => {
    const [h] = await db.sql`select market_status from live_data.strike_table_header`;
    const file = JSON.parse(await Deno.readTextFile(`${out}/btc_strike_table.json`));
    assert.equal(file.market_status, h!.market_status);
    return h!.market_status;
  };
  const price = async (p: number) => {
    clock.advance(1_000);
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values (${new Date(clock.now())}, ${p})`;
    await db.sql`update live_data.kalshi_market_state set observed_at = ${new Date(clock.now())}`;
    assert.equal((await c.cycle()).published, true);
  };
  try {
    await c.ready();
    assert.equal((await c.cycle()).published, true);
    assert.equal(await status(), "active"); // price 100,000
    await price(100_990);
    assert.equal(await status(), "inactive");
    await price(100_200);
    assert.equal(await status(), "initialized");
    await price(100_125); // halfway between 100,000 and 100,250: the lower strike
    assert.equal(await status(), "active");
    await price(80_000); // below every strike: the lowest market
    assert.equal(await status(), "closed");
  } finally {
    await c.stop();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeJsonAtomic() - a concurrent reader never sees half a file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/btc_strike_table.json`;
  const big = (i: number) => ({
    i,
    strikes: Array.from({ length: 2_000 }, (_, k) => ({ k, v: i })),
  });
  await writeJsonAtomic(path, big(0));
  let writing = true;
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const parsed = JSON.parse(await Deno.readTextFile(path));
      assert.equal(parsed.strikes.length, 2_000);
      reads++;
    }
  })();
  for (let i = 1; i <= 100; i++) await writeJsonAtomic(path, big(i));
  writing = false;
  await reader;
  assert.ok(reads > 0);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(left, ["btc_strike_table.json"], "no temporary files left behind");
  await Deno.remove(dir, { recursive: true });
});
