/**
 * Market results (`live_data.kalshi_market_results`) written by `kalshi_market_watchdog` against
 * the fake Kalshi and a real PostgreSQL: an event is followed after it left the current and next
 * hour until Kalshi settles it (also by a restarted watchdog), each market recorded once with its
 * result and value; a repeated poll changes nothing; refused results are counted and not written,
 * nothing else lost; a fenced watchdog records nothing.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { FENCED_SQLSTATE } from "../lib/fence.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createMarketWatchdog, resolveArgs } from "../actors/kalshi_market_watchdog/mod.ts";
import { RESULT_FOLLOW_MS, RESULT_POLL_MS } from "../actors/kalshi_market_watchdog/follow.ts";
import { createMarketStore } from "../actors/kalshi_market_watchdog/store.ts";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { testContext } from "./_kalshi.ts";
import { grantLease, hostLeased, moveLease } from "./_leased_actor.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
/** 10:30 UTC on 1 Sep 2026: the current event settles at 11:00 UTC, the next at 12:00. */
const NOW = Date.UTC(2026, 8, 1, 10, 30);
const H = 3_600_000;
const CLOSE = NOW + H / 2;

/** A watchdog on its own clock (a new one is a restart: it remembers nothing). */
function watchdog(db: TestDb, fake: FakeKalshi, at: number) {
  const clock = new ManualClock(at);
  const t = testContext({ id: "kalshi_market_watchdog", clock });
  const actor = createMarketWatchdog(t.ctx, {
    settings: resolveArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"] }),
    client: new KalshiClient({ baseUrl: fake.baseUrl, clock, retry: { maxAttempts: 1 } }),
    store: createMarketStore(db.sql),
    autoPoll: false,
  });
  return { t, actor, clock };
}

interface Row {
  ticker: string;
  event_ticker: string;
  strike: string | null;
  result: string;
  value: string | null;
  close_time: Date | null;
  settled_at: Date | null;
  recorded_at: Date;
}

async function results(db: TestDb): Promise<Row[]> {
  const rows = await db.sql<Row[]>`
    select ticker, event_ticker, strike::text, result, settlement_value_dollars::text as value,
      close_time, settled_at, recorded_at
    from live_data.kalshi_market_results order by ticker`;
  return rows.map((r) => ({ ...r }));
}

/** The current and next events, written once at NOW; every market of the current one closed. */
async function closedHour(db: TestDb, fake: FakeKalshi) {
  const current = fake.addHourlyEvent("KXBTCD", CLOSE);
  const next = fake.addHourlyEvent("KXBTCD", CLOSE + H);
  const first = watchdog(db, fake, NOW);
  assert.deepEqual(
    [(await first.actor.cycle()).written, (await results(db)).length],
    [2, 0],
  );
  for (const m of fake.events.get(current)!.markets) {
    fake.updateMarket(String(m.ticker), { status: "closed" });
  }
  return { current, next };
}

