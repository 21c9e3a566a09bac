import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

Deno.test("loadConfig() applies defaults", () => {
  const c = loadConfig({});
  assert.equal(c.http.host, "127.0.0.1");
  assert.equal(c.http.port, 7070);
  assert.equal(c.pgDir, "./data/pg");
  assert.equal(c.databaseUrl, undefined);
  assert.deepEqual(c.symbols, ["BTC", "ETH"]);
  assert.equal(c.http.token, undefined);
});

Deno.test("loadConfig() names every invalid variable and what is expected", () => {
  assert.throws(
    () => loadConfig({ RECIO_HTTP_PORT: "http", RECIO_LOG_LEVEL: "loud", DATABASE_URL: "nope" }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /RECIO_HTTP_PORT/);
      assert.match(e.message, /RECIO_LOG_LEVEL/);
      assert.match(e.message, /DATABASE_URL/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ RECIO_HTTP_PORT: "70000" }), /RECIO_HTTP_PORT/);
  assert.throws(() => loadConfig({ STATUS_TOKEN: "short" }), /STATUS_TOKEN: .*16 characters/);
});

Deno.test("loadConfig() never echoes a secret value in its error", () => {
  const secret = "postgres://u:hunter2-very-secret@db:99999/x";
  assert.throws(() => loadConfig({ DATABASE_URL: secret }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(!e.message.includes("hunter2"));
    return true;
  });
});

Deno.test("loadConfig() refuses a malformed DATABASE_URL without showing any part after the scheme", () => {
  for (const url of ["postgres:/secx:S3cretPw@127.0.0.1:5432/x", "secx:S3cretPw@127.0.0.1"]) {
    assert.throws(() => loadConfig({ DATABASE_URL: url }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /DATABASE_URL/);
      assert.ok(!/secx|S3cret|127\.0\.0\.1/.test(e.message), e.message);
      return true;
    });
  }
  const ok = loadConfig({
    DATABASE_URL: "postgres://u:p@h1:5432,h2:5432/x?target_session_attrs=primary",
  });
  assert.equal(ok.databaseUrl, "postgres://u:p@h1:5432,h2:5432/x?target_session_attrs=primary");
});

Deno.test("loadConfig() reads a JSON config file; the environment wins", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ RECIO_HTTP_PORT: 9001, RECIO_NODE: "file" }));
    const c = loadConfig({ RECIO_CONFIG_FILE: file, RECIO_NODE: "env" });
    assert.equal(c.http.port, 9001);
    assert.equal(c.node, "env");
    await Deno.writeTextFile(file, JSON.stringify({ RECIO_NOPE: 1 }));
    assert.throws(() => loadConfig({ RECIO_CONFIG_FILE: file }), /unknown setting "RECIO_NOPE"/);
    await Deno.writeTextFile(file, "{not json");
    assert.throws(() => loadConfig({ RECIO_CONFIG_FILE: file }), /not valid JSON/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("loadConfig() validates each setting against what it really accepts, naming the variable", () => {
  const refused: [string, string, RegExp][] = [
    ["RECIO_SYMBOLS", "", /RECIO_SYMBOLS: empty; unset it for the default/],
    ["RECIO_SYMBOLS", ",", /RECIO_SYMBOLS: an empty entry/],
    ["RECIO_SYMBOLS", "BTC,,ETH", /RECIO_SYMBOLS: an empty entry/],
    ["RECIO_SYMBOLS", "btc.x", /RECIO_SYMBOLS: symbols with a price log/],
    ["RECIO_SYMBOLS", "none", /RECIO_SYMBOLS: symbols with a price log/],
    ["RECIO_HTTP_PORT", "0x1F", /RECIO_HTTP_PORT: a whole number in decimal digits/],
    ["RECIO_HTTP_PORT", "1e3", /RECIO_HTTP_PORT: a whole number/],
    ["RECIO_HTTP_PORT", "", /RECIO_HTTP_PORT: empty/],
    ["RECIO_PG_PORT", "-1", /RECIO_PG_PORT/],
    ["RECIO_VOL_FLOOR_ANNUAL", "Infinity", /RECIO_VOL_FLOOR_ANNUAL: a decimal number/],
    ["RECIO_VOL_FLOOR_ANNUAL", "1e-3", /RECIO_VOL_FLOOR_ANNUAL: a decimal number/],
    ["KALSHI_RATE_READ_PER_S", "0", /KALSHI_RATE_READ_PER_S/],
    ["STATUS_TOKEN", " ".repeat(20), /STATUS_TOKEN: visible ASCII/],
    ["STATUS_TOKEN", "abcdefgh abcdefgh", /STATUS_TOKEN: visible ASCII/],
    ["RECIO_HTTP_HOST", "local host", /RECIO_HTTP_HOST: a host name/],
    ["RECIO_HTTP_ALLOWED_HOSTS", "a.example,,b", /RECIO_HTTP_ALLOWED_HOSTS: an empty entry/],
    ["RECIO_COINBASE_WS_URL", "https://ws.example", /RECIO_COINBASE_WS_URL: a wss:\/\/ or ws:/],
    ["KALSHI_BASE_URL", "ftp://x.example", /KALSHI_BASE_URL: a https:\/\/ or http:/],
    ["KALSHI_USERS", "user_1", /KALSHI_USERS: names like user_0001/],
    ["KALSHI_SERIES", "kxbtcd", /KALSHI_SERIES: series tickers/],
    ["RECIO_NODE", "node one", /RECIO_NODE: letters, digits/],
    ["RECIO_COORDINATOR_SYMBOLS", "", /RECIO_COORDINATOR_SYMBOLS: empty/],
  ];
  for (const [name, value, why] of refused) {
    assert.throws(() => loadConfig({ [name]: value }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `${name}=${JSON.stringify(value)}`);
      assert.match(e.message, why, `${name}=${JSON.stringify(value)}: ${e.message}`);
      return true;
    });
  }
  assert.throws(
    () => loadConfig({ RECIO_SYMBOLS: "BTC", RECIO_COORDINATOR_SYMBOLS: "ETH" }),
    /RECIO_COORDINATOR_SYMBOLS: ETH not in RECIO_SYMBOLS/,
  );
});

Deno.test("loadConfig() accepts what the settings document: none, case, spaces, optional empties", () => {
  const c = loadConfig({
    RECIO_SYMBOLS: " eth , btc,ETH ",
    RECIO_COORDINATOR_SYMBOLS: "none",
    KALSHI_USERS: "NONE",
    RECIO_HTTP_PORT: " 8080 ",
    RECIO_HTTP_ALLOWED_HOSTS: "status.example.com, *",
    STATUS_TOKEN: "",
    DATABASE_URL: "",
    RECIO_VOL_FLOOR_ANNUAL: "0.25",
  });
  assert.deepEqual(c.symbols, ["ETH", "BTC"]);
  assert.deepEqual(c.coordinator.symbols, []);
  assert.deepEqual(c.kalshi.users, []);
  assert.equal(c.http.port, 8080);
  assert.deepEqual(c.http.allowedHosts, ["status.example.com", "*"]);
  assert.equal(c.http.token, undefined, "an empty optional setting is unset");
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.coordinator.volFloorAnnual, 0.25);
  assert.deepEqual(loadConfig({}).http.allowedHosts, []);
});
