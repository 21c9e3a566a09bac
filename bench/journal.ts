/**
 * Journal targets (issue 16), each beside its ceiling or its context in the same run:
 *
 * - Rebuild of 100,000 fills into trades: 5,000 markets of 20 fills each (four closed trades per
 *   market, then a position settled or left open) COPYed into `user_0001.fills` (the COPY is the
 *   write ceiling: PostgreSQL taking the same rows as fast as it can), the pure builder
 *   (`lib/trades/build.ts`) over the same rows, and `createTradeStore(...).rebuild("all")`, the
 *   path `deno task trades:rebuild` takes (read, build, upsert, prune in one transaction): from
 *   no trades (every row written) and again over them (nothing written).
 * - Calibration over a year of history: 8,760 hourly events of 21 markets settled in 2025, each
 *   with 4 strike-table history rows around each of the 5 horizons (one outside the 2-minute
 *   tolerance, two inside, one after), generated in SQL; then `readCalibration` in full and at
 *   one horizon, p50 of 3, beside the row counts. A real year at the 1 s cadence holds far more
 *   rows (about 21 per second); the query probes the (ticker, cycle_at) index once per market and
 *   horizon, so its cost follows the markets more than the rows.
 *
 * History growth per day is `bench/strike_table_history.ts`. Needs `DATABASE_URL`; works in a
 * scratch database.
 *
 * @module
 */
