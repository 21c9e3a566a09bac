import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import { ACTOR_ARGS, type ActorName, parseActorArgs } from "../schema/actor_args.ts";
import { eventually } from "../tests/_eventually.ts";
import { validateChildSpecs } from "./child_spec.ts";
import {
  actorOfModule,
  assertArgsValid,
  assertModulesExist,
  defaultChildren,
  jobDefinitions,
  readChildrenFile,
} from "./children.ts";
import { cronName } from "./jobs.ts";
import { Supervisor } from "./mod.ts";

/** A configuration whose default tree holds every actor (Kalshi credentials, an archive). */
const everyActor = () =>
  loadConfig({
    KALSHI_API_KEY_ID: "key-id",
    KALSHI_PRIVATE_KEY_PATH: "/etc/recio/kalshi.pem",
    KALSHI_ARCHIVE_DIR: "/srv/recio/kalshi",
    RECIO_COORDINATOR_SYMBOLS: "BTC,ETH",
  });
/** The actor a child id names (`price_watchdog:btc` → `price_watchdog`). */
const actorOf = (id: string) => id.split(":")[0] as ActorName;

Deno.test("defaultChildren() is a valid tree: monitor, one watchdog per symbol, coordinator after its feed", () => {
  const specs = validateChildSpecs(defaultChildren(loadConfig({})));
  assertModulesExist(specs);
  assert.deepEqual(specs.filter((s) => s.autostart).map((s) => s.id), [
    "system_monitor",
    "price_watchdog:btc",
    "price_watchdog:eth",
    "kalshi_market_watchdog",
    "kalshi_account_sync:user_0001",
    "strike_coordinator:btc",
  ]);
  const btc = specs[1]!;
  assert.deepEqual(btc.permissions.net, [
    "advanced-trade-ws.coinbase.com:443",
    "api.exchange.coinbase.com:443",
  ]);
  assert.equal(btc.permissions.read, false);
  assert.equal(btc.permissions.run, false);
  assert.equal(btc.freshness, 30_000);
  assert.equal(btc.args.productId, "BTC-USD");
  assert.deepEqual(specs[5]!.dependsOn, ["price_watchdog:btc", "kalshi_market_watchdog"]);
  const sync = specs[4]!;
  assert.equal(sync.permissions.read, false, "no key configured: no file to read");
  assert.equal(sync.permissions.env, false);
});

Deno.test("defaultChildren() points the feeds at configured URLs and symbols", () => {
  const specs = validateChildSpecs(defaultChildren(loadConfig({
    RECIO_SYMBOLS: "eth",
    RECIO_COORDINATOR_SYMBOLS: "ETH",
    RECIO_COINBASE_FEED: "exchange",
    RECIO_COINBASE_WS_URL: "ws://127.0.0.1:4001/exchange",
    RECIO_COINBASE_REST_URL: "http://127.0.0.1:4001",
  })));
  assert.deepEqual(specs.filter((s) => s.autostart).map((s) => s.id), [
    "system_monitor",
    "price_watchdog:eth",
    "kalshi_market_watchdog",
    "kalshi_account_sync:user_0001",
    "strike_coordinator:eth",
  ]);
  assert.deepEqual(specs[1]!.permissions.net, ["127.0.0.1:4001"]);
  assert.equal(specs[1]!.args.feed, "exchange");
});

Deno.test("defaultChildren() schedules history_backfill with network only to the Coinbase REST host", () => {
  const config = loadConfig({
    RECIO_SYMBOLS: "btc,ETH",
    RECIO_COINBASE_REST_URL: "http://127.0.0.1:4001",
    RECIO_HISTORY_BACKFILL_DAYS: "5",
  });
  const specs = validateChildSpecs(defaultChildren(config));
  const job = specs.find((s) => s.id === "history_backfill");
  assert.ok(job);
  assert.equal(job.autostart, false);
  assert.equal(job.restart, "transient");
  assert.ok(job.module.endsWith("/actors/jobs/history_backfill/worker.ts"));
  assert.deepEqual(job.args, {
    symbols: ["BTC", "ETH"],
    days: 5,
    restUrl: "http://127.0.0.1:4001",
  });
  assert.deepEqual(job.permissions.net, ["127.0.0.1:4001"]);
  assert.equal(job.permissions.read, false);
  assert.equal(job.permissions.write, false);
  assert.equal(job.permissions.run, false);
  const def = jobDefinitions(config).find((d) => d.name === "history_backfill");
  assert.deepEqual(def, {
    name: "history_backfill",
    childId: "history_backfill",
    schedule: "45 4 * * *",
  });
  const byDefault = validateChildSpecs(defaultChildren(loadConfig({})));
  assert.deepEqual(byDefault.find((s) => s.id === "history_backfill")?.permissions.net, [
    "api.exchange.coinbase.com:443",
  ]);
});

