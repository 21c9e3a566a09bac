import assert from "node:assert/strict";
import { eventually } from "../tests/_eventually.ts";
import { headerEnd, serveGuarded } from "./http_guard.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

/** Resolves when the peer closes `conn` (a read of null or an error). */
async function closedByPeer(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) return text;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    return text;
  }
}

Deno.test("headerEnd() finds the blank line ending headers, across reads too", () => {
  assert.equal(headerEnd(new Uint8Array(0), bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), 27);
  assert.equal(headerEnd(new Uint8Array(0), bytes("GET / HTTP/1.1\r\nHost: x\r\n")), -1);
  assert.equal(headerEnd(bytes("\r\n\r"), bytes("\nGET")), 1);
  assert.equal(headerEnd(bytes("x\r\n"), bytes("\r\nrest")), 2);
  assert.equal(headerEnd(bytes("abc"), bytes("\r\n\r\n")), 4);
  assert.equal(headerEnd(new Uint8Array(0), bytes("\r\n\r")), -1);
});

Deno.test("serveGuarded() answers whole requests, keeps streams that send, closes half-sent requests and idle connections", async () => {
  const server = await serveGuarded((req) => {
    if (new URL(req.url).pathname === "/stream") {
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          timer = setInterval(() => c.enqueue(bytes(": beat\n\n")), 100);
        },
        cancel() {
          clearInterval(timer);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return new Response(`host=${req.headers.get("host")}`);
  }, { hostname: "127.0.0.1", port: 0, headerTimeoutMs: 400, idleTimeoutMs: 800 });
  const port = server.addr.port;
  try {
    // A whole request: answered, with the client's own Host header.
    const ok = await fetch(`http://127.0.0.1:${port}/status`);
    assert.equal(await ok.text(), `host=127.0.0.1:${port}`);

    // Half-sent headers, a byte now and then: closed by the header timeout.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(bytes("GET / HTTP/1.1\r\nHost: x\r\n"));
    const drip = setInterval(() => slow.write(bytes("X")).catch(() => {}), 100);
    const t0 = performance.now();
    assert.equal(await closedByPeer(slow), "", "no answer to a request never completed");
    clearInterval(drip);
    assert.ok(performance.now() - t0 >= 350, "not before the header timeout");
    // The counts come from the relay's worker, a message after the close.
    await eventually(() => server.closed.header_timeout === 1);

    // A connection that sends nothing: closed by the idle timeout.
    const idleBefore = server.closed.idle_timeout;
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    await closedByPeer(idle);
    await eventually(() => server.closed.idle_timeout > idleBefore);

    // A stream that keeps sending outlives both timeouts.
    const res = await fetch(`http://127.0.0.1:${port}/stream`);
    const reader = res.body!.getReader();
    const started = performance.now();
    let got = 0;
    let ended = false;
    while (performance.now() - started < 1_500) {
      const r = await reader.read();
      if (r.done) {
        ended = true;
        break;
      }
      got += r.value.length;
    }
    await reader.cancel();
    assert.equal(ended, false, "a stream that sends is never closed as idle");
    assert.ok(got > 0);
    assert.equal(server.closed.header_timeout, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveGuarded() refuses connections beyond maxConnections and serves again after", async () => {
  const server = await serveGuarded(() => new Response("ok"), {
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 2,
    idleTimeoutMs: 60_000,
  });
  const port = server.addr.port;
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await eventually(() => server.connections === 2);
    const third = await Deno.connect({ hostname: "127.0.0.1", port });
    await closedByPeer(third);
    await eventually(() => server.closed.too_many === 1);
    for (const c of held.splice(0)) c.close();
    await eventually(() => server.connections === 0);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "ok");
  } finally {
    for (const c of held) c.close();
    await server.shutdown();
  }
});

Deno.test("serveGuarded() rejects a port that is taken, with Deno's own error, and leaves nothing running", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      serveGuarded(() => new Response("ok"), {
        hostname: "127.0.0.1",
        port: (taken.addr as Deno.NetAddr).port,
      }),
      Deno.errors.AddrInUse,
    );
  } finally {
    taken.close();
  }
});
