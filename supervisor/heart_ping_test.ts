import assert from "node:assert/strict";
import { pingHealthz } from "./heart_ping.ts";

Deno.test("pingHealthz() is true for a 2xx answer only, and false when nothing listens", async () => {
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(status === 204 ? null : "ok", { status }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/healthz`;
  try {
    assert.equal(await pingHealthz(url, 2_000), true);
    status = 204;
    assert.equal(await pingHealthz(url, 2_000), true);
    for (status of [301, 404, 503]) assert.equal(await pingHealthz(url, 2_000), false);
  } finally {
    await server.shutdown();
  }
  assert.equal(await pingHealthz(url, 2_000), false, "refused");
});

Deno.test("pingHealthz() reaches an IPv6 loopback server by its bracketed URL", async () => {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: "::1", port: 0, onListen: () => {} }, () => new Response("ok"));
  } catch {
    return; // no IPv6 loopback on this host
  }
  try {
    assert.equal(await pingHealthz(`http://[::1]:${server.addr.port}/healthz`, 2_000), true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("pingHealthz() is false after timeoutMs from a server that accepts and never answers, or once aborted", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })();
  const url = `http://127.0.0.1:${listener.addr.port}/healthz`;
  try {
    assert.equal(await pingHealthz(url, 100), false);
    const abort = new AbortController();
    const p = pingHealthz(url, 60_000, abort.signal);
    abort.abort();
    assert.equal(await p, false);
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(await pingHealthz(url, 60_000, aborted.signal), false);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});
