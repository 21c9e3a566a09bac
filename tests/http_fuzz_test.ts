/**
 * A bounded fuzz of the status server of a real supervisor process, on loopback only: a few
 * thousand malformed requests (paths, methods, query strings, headers, bodies, and raw bytes that
 * are not HTTP) to every endpoint. None may get a 5xx, and the process must be unchanged after:
 * the same pid, every actor in its first incarnation, `/healthz` and `/readyz` answering.
 * The requests come from a seeded generator, so a failure can be replayed.
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { startSupervisor, TEST_ACTOR, writeChildrenFile } from "./_system.ts";

const TOKEN = "fuzz-status-token-0123456789";
const REQUESTS = 3_000;
const RAW = 300;

/** A small seeded PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, pick };
}

const NASTY = [
  "%00",
  "a%00b",
  "%ff%fe",
  "%c3%28",
  "%ed%a0%80",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e",
  "x".repeat(5_000),
  "%F0%9F%98%80",
  "0x1F",
  "1e3",
  "-1",
  "NaN",
  "Infinity",
  "9".repeat(40),
  "%20",
  "'%3B%20drop%20table%20x%3B--",
  "%22%3E%3Cscript%3E",
  "price_watchdog:btc",
  "alpha",
  "btc",
  "ETH",
  "",
];
const TIMES = [
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59-14:00",
  "275760-09-13T00:00:00Z",
  "2026-02-30T00:00:00Z",
  "2026-01-01T25:00:00Z",
  "yesterday",
  "2026-01-01T00:00:00Z",
  "%00",
];
const PATHS = [
  "/",
  "/healthz",
  "/readyz",
  "/status",
  "/actors",
  "/actors/{x}",
  "/events",
  "/events/stream",
  "/metrics",
  "/prices/{x}/latest",
  "/strike-table/{x}",
  "/cluster",
  "/calibration",
  "/users/{x}/pnl",
  "/actors/{x}/restart",
  "/actors/{x}/stop",
  "/actors/{x}/start",
  "/actors/{x}/kill",
  "/actors/{x}/handover",
  "/drills/{x}",
  "/{x}",
  "//{x}//",
];
const VALID = [
  "alpha",
  "beta",
  "btc",
  "eth",
  "BTC",
  "drop_price_feed",
  "stop_database",
  "user_0001",
];
const METHODS = ["GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

function request(r: ReturnType<typeof rng>, base: string): { url: string; init: RequestInit } {
  // Half the path parameters are real (so the routes behind them run), half malformed.
  const param = r.next() < 0.5 ? r.pick(VALID) : r.pick(NASTY);
  const path = r.pick(PATHS).replace("{x}", param);
  const params: string[] = [];
  for (let i = Math.floor(r.next() * 4); i > 0; i--) {
    const key = r.pick([
      "actor",
      "since",
      "limit",
      "seconds",
      r.pick(NASTY),
      "a",
      "limit",
      "mode",
      "horizon",
    ]);
    const value = key === "since" ? r.pick(TIMES) : r.pick(NASTY);
    params.push(`${key}=${value}`);
  }
  const headers = new Headers();
  const auth = r.pick([
    undefined,
    "Bearer wrong",
    "Bearer ",
    "Basic YTpi",
    `Bearer ${TOKEN}x`,
    "Bearer " + "t".repeat(3_000),
  ]);
  if (auth) headers.set("authorization", auth);
  if (r.next() < 0.3) headers.set("last-event-id", r.pick([...NASTY, "999999999999999-0", "1-1"]));
  if (r.next() < 0.1) headers.set("host", r.pick(["evil.example", "localhost", "[::1]:1"]));
  if (r.next() < 0.2) headers.set("content-type", r.pick(["application/json", "text/plain"]));
  // Mostly the method the route takes, so its handler (and its validation) runs.
  const posts = /\/(restart|stop|start|kill|handover)$|^\/drills\//.test(path);
  const method = r.next() < 0.7 ? (posts ? "POST" : "GET") : r.pick(METHODS);
  const body = method === "GET" || method === "HEAD" ? undefined : r.pick([
    undefined,
    "{",
    '{"a":"\\u0000"}',
    "x".repeat(20_000),
    new Uint8Array([0xc3, 0x28, 0, 0xff]),
  ]);
  const query = params.length ? `?${params.join("&")}` : "";
  return { url: `${base}${path}${query}`, init: { method, headers, body } };
}

/** Raw bytes that are not (or not quite) HTTP. */
function raw(r: ReturnType<typeof rng>): Uint8Array {
  const texts = [
    "GARBAGE\r\n\r\n",
    "GET /status HTTP/9.9\r\n\r\n",
    "GET /status\r\n\r\n",
    "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
    "POST /actors/x/stop HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    `GET /${"a".repeat(70_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ${"b".repeat(70_000)}\r\n\r\n`,
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
    "\u0000\u0001\u0002\r\n\r\n",
    "GET /status HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    "GET /events?actor=%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: 999999999999999-0\r\n\r\n",
  ];
  const t = r.pick(texts);
  if (r.next() < 0.3) {
    const b = new Uint8Array(200);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r.next() * 256);
    return b;
  }
  return new TextEncoder().encode(t);
}

