import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import {
  KALSHI_DEMO_URL,
  KALSHI_DEMO_WS_URL,
  KALSHI_PRODUCTION_URL,
  KALSHI_PRODUCTION_WS_URL,
  kalshiWsUrlFor,
} from "./endpoints.ts";

Deno.test("kalshiWsUrlFor() maps each Kalshi REST host to its own environment's WebSocket", () => {
  const cases: [string, string][] = [
    [KALSHI_PRODUCTION_URL, KALSHI_PRODUCTION_WS_URL],
    [`${KALSHI_PRODUCTION_URL}/`, KALSHI_PRODUCTION_WS_URL],
    [KALSHI_DEMO_URL, KALSHI_DEMO_WS_URL],
    [
      "https://api.elections.kalshi.com/trade-api/v2",
      "wss://api.elections.kalshi.com/trade-api/ws/v2",
    ],
    ["https://demo-api.kalshi.co/trade-api/v2", "wss://demo-api.kalshi.co/trade-api/ws/v2"],
  ];
  for (const [rest, ws] of cases) assert.equal(kalshiWsUrlFor(rest), ws, rest);
  assert.ok(!kalshiWsUrlFor(KALSHI_DEMO_URL).includes("external-api-ws.kalshi.com"));
});

Deno.test("kalshiWsUrlFor() keeps any other host and port, with ws for http and wss for https", () => {
  assert.equal(
    kalshiWsUrlFor("http://127.0.0.1:43121/trade-api/v2"),
    "ws://127.0.0.1:43121/trade-api/ws/v2",
  );
  assert.equal(
    kalshiWsUrlFor("https://proxy.internal:8443/kalshi/trade-api/v2?x=1#y"),
    "wss://proxy.internal:8443/kalshi/trade-api/ws/v2",
  );
  // A Kalshi host name on an explicit port is somebody's tunnel, not Kalshi: same host.
  assert.equal(
    kalshiWsUrlFor("http://external-api.kalshi.com:8080/trade-api/v2"),
    "ws://external-api.kalshi.com:8080/trade-api/ws/v2",
  );
  assert.equal(
    kalshiWsUrlFor("http://user:secret@localhost:9000/trade-api/v2"),
    "ws://localhost:9000/trade-api/ws/v2",
    "credentials in the REST URL are not copied",
  );
});

Deno.test("kalshiWsUrlFor() refuses URLs it cannot derive a socket from, naming KALSHI_WS_URL", () => {
  for (const bad of ["http://127.0.0.1:9000/api", "ftp://x.test/trade-api/v2", "not a url"]) {
    assert.throws(() => kalshiWsUrlFor(bad), RangeError, bad);
  }
  assert.throws(() => kalshiWsUrlFor("http://127.0.0.1:9000/api"), /set KALSHI_WS_URL/);
});

Deno.test("loadConfig() derives kalshi.wsUrl from KALSHI_BASE_URL unless KALSHI_WS_URL is set", () => {
  assert.equal(loadConfig({}).kalshi.wsUrl, KALSHI_PRODUCTION_WS_URL);
  assert.equal(loadConfig({ KALSHI_BASE_URL: KALSHI_DEMO_URL }).kalshi.wsUrl, KALSHI_DEMO_WS_URL);
  assert.equal(
    loadConfig({ KALSHI_BASE_URL: "http://127.0.0.1:8123/trade-api/v2" }).kalshi.wsUrl,
    "ws://127.0.0.1:8123/trade-api/ws/v2",
  );
  const both = loadConfig({
    KALSHI_BASE_URL: KALSHI_DEMO_URL,
    KALSHI_WS_URL: "wss://ws.example.test/trade-api/ws/v2",
  });
  assert.equal(both.kalshi.wsUrl, "wss://ws.example.test/trade-api/ws/v2");
  assert.throws(
    () => loadConfig({ KALSHI_BASE_URL: "http://127.0.0.1:8123/api" }),
    (e: unknown) =>
      e instanceof ConfigError && /KALSHI_BASE_URL.*set KALSHI_WS_URL/.test(e.message),
  );
});
