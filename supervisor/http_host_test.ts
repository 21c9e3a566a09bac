import assert from "node:assert/strict";
import { allowedHosts, hostAllowed, hostName } from "./http_host.ts";

Deno.test("hostAllowed() answers the loopback names and the bound address, with or without port", () => {
  const allowed = allowedHosts("127.0.0.1", []);
  for (const h of ["localhost", "localhost:7070", "127.0.0.1:7070", "[::1]:7070", "LOCALHOST"]) {
    assert.equal(hostAllowed(h, allowed), true, h);
  }
  for (
    const h of ["evil.example", "evil.example:7070", "127.0.0.1.evil.example", "", "a b", "[::1"]
  ) {
    assert.equal(hostAllowed(h, allowed), false, h);
  }
});

Deno.test("allowedHosts() adds configured names, brackets IPv6, and * allows any", () => {
  const proxy = allowedHosts("0.0.0.0", ["status.example.com", "::1", " Box.Lan "]);
  assert.equal(hostAllowed("status.example.com", proxy), true);
  assert.equal(hostAllowed("box.lan:7070", proxy), true);
  assert.equal(hostAllowed("0.0.0.0:7070", proxy), false, "a wildcard bind is no host name");
  assert.equal(hostAllowed("[::1]", proxy), true);
  assert.equal(hostAllowed("anything.example", allowedHosts("127.0.0.1", ["*"])), true);
  assert.equal(hostAllowed("10.0.0.5:7070", allowedHosts("10.0.0.5", [])), true);
});

Deno.test("hostName() strips the port and refuses malformed values", () => {
  assert.equal(hostName("Example.COM:80"), "example.com");
  assert.equal(hostName("[::1]:7070"), "[::1]");
  assert.equal(hostName("host:99999999"), undefined);
  assert.equal(hostName("user@host"), undefined);
  assert.equal(hostName("\u0000"), undefined);
});
