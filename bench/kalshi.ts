/**
 * Kalshi benchmarks against the fake Kalshi on 127.0.0.1 and a scratch database:
 * - account sync of 10,000 fills and 1,000 settlements (a full reconcile, 1,000 per page):
 *   rows/s and peak RSS;
 * - market watchdog cycle time (fetch, validate, write state and history) for one event of
 *   75 markets: p50/p99 over 200 cycles, every cycle with changed quotes.
 *
 * Needs `DATABASE_URL`. Run alone: `DATABASE_URL=... deno run -A bench/kalshi.ts`.
 *
 * @module
 */
import { ManualClock } from "../lib/clock.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner } from "../lib/kalshi/signer.ts";
import { createAccountSync, resolveArgs } from "../actors/kalshi_account_sync/mod.ts";
import {
  createMarketWatchdog,
  resolveArgs as watchdogArgs,
} from "../actors/kalshi_market_watchdog/mod.ts";
import { createMarketStore } from "../actors/kalshi_market_watchdog/store.ts";
import { createTestDb } from "../tests/_db.ts";
import { fillJson, settlementJson, testContext } from "../tests/_kalshi.ts";
import { dollars, FakeKalshi, generateTestKeys } from "../tests/fakes/kalshi_server.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

async function accountSync(): Promise<BenchRow[]> {
  const keys = await generateTestKeys();
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 10_000 }, (_, i) => fillJson(i));
  fake.settlements = Array.from({ length: 1_000 }, (_, i) => settlementJson(i));
  const client = new KalshiClient({
    baseUrl: fake.baseUrl,
    signer: await createSigner(keys.keyId, keys.pkcs8Pem),
    readPerSecond: 1_000,
  });
  const t = testContext();
  const sync = createAccountSync(t.ctx, {
    settings: resolveArgs({ user: "user_0001", baseUrl: fake.baseUrl, pageLimit: 1000 }),
    client,
    store: createAccountStore(db.sql, "user_0001"),
  });
  let peak = Deno.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 5);
  const started = performance.now();
  const r = await sync.sync(true);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, Deno.memoryUsage().rss);
  const rows = r.fills + r.settlements;
  if (rows !== 11_000) throw new Error(`Cannot bench account sync: wrote ${rows} rows`);
  return [
    {
      bench: "kalshi",
      metric: "account sync rows/s",
      value: round(rows / seconds, 0),
      unit: "rows/s",
      note: "10k fills + 1k settlements, full reconcile",
    },
    { bench: "kalshi", metric: "account sync time", value: round(seconds * 1000, 0), unit: "ms" },
    {
      bench: "kalshi",
      metric: "account sync peak RSS",
      value: round(peak / 2 ** 20, 1),
      unit: "MiB",
      note: "whole process",
    },
  ];
}

async function watchdogCycle(): Promise<BenchRow[]> {
  const keys = await generateTestKeys();
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const now = Date.UTC(2026, 8, 1, 10, 30);
  const ticker = fake.addHourlyEvent("KXBTCD", now + 1_800_000);
  const clock = new ManualClock(now);
  const t = testContext({ clock });
  const watchdog = createMarketWatchdog(t.ctx, {
    settings: watchdogArgs({ baseUrl: fake.baseUrl, series: ["KXBTCD"] }),
    client: new KalshiClient({ baseUrl: fake.baseUrl, readPerSecond: 10_000 }),
    store: createMarketStore(db.sql),
    autoPoll: false,
  });
  const markets = fake.events.get(ticker)!.markets;
  const times: number[] = [];
  for (let i = 0; i < 220; i++) {
    // Every cycle some quotes move, so history rows are written too.
    for (let k = 0; k < 10; k++) {
      const m = markets[(i * 7 + k) % markets.length]!;
      m.yes_bid_dollars = dollars(1 + ((i + k) % 97));
    }
    clock.advance(1_000);
    const started = performance.now();
    await watchdog.cycle();
    if (i >= 20) times.push(performance.now() - started);
  }
  return [
    {
      bench: "kalshi",
      metric: "watchdog cycle p50",
      value: round(percentile(times, 50)),
      unit: "ms",
      note: "75 markets + next event (404)",
    },
    {
      bench: "kalshi",
      metric: "watchdog cycle p99",
      value: round(percentile(times, 99)),
      unit: "ms",
    },
  ];
}

/** Runs both benchmarks. */
export async function run(): Promise<BenchRow[]> {
  return [...await accountSync(), ...await watchdogCycle()];
}

if (import.meta.main) console.table(await run());
