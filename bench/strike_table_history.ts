/**
 * Strike-table history growth (issue 16 target): the real coordinator publishes an hour of cycles
 * (3,600 at the default 1 s cadence, 21 strikes of a 75-market event, a new price and new quotes
 * every second) into `live_data.strike_table_history`; the growth is the partitions' total size
 * (heap, TOAST and indexes: `pg_total_relation_size`) after minus before, per row and scaled to a
 * day at the default cadence (rows per cycle × 86,400 cycles). Needs `DATABASE_URL`; works in a
 * scratch database.
 *
 * @module
 */
import { createStrikeCoordinator } from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { type ActorContext, NOT_LEASED } from "../actors/_runtime.ts";
import { ManualClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { getLogger } from "../lib/log.ts";
import { createTestDb, type TestDb } from "../tests/_db.ts";
import { type BenchRow, round } from "./_stats.ts";

/** An hour of cycles at the default cadence. */
const CYCLES = 3_600;
const CYCLE_MS = 1_000;
const DAY_CYCLES = 86_400_000 / CYCLE_MS;
/** A Tuesday half an hour before a close, inside the partitions the migration made or not. */
const T0 = Date.UTC(2026, 10, 24, 19);
const EVENT = "KXBTCD-26NOV2415";

function context(clock: ManualClock): ActorContext {
  return {
    id: "bench",
    incarnation: 1,
    node: "bench",
    args: {},
    databaseUrl: undefined,
    log: getLogger("bench"),
    clock,
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

async function seed(db: TestDb): Promise<void> {
  const prices = Array.from({ length: 1_800 }, (_, i) => ({
    timestamp: new Date(T0 - (1_800 - i) * 1000),
    price: (97_000 + 50 * Math.sin(i / 30)).toFixed(2),
    momentum: "0.01",
  }));
  await db.sql`insert into live_data.btc_price_log ${
    db.sql(prices as never, "timestamp", "price", "momentum")
  }`;
  await db.sql`insert into live_data.kalshi_events (event_ticker, series_ticker, strike_date,
      status) values (${EVENT}, 'KXBTCD', ${new Date(T0 + 2 * 3_600_000)}, 'open')`;
  const markets = Array.from({ length: 75 }, (_, i) => ({
    market_ticker: `${EVENT}-T${87_750 + i * 250 - 0.01}`,
    event_ticker: EVENT,
    floor_strike: String(87_750 + i * 250 - 0.01),
    yes_bid: "0.54",
    yes_ask: "0.55",
    no_bid: "0.45",
    no_ask: "0.46",
    volume: String(1_500 + i),
    close_time: new Date(T0 + 2 * 3_600_000),
    observed_at: new Date(T0),
  }));
  await db.sql`insert into live_data.kalshi_market_state ${db.sql(markets as never)}`;
}

/** Bytes of the history's partitions (in all: heap, TOAST, indexes; and the heap) and rows. */
async function size(sql: Sql): Promise<{ bytes: number; heap: number; rows: number }> {
  const [r] = await sql<{ bytes: string; heap: string; rows: string }[]>`
    select coalesce(sum(pg_total_relation_size(relid)), 0) as bytes,
           coalesce(sum(pg_relation_size(relid)), 0) as heap,
           (select count(*) from live_data.strike_table_history) as rows
    from pg_partition_tree('live_data.strike_table_history') where isleaf`;
  return { bytes: Number(r!.bytes), heap: Number(r!.heap), rows: Number(r!.rows) };
}

/** Runs the history growth benchmark. */
export async function run(): Promise<BenchRow[]> {
  const b = "strike_table_history";
  await using db = await createTestDb();
  await seed(db);
  const clock = new ManualClock(T0);
  const coordinator = createStrikeCoordinator(context(clock), {
    store: createCoordinatorStore(db.sql, "BTC"),
    settings: {
      symbol: "BTC",
      mode: "closed_form",
      cycleMs: CYCLE_MS,
      strikeCount: 21,
      volWindowS: 1_800,
      volFloorAnnual: 0.2,
      momentumDrift: 0,
      priceMaxAgeMs: 10_000,
      marketMaxAgeMs: 15_000,
      outputDir: null,
      watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
    },
    writeJson: () => Promise.resolve(),
  });
  const before = await size(db.sql);
  const t0 = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    clock.advance(CYCLE_MS);
    const now = new Date(clock.now());
    const price = (97_000 + 80 * Math.sin(i / 60)).toFixed(2);
    await db.sql`insert into live_data.btc_price_log ("timestamp", price, momentum)
      values (${now}, ${price}, ${(Math.sin(i / 90) / 10).toFixed(6)})`;
    await db.sql`update live_data.kalshi_market_state set observed_at = ${now},
      yes_ask = ${(0.4 + (i % 20) / 100).toFixed(2)}, volume = volume + 1`;
    const r = await coordinator.cycle();
    if (!r.published) throw new Error(`cycle did not publish: ${JSON.stringify(r)}`);
  }
  const s = (performance.now() - t0) / 1000;
  const after = await size(db.sql);
  const rows = after.rows - before.rows;
  const perRow = (after.bytes - before.bytes) / rows;
  const heapPerRow = (after.heap - before.heap) / rows;
  const rowsPerCycle = rows / CYCLES;
  const perDay = perRow * rowsPerCycle * DAY_CYCLES;
  return [
    {
      bench: b,
      metric: "rows per cycle",
      value: rowsPerCycle,
      unit: "rows",
      note: "RECIO_STRIKE_COUNT 21",
    },
    {
      bench: b,
      metric: "bytes per row (heap + indexes)",
      value: round(perRow, 1),
      unit: "bytes",
      note: `pg_total_relation_size over ${rows} rows of ${CYCLES} cycles`,
    },
    {
      bench: b,
      metric: "of which heap (the rest: the primary key and the (ticker, cycle_at) index)",
      value: round(heapPerRow, 1),
      unit: "bytes",
    },
    {
      bench: b,
      metric: "growth per day per symbol at the default cadence",
      value: round(perDay / 2 ** 20, 0),
      unit: "MiB",
      note: `${rowsPerCycle} rows × ${DAY_CYCLES} cycles (1 s) = ${rowsPerCycle * DAY_CYCLES} rows`,
    },
    {
      bench: b,
      metric: "growth per 30-day month per symbol",
      value: round((perDay * 30) / 2 ** 30, 1),
      unit: "GiB",
    },
    {
      bench: b,
      metric: "cycles/s while writing the history (not a target)",
      value: round(CYCLES / s, 0),
      unit: "cycles/s",
    },
  ];
}

if (import.meta.main) {
  for (const r of await run()) console.log(`${r.metric}: ${r.value} ${r.unit} ${r.note ?? ""}`);
}