Deno.test("kalshi_market_watchdog records each market's result once after its event left the current and next hour, also after a restart", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { current } = await closedHour(db, fake);

  // 11:00:05, a restarted watchdog: it polls the 12:00 and 13:00 events and follows 11:00.
  const { actor, clock, t } = watchdog(db, fake, CLOSE + 5_000);
  const waiting = await actor.cycle();
  assert.deepEqual([waiting.followed, waiting.results], [1, 0]);
  assert.equal(fake.callsTo(`/events/${current}`).length, 2);

  const settledAt = CLOSE + 60_000;
  const expected = fake.settleEvent(current, 100_130, { settledAt });
  clock.advance(RESULT_POLL_MS - 1);
  assert.equal((await actor.cycle()).followed, 0, "not before RESULT_POLL_MS");
  clock.advance(1);
  const recordedAt = clock.now();
  const settled = await actor.cycle();
  assert.deepEqual([settled.followed, settled.results], [1, 75]);
  assert.equal(t.counters["results.recorded"], 75);

  const rows = await results(db);
  assert.equal(rows.length, 75);
  for (const r of rows) {
    const result = expected.get(r.ticker);
    assert.ok(result, r.ticker);
    assert.deepEqual(
      { ...r, close_time: r.close_time?.getTime(), settled_at: r.settled_at?.getTime() },
      {
        ticker: r.ticker,
        event_ticker: current,
        strike: r.ticker.slice(`${current}-T`.length),
        result,
        value: result === "yes" ? "1.0000" : "0.0000",
        close_time: CLOSE,
        settled_at: settledAt,
        recorded_at: new Date(recordedAt),
      },
    );
  }
  // Strikes up to 100,000 (100,000 - 0.01 + 0.01 <= 100,130): one YES, 74 NO.
  assert.deepEqual(
    rows.filter((r) => r.result === "yes").map((r) => r.ticker),
    [`${current}-T99999.99`],
  );
  const [state] = await db.sql<{ status: string }[]>`
    select status from live_data.kalshi_market_state where market_ticker = ${rows[0]!.ticker}`;
  assert.equal(state!.status, "finalized", "the final snapshot is stored too");

  // Settled: no longer followed, and nothing changes.
  const calls = fake.callsTo(`/events/${current}`).length;
  clock.advance(RESULT_POLL_MS);
  assert.deepEqual([(await actor.cycle()).followed, fake.callsTo(`/events/${current}`).length], [
    0,
    calls,
  ]);
  assert.deepEqual(await results(db), rows);
});

Deno.test("kalshi_market_watchdog: a repeated poll of a settled market changes nothing; a corrected result replaces it", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const current = fake.addHourlyEvent("KXBTCD", CLOSE);
  fake.addHourlyEvent("KXBTCD", CLOSE + H);
  const { actor, clock, t } = watchdog(db, fake, NOW);
  // A market of the current event closes early and settles while it is still polled each second.
  const ticker = `${current}-T100249.99`;
  fake.settleMarket(ticker, "no", { status: "settled" });
  assert.equal((await actor.cycle()).results, 1);
  const first = await results(db);
  assert.deepEqual(first.map((r) => [r.ticker, r.result, r.value, r.settled_at]), [
    [ticker, "no", "0.0000", null],
  ]);
  for (let i = 0; i < 3; i++) {
    clock.advance(1_000);
    assert.equal((await actor.cycle()).results, 0);
  }
  assert.deepEqual(await results(db), first, "recorded_at included");
  assert.equal(t.counters["results.recorded"], 1);

  // The store alone: the same results again change no row.
  const store = createMarketStore(db.sql);
  const same = await store.writeResults([{
    ticker,
    eventTicker: current,
    strike: "100249.99",
    result: "no",
    settlementValueDollars: "0.0000",
    closeTime: new Date(CLOSE).toISOString(),
    settledAt: null,
  }], new Date(NOW + 10 * H));
  assert.deepEqual(same, { recorded: 0, refused: [] });
  assert.deepEqual(await results(db), first);

  // Kalshi corrects it (amended): the row follows.
  fake.settleMarket(ticker, "yes", { status: "finalized" });
  clock.advance(1_000);
  assert.equal((await actor.cycle()).results, 1);
  const [fixed] = await results(db);
  assert.deepEqual([fixed!.result, fixed!.value, fixed!.recorded_at.getTime()], [
    "yes",
    "1.0000",
    clock.now(),
  ]);
});

