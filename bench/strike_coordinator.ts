/**
 * Strike coordinator: cycle time p50/p99 for an event of 75 markets in each model mode (closed
 * form and empirical), each cycle reading PostgreSQL and replacing the table in one transaction
 * (no JSON files, so only the database path is timed); and `model:build` rows/s over one year of
 * synthetic 1-minute candles. Needs `DATABASE_URL`; works in scratch databases.
 *
 * @module
 */
import { buildModel } from "../actors/strike_coordinator/model_build.ts";
import { createStrikeCoordinator } from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { type ActorContext, NOT_LEASED } from "../actors/_runtime.ts";
import { systemClock } from "../lib/clock.ts";
import { getLogger } from "../lib/log.ts";
import { createTestDb, type TestDb } from "../tests/_db.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";
import { benchSettings, priceToTable } from "./_strike_latency.ts";

const CYCLES = 300;

function context(): ActorContext {
  return {
    id: "bench",
    incarnation: 1,
    node: "bench",
    args: {},
    databaseUrl: undefined,
    log: getLogger("bench"),
    clock: systemClock,
    signal: new AbortController().signal,
    handled: () => {},
    dataAt: () => {},
    count: () => {},
    gauge: () => {},
    setDetails: () => {},
    degraded: () => {},
    recovered: () => {},
    finish: () => {},
    lease: NOT_LEASED,
  };
}

/** 30 minutes of prices ending `endAgoMs` ago, and an event of 75 markets that stay fresh. */
async function seed(db: TestDb, endAgoMs = 0): Promise<void> {
  const now = Date.now() - endAgoMs;
  const prices = Array.from({ length: 1_800 }, (_, i) => ({
    timestamp: new Date(now - (1_800 - i) * 1000),
    price: (97_000 + 50 * Math.sin(i / 30)).toFixed(2),
    momentum: "0.01",
  }));
  for (let i = 0; i < prices.length; i += 1_000) {
    await db.sql`insert into live_data.btc_price_log ${
      db.sql(prices.slice(i, i + 1_000) as never, "timestamp", "price", "momentum")
    }`;
  }
  const event = "KXBTCD-BENCH";
  await db
    .sql`insert into live_data.kalshi_events (event_ticker, series_ticker, strike_date, status)
    values (${event}, 'KXBTCD', ${new Date(Date.now() + 3_600_000)}, 'open')`;
  const markets = Array.from({ length: 75 }, (_, i) => ({
    market_ticker: `${event}-T${87_750 + i * 250 - 0.01}`,
    event_ticker: event,
    floor_strike: String(87_750 + i * 250 - 0.01),
    yes_ask: "0.55",
    no_ask: "0.46",
    volume: "1500",
    observed_at: new Date(Date.now() + 3_600_000), // stays fresh for the whole run
  }));
  await db.sql`insert into live_data.kalshi_market_state ${
    db.sql(
      markets as never,
      "market_ticker",
      "event_ticker",
      "floor_strike",
      "yes_ask",
      "no_ask",
      "volume",
      "observed_at",
    )
  }`;
}

async function candles(db: TestDb, minutes: number): Promise<void> {
  const start = Date.UTC(2025, 10, 1);
  let p = 60_000;
  for (let i = 0; i < minutes; i += 5_000) {
    const rows = [];
    for (let j = i; j < Math.min(minutes, i + 5_000); j++) {
      p *= Math.exp(0.0008 * (Math.random() * 2 - 1));
      rows.push({ timestamp: new Date(start + j * 60_000), open: p, high: p, low: p, close: p });
    }
    await db.sql`insert into historical_data.btc_ohlc_1m ${
      db.sql(rows as never, "timestamp", "open", "high", "low", "close")
    }`;
  }
}

async function cycles(db: TestDb, mode: "closed_form" | "empirical"): Promise<number[]> {
  const coordinator = createStrikeCoordinator(context(), {
    store: createCoordinatorStore(db.sql, "BTC"),
    settings: benchSettings(mode),
    writeJson: () => Promise.resolve(),
  });
  await coordinator.cycle(); // warm-up (loads the lookup table in empirical mode)
  const out: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const t0 = performance.now();
    const r = await coordinator.cycle();
    if (!r.published) throw new Error(`cycle did not publish: ${JSON.stringify(r)}`);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Runs the coordinator benchmarks. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const b = "strike_coordinator";
  await using db = await createTestDb();
  await seed(db);
  const minutes = 365 * 1_440;
  await candles(db, minutes);
  const t0 = performance.now();
  const built = await buildModel(db.sql, "BTC", { years: 2, now: Date.UTC(2026, 10, 2) });
  const buildS = (performance.now() - t0) / 1000;
  rows.push(
    {
      bench: b,
      metric: "model:build candles/s (1 year of 1-minute candles)",
      value: round(built.candles / buildS, 0),
      unit: "candles/s",
      note: `${built.candles} candles → ${built.rows} lookup rows in ${round(buildS, 1)} s`,
    },
    {
      bench: b,
      metric: "model:build lookup rows/s",
      value: round(built.rows / buildS, 0),
      unit: "rows/s",
    },
  );
  for (const mode of ["closed_form", "empirical"] as const) {
    const t = await cycles(db, mode);
    rows.push(
      {
        bench: b,
        metric: `cycle p50, 75 markets, ${mode}`,
        value: round(percentile(t, 50)),
        unit: "ms",
        note: `n=${CYCLES}, read + model + replace table`,
      },
      {
        bench: b,
        metric: `cycle p99, 75 markets, ${mode}`,
        value: round(percentile(t, 99)),
        unit: "ms",
      },
    );
  }
  rows.push(...(await latency(rows)));
  return rows;
}

/** Price row durable → strike table committed, beside the cycle alone (`_strike_latency.ts`). */
async function latency(cycleRows: BenchRow[]): Promise<BenchRow[]> {
  await using db = await createTestDb();
  await seed(db, 600_000);
  const { latencies: t, mismatched } = await priceToTable(db, context, Date.now() - 590_000);
  const cycleP50 = cycleRows.find((r) => r.metric === "cycle p50, 75 markets, closed_form");
  const b = "strike_coordinator";
  return [
    {
      bench: b,
      metric: "price row durable → strike table committed p50 (NOTIFY → LISTEN)",
      value: round(percentile(t, 50)),
      unit: "ms",
      note: `n=${t.length} (${mismatched} not matched), closed_form, 75 markets; ` +
        `from the row's transaction to the table's notification; the cycle alone p50 ${
          cycleP50?.value ?? "?"
        } ms`,
    },
    {
      bench: b,
      metric: "price row durable → strike table committed p99 (NOTIFY → LISTEN)",
      value: round(percentile(t, 99)),
      unit: "ms",
      note: `target <= 50 ms (issue 17; before: a 1 s poll, up to about 2 s); max ${
        round(Math.max(...t))
      } ms`,
    },
  ];
}

if (import.meta.main) {
  for (const r of await run()) console.log(r);
}