import { readCalibration } from "../lib/calibration.ts";
import type { Sql } from "../lib/db.ts";
import { buildTrades, type FillInput, type SettlementInput } from "../lib/trades/build.ts";
import { createTradeStore } from "../lib/trades/store.ts";
import { createTestDb } from "../tests/_db.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const USER = "user_0001";
const MARKETS = 5_000;
const FILLS_PER_MARKET = 20;
const STRIKES_PER_EVENT = 25;
/** The first event's close; the next ones an hour apart. */
const T0 = Date.UTC(2025, 0, 1, 17);
const HOUR = 3_600_000;
/** Hourly events of the synthetic year. */
const HOURS = 8_760;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** Kalshi's event part of a ticker for a close at `ms` (UTC here; only the shape matters). */
function eventCode(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCFullYear() % 100)}${MONTHS[d.getUTCMonth()]}${p(d.getUTCDate())}${
    p(d.getUTCHours())
  }`;
}

interface Synthetic {
  fills: FillInput[];
  settlements: SettlementInput[];
  trades: number;
}

/**
 * Per market: four rounds of buy 3, buy 2, sell 4, sell 1 (a closed trade each), then four buys
 * of 2; three markets in four settle (the position of 8), the fourth stays open.
 */
function synthetic(): Synthetic {
  const fills: FillInput[] = [];
  const settlements: SettlementInput[] = [];
  const money = (v: number) => v.toFixed(4);
  for (let m = 0; m < MARKETS; m++) {
    const close = T0 + Math.floor(m / STRIKES_PER_EVENT) * HOUR;
    const strike = 90_000 + (m % STRIKES_PER_EVENT) * 250;
    const ticker = `KXBTCD-${eventCode(close)}-T${strike - 1}.99`;
    const side = m % 5 === 4 ? "no" : "yes";
    const base = 0.2 + (m % 50) / 100;
    const plan: [string, string, number][] = [];
    for (let r = 0; r < 4; r++) {
      plan.push(["buy", "3.00", base], ["buy", "2.00", base + 0.02]);
      plan.push(["sell", "4.00", base + 0.05], ["sell", "1.00", base - 0.03]);
    }
    for (let b = 0; b < 4; b++) plan.push(["buy", "2.00", base + b / 100]);
    plan.forEach(([action, count, price], i) => {
      const yes = side === "yes" ? price : 1 - price;
      fills.push({
        tradeId: `f${m}-${i}`,
        orderId: `o${m}-${i >> 1}`,
        ticker,
        side,
        action,
        countFp: count,
        yesPriceDollars: money(yes),
        noPriceDollars: money(1 - yes),
        feeCostDollars: "0.0200",
        createdTime: new Date(close - HOUR + (i + 1) * 150_000).toISOString(),
      });
    });
    if (m % 4 !== 3) {
      const result = m % 3 === 0 ? "no" : "yes";
      settlements.push({
        ticker,
        settledTime: new Date(close + 60_000).toISOString(),
        marketResult: result,
        yesCountFp: side === "yes" ? "8.00" : "0.00",
        noCountFp: side === "no" ? "8.00" : "0.00",
        revenueDollars: result === side ? "8.0000" : "0.0000",
        feeCostDollars: "0.0000",
      });
    }
  }
  if (fills.length !== MARKETS * FILLS_PER_MARKET) throw new Error("bench broken: fills");
  return { fills, settlements, trades: MARKETS * 5 };
}

/** The COPY text of `fills` (with the wire fill as `raw`, as the account sync stores it). */
function copyText(fills: readonly FillInput[], from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    const f = fills[i]!;
    const raw = JSON.stringify({
      trade_id: f.tradeId,
      order_id: f.orderId,
      ticker: f.ticker,
      side: f.side,
      action: f.action,
      count_fp: f.countFp,
      yes_price_dollars: f.yesPriceDollars,
      no_price_dollars: f.noPriceDollars,
      is_taker: true,
      fee_cost: f.feeCostDollars,
      created_time: f.createdTime,
    }).replaceAll("\\", "\\\\");
    s += `${f.tradeId}\t${f.orderId}\t${f.ticker}\t${f.side}\t${f.action}\t${f.countFp}\t` +
      `${f.yesPriceDollars}\t${f.noPriceDollars}\tt\t${f.feeCostDollars}\t${f.createdTime}\t` +
      `${raw}\n`;
  }
  return s;
}

/** Empties `user_0001.fills` and COPYs `fills` into it; returns the milliseconds of the COPY. */
async function copyFills(sql: Sql, fills: readonly FillInput[]): Promise<number> {
  await sql`truncate ${sql(`${USER}.fills`)}`;
  const start = performance.now();
  const w = await sql`copy ${sql(`${USER}.fills`)} (trade_id, order_id, ticker, side, action,
      count_fp, yes_price_dollars, no_price_dollars, is_taker, fee_cost_dollars, created_time,
      raw) from stdin`.writable();
  const done = new Promise<void>((resolve, reject) => {
    w.on("error", reject);
    w.on("finish", resolve);
  });
  const enc = new TextEncoder();
  for (let i = 0; i < fills.length; i += 2_000) {
    if (!w.write(enc.encode(copyText(fills, i, Math.min(fills.length, i + 2_000))))) {
      await Promise.race([new Promise((r) => w.once("drain", r)), done]);
    }
  }
  w.end();
  await done;
  const ms = performance.now() - start;
  const [c] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(`${USER}.fills`)}`;
  if (c!.n !== fills.length) throw new Error(`bench broken: COPY wrote ${c!.n} fills`);
  return ms;
}

