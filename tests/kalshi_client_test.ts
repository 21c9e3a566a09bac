/**
 * The Kalshi REST client against the fake Kalshi: signing, pagination, retries, auth errors,
 * malformed bodies and timeouts.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import {
  Balance,
  createSigner,
  KalshiAuthError,
  KalshiClient,
  type KalshiClientOptions,
  KalshiRateLimitError,
  KalshiRequestError,
} from "../lib/kalshi/mod.ts";
import { InputError } from "../lib/errors.ts";
import { systemClock } from "../lib/clock.ts";
import { openKalshiSocket } from "../lib/kalshi/ws.ts";
import { FakeKalshi, generateTestKeys, type TestKeys } from "./fakes/kalshi_server.ts";

const keys: TestKeys = await generateTestKeys();

function fill(i: number) {
  return {
    trade_id: `t${i}`,
    fill_id: `t${i}`,
    order_id: `o${i}`,
    ticker: "KXBTCD-26SEP0107-T114999.99",
    side: "yes",
    action: "buy",
    count_fp: "1.00",
    yes_price_dollars: "0.5600",
    no_price_dollars: "0.4400",
    is_taker: true,
    fee_cost: "0.0100",
    created_time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  };
}

async function client(
  fake: FakeKalshi,
  options: Partial<KalshiClientOptions> & { sleeps?: number[]; pem?: string } = {},
) {
  const sleeps = options.sleeps ?? [];
  return new KalshiClient({
    baseUrl: fake.baseUrl,
    signer: await createSigner(keys.keyId, options.pem ?? keys.pkcs8Pem),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 1,
    ...options,
  });
}

Deno.test("KalshiClient.get() signs portfolio calls the fake accepts (PKCS#8 and PKCS#1)", async () => {
  await using fake = FakeKalshi.start(keys);
  for (const pem of [keys.pkcs8Pem, keys.pkcs1Pem]) {
    const c = await client(fake, { pem });
    const balance = await c.get("/portfolio/balance", Balance);
    assert.equal(balance.balanceDollars, "1000.0000");
  }
  assert.deepEqual(fake.calls.map((x) => [x.status, x.signed]), [[200, true], [200, true]]);
});

Deno.test("fake Kalshi rejects a signature when the path or the timestamp is altered", async () => {
  await using fake = FakeKalshi.start(keys);
  const signer = await createSigner(keys.keyId, keys.pkcs8Pem);
  const now = Date.now();
  const good = await signer.headers("GET", "/trade-api/v2/portfolio/balance", now);
  const send = (path: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${fake.port}${path}`, { headers }).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    });
  assert.equal(await send("/trade-api/v2/portfolio/balance?x=1", { ...good }), 200);
  assert.equal(await send("/trade-api/v2/portfolio/positions", { ...good }), 401);
  assert.equal(
    await send("/trade-api/v2/portfolio/balance", {
      ...good,
      "KALSHI-ACCESS-TIMESTAMP": String(now + 1),
    }),
    401,
  );
  assert.equal(
    await send("/trade-api/v2/portfolio/balance", { ...good, "KALSHI-ACCESS-KEY": "other" }),
    401,
  );
  // A correctly signed but stale timestamp is refused too.
  const stale = await signer.headers("GET", "/trade-api/v2/portfolio/balance", now - 300_000);
  assert.equal(await send("/trade-api/v2/portfolio/balance", { ...stale }), 401);
  assert.equal(await send("/trade-api/v2/portfolio/balance", {}), 401);
});

Deno.test("KalshiClient.pages() follows every page until the cursor is empty", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 250 }, (_, i) => fill(i));
  const c = await client(fake);
  const seen: string[] = [];
  let pages = 0;
  for await (const page of c.pages("/portfolio/fills", "fills", { limit: 100 })) {
    pages++;
    for (const item of page.items) seen.push((item as { trade_id: string }).trade_id);
  }
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 250);
  assert.deepEqual(fake.callsTo("/portfolio/fills").map((x) => x.query.cursor ?? ""), [
    "",
    btoa("o:100"),
    btoa("o:200"),
  ]);
});

Deno.test("KalshiClient.request() backs off on 429 (honouring Retry-After) and then succeeds", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.faults.push({ status: 429, times: 1, retryAfterS: 2 }, { status: 429, times: 2 });
  const sleeps: number[] = [];
  const retries: (number | undefined)[] = [];
  const c = await client(fake, {
    sleeps,
    retry: { baseMs: 100, maxMs: 10_000, maxAttempts: 6 },
    onRetry: (i) => retries.push(i.status),
  });
  const balance = await c.get("/portfolio/balance", Balance);
  assert.equal(balance.balanceDollars, "1000.0000");
  assert.deepEqual(fake.calls.map((x) => x.status), [429, 429, 429, 200]);
  // Retry-After 2 s first, then exponential: 100·2^1, 100·2^2 (jitter factor 1 with random=1).
  assert.deepEqual(sleeps, [2000, 200, 400]);
  assert.deepEqual(retries, [429, 429, 429]);
});

Deno.test("KalshiClient.request() with retryRateLimited false throws KalshiRateLimitError at once, with Retry-After", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.faults.push({ status: 429, times: 1, retryAfterS: 3 }, { status: 429, times: 1 });
  const c = await client(fake, { retryRateLimited: false });
  for (const want of [3_000, undefined]) {
    await assert.rejects(c.get("/portfolio/balance", Balance), (e: unknown) => {
      assert.ok(e instanceof KalshiRateLimitError);
      assert.ok(e instanceof KalshiRequestError, "still a request error for older callers");
      assert.equal(e.status, 429);
      assert.equal(e.retryAfterMs, want);
      return true;
    });
  }
  assert.equal(fake.calls.length, 2, "no retry");
  // Retries used up on 429 also end in KalshiRateLimitError.
  fake.faults.push({ status: 429, times: 2 });
  const retrying = await client(fake, { retry: { maxAttempts: 2 } });
  await assert.rejects(retrying.get("/portfolio/balance", Balance), KalshiRateLimitError);
});

Deno.test("KalshiClient keeps every one-second window within readPerSecond, from a cold start", async () => {
  await using fake = FakeKalshi.start(keys);
  const c = new KalshiClient({ baseUrl: fake.baseUrl, readPerSecond: 10 });
  await Promise.all(
    Array.from({ length: 25 }, () => c.request("GET", "/events/KXBTCD-NONE").catch(() => {})),
  );
  const at = fake.calls.map((x) => x.at);
  assert.equal(at.length, 25);
  // The fake stamps answers, not sends: 20 ms of slack for delivery jitter.
  const busiest = Math.max(...at.map((s) => at.filter((x) => x >= s && x < s + 980).length));
  assert.ok(busiest <= 10, `at most 10 in any second (saw ${busiest})`);
});

Deno.test("KalshiClient.request() retries 5xx a bounded number of times", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.faults.push({ status: 503, times: 100 });
  const c = await client(fake, { retry: { maxAttempts: 3 } });
  await assert.rejects(c.get("/portfolio/balance", Balance), (e: unknown) => {
    assert.ok(e instanceof KalshiRequestError);
    assert.equal(e.status, 503);
    return true;
  });
  assert.equal(fake.calls.length, 3);
});

Deno.test("KalshiClient.request() throws KalshiAuthError on 401 without retrying", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.authorised = false;
  const c = await client(fake);
  await assert.rejects(c.get("/portfolio/balance", Balance), KalshiAuthError);
  assert.equal(fake.calls.length, 1);
  // Without a signer, a portfolio call is refused before any request.
  const anon = new KalshiClient({ baseUrl: fake.baseUrl });
  await assert.rejects(anon.get("/portfolio/balance", Balance), KalshiAuthError);
  assert.equal(fake.calls.length, 1);
});

Deno.test("KalshiClient.get() rejects a body that is not JSON, or not the schema, without retrying", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.faults.push({ status: 200, times: 1, body: "{not json" });
  fake.faults.push({ status: 200, times: 1, body: '{"balance":"lots"}' });
  const c = await client(fake);
  await assert.rejects(c.get("/portfolio/balance", Balance), (e: unknown) => {
    assert.ok(e instanceof InputError);
    return e.reason === "malformed_json";
  });
  await assert.rejects(c.get("/portfolio/balance", Balance), (e: unknown) => {
    assert.ok(e instanceof InputError);
    return e.reason === "schema";
  });
  assert.equal(fake.calls.length, 2);
});

Deno.test("KalshiClient.request() times out slow responses and gives up after its attempts", async () => {
  await using fake = FakeKalshi.start(keys);
  fake.delay = { ms: 2_000, path: "/portfolio/balance" };
  const c = await client(fake, { timeoutMs: 50, retry: { maxAttempts: 2 } });
  await assert.rejects(
    c.get("/portfolio/balance", Balance),
    /timed out after 50 ms \(2 attempts\)/,
  );
});

Deno.test("KalshiClient errors never carry the key, the signature or the key id", async () => {
  await using fake = FakeKalshi.start(keys);
  const errors: unknown[] = [];
  const c = await client(fake, { retry: { maxAttempts: 2 }, timeoutMs: 50 });
  fake.authorised = false;
  await c.get("/portfolio/balance", Balance).catch((e) => errors.push(e));
  fake.authorised = true;
  fake.faults.push({ status: 500, times: 2 }, { status: 200, times: 1, body: "oops" });
  await c.get("/portfolio/balance", Balance).catch((e) => errors.push(e));
  await c.get("/portfolio/balance", Balance).catch((e) => errors.push(e));
  fake.delay = { ms: 1_000 };
  await c.get("/portfolio/balance", Balance).catch((e) => errors.push(e));
  await createSigner(keys.keyId, keys.pkcs8Pem.replace(/[A-Z]{8}/, "********")).catch((e) =>
    errors.push(e)
  );
  assert.equal(errors.length, 5);
  const body = keys.pkcs8Pem.split("\n").slice(1, -2).join("");
  const text = errors.map((e) =>
    JSON.stringify(e, Object.getOwnPropertyNames(e as object)) +
    String((e as Error).stack) + String((e as Error).cause ?? "")
  ).join("\n");
  for (let i = 0; i + 24 <= body.length; i += 24) {
    assert.ok(!text.includes(body.slice(i, i + 24)), "no part of the key");
  }
  assert.ok(!text.includes(keys.keyId));
  assert.ok(!/KALSHI-ACCESS-SIGNATURE/i.test(text));
});

Deno.test("KalshiClient.url() keeps the /trade-api/v2 prefix and drops undefined query values", () => {
  const c = new KalshiClient({ baseUrl: "https://example.test/trade-api/v2/" });
  const url = c.url("/events/E", { with_nested_markets: true, cursor: undefined });
  assert.equal(url.href, "https://example.test/trade-api/v2/events/E?with_nested_markets=true");
  assert.equal(z.string().parse(url.pathname), "/trade-api/v2/events/E");
});

Deno.test("openKalshiSocket() signs the handshake; a refused key is a KalshiAuthError", async () => {
  await using fake = FakeKalshi.start(keys);
  const signer = await createSigner(keys.keyId, keys.pkcs1Pem);
  const ws = await openKalshiSocket(fake.wsUrl, { signer, clock: systemClock });
  const closed = new Promise((r) => ws.addEventListener("close", r));
  ws.close();
  await closed;
  fake.authorised = false;
  await assert.rejects(
    openKalshiSocket(fake.wsUrl, { signer, clock: systemClock }),
    KalshiAuthError,
  );
  const stranger = await generateTestKeys();
  fake.authorised = true;
  await assert.rejects(
    openKalshiSocket(fake.wsUrl, {
      signer: await createSigner(keys.keyId, stranger.pkcs8Pem),
      clock: systemClock,
    }),
    KalshiAuthError,
  );
  assert.deepEqual(fake.wsHandshakes.map((h) => h.accepted), [true, false, false]);
});
