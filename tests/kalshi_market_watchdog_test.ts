/**
 * `kalshi_market_watchdog` against the fake Kalshi and a real PostgreSQL: state and history
 * writes, rejection of malformed and incomplete snapshots, and the archive.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import {
  createMarketClient,
  createMarketWatchdog,
  type MarketWatchdog,
  RATE_LIMITED,
  resolveArgs,
} from "../actors/kalshi_market_watchdog/mod.ts";
import { createMarketStore } from "../actors/kalshi_market_watchdog/store.ts";
import { kalshiMarketWatchdogSpec } from "../supervisor/kalshi_children.ts";
import { validateSnapshot } from "../actors/kalshi_market_watchdog/snapshot.ts";
import { ChildSpec } from "../supervisor/child_spec.ts";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { bytesWithFF, testContext } from "./_kalshi.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
/** 10:30 UTC on 1 Sep 2026 = 06:30 EDT: current event settles 07:00 EDT, next 08:00 EDT. */
const NOW = Date.UTC(2026, 8, 1, 10, 30);
const H = 3_600_000;

function setup(db: TestDb, fake: FakeKalshi, args: Record<string, unknown> = {}) {
  const clock = new ManualClock(NOW);
  const t = testContext({ id: "kalshi_market_watchdog", clock });
  const settings = resolveArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"], ...args });
  const client = new KalshiClient({ baseUrl: fake.baseUrl, clock, retry: { maxAttempts: 1 } });
  const actor: MarketWatchdog = createMarketWatchdog(t.ctx, {
    settings,
    client,
    store: createMarketStore(db.sql),
    autoPoll: false,
  });
  return { t, actor, clock };
}

async function count(db: TestDb, table: string, event?: string): Promise<number> {
  const [r] = event
    ? await db.sql<{ n: number }[]>`select count(*)::int as n from ${
      db.sql(`live_data.${table}`)
    } where event_ticker = ${event}`
    : await db.sql<{ n: number }[]>`select count(*)::int as n from ${db.sql(`live_data.${table}`)}`;
  return r!.n;
}

Deno.test("kalshi_market_watchdog cycle() stores 75 markets per event and history only when a quote changes", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const current = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  const next = fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const eth = fake.addHourlyEvent("KXETHD", NOW + H / 2, { lowestStrike: 3000, tier: 20 });
  assert.equal(current, "KXBTCD-26SEP0107");
  assert.equal(next, "KXBTCD-26SEP0108");
  const { t, actor, clock } = setup(db, fake, { series: ["KXBTCD", "KXETHD"] });

  const first = await actor.cycle();
  assert.deepEqual([first.written, first.rejected, first.missing], [3, 0, 1]);
  assert.equal(await count(db, "kalshi_market_state"), 225);
  assert.equal(await count(db, "kalshi_market_history"), 225);
  assert.equal(t.counters["events.missing"], 1, "KXETHD's next event is not listed");
  assert.equal(t.newestDataAt(), NOW);

  const [state] = await db.sql<
    { yes_bid: string; floor_strike: string; symbol: string; observed_at: Date }[]
  >`select yes_bid::text, floor_strike::text, symbol, observed_at
    from live_data.kalshi_market_state where market_ticker = ${`${current}-T99999.99`}`;
  assert.deepEqual(
    { ...state, observed_at: state!.observed_at.getTime() },
    { yes_bid: "0.9800", floor_strike: "99999.99", symbol: "btc", observed_at: NOW },
  );
  const [event] = await db.sql<{ strike_date: Date; symbol: string }[]>`
    select strike_date, symbol from live_data.kalshi_events where event_ticker = ${eth}`;
  assert.equal(event!.strike_date.getTime(), NOW + H / 2);
  assert.equal(event!.symbol, "eth");

  // Nothing changed: no history.
  clock.advance(1_000);
  const second = await actor.cycle();
  assert.equal(second.historyRows, 0);
  assert.equal(await count(db, "kalshi_market_history"), 225);

  // One quote changes (sent in the legacy cent form): one history row, stored in dollars.
  fake.updateMarket(`${current}-T100249.99`, {
    yes_bid_dollars: undefined,
    yes_bid: 61,
    yes_ask_dollars: undefined,
    yes_ask: 63,
  });
  clock.advance(1_000);
  const third = await actor.cycle();
  assert.equal(third.historyRows, 1);
  const rows = await db.sql<{ yes_bid: string; yes_ask: string }[]>`
    select yes_bid::text, yes_ask::text from live_data.kalshi_market_history
    where market_ticker = ${`${current}-T100249.99`} order by observed_at`;
  assert.deepEqual(rows.map((r) => [r.yes_bid, r.yes_ask]), [
    ["0.9700", "0.9800"],
    ["0.6100", "0.6300"],
  ]);
  assert.equal(t.counters["rejected.schema"], undefined);
});

