/**
 * Trades kept live by `kalshi_account_sync` (issue 16) against the fake Kalshi and a real
 * PostgreSQL: fills across several markets, partial sells, settlements of both sides and fees,
 * built to the cent as they arrive; a fill arriving twice changes nothing; a sync that stored
 * fills but died before their trades converges on the next sync and after a restart; bad fills
 * and settlements are rejected and counted once, the other trades untouched; the refresh loop
 * runs every second of the actor's clock.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner } from "../lib/kalshi/signer.ts";
import { RateLimitedLog } from "../lib/log.ts";
import { createTradeStore, type TradeStore } from "../lib/trades/store.ts";
import { createAccountSync, resolveArgs } from "../actors/kalshi_account_sync/mod.ts";
import {
  ACTIVE_REFRESH_MS,
  createTradeKeeper,
  IDLE_REFRESH_MS,
} from "../actors/kalshi_account_sync/trades.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { testContext } from "./_kalshi.ts";
import {
  A,
  A_AFTER_PARTIAL,
  AFTER_OPENED,
  at,
  B,
  byKey,
  FILLS,
  FINAL,
  liveTrades,
  SETTLEMENTS,
  wireFill,
  wireSettlement,
} from "./_trades.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
const signer = await createSigner(keys.keyId, keys.pkcs1Pem);

function setup(
  db: TestDb,
  fake: FakeKalshi,
  trades: TradeStore = createTradeStore(db.sql, "user_0001"),
) {
  const t = testContext({ id: "kalshi_account_sync:user_0001" });
  const actor = createAccountSync(t.ctx, {
    settings: resolveArgs({ user: "user_0001", baseUrl: fake.baseUrl, pageLimit: 3 }),
    client: new KalshiClient({ baseUrl: fake.baseUrl, signer, retry: { maxAttempts: 1 } }),
    store: createAccountStore(db.sql, "user_0001"),
    trades,
  });
  return { t, actor };
}

async function updatedAt(db: TestDb): Promise<string[]> {
  const rows = await db.sql<{ u: string }[]>`
    select updated_at::text as u from user_0001.trades order by trade_key`;
  return rows.map((r) => r.u);
}

Deno.test("kalshi_account_sync builds trades as fills and settlements arrive, to the cent, and a fill arriving twice changes nothing", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { actor, t } = setup(db, fake);

  fake.fills = [...FILLS.opened].reverse();
  const first = await actor.sync(true);
  assert.equal(first.trades, 4);
  assert.deepEqual(await liveTrades(db.sql), AFTER_OPENED);

  // A partial sale of A, on a page with a fill already stored (Kalshi's pages overlap).
  fake.fills = [...FILLS.partial, FILLS.opened[1]!, ...FILLS.opened.slice(2)];
  const partial = await actor.sync(false);
  assert.equal(partial.fills, 1);
  assert.equal(partial.trades, 1, "only A changed");
  assert.deepEqual(
    await liveTrades(db.sql),
    byKey([
      A_AFTER_PARTIAL,
      ...AFTER_OPENED.filter((x) => x.trade_key !== A_AFTER_PARTIAL.trade_key),
    ]),
  );

  // The rest of A (sold out, then bought again), and B, C, D settle; a3 is delivered again.
  fake.fills = [...FILLS.rest, ...FILLS.partial, ...FILLS.partial];
  fake.settlements = [...SETTLEMENTS];
  const rest = await actor.sync(false);
  assert.equal(rest.settlements, 3);
  assert.deepEqual(await liveTrades(db.sql), FINAL);

  // Everything again, incrementally and in full: not one trade row is written.
  const written = t.counters["trades.written"];
  const stamps = await updatedAt(db);
  fake.fills = [...FILLS.opened, ...FILLS.partial, ...FILLS.rest, FILLS.rest[0]!];
  assert.equal((await actor.sync(false)).trades, 0);
  assert.equal((await actor.sync(true)).trades, 0);
  assert.equal(t.counters["trades.written"], written);
  assert.deepEqual(await updatedAt(db), stamps);
  assert.deepEqual(await liveTrades(db.sql), FINAL);
  assert.equal(t.counters["trades.rejected"], undefined);
});

Deno.test("kalshi_account_sync converges after a sync stored fills but died before their trades: on the next sync, and after a restart", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const real = createTradeStore(db.sql, "user_0001");
  let crash = true;
  const crashing: TradeStore = {
    ...real,
    rebuild: (tickers) => {
      if (crash) return Promise.reject(new Error("process died"));
      return real.rebuild(tickers);
    },
  };
  fake.fills = [...FILLS.opened];
  const before = setup(db, fake, crashing);
  await assert.rejects(before.actor.sync(true), /process died/);
  const [n] = await db.sql<{ fills: number; trades: number }[]>`select
    (select count(*)::int from user_0001.fills) as fills,
    (select count(*)::int from user_0001.trades) as trades`;
  assert.deepEqual({ ...n }, { fills: 5, trades: 0 }, "the fills were stored, no trade");

  // The same actor: its next sync rebuilds what failed, though Kalshi sends nothing new.
  crash = false;
  fake.fills = [];
  await before.actor.sync(false);
  assert.deepEqual(await liveTrades(db.sql), AFTER_OPENED);

  // Stored again without trades (a crash between the two), then a restart: a new actor.
  crash = true;
  fake.fills = [...FILLS.partial, ...FILLS.rest];
  fake.settlements = [...SETTLEMENTS];
  await assert.rejects(before.actor.sync(false), /process died/);
  const after = setup(db, fake); // its first sync is a full reconcile
  fake.fills = [];
  fake.settlements = [];
  await after.actor.sync(true);
  assert.deepEqual(await liveTrades(db.sql), FINAL);
});

Deno.test("kalshi_account_sync rejects and counts once a fill for an unknown market, negative and zero counts, a sale beyond the position and a settlement before any fill; the other trades are untouched", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { actor, t } = setup(db, fake);
  const F = "KXBTCD-26JAN0112-T100999.99";
  fake.fills = [
    ...FILLS.opened,
    ...FILLS.partial,
    ...FILLS.rest,
    wireFill("u1", "KXDOGED-26JAN0112-T1.99", "yes", "buy", "1.00", "0.50", "0.01", 8),
    wireFill("n1", A, "yes", "buy", "-3.00", "0.50", "0.01", 9),
    wireFill("z1", B, "no", "buy", "0.00", "0.50", "0.01", 9),
    wireFill("o1", A, "yes", "sell", "12.00", "0.50", "0.01", 25), // 9 held at t 25
    wireFill("f1", F, "yes", "buy", "2.00", "0.50", "0.01", 50),
  ];
  fake.settlements = [...SETTLEMENTS, wireSettlement(F, "yes", { yes: "2.00" }, 200, 30)];
  await actor.sync(true);
  // The settlement that came before any fill of F is left out, so F's later fill opens a trade.
  const others = async () => (await liveTrades(db.sql)).filter((x) => !x.trade_key.startsWith(F));
  assert.deepEqual(await others(), FINAL);
  const [f] = (await liveTrades(db.sql)).filter((x) => x.trade_key.startsWith(F));
  assert.deepEqual([f?.status, f?.contracts_open, f?.fill_ids], ["open", "2.00", ["f1"]]);
  const expected = {
    "fill:n1": "bad_count",
    "fill:o1": "oversell",
    "fill:u1": "unknown_market",
    "fill:z1": "bad_count",
    [`settlement:${F} at ${at(30)}`]: "settlement_without_position",
  };
  const stored = await db.sql<{ k: string; reason: string }[]>`
    select kind || ':' || ref as k, reason from user_0001.trade_rejections order by 1`;
  assert.deepEqual(Object.fromEntries(stored.map((r) => [r.k, r.reason])), expected);
  assert.equal(t.counters["trades.rejected"], 5);
  assert.equal(t.counters["trades.rejected.bad_count"], 2);

  // Synced again, in full and incrementally: counted once.
  await actor.sync(true);
  await actor.sync(false);
  assert.equal(t.counters["trades.rejected"], 5);
  assert.deepEqual(await others(), FINAL);
});

Deno.test("the trade keeper refreshes the open trades every second of the actor's clock, and stops", async () => {
  const clock = new ManualClock(Date.parse(at(100)));
  const t = testContext({ id: "kalshi_account_sync:user_0001", clock });
  const calls: string[] = [];
  const trades: TradeStore = {
    user: "user_0001",
    rebuild: () => Promise.reject(new Error("not called")),
    fillContext: (ms) => (calls.push(`context@${ms}`), Promise.resolve(0)),
    refreshActive: (ms) => (calls.push(`active@${ms}`), Promise.resolve(2)),
    clearContext: () => Promise.resolve(0),
  };
  const warn = new RateLimitedLog(t.ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => clock.now(),
  });
  const keeper = createTradeKeeper(t.ctx, { trades, warn });
  const loop = keeper.follow();
  await clock.tick(0);
  await clock.tick(ACTIVE_REFRESH_MS);
  await clock.tick(ACTIVE_REFRESH_MS);
  const t0 = Date.parse(at(100));
  assert.deepEqual(
    calls,
    [0, 1, 2].flatMap((i) => {
      const ms = t0 + i * ACTIVE_REFRESH_MS;
      return [`context@${ms}`, `active@${ms}`];
    }),
  );
  assert.equal(t.counters["trades.open"], 2);
  keeper.stop();
  await loop;
  await clock.tick(ACTIVE_REFRESH_MS * 5);
  assert.equal(calls.length, 6, "stopped");
});

Deno.test("the trade keeper looks only every minute while nothing is open and no context is due, and at once after a sync wrote trades", async () => {
  const clock = new ManualClock(Date.parse(at(100)));
  const t = testContext({ id: "kalshi_account_sync:user_0001", clock });
  let refreshes = 0;
  const trades: TradeStore = {
    user: "user_0001",
    rebuild: () =>
      Promise.resolve({
        markets: 1,
        trades: 1,
        open: 0,
        written: 1,
        deleted: 0,
        newRejections: [],
        rejections: 0,
        duplicates: 0,
      }),
    fillContext: () => Promise.resolve(0),
    refreshActive: () => (refreshes++, Promise.resolve(0)),
    clearContext: () => Promise.resolve(0),
  };
  const warn = new RateLimitedLog(t.ctx.log, { perWindow: 5, windowMs: 60_000, now: () => 0 });
  const keeper = createTradeKeeper(t.ctx, { trades, warn });
  const loop = keeper.follow();
  await clock.tick(0);
  for (let i = 0; i < 10; i++) await clock.tick(ACTIVE_REFRESH_MS);
  assert.equal(refreshes, 1, "idle after the first");
  await clock.tick(IDLE_REFRESH_MS);
  assert.equal(refreshes, 2, "one look a minute");
  // A sync wrote a trade: every second again until its context is past due.
  await keeper.afterSync([A]);
  for (let i = 0; i < 10; i++) await clock.tick(ACTIVE_REFRESH_MS);
  assert.ok(refreshes >= 2 + 5 && refreshes <= 2 + 7, `${refreshes} refreshes`);
  keeper.stop();
  await loop;
});