Deno.test("kalshi_market_watchdog rejects and counts a settled market without a result, an unknown result and a negative value, losing nothing else", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { current } = await closedHour(db, fake);
  const { actor, clock, t } = watchdog(db, fake, CLOSE + 5_000);
  const expected = fake.settleEvent(current, 105_000);
  const bad = {
    missing: `${current}-T100249.99`,
    unknown: `${current}-T100499.99`,
    negative: `${current}-T100749.99`,
  };
  fake.settleMarket(bad.missing, "");
  fake.settleMarket(bad.unknown, "maybe");
  fake.settleMarket(bad.negative, "no", { valueDollars: "-0.5000" });
  // A legacy integer-cents settlement value is read too.
  const legacy = `${current}-T101249.99`;
  fake.updateMarket(legacy, { settlement_value_dollars: undefined, settlement_value: 100 });

  const r = await actor.cycle();
  assert.deepEqual([r.followed, r.results, r.written], [1, 72, 1], "written: the 12:00 event");
  for (const reason of ["result_missing", "result_unknown", "settlement_value_negative"]) {
    assert.equal(t.counters[`results.rejected.${reason}`], 1, reason);
  }
  const rows = await results(db);
  assert.equal(rows.length, 72);
  for (const ticker of Object.values(bad)) {
    assert.ok(!rows.some((x) => x.ticker === ticker), `${ticker} not written`);
  }
  assert.equal(rows.find((x) => x.ticker === legacy)?.value, "1.00");
  const [states] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from live_data.kalshi_market_state
    where event_ticker = ${current} and status = 'finalized'`;
  assert.equal(states!.n, 75, "the snapshot is written whole");

  // Still followed: once Kalshi sends proper results, the three are recorded as well.
  fake.settleMarket(bad.missing, "yes");
  fake.settleMarket(bad.unknown, "yes");
  fake.settleMarket(bad.negative, "yes");
  clock.advance(RESULT_POLL_MS);
  assert.equal((await actor.cycle()).results, 3);
  const all = await results(db);
  assert.equal(all.length, 75);
  for (const x of all) {
    if (x.ticker === legacy) continue;
    const want = Object.values(bad).includes(x.ticker) ? "yes" : expected.get(x.ticker);
    assert.equal(x.result, want, x.ticker);
  }
  assert.equal(t.counters["results.rejected.result_missing"], 1, "counted once per poll");
});

Deno.test("kalshi_market_watchdog stops following an event RESULT_FOLLOW_MS after its strike time", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  await closedHour(db, fake);
  // Neither the 11:00 nor the 12:00 event ever settles.
  const followedAt = async (at: number) => (await watchdog(db, fake, at).actor.cycle()).followed;
  assert.equal(await followedAt(CLOSE + RESULT_FOLLOW_MS - 1), 2);
  assert.equal(await followedAt(CLOSE + RESULT_FOLLOW_MS), 1, "the 12:00 event only");
  assert.equal(await followedAt(CLOSE + H + RESULT_FOLLOW_MS), 0);
});

Deno.test("kalshi_market_watchdog records no result once the lease moved, and the old grant cannot write one", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { current } = await closedHour(db, fake);
  const name = "kalshi_market_watchdog";
  const grant = await grantLease(db, name);
  const clock = new ManualClock(CLOSE + 5_000);
  const h = hostLeased((ctx) =>
    createMarketWatchdog(ctx, {
      settings: resolveArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"] }),
      client: new KalshiClient({ baseUrl: fake.baseUrl, clock, retry: { maxAttempts: 1 } }),
      store: createMarketStore(db.sql),
      autoPoll: false,
    }), { id: name, lease: grant, clock });
  await using _ = h;
  await h.ready();
  fake.settleEvent(current, 100_130);
  await moveLease(db, name);
  const r = await h.actor().cycle();
  assert.deepEqual([r.results, r.written], [0, 0]);
  await eventually(() => h.counter("writes.fenced") >= 1);
  assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
  assert.deepEqual(await results(db), []);

  await assert.rejects(
    createMarketStore(db.sql).writeResults(
      [{
        ticker: `${current}-T99999.99`,
        eventTicker: current,
        strike: "99999.99",
        result: "yes",
        settlementValueDollars: "1.0000",
        closeTime: null,
        settledAt: null,
      }],
      new Date(CLOSE),
      grant,
    ),
    (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE,
  );
  assert.deepEqual(await results(db), []);
});
