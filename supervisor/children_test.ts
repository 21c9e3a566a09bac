import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { validateChildSpecs } from "./child_spec.ts";
import { assertModulesExist, defaultChildren } from "./children.ts";

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
