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