Deno.test("defaultChildren() has no kalshi_historical_ingest job without Kalshi credentials", () => {
  for (
    const env of [
      {},
      { KALSHI_API_KEY_ID: "key-id" },
      { KALSHI_PRIVATE_KEY_PATH: "/etc/recio/kalshi.pem" },
    ]
  ) {
    const config = loadConfig(env);
    const ids = defaultChildren(config).map((s) => s.id);
    assert.equal(ids.some((id) => id.startsWith("kalshi_historical_ingest")), false);
    const names = jobDefinitions(config).map((d) => d.name);
    assert.deepEqual(names, ["partition_maintenance", "retention", "backup", "history_backfill"]);
  }
});

Deno.test("defaultChildren() schedules one kalshi_historical_ingest job per user when credentials are set", () => {
  const config = loadConfig({
    KALSHI_API_KEY_ID: "key-id",
    KALSHI_PRIVATE_KEY_PATH: "/etc/recio/kalshi.pem",
    KALSHI_USERS: "user_0001,user_0002",
    KALSHI_BASE_URL: "http://127.0.0.1:4002/trade-api/v2",
    RECIO_JOB_KALSHI_INGEST: "20 5 * * *",
  });
  const specs = validateChildSpecs(defaultChildren(config));
  assertModulesExist(specs);
  const jobs = specs.filter((s) => s.id.startsWith("kalshi_historical_ingest:"));
  assert.deepEqual(jobs.map((s) => s.id), [
    "kalshi_historical_ingest:user_0001",
    "kalshi_historical_ingest:user_0002",
  ]);
  for (const job of jobs) {
    assert.equal(job.autostart, false);
    assert.equal(job.restart, "transient");
    assert.equal(job.args.keyPath, "/etc/recio/kalshi.pem");
    assert.deepEqual(job.permissions.read, ["/etc/recio/kalshi.pem"]);
    assert.deepEqual(job.permissions.net, ["127.0.0.1:4002"]);
    assert.equal(job.intensity.maxRestarts, 2, "retried like the other jobs");
  }
  assert.equal(specs.filter((s) => s.autostart).some((s) => s.id.includes("ingest")), false);
  const defs = jobDefinitions(config).filter((d) => d.name.startsWith("kalshi_historical_ingest"));
  assert.deepEqual(defs, jobs.map((s) => ({ name: s.id, childId: s.id, schedule: "20 5 * * *" })));
  // Deno.cron refuses ":" in a name.
  assert.equal(cronName(defs[0]!.name), "recio_kalshi_historical_ingest_user_0001");
});

Deno.test("defaultChildren() builds args that each actor's own schema accepts, for every actor", () => {
  const specs = validateChildSpecs(defaultChildren(everyActor()));
  const actors = new Set(specs.map((s) => actorOf(s.id)));
  assert.deepEqual([...actors].sort(), Object.keys(ACTOR_ARGS).sort());
  for (const spec of specs) {
    const actor = actorOf(spec.id);
    assert.ok(spec.module.endsWith(`/${actor}/worker.ts`), spec.module);
    const args = parseActorArgs(actor, spec.args);
    // Parsing only adds defaults: every key the supervisor sent arrives unchanged.
    assert.deepEqual(
      Object.fromEntries(Object.keys(spec.args).map((k) => [k, (args as never)[k]])),
      spec.args,
      spec.id,
    );
  }
});