async function sendRaw(port: number, bytes: Uint8Array): Promise<number | undefined> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes).catch(() => {});
    const buf = new Uint8Array(64);
    const timer = setTimeout(() => conn.close(), 2_000);
    const n = await conn.read(buf).catch(() => null);
    clearTimeout(timer);
    if (!n) return undefined;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n)));
    return m ? Number(m[1]) : undefined;
  } finally {
    try {
      conn.close();
    } catch { /* closed by the timer or the server */ }
  }
}

Deno.test("status server - thousands of malformed requests to every endpoint: no 5xx, the process unchanged", async () => {
  await using db = await createTestDb();
  const file = await writeChildrenFile([
    { id: "alpha", module: TEST_ACTOR, heartbeatMs: 200 },
    { id: "beta", module: TEST_ACTOR, heartbeatMs: 200, dependsOn: ["alpha"] },
  ]);
  await using sup = startSupervisor({
    DATABASE_URL: db.url,
    RECIO_CHILDREN_FILE: file,
    RECIO_JOBS_ENABLED: "0",
    STATUS_TOKEN: TOKEN,
  });
  try {
    const base = await sup.url;
    const port = Number(new URL(base).port);
    const actors = async () =>
      (await (await fetch(`${base}/actors`)).json()) as {
        id: string;
        state: string;
        incarnation: number;
      }[];
    const deadline = Date.now() + 30_000;
    while ((await actors()).some((a) => a.state !== "running")) {
      assert.ok(Date.now() < deadline, "actors running");
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = await actors();

    const r = rng(20261201);
    const fives: string[] = [];
    let answered = 0;
    const statuses: Record<number, number> = {};
    const one = async () => {
      const { url, init } = request(r, base);
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
        answered++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status >= 500) fives.push(`${init.method} ${url.slice(0, 200)} -> ${res.status}`);
        await res.body?.cancel();
      } catch (e) {
        // The client refusing to send (a URL or header it will not encode) is not the server's.
        if (!(e instanceof TypeError)) throw e;
      }
    };
    const workers = Array.from({ length: 16 }, async () => {
      while (answered + fives.length < REQUESTS) await one();
    });
    await Promise.all(workers);
    for (let i = 0; i < RAW; i++) {
      const status = await sendRaw(port, raw(r));
      if (status !== undefined && status >= 500) fives.push(`raw #${i} -> ${status}`);
    }

    assert.deepEqual(fives, [], "no 5xx");
    assert.ok((statuses[200] ?? 0) > 300 && (statuses[400] ?? 0) > 50, JSON.stringify(statuses));
    assert.ok(answered >= REQUESTS - 50, `answered ${answered}`);
    // The process is unchanged: alive, same actors in their first incarnation, answering.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const after = await actors();
    assert.deepEqual(
      after.map((a) => [a.id, a.state, a.incarnation]),
      before.map((a) => [a.id, a.state, a.incarnation]),
    );
    const status = await (await fetch(`${base}/status`)).json();
    assert.ok(status.rejectedInputs.byActor.http > 0, "the malformed requests were counted");
  } finally {
    const code = await sup.stop();
    assert.equal(code, 0, sup.stderr());
    await Deno.remove(file);
  }
});