Deno.test("kalshi_market_watchdog rejects and counts malformed and incomplete snapshots, writing nothing", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const ticker = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const { t, actor } = setup(db, fake);
  const e = fake.events.get(ticker)!;
  const pristine = structuredClone(e);
  const cases: [string, () => void][] = [
    [
      "malformed_json",
      () => fake.faults.push({ status: 200, times: 1, body: "{nope", path: `/events/${ticker}` }),
    ],
    ["incomplete_market", () => delete e.markets[10]!.yes_ask_dollars],
    ["incomplete_market", () => delete e.markets[3]!.floor_strike],
    ["strike_gap", () => e.markets.splice(40, 1)],
    ["duplicate_strike", () => e.markets.push(structuredClone(e.markets[5]!))],
    ["strike_date_mismatch", () => (e.event.strike_date = new Date(NOW + 5 * H).toISOString())],
    ["event_mismatch", () => (e.markets[0]!.event_ticker = "KXBTCD-26SEP0109")],
    ["ticker_strike_mismatch", () => (e.markets[7]!.floor_strike = 1234.5)],
    ["empty_event", () => (e.markets.length = 0)],
    ["schema", () => delete (e.event as Record<string, unknown>).series_ticker],
  ];
  for (const [reason, breakIt] of cases) {
    breakIt();
    const before = t.counters[`rejected.${reason}`] ?? 0;
    const r = await actor.cycle();
    assert.equal(r.rejected, 1, reason);
    assert.equal(t.counters[`rejected.${reason}`], before + 1, reason);
    assert.equal(await count(db, "kalshi_market_state", ticker), 0, reason);
    assert.equal(await count(db, "kalshi_market_history", ticker), 0, reason);
    e.event = structuredClone(pristine.event);
    e.markets = structuredClone(pristine.markets);
  }
  // The same event, intact again, is written.
  const ok = await actor.cycle();
  assert.equal(ok.rejected, 0);
  assert.equal(await count(db, "kalshi_market_state", ticker), 75);
});

/** The body the fake sends for `ticker`, as bytes, with `marker` replaced by the byte 0xFF. */
function bodyWithByte(fake: FakeKalshi, ticker: string, marker: string): Uint8Array<ArrayBuffer> {
  const e = fake.events.get(ticker)!;
  const text = JSON.stringify({ event: { ...e.event, markets: e.markets }, markets: e.markets });
  return bytesWithFF(text, marker);
}

