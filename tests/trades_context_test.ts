/**
 * The market and the model around live trades (issue 16), as the user's own role sees them
 * through the SECURITY DEFINER functions of migration 0102 (it reads no live_data itself): the
 * context at entry (the price row at or before the first fill, its momentum and deltas, the
 * closed-form model's realized volatility, the model's probability for the trade's side from the
 * strike-table history, and the edge), read only once the moment's data is due; the open trades'
 * `active_trades` rows (price, buffer to the strike, bid, unrealized P&L, time since entry, the
 * model now), deleted once a trade closes; every trade write fenced by the lease.
 */
import assert from "node:assert/strict";
import { createSql, type Sql } from "../lib/db.ts";
import { FENCED_SQLSTATE, FencedError, type LeaseGrant } from "../lib/fence.ts";
import { Fill } from "../lib/kalshi/schemas.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { CONTEXT_DELAY_MS, createTradeStore } from "../lib/trades/store.ts";
import {
  realizedVolPerSqrtSecond,
  SECONDS_PER_YEAR,
} from "../actors/strike_coordinator/closed_form.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { testUserLogins } from "./_db_users.ts";
import { grantLease, moveLease } from "./_leased_actor.ts";
import { A, at, B, BASE, wireFill } from "./_trades.ts";

const ACCOUNT = "kalshi_account_sync:user_0001";
const isRefusal = (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE;

async function userLogin(db: TestDb): Promise<Sql> {
  return createSql((await testUserLogins(db, ["user_0001"])).get("user_0001")!, { max: 2 });
}

/** Price rows (seconds after BASE, price); momentum and delta_1m are the row's index / 100. */
const PRICES: [number, number][] = [
  [-1900, 99000], // outside the 30-minute window of a fill at 0
  [-3, 100000],
  [-2, 100100],
  [-1, 100050],
  [0, 100200],
  [89, 100300],
];

async function marketData(db: TestDb): Promise<void> {
  for (const [i, [s, price]] of PRICES.entries()) {
    await db.sql`insert into live_data.btc_price_log ("timestamp", price, momentum, delta_1m,
        delta_30m)
      values (${at(s)}, ${price}, ${i / 100}, ${i / 100}, ${-i / 100})`;
  }
  // The model's history of A: the row at or before a moment counts, never a later one.
  for (const [s, p] of [[-10, 50], [-1, 62.5], [1, 70], [85, 66]] as const) {
    await db.sql`insert into live_data.strike_table_history (cycle_at, symbol, strike, ticker,
        event_ticker, probability, current_price, ttc_seconds, model_mode, price_age_ms,
        market_age_ms)
      values (${at(s)}, 'BTC', 100000, ${A}, 'KXBTCD-26JAN0112', ${p}, 100000, 3600,
        'closed_form', 0, 0)`;
  }
  await db.sql`insert into live_data.kalshi_market_state (market_ticker, event_ticker, yes_bid,
      yes_ask, no_bid, no_ask, close_time, observed_at)
    values (${A}, 'KXBTCD-26JAN0112', 0.60, 0.62, 0.38, 0.40, ${at(3600)}, ${at(88)})`;
}

async function storeFills(db: TestDb, fills: Record<string, unknown>[]): Promise<void> {
  await createAccountStore(db.sql, "user_0001").insertFills(fills.map((f) => Fill.parse(f)));
}

Deno.test("trades read their context at entry through the definer functions, as the user's role, once it is due", async () => {
  await using db = await createTestDb();
  await marketData(db);
  await storeFills(db, [
    wireFill("y1", A, "yes", "buy", "10.00", "0.55", "0.07", 0),
    wireFill("n1", B, "no", "buy", "1.00", "0.30", "0.01", 0),
  ]);
  const sql = await userLogin(db);
  try {
    await assert.rejects(sql`select 1 from live_data.btc_price_log`, /permission denied/);
    const store = createTradeStore(sql, "user_0001");
    assert.equal((await store.rebuild([A, B])).trades, 2);
    assert.equal(await store.fillContext(BASE + CONTEXT_DELAY_MS - 1), 0, "not due yet");
    assert.equal(await store.fillContext(BASE + CONTEXT_DELAY_MS), 2);
    assert.equal(await store.fillContext(BASE + 60_000), 0, "read once");

    const [y] = await db.sql`select symbol_open::text, symbol_open_at, momentum::text,
        deltas, volatility::float8 as vol, prob::text, prob_at, model_mode, diff::text,
        context_at
      from user_0001.trades where ticker = ${A}`;
    assert.deepEqual(
      [y!.symbol_open, y!.symbol_open_at.toISOString(), y!.momentum, y!.prob, y!.diff],
      ["100200.00000000", at(0), "0.040000", "62.5", "7.50"],
    );
    assert.equal(y!.prob_at.toISOString(), at(-1));
    assert.equal(y!.model_mode, "closed_form");
    assert.equal(y!.context_at.toISOString(), at(0));
    assert.deepEqual(y!.deltas, {
      delta_1m: 0.04,
      delta_2m: null,
      delta_3m: null,
      delta_4m: null,
      delta_15m: null,
      delta_30m: -0.04,
    });
    // The coordinator's formula over the 30 minutes up to the fill (the row at -1900 s is out).
    const points = PRICES.filter(([s]) => s >= -1800 && s <= 0)
      .map(([s, price]) => ({ t: BASE + s * 1000, price }));
    const expected = realizedVolPerSqrtSecond(points)! * Math.sqrt(SECONDS_PER_YEAR);
    assert.ok(Math.abs(y!.vol - expected) < 1e-6, `${y!.vol} vs ${expected}`);

    // No price row of ETH, no model row of B: the context is read as unknown, once.
    const [n] = await db.sql`select symbol_open, prob, diff, volatility, context_at
      from user_0001.trades where ticker = ${B}`;
    assert.deepEqual([n!.symbol_open, n!.prob, n!.diff, n!.volatility], [null, null, null, null]);
    assert.equal(n!.context_at.toISOString(), at(0));

    // A bad symbol is no table name: the functions answer nothing.
    const [bad] = await sql`select
      (select count(*)::int from system.trade_price_at('btc_price_log; drop', now())) as p,
      system.trade_volatility_at('x'' or 1=1', now()) as v`;
    assert.deepEqual({ ...bad }, { p: 0, v: null });
  } finally {
    await sql.end();
  }
});

Deno.test("active_trades holds the open trades with the market now, and loses a trade once it closes", async () => {
  await using db = await createTestDb();
  await marketData(db);
  await storeFills(db, [wireFill("y1", A, "yes", "buy", "10.00", "0.55", "0.07", 0)]);
  const sql = await userLogin(db);
  try {
    const store = createTradeStore(sql, "user_0001");
    await store.rebuild("all");
    await store.fillContext(BASE + 60_000);
    assert.equal(await store.refreshActive(BASE + 90_000), 1);
    const read = () =>
      db.sql`select a.source, a.position_count::text, a.current_symbol_price::text,
          a.current_close_price::text, a.buffer_from_strike::text,
          a.buffer_from_strike_pct::text, a.time_since_entry_s, a.ttc_seconds,
          a.current_probability::text, a.current_pnl_dollars::text, a.prob::text,
          a.last_updated, t.trade_key
        from user_0001.active_trades a join user_0001.trades t on t.id = a.trade_id`;
    const [row] = await read();
    assert.deepEqual({ ...row, last_updated: row!.last_updated.toISOString() }, {
      source: "live",
      position_count: "10.00",
      current_symbol_price: "100300.00000000",
      current_close_price: "0.6000",
      buffer_from_strike: "300.00000000",
      buffer_from_strike_pct: "0.2991",
      time_since_entry_s: 90,
      ttc_seconds: 3510,
      current_probability: "66",
      // 10 held × bid 0.60 − their cost 5.50
      current_pnl_dollars: "0.500000",
      prob: "62.5",
      last_updated: at(90),
      trade_key: `${A}:yes:y1`,
    });
    // Refreshed again: still one row.
    await store.refreshActive(BASE + 91_000);
    assert.equal((await read()).length, 1);

    // A legacy active trade is never touched.
    const [legacy] = await db.sql`insert into user_0001.trades (status, ticker)
      values ('open', 'LEGACY') returning id`;
    await db.sql`insert into user_0001.active_trades (trade_id, ticker) values (${
      legacy!.id
    }, 'LEGACY')`;

    // Sold out: the trade is closed and its active row goes.
    await storeFills(db, [wireFill("y2", A, "yes", "sell", "10.00", "0.60", "0.07", 95)]);
    await store.rebuild([A]);
    assert.equal(await store.refreshActive(BASE + 100_000), 0);
    assert.equal((await read()).length, 1, "only the legacy row is left");
    const [left] = await db.sql`select source, ticker from user_0001.active_trades`;
    assert.deepEqual({ ...left }, { source: "legacy", ticker: "LEGACY" });
  } finally {
    await sql.end();
  }
});

Deno.test("createTradeStore() with a lease fences every write: a stale grant commits nothing, no grant sends nothing", async () => {
  await using db = await createTestDb();
  await storeFills(db, [wireFill("y1", A, "yes", "buy", "10.00", "0.55", "0.07", 0)]);
  const sql = await userLogin(db);
  try {
    const lease: { current: LeaseGrant | null } = { current: await grantLease(db, ACCOUNT) };
    const store = createTradeStore(sql, "user_0001", { lease });
    await store.rebuild("all");
    await moveLease(db, ACCOUNT);
    await storeFills(db, [wireFill("y2", A, "yes", "sell", "10.00", "0.60", "0.07", 95)]);
    const state = async () =>
      (await db.sql`select status, updated_at::text from user_0001.trades`).map((r) => ({ ...r }));
    const before = await state();
    const writes: [string, () => Promise<unknown>][] = [
      ["rebuild", () => store.rebuild("all")],
      ["context", () => store.fillContext(BASE + 60_000)],
      ["active", () => store.refreshActive(BASE + 60_000)],
      ["clear", () => store.clearContext()],
    ];
    for (const [what, write] of writes) await assert.rejects(write(), isRefusal, what);
    assert.deepEqual(await state(), before);
    assert.equal((await db.sql`select 1 from user_0001.active_trades`).length, 0);
    lease.current = null;
    for (const [what, write] of writes) await assert.rejects(write(), FencedError, what);
  } finally {
    await sql.end();
  }
});

Deno.test("system.create_user_schema() gives a new user the trade columns and the market-data functions, idempotently", async () => {
  await using db = await createTestDb();
  await db.sql`select system.create_user_schema('user_0002')`;
  await db.sql`select system.create_user_schema('user_0002')`;
  const columns = await db.sql<{ column_name: string }[]>`select column_name
    from information_schema.columns
    where table_schema = 'user_0002' and table_name = 'trades'
      and column_name in ('source', 'trade_key', 'fill_ids', 'context_at')`;
  assert.equal(columns.length, 4);
  const grants = await db.sql<{ f: string; ok: boolean }[]>`
    select p.proname as f, has_function_privilege('user_0002_rw', p.oid, 'execute') as ok
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'system' and p.proname like 'trade\\_%' order by 1`;
  assert.deepEqual(grants.map((g) => `${g.f}:${g.ok}`), [
    "trade_market_quote:true",
    "trade_model_at:true",
    "trade_price_at:true",
    "trade_volatility_at:true",
  ]);
  const [pub] = await db.sql<{ ok: boolean }[]>`
    select has_function_privilege('public', 'system.trade_price_at(text, timestamptz, int)',
      'execute') as ok`;
  assert.equal(pub!.ok, false, "not granted to PUBLIC");
});
