import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import {
  ACTOR_ARGS,
  type ActorArgsInput,
  type ActorName,
  COINBASE_URLS,
  INGEST_STREAMS,
  parseActorArgs,
} from "./actor_args.ts";

/** The smallest valid args of each actor. */
const MINIMAL: { [A in ActorName]: ActorArgsInput<A> } = {
  price_watchdog: { symbol: "BTC" },
  kalshi_market_watchdog: { baseUrl: "https://kalshi.test/trade-api/v2" },
  kalshi_account_sync: { user: "user_0001", baseUrl: "https://kalshi.test/trade-api/v2" },
  kalshi_historical_ingest: {
    user: "user_0001",
    baseUrl: "https://kalshi.test/trade-api/v2",
    keyId: "key-id",
    keyPath: "/etc/recio/kalshi.pem",
  },
  strike_coordinator: {
    symbol: "BTC",
    mode: "closed_form",
    cycleMs: 1_000,
    strikeCount: 21,
    volWindowS: 1_800,
    volFloorAnnual: 0.2,
    momentumDrift: 0,
    priceMaxAgeMs: 10_000,
    marketMaxAgeMs: 15_000,
    outputDir: null,
    watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
  },
  system_monitor: {},
  partition_maintenance: {},
  retention: {},
  backup: { dir: "/srv/recio/backups" },
  history_backfill: { symbols: ["BTC"], days: 2, restUrl: "https://api.exchange.coinbase.com" },
};

const names = Object.keys(ACTOR_ARGS) as ActorName[];

Deno.test("parseActorArgs() fills in each actor's defaults, written once in its schema", () => {
  assert.deepEqual(parseActorArgs("system_monitor", {}), { intervalMs: 15_000, dataDir: "." });
  assert.deepEqual(parseActorArgs("partition_maintenance", {}), {
    monthsAhead: 3,
    retentionMonths: 36,
  });
  assert.deepEqual(parseActorArgs("retention", {}), { retentionMonths: 36 });
  assert.deepEqual(parseActorArgs("backup", { dir: "/b" }), {
    dir: "/b",
    pgBinDirs: [],
    keepDaily: 7,
    keepWeekly: 4,
  });
  assert.equal(parseActorArgs("history_backfill", MINIMAL.history_backfill).pauseMs, 150);
  assert.deepEqual(
    parseActorArgs("kalshi_historical_ingest", MINIMAL.kalshi_historical_ingest).streams,
    [...INGEST_STREAMS],
  );
  const price = parseActorArgs("price_watchdog", { symbol: "BTC" });
  assert.equal(price.feed, "advanced");
  assert.equal(price.restUrl, COINBASE_URLS.rest);
  assert.equal(price.flushMs, 250);
  const market = parseActorArgs("kalshi_market_watchdog", MINIMAL.kalshi_market_watchdog);
  assert.deepEqual(market.series, ["KXBTCD", "KXETHD"]);
  assert.equal(market.pollMs, 1_000);
  const sync = parseActorArgs("kalshi_account_sync", MINIMAL.kalshi_account_sync);
  assert.equal(sync.authBackoffMs, 300_000);
  assert.equal(sync.keyId, undefined);
  // Given values are kept as they are.
  assert.deepEqual(
    parseActorArgs("strike_coordinator", MINIMAL.strike_coordinator),
    MINIMAL.strike_coordinator,
  );
  assert.deepEqual(parseActorArgs("system_monitor", { intervalMs: 5_000, dataDir: "/d" }), {
    intervalMs: 5_000,
    dataDir: "/d",
  });
});