Deno.test("kalshi_market_watchdog cleans titles, refuses bad identifiers at the edge and leaves out only the markets PostgreSQL refuses, then keeps writing", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const ticker = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const { t, actor, clock } = setup(db, fake);
  const e = fake.events.get(ticker)!;
  const pristine = structuredClone(e);
  const m = e.markets;
  const tickerOf = (i: number) => m[i]!.ticker as string;

  // Text PostgreSQL refuses, in what is cleaned: titles and the raw payload.
  m[0]!.yes_sub_title = "above\u0000 100k"; // a NUL
  m[1]!.yes_sub_title = "above \uD800"; // an unpaired surrogate (invalid UTF-8)
  m[2]!.yes_sub_title = "x".repeat(100_000); // over-long
  (e.event as Record<string, unknown>).note = "a\u0000b\uDC00";
  // Numbers and times PostgreSQL refuses: those markets alone are left out.
  m[3]!.yes_bid_dollars = "1000000.0000"; // beyond numeric(10, 4)
  m[4]!.close_time = "0000-01-01T00:00:00Z"; // there is no year 0
  const first = await actor.cycle();
  assert.equal(first.written, 2, "both hours' snapshots");
  assert.equal(t.counters["rows.rejected"], 2);
  assert.equal(await count(db, "kalshi_market_state", ticker), 73);
  assert.equal(await count(db, "kalshi_market_history", ticker), 73);
  const left = await db.sql`select 1 from live_data.kalshi_market_state
    where market_ticker in ${db.sql([tickerOf(3), tickerOf(4)])}`;
  assert.equal(left.length, 0, "a refused market is left out whole");
  const titles = await db.sql<{ market_ticker: string; subtitle: string }[]>`
    select market_ticker, subtitle from live_data.kalshi_market_state
    where market_ticker in ${db.sql([tickerOf(0), tickerOf(1), tickerOf(2)])}
    order by floor_strike`;
  assert.deepEqual(titles.slice(0, 2).map((r) => r.subtitle), ["above 100k", "above \uFFFD"]);
  assert.ok(titles[2]!.subtitle.length <= 2_001, "an over-long title is bounded");
  const [event] = await db.sql<{ note: string }[]>`
    select raw->>'note' as note from live_data.kalshi_events where event_ticker = ${ticker}`;
  assert.equal(event!.note, "ab\uFFFD");

  // Identifiers are refused at the edge, counted by reason: the snapshot is not written.
  e.event = structuredClone(pristine.event);
  e.markets = structuredClone(pristine.markets);
  const cases: [string, () => void][] = [
    ["nul_character", () => (e.markets[5]!.status = "active\u0000")],
    ["invalid_unicode", () => (e.markets[6]!.strike_type = "greater\uD800")],
    ["text_too_long", () => (e.event.series_ticker = "KXBTCD".repeat(100))],
    ["invalid_unicode", () => {
      // Raw bytes that are not UTF-8, in a market's status.
      e.markets[7]!.status = "active@@BYTE@@";
      fake.faults.push({
        status: 200,
        times: 1,
        path: `/events/${ticker}`,
        body: bodyWithByte(fake, ticker, "@@BYTE@@"),
      });
    }],
  ];
  for (const [reason, breakIt] of cases) {
    breakIt();
    clock.advance(1_000);
    const before = t.counters[`rejected.${reason}`] ?? 0;
    const r = await actor.cycle();
    assert.equal(r.rejected, 1, reason);
    assert.equal(t.counters[`rejected.${reason}`], before + 1, reason);
    e.event = structuredClone(pristine.event);
    e.markets = structuredClone(pristine.markets);
  }
  const [odd] = await db.sql`select 1 from live_data.kalshi_market_state
    where status <> 'active' or strike_type <> 'greater' or series_ticker <> 'KXBTCD'`;
  assert.equal(odd, undefined, "nothing refused was stored");

  // And it keeps writing: the markets left out before are written now.
  clock.advance(1_000);
  const again = await actor.cycle();
  assert.equal(again.written, 2);
  assert.equal(await count(db, "kalshi_market_state", ticker), 75);
  assert.equal(t.counters["rows.rejected"], 2);
  assert.equal(t.counters["errors.write"], undefined);
});

Deno.test("kalshi_market_watchdog archives snapshots as gzip JSON, atomically, at most once per interval", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const ticker = fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  const dir = await Deno.makeTempDir({ prefix: "recio-kalshi-archive-" });
  try {
    const { actor, clock, t } = setup(db, fake, { archiveDir: dir, archiveEveryMs: 60_000 });
    await actor.cycle();
    clock.advance(1_000);
    await actor.cycle();
    clock.advance(60_000);
    await actor.cycle();
    const files: string[] = [];
    for await (const f of Deno.readDir(`${dir}/KXBTCD/${ticker}`)) files.push(f.name);
    assert.equal(files.length, 2);
    assert.ok(files.every((f) => f.endsWith(".json.gz")), "no temporary files left");
    assert.equal(t.counters["archive.files"], 2);
    const gz = await Deno.readFile(`${dir}/KXBTCD/${ticker}/${files.sort()[0]}`);
    const text = await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    const body = JSON.parse(text);
    assert.equal(body.event.event_ticker, ticker);
    assert.equal(body.event.markets.length, 75);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kalshi_market_watchdog start() polls every pollMs until stopped", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.addHourlyEvent("KXBTCD", Date.now() - (Date.now() % H) + H);
  const t = testContext({ id: "kalshi_market_watchdog" });
  const settings = resolveArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"], pollMs: 20 });
  const actor = createMarketWatchdog(t.ctx, {
    settings,
    client: new KalshiClient({ baseUrl: fake.baseUrl, retry: { maxAttempts: 1 } }),
    store: createMarketStore(db.sql),
  });
  await actor.start();
  const { eventually } = await import("./_db.ts");
  await eventually(() => (t.counters["snapshots.written"] ?? 0) >= 3);
  t.abort();
  await actor.stop();
  const calls = fake.calls.length;
  assert.ok(calls >= 6, "current and next event each cycle");
  assert.equal(fake.calls.length, calls, "no calls after stop");
});

