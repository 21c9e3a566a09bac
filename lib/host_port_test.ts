import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { formatHostPort, hostPort } from "./host_port.ts";

Deno.test("hostPort() spells out the default port of http, https, ws and wss", () => {
  assert.equal(hostPort("https://api.example.com/v2"), "api.example.com:443");
  assert.equal(hostPort("wss://ws.example.com"), "ws.example.com:443");
  assert.equal(hostPort("http://127.0.0.1/x"), "127.0.0.1:80");
  assert.equal(hostPort("ws://localhost"), "localhost:80");
});

Deno.test("hostPort() keeps a given port, user info left out, IPv6 in brackets", () => {
  assert.equal(hostPort("http://u:secret@127.0.0.1:4001/products"), "127.0.0.1:4001");
  assert.equal(hostPort("wss://[::1]:8443/ws"), "[::1]:8443");
  assert.equal(hostPort("postgres://u@db.internal:6543/recio"), "db.internal:6543");
});

Deno.test("hostPort() refuses a scheme whose default port it does not know, and a non-URL", () => {
  assert.throws(() => hostPort("ftp://files.example.com"), ConfigError);
  assert.throws(() => hostPort("postgres://db.internal/recio"), /port of a postgres: URL/);
  assert.throws(() => hostPort("not a url"), TypeError);
});

Deno.test("formatHostPort() joins host and port", () => {
  assert.equal(formatHostPort("[::1]", 5432), "[::1]:5432");
  assert.equal(formatHostPort("h1", "80"), "h1:80");
});