async function tradesBench(sql: Sql): Promise<BenchRow[]> {
  const b = "journal: trades rebuild";
  const data = synthetic();
  const n = data.fills.length;
  await sql`select system.create_user_schema(${USER})`;
  const copies: number[] = [];
  for (let i = 0; i < 3; i++) copies.push(await copyFills(sql, data.fills));
  await sql`insert into ${sql(`${USER}.settlements`)} ${
    sql(data.settlements.map((s) => ({
      ticker: s.ticker,
      settled_time: s.settledTime,
      market_result: s.marketResult,
      yes_count_fp: s.yesCountFp,
      no_count_fp: s.noCountFp,
      revenue_dollars: s.revenueDollars,
      fee_cost_dollars: s.feeCostDollars,
    })))
  }`;
  await sql`vacuum analyze ${sql(`${USER}.fills`)}`;

  const pure: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const r = buildTrades(data.fills, data.settlements);
    pure.push(performance.now() - start);
    if (r.trades.length !== data.trades || r.rejected.length > 0) {
      throw new Error(`bench broken: ${r.trades.length} trades, ${r.rejected.length} rejected`);
    }
  }

  const store = createTradeStore(sql, USER);
  const fresh: number[] = [];
  const again: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sql`delete from ${sql(`${USER}.trades`)} where source = 'live'`;
    let start = performance.now();
    const r = await store.rebuild("all");
    fresh.push(performance.now() - start);
    if (r.trades !== data.trades || r.written !== data.trades || r.rejections > 0) {
      throw new Error(`bench broken: rebuild ${JSON.stringify({ ...r, newRejections: 0 })}`);
    }
    start = performance.now();
    const q = await store.rebuild("all");
    again.push(performance.now() - start);
    if (q.written !== 0 || q.deleted !== 0) throw new Error("bench broken: rebuild rewrote rows");
  }
  const row = (metric: string, ms: number[], note: string): BenchRow[] => {
    const p = percentile(ms, 50);
    return [
      { bench: b, metric: `${metric}: time (p50 of 3)`, value: round(p, 0), unit: "ms", note },
      { bench: b, metric: `${metric}: fills/s`, value: round(n / (p / 1000), 0), unit: "rows/s" },
    ];
  };
  const context =
    `${n} fills, ${MARKETS} markets, ${data.settlements.length} settlements → ${data.trades} trades`;
  return [
    ...row("pure build (lib/trades/build.ts, in memory)", pure, context),
    ...row(
      'store.rebuild("all") from no trades (read, build, upsert all, prune; 1 transaction)',
      fresh,
      `the trades:rebuild path; ${data.trades} trades written`,
    ),
    ...row(
      'store.rebuild("all") over unchanged trades (nothing written)',
      again,
      "trades:rebuild over the rows the account sync keeps",
    ),
    ...row(
      "ceiling: COPY of the same fill rows into user_0001.fills",
      copies,
      "with raw jsonb as stored; truncated before each",
    ),
  ];
}