Deno.test("validateSnapshot() accepts the fall-back hour under either instant's strike_date", () => {
  const fakeEvent = (strikeDate: string) => ({
    event: { event_ticker: "KXBTCD-26NOV0101", series_ticker: "KXBTCD", strike_date: strikeDate },
    markets: [{
      ticker: "KXBTCD-26NOV0101-T99999.99",
      event_ticker: "KXBTCD-26NOV0101",
      status: "active",
      floor_strike: 99999.99,
      close_time: strikeDate,
      yes_bid_dollars: "0.1",
      yes_ask_dollars: "0.2",
      no_bid_dollars: "0.8",
      no_ask_dollars: "0.9",
      last_price_dollars: "0.1",
    }],
  });
  assert.equal(validateSnapshot(fakeEvent("2026-11-01T05:00:00Z"), "KXBTCD-26NOV0101").ok, true);
  assert.equal(validateSnapshot(fakeEvent("2026-11-01T06:00:00Z"), "KXBTCD-26NOV0101").ok, true);
  assert.equal(validateSnapshot(fakeEvent("2026-11-01T07:00:00Z"), "KXBTCD-26NOV0101").ok, false);
});

Deno.test("kalshiMarketWatchdogSpec() grants net to the Kalshi host and the database only", () => {
  const spec = ChildSpec.parse(kalshiMarketWatchdogSpec({
    baseUrl: "https://external-api.kalshi.com/trade-api/v2",
    series: ["KXBTCD"],
    pollMs: 1000,
    readPerSecond: 20,
    databaseUrl: "postgres://u:secret@db.internal:6543/recio",
  }));
  assert.deepEqual(spec.permissions.net, ["external-api.kalshi.com:443", "db.internal:6543"]);
  assert.equal(spec.permissions.read, false);
  assert.equal(spec.permissions.env, false);
  assert.ok(!JSON.stringify(spec).includes("secret"));
  // A multi-host (failover) URL grants every host, each with its port.
  const multi = ChildSpec.parse(kalshiMarketWatchdogSpec({
    baseUrl: "https://external-api.kalshi.com/trade-api/v2",
    series: ["KXBTCD"],
    pollMs: 1000,
    readPerSecond: 20,
    databaseUrl: "postgres://u:secret@db1.internal,db2.internal:6543/recio",
  }));
  assert.deepEqual(multi.permissions.net, [
    "external-api.kalshi.com:443",
    "db1.internal:5432",
    "db2.internal:6543",
  ]);
});

Deno.test("kalshi_market_watchdog reports degraded while every fetch fails and recovers with the next snapshot", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2);
  fake.addHourlyEvent("KXBTCD", NOW + H / 2 + H);
  const { t, actor, clock } = setup(db, fake);
  const fault = { status: 503, times: 1_000, path: /^\/events\// };
  fake.faults.push(fault);
  const down = await actor.cycle();
  assert.equal(down.written, 0);
  assert.equal(down.failed, 2);
  assert.equal(t.health.length, 1);
  assert.match(t.health[0]!, /^degraded:kalshi unreachable: /);
  await actor.cycle();
  assert.equal(t.health.length, 1, "reported once, not every cycle");
  fake.faults = [];
  clock.advance(1_000);
  const up = await actor.cycle();
  assert.equal(up.written, 2);
  assert.deepEqual(t.health.slice(1), ["running"]);
  assert.equal(await count(db, "kalshi_market_state"), 150);
});

/** Groups the fake's calls into polls: calls less than `gapMs` apart belong to one poll. */
function polls(calls: readonly { at: number }[], gapMs = 30): number[] {
  const starts: number[] = [];
  let last = -Infinity;
  for (const c of calls) {
    if (c.at - last > gapMs) starts.push(c.at);
    last = c.at;
  }
  return starts;
}

/**
 * The most calls in any one-second window, as the fake saw them. The limiter bounds the times it
 * sends at; the fake stamps the answer, so `slackMs` allows for delivery jitter between the two.
 */
function busiestSecond(calls: readonly { at: number }[], slackMs = 20): number {
  let most = 0;
  for (const c of calls) {
    most = Math.max(
      most,
      calls.filter((x) => x.at >= c.at && x.at < c.at + 1_000 - slackMs).length,
    );
  }
  return most;
}