Deno.test("parseActorArgs() accepts every actor's minimal args and refuses a misspelt key, naming the actor and the key", () => {
  for (const actor of names) {
    parseActorArgs(actor, MINIMAL[actor]);
    assert.throws(
      () => parseActorArgs(actor, { ...MINIMAL[actor], intervalMS: 1_000 }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.startsWith(`Cannot start ${actor}: invalid args (`) &&
        e.message.includes(`Unrecognized key: "intervalMS"`),
      actor,
    );
  }
});

Deno.test("parseActorArgs() refuses missing and mistyped keys, naming each with its path", () => {
  const cases: [ActorName, unknown, RegExp][] = [
    ["backup", {}, /^Cannot start backup: invalid args \(dir: /],
    ["backup", { dir: "/b", keepDaily: "7" }, /\(keepDaily: .*expected number/],
    ["system_monitor", { intervalMs: "fast" }, /^Cannot start system_monitor: .*\(intervalMs: /],
    ["system_monitor", { intervalMs: 0 }, /intervalMs: /],
    ["partition_maintenance", { monthsAhead: 1.5 }, /monthsAhead: /],
    ["retention", { retentionMonths: -1 }, /retentionMonths: /],
    [
      "strike_coordinator",
      { ...MINIMAL.strike_coordinator, cycleMs: undefined },
      /^Cannot start strike_coordinator: invalid args \(cycleMs: /,
    ],
    [
      "strike_coordinator",
      { ...MINIMAL.strike_coordinator, mode: "magic" },
      /\(mode: /,
    ],
    [
      "strike_coordinator",
      {
        ...MINIMAL.strike_coordinator,
        watchlist: { ...MINIMAL.strike_coordinator.watchlist, maxAsk: "98" },
      },
      /\(watchlist\.maxAsk: /,
    ],
    ["price_watchdog", { symbol: "BTC/USD" }, /^Cannot start price_watchdog: .*\(symbol: /],
    ["price_watchdog", { symbol: "BTC", feed: "pro" }, /\(feed: /],
    ["kalshi_market_watchdog", { baseUrl: "not a url" }, /\(baseUrl: /],
    ["kalshi_account_sync", { user: "bob", baseUrl: "https://k.test" }, /\(user: /],
    [
      "kalshi_historical_ingest",
      { ...MINIMAL.kalshi_historical_ingest, streams: ["trades"] },
      /\(streams\.0: /,
    ],
    ["kalshi_historical_ingest", { ...MINIMAL.kalshi_historical_ingest, keyId: "" }, /keyId: /],
    ["history_backfill", { ...MINIMAL.history_backfill, days: 0 }, /\(days: /],
    ["history_backfill", { ...MINIMAL.history_backfill, symbols: [] }, /\(symbols: /],
  ];
  for (const [actor, args, expected] of cases) {
    assert.throws(
      () => parseActorArgs(actor, args),
      (e: unknown) => e instanceof ConfigError && expected.test(e.message),
      `${actor} ${JSON.stringify(args)}`,
    );
  }
  for (const actor of names) {
    for (const bad of [undefined, null, [], "args", 3]) {
      assert.throws(() => parseActorArgs(actor, bad), ConfigError, `${actor} ${String(bad)}`);
    }
  }
});

Deno.test("ActorArgsInput<A> fails the type check on a misspelt or missing key", () => {
  // The same types `supervisor/children.ts` builds args with; each line below must not compile.
  // @ts-expect-error `retentionMonth` is not a key of retention's args
  const typo: ActorArgsInput<"retention"> = { retentionMonth: 36 };
  // @ts-expect-error backup's args need `dir`
  const missing: ActorArgsInput<"backup"> = { keepDaily: 7 };
  // @ts-expect-error `intervalMs` is a number
  const wrong: ActorArgsInput<"system_monitor"> = { intervalMs: "15000" };
  const builtWithSatisfies = {
    symbol: "BTC",
    // @ts-expect-error `flushMS` is not a key of price_watchdog's args
    flushMS: 250,
  } satisfies ActorArgsInput<"price_watchdog">;
  // And at run time, from a children file, the worker's parse refuses the same objects.
  assert.throws(() => parseActorArgs("retention", typo), /Unrecognized key: "retentionMonth"/);
  assert.throws(() => parseActorArgs("backup", missing), /\(dir: /);
  assert.throws(() => parseActorArgs("system_monitor", wrong), /\(intervalMs: /);
  assert.throws(
    () => parseActorArgs("price_watchdog", builtWithSatisfies),
    /Unrecognized key: "flushMS"/,
  );
});