Deno.test("readChildrenFile() with args an actor's schema refuses: that actor fails to start, naming itself and the key", async () => {
  const modules = new Map(defaultChildren(everyActor()).map((s) => [actorOf(s.id), s.module]));
  const k = { user: "user_0001", baseUrl: "https://k.test/trade-api/v2" };
  const cases: { [A in ActorName]: [Record<string, unknown>, RegExp] } = {
    price_watchdog: [{ symbol: "BTC", flushMS: 250 }, /Unrecognized key: "flushMS"/],
    kalshi_market_watchdog: [{ baseUrl: k.baseUrl, pollMs: "1s" }, /\(pollMs: /],
    kalshi_account_sync: [{ baseUrl: k.baseUrl }, /\(user: /],
    kalshi_historical_ingest: [
      { ...k, keyId: "key-id", keyPath: "/k.pem", streams: ["trades"] },
      /\(streams\.0: /,
    ],
    strike_coordinator: [{ symbol: "BTC", mode: "closed_form" }, /\(cycleMs: /],
    system_monitor: [{ intervalMs: "fast" }, /\(intervalMs: /],
    partition_maintenance: [{ monthsAhed: 3 }, /Unrecognized key: "monthsAhed"/],
    retention: [{ retentionMonths: "36" }, /\(retentionMonths: /],
    backup: [{ keepDaily: 7 }, /\(dir: /],
    history_backfill: [{ symbols: ["BTC"], days: 0, restUrl: "https://c.test" }, /\(days: /],
  };
  const names = Object.keys(cases) as ActorName[];
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    // As a deployment writes it: each actor's module, no database, no permissions.
    await Deno.writeTextFile(
      file,
      JSON.stringify(names.map((id) => ({
        id,
        module: modules.get(id),
        args: cases[id][0],
        restart: "temporary",
        database: false,
        heartbeatMs: 100,
      }))),
    );
    const sup = new Supervisor(validateChildSpecs(readChildrenFile(file)), {
      node: "test",
      events: { record: () => {}, setStatus: () => {} },
      tickMs: 50,
      log: { format: "text", level: "fatal" },
    });
    sup.start();
    try {
      await eventually(() => names.every((id) => sup.child(id)?.state === "stopped"), {
        timeoutMs: 60_000,
      });
      for (const id of names) {
        const c = sup.child(id)!;
        assert.equal(c.readyAt, null, `${id} never got ready`);
        assert.match(c.lastError ?? "", new RegExp(`Cannot start ${id}: invalid args \\(`), id);
        assert.match(c.lastError ?? "", cases[id][1], id);
      }
    } finally {
      await sup.stop("test over");
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("actorOfModule() names the system's actors by their worker module, and nothing else", () => {
  const specs = validateChildSpecs(defaultChildren(everyActor()));
  for (const spec of specs) assert.equal(actorOfModule(spec.module), actorOf(spec.id), spec.id);
  const root = new URL("../actors/", import.meta.url).href;
  for (
    const other of [
      new URL("../tests/fixtures/test_actor.ts", import.meta.url).href,
      `${root}price_watchdog/mod.ts`,
      `${root}no_such_actor/worker.ts`,
      `${root}jobs/_job.ts`,
      `${root}toString/worker.ts`,
      "file:///elsewhere/actors/price_watchdog/worker.ts",
    ]
  ) assert.equal(actorOfModule(other), undefined, other);
});

Deno.test("assertArgsValid() refuses a child list whose actor args its worker would refuse, naming the child and the key", () => {
  const modules = new Map(defaultChildren(everyActor()).map((s) => [actorOf(s.id), s.module]));
  const spec = (id: string, module: string, args: Record<string, unknown>) =>
    validateChildSpecs([{ id, module, args }]);
  // The default tree passes, and so does a module that is none of the system's actors.
  assertArgsValid(validateChildSpecs(defaultChildren(everyActor())));
  const fixture = new URL("../tests/fixtures/test_actor.ts", import.meta.url).href;
  assertArgsValid(spec("t", fixture, { anything: [1, "x"] }));
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["price_watchdog", { symbol: "BTC", flushMS: 250 }, /Unrecognized key: "flushMS"/],
    ["price_watchdog", {}, /\(symbol: /],
    ["strike_coordinator", { symbol: "BTC", mode: "closed_form" }, /\(cycleMs: /],
    ["backup", { keepDaily: 7 }, /\(dir: /],
    ["retention", { retentionMonths: -1 }, /\(retentionMonths: /],
  ];
  for (const [actor, args, why] of bad) {
    let e: unknown;
    try {
      assertArgsValid(spec(`${actor}:x`, modules.get(actor as ActorName)!, args));
    } catch (error) {
      e = error;
    }
    assert.ok(e instanceof ConfigError, `${actor} ${JSON.stringify(args)}`);
    assert.match(e.message, new RegExp(`^Child "${actor}:x": Cannot start ${actor}: invalid args`));
    assert.match(e.message, why);
  }
});