Deno.test("kalshi_market_watchdog under 429 stays within the read rate and backs its polls off, degraded as rate limited", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const hour = Date.now() - (Date.now() % H);
  fake.addHourlyEvent("KXBTCD", hour + H);
  fake.addHourlyEvent("KXBTCD", hour + 2 * H);
  fake.faults.push({ status: 429, times: 1_000_000, path: /^\/events\// });
  const t = testContext({ id: "kalshi_market_watchdog" });
  const settings = resolveArgs({
    baseUrl: fake.baseUrl,
    series: ["KXBTCD"],
    pollMs: 50,
    readPerSecond: 8,
  });
  // The client the worker runs with.
  const actor = createMarketWatchdog(t.ctx, {
    settings,
    client: createMarketClient(settings, t.ctx),
    store: createMarketStore(db.sql),
  });
  await actor.start();
  try {
    await eventually(() => {
      const at = fake.calls.map((c) => c.at);
      return at.length > 0 && at.at(-1)! - at[0]! >= 2_900;
    }, { timeoutMs: 20_000 });
  } finally {
    t.abort();
    await actor.stop();
  }
  const calls = fake.calls.filter((c) => c.path.startsWith("/events/"));
  assert.ok(calls.every((c) => c.status === 429));
  assert.ok(busiestSecond(calls) <= 8, `at most 8 requests a second (saw ${busiestSecond(calls)})`);
  // Two events a poll: 2 requests per poll, polls further and further apart.
  const starts = polls(calls);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
  assert.ok(gaps.length >= 3, `several polls (${gaps.length + 1})`);
  // The n-th wait is at least pollMs·2^n (a late timer only lengthens it): 100, 200, 400, … ms.
  gaps.forEach((gap, i) => {
    const least = settings.pollMs * 2 ** (i + 1) - 10;
    assert.ok(gap >= least, `wait ${i + 1} ≥ ${least} ms: ${gaps.map(Math.round).join(", ")} ms`);
  });
  assert.ok(gaps.at(-1)! >= 8 * settings.pollMs, "the last wait is far beyond pollMs");
  const t0 = calls[0]!.at;
  const inSecond = (n: number) =>
    calls.filter((c) => c.at >= t0 + n * 1_000 && c.at < t0 + (n + 1) * 1_000).length;
  assert.ok(inSecond(2) < inSecond(0), `fewer requests later (${inSecond(0)} → ${inSecond(2)})`);
  // Every 429 is counted, except those of the one poll (two requests) the stop cut short.
  const counted = t.counters["errors.rate_limited"] ?? 0;
  assert.ok(
    counted <= calls.length && counted >= calls.length - 2,
    `${counted} of ${calls.length}`,
  );
  assert.equal(t.counters["retries.429"], undefined, "a 429 is never retried at once");
  assert.deepEqual(t.health, [`degraded:${RATE_LIMITED}`], "reported once, as rate limited");
  assert.equal(t.details()?.problem, RATE_LIMITED);
});

Deno.test("kalshi_market_watchdog waits for Retry-After before the next poll, then recovers", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const hour = Date.now() - (Date.now() % H);
  fake.addHourlyEvent("KXBTCD", hour + H);
  fake.addHourlyEvent("KXBTCD", hour + 2 * H);
  fake.faults.push({ status: 429, times: 2, retryAfterS: 1, path: /^\/events\// });
  const t = testContext({ id: "kalshi_market_watchdog" });
  const settings = resolveArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"], pollMs: 20 });
  const actor = createMarketWatchdog(t.ctx, {
    settings,
    client: createMarketClient(settings, t.ctx),
    store: createMarketStore(db.sql),
  });
  await actor.start();
  try {
    await eventually(() => (t.counters["snapshots.written"] ?? 0) >= 2);
  } finally {
    t.abort();
    await actor.stop();
  }
  const limited = fake.calls.filter((c) => c.status === 429);
  const firstOk = fake.calls.find((c) => c.status === 200)!;
  assert.equal(limited.length, 2);
  assert.ok(
    firstOk.at - limited.at(-1)!.at >= 950,
    `next poll after Retry-After (${Math.round(firstOk.at - limited.at(-1)!.at)} ms)`,
  );
  assert.deepEqual(t.health, [`degraded:${RATE_LIMITED}`, "running"]);
});