/** A synthetic year: results of 8,760 × 21 markets and 20 history rows per market. */
async function seedYear(sql: Sql): Promise<{ ms: number; results: number; history: number }> {
  const start = performance.now();
  await sql`select system.ensure_month_partitions('live_data.strike_table_history',
    '2025-01-01'::timestamptz, '2026-02-01'::timestamptz)`;
  // markets(h, k): event h closes at 2025-01-01 17:00 + h hours; strike k of 21. The strike
  // moves with the hour so that neighbouring events' rows never share a primary key. Read as a
  // materialized CTE: inlined, its text columns are computed again for each of the 20 rows.
  const markets = (from: number, to: number) =>
    sql`select h, k, close,
      90000 + (h % 7) * 50 + k * 250 as strike,
      'KXBTCD-' || to_char(close at time zone 'UTC', 'YYMONDDHH24') as event,
      'KXBTCD-' || to_char(close at time zone 'UTC', 'YYMONDDHH24') || '-T' ||
        (90000 + (h % 7) * 50 + k * 250 - 1) || '.99' as ticker,
      1 / (1 + exp((k - 10) / 3.0)) as p_true
    from generate_series(${from}::int, ${to}::int) h, generate_series(0, 20) k,
      lateral (select '2025-01-01 17:00Z'::timestamptz + h * interval '1 hour' as close) c`;
  await sql`insert into live_data.kalshi_market_results (ticker, event_ticker, strike, result,
      settlement_value_dollars, close_time, settled_at, recorded_at)
    select ticker, event, strike, r.result, case r.result when 'yes' then 1 else 0 end, close,
      close + interval '1 minute', close + interval '2 minutes'
    from (${markets(0, HOURS - 1)}) m,
      lateral (select case when (hashtext(ticker) & 65535) / 65536.0 < p_true
        then 'yes' else 'no' end as result) r`;
  // 730 hours (a month) at a time: one statement over the year sorts and indexes far beyond the buffers.
  for (let h = 0; h < HOURS; h += 730) {
    await sql`insert into live_data.strike_table_history (cycle_at, symbol, strike, ticker,
      event_ticker, probability, side_probability, yes_ask, no_ask, yes_bid, no_bid, yes_diff,
      no_diff, buffer, buffer_pct, volume, active_side, current_price, ttc_seconds, close_time,
      model_mode, momentum, price_age_ms, market_age_ms)
    with m as materialized (${markets(h, Math.min(HOURS, h + 730) - 1)})
    select at, 'BTC', strike, ticker, event, prob, greatest(prob, 100 - prob),
      least(99, round(prob) + 1), least(99, 101 - round(prob)), greatest(1, round(prob) - 1),
      greatest(1, 99 - round(prob)), 1.5, -1.5, 97000 - strike, round((97000 - strike) / 970, 4),
      1500 + k, case when prob >= 50 then 'yes' else 'no' end, 97000,
      extract(epoch from close - at)::int, close, 'closed_form', 0.01, 120, 800
    from m
    cross join (values (60), (30), (15), (5), (1)) hz (min)
    cross join (values (-130), (-70), (-10), (20)) o (s)
    cross join lateral (select close - make_interval(mins => hz.min, secs => -o.s) as at,
      round((100 * least(0.999, greatest(0.001, p_true +
        ((hashtext(ticker || hz.min || o.s) & 1023) / 1023.0 - 0.5) * 0.2)))::numeric, 2)
        as prob) x
    order by at, strike`;
  }
  await sql`vacuum analyze live_data.kalshi_market_results`;
  await sql`vacuum analyze live_data.strike_table_history`;
  const [c] = await sql<{ results: number; history: number }[]>`select
      (select count(*)::int from live_data.kalshi_market_results) as results,
      (select count(*)::int from live_data.strike_table_history) as history`;
  return { ms: performance.now() - start, ...c! };
}

async function calibrationBench(sql: Sql): Promise<BenchRow[]> {
  const b = "journal: calibration";
  const year = await seedYear(sql);
  const time = async (horizon?: number) => {
    const ms: number[] = [];
    let points = 0;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const r = await readCalibration(sql, horizon === undefined ? {} : { horizon });
      ms.push(performance.now() - start);
      points = r.scores.reduce((t, s) => t + s.n, 0);
    }
    return { p50: percentile(ms, 50), points };
  };
  const full = await time();
  const one = await time(5);
  if (full.points !== year.results * 5 || one.points !== year.results) {
    throw new Error(`bench broken: ${full.points} and ${one.points} points`);
  }
  return [
    {
      bench: b,
      metric: "settled markets over the year",
      value: year.results,
      unit: "markets",
      note: "8,760 hourly events × 21 strikes, 2025",
    },
    {
      bench: b,
      metric: "strike_table_history rows",
      value: year.history,
      unit: "rows",
      note: `4 per market and horizon; generated in SQL in ${round(year.ms / 1000, 1)} s`,
    },
    {
      bench: b,
      metric: "readCalibration, full report (5 horizons): time (p50 of 3)",
      value: round(full.p50, 0),
      unit: "ms",
      note: `${full.points} points (one index probe each)`,
    },
    {
      bench: b,
      metric: "readCalibration, one horizon (5 min): time (p50 of 3)",
      value: round(one.p50, 0),
      unit: "ms",
      note: `${one.points} points`,
    },
    {
      bench: b,
      metric: "full report: points/s",
      value: round(full.points / (full.p50 / 1000), 0),
      unit: "points/s",
    },
  ];
}

/** Runs the journal benchmarks. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  {
    await using db = await createTestDb();
    rows.push(...await tradesBench(db.sql));
  }
  {
    await using db = await createTestDb();
    rows.push(...await calibrationBench(db.sql));
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await run()) console.log(`${r.metric}: ${r.value} ${r.unit} ${r.note ?? ""}`);
}
