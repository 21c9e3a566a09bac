/**
 * `deno task trades:rebuild` (issue 16), run as the task runs: over the live result of the
 * account sync (fake Kalshi, real PostgreSQL, the market data of the moment written) it changes
 * nothing; with the live trades gone it writes exactly the same rows (every column but the id and
 * the write times, the context at entry included), and the same rejections; legacy trades are
 * untouched; bad arguments are one line and exit 2.
 */
import assert from "node:assert/strict";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner } from "../lib/kalshi/signer.ts";
import { createTradeStore } from "../lib/trades/store.ts";
import { createAccountSync, resolveArgs } from "../actors/kalshi_account_sync/mod.ts";
import { createTestDb } from "./_db.ts";
import { testContext } from "./_kalshi.ts";
import { runDeno } from "./_process.ts";
import { A, at, FILLS, FINAL, liveTrades, SETTLEMENTS, tradeState, wireFill } from "./_trades.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const keys = await generateTestKeys();
const signer = await createSigner(keys.keyId, keys.pkcs1Pem);

function rebuild(args: string[], env: Record<string, string> = {}) {
  return runDeno(["task", "-q", "trades:rebuild", ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1", RECIO_LOG_LEVEL: "error", ...env },
    clearEnv: true,
  });
}

Deno.test("deno task trades:rebuild rebuilds exactly the rows the account sync keeps live, and changes nothing over them", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  // The market at A's first fill (the context at entry).
  for (const [s, price] of [[-2, 100000], [-1, 100100], [0, 100200]] as const) {
    await db.sql`insert into live_data.btc_price_log ("timestamp", price, momentum, delta_1m)
      values (${at(s)}, ${price}, 0.1, 0.2)`;
  }
  await db.sql`insert into live_data.strike_table_history (cycle_at, symbol, strike, ticker,
      event_ticker, probability, current_price, ttc_seconds, model_mode, price_age_ms,
      market_age_ms)
    values (${at(0)}, 'BTC', 100000, ${A}, 'KXBTCD-26JAN0112', 48, 100200, 3600, 'closed_form',
      0, 0)`;
  const [legacy] = await db.sql`insert into user_0001.trades (status, ticker, pnl_dollars)
    values ('closed', 'LEGACY', 1.23) returning id`;

  const t = testContext({ id: "kalshi_account_sync:user_0001" });
  const actor = createAccountSync(t.ctx, {
    settings: resolveArgs({ user: "user_0001", baseUrl: fake.baseUrl }),
    client: new KalshiClient({ baseUrl: fake.baseUrl, signer, retry: { maxAttempts: 1 } }),
    store: createAccountStore(db.sql, "user_0001"),
    trades: createTradeStore(db.sql, "user_0001"),
  });
  fake.fills = [...FILLS.opened, wireFill("o1", A, "yes", "sell", "99.00", "0.5", "0", 15)];
  await actor.sync(true);
  fake.fills = [...FILLS.partial, ...FILLS.rest];
  fake.settlements = [...SETTLEMENTS];
  await actor.sync(false);
  await actor.refreshTrades();
  assert.deepEqual(await liveTrades(db.sql), FINAL);
  const live = await tradeState(db.sql);
  const [ctx] = await db.sql`select symbol_open::text, prob::text, diff::text
    from user_0001.trades where trade_key = ${`${A}:yes:a1`}`;
  assert.deepEqual({ ...ctx }, { symbol_open: "100200.00000000", prob: "48", diff: "6.00" });
  assert.equal(live.rejections.length, 1, "the oversell");

  // Over the live rows: nothing written.
  const again = await rebuild(["--", "--user", "user_0001"], { DATABASE_URL: db.url });
  assert.equal(again.code, 0, again.stderr);
  const summary = JSON.parse(again.stdout);
  assert.deepEqual(
    [summary.trades, summary.written, summary.deleted, summary.open, summary.rejections],
    [5, 0, 0, 1, 1],
  );
  assert.deepEqual(await tradeState(db.sql), live);

  // From nothing: the same rows, context included.
  await db.sql`delete from user_0001.active_trades where source = 'live'`;
  await db.sql`delete from user_0001.trades where source = 'live'`;
  await db.sql`delete from user_0001.trade_rejections`;
  const fresh = await rebuild(["--", "--user", "user_0001"], { DATABASE_URL: db.url });
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(JSON.parse(fresh.stdout).written, 5);
  assert.deepEqual(await tradeState(db.sql), live);
  const [active] = await db.sql`select count(*)::int as n from user_0001.active_trades`;
  assert.equal(active!.n, 1, "the open trade");

  // --context reads every context again, to the same values.
  const reread = await rebuild(["--", "--user", "user_0001", "--context"], {
    DATABASE_URL: db.url,
  });
  assert.equal(reread.code, 0, reread.stderr);
  assert.equal(JSON.parse(reread.stdout).contextsRead, 5);
  assert.deepEqual(await tradeState(db.sql), live);
  const [kept] = await db.sql`select source, status, ticker, pnl_dollars::text
    from user_0001.trades where id = ${legacy!.id}`;
  assert.deepEqual({ ...kept }, {
    source: "legacy",
    status: "closed",
    ticker: "LEGACY",
    pnl_dollars: "1.23",
  });
});

Deno.test("deno task trades:rebuild refuses bad arguments with one line and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--", "--bogus"], /^Cannot run trades:rebuild: Unknown option '--bogus'$/],
    [[], /^--user: expected a user like user_0001$/],
    [["--", "--user", "bob"], /^--user: expected a user like user_0001$/],
    [["--", "--user"], /^Cannot run trades:rebuild: Option '--user <value>' argument missing$/],
    [["--", "--user", "user_0001"], /^Cannot run trades:rebuild: DATABASE_URL is not set/],
  ];
  for (const [args, message] of cases) {
    const r = await rebuild(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr.trim(), message, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

Deno.test("deno task trades:rebuild of a user without a schema is exit 2 naming it", async () => {
  await using db = await createTestDb();
  const r = await rebuild(["--", "--user", "user_0042"], { DATABASE_URL: db.url });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /user_0042/);
});
