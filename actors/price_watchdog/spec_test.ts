import assert from "node:assert/strict";
import { validateChildSpecs } from "../../supervisor/child_spec.ts";
import { priceWatchdogSpecs } from "./spec.ts";

Deno.test("priceWatchdogSpecs() gives one valid spec per symbol with net only to the feed and database", () => {
  const specs = validateChildSpecs(priceWatchdogSpecs({
    symbols: ["BTC", "eth"],
    databaseUrl: "postgres://u:secret@db.local:6543/recio",
  }));
  assert.deepEqual(specs.map((s) => s.id), ["price_watchdog:btc", "price_watchdog:eth"]);
  const btc = specs[0]!;
  assert.ok(btc.module.endsWith("/actors/price_watchdog/worker.ts"));
  assert.deepEqual(btc.permissions.net, [
    "advanced-trade-ws.coinbase.com:443",
    "api.exchange.coinbase.com:443",
    "db.local:6543",
  ]);
  assert.equal(btc.permissions.read, false);
  assert.equal(btc.permissions.write, false);
  assert.equal(btc.permissions.run, false);
  assert.equal(btc.freshness, 30_000);
  assert.equal(btc.heartbeatMs, 1_000);
  assert.equal(btc.critical, false);
  assert.deepEqual(specs[1]!.args.productId, "ETH-USD");
  assert.ok(!JSON.stringify(specs).includes("secret"), "no password in a spec");
});

Deno.test("priceWatchdogSpecs() points the feed at configured URLs", () => {
  const [s] = priceWatchdogSpecs({
    symbols: ["BTC"],
    feed: "exchange",
    wsUrl: "ws://127.0.0.1:4001/exchange",
    restUrl: "http://127.0.0.1:4001",
  });
  assert.deepEqual(s!.permissions!.net, ["127.0.0.1:4001"]);
  assert.equal(s!.args!.feed, "exchange");
});
