/**
 * `kalshi_account_sync` against the fake Kalshi and a real PostgreSQL: snapshots, idempotence,
 * authentication failures, the WebSocket trigger and secrecy of the key.
 */
import assert from "node:assert/strict";
import { type LogRecord, reset } from "@logtape/logtape";
import { setupLogging } from "../lib/log.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { Fill } from "../lib/kalshi/schemas.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner, type KalshiSigner, signerFromFile } from "../lib/kalshi/signer.ts";
import { openKalshiSocket } from "../lib/kalshi/ws.ts";
import { systemClock } from "../lib/clock.ts";
import {
  type AccountSync,
  createAccountSync,
  NO_CREDENTIALS,
  RATE_LIMITED,
  resolveArgs,
} from "../actors/kalshi_account_sync/mod.ts";
import { kalshiAccountSyncSpecs } from "../supervisor/kalshi_children.ts";
import { kalshiChildren } from "../supervisor/children.ts";
import { loadConfig } from "../lib/config.ts";
import { USER_POSTGRES_ENV } from "../lib/db_users.ts";
import { ActorMessage, type InitMessage } from "../schema/messages.ts";
import { ChildSpec } from "../supervisor/child_spec.ts";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { testUserLogins } from "./_db_users.ts";
import {
  bytesWithFF,
  fillJson,
  orderJson,
  positionJson,
  settlementJson,
  type TestContext,
  testContext,
} from "./_kalshi.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
const signer: KalshiSigner = await createSigner(keys.keyId, keys.pkcs1Pem);

function setup(
  db: TestDb,
  fake: FakeKalshi,
  args: Record<string, unknown> = {},
  options: { signer?: KalshiSigner | undefined; socket?: boolean } = {},
): { t: TestContext; actor: AccountSync } {
  const s = "signer" in options ? options.signer : signer;
  const t = testContext({ id: "kalshi_account_sync:user_0001" });
  const settings = resolveArgs({
    user: "user_0001",
    baseUrl: fake.baseUrl,
    wsUrl: fake.wsUrl,
    pageLimit: 100,
    ...args,
  });
  const client = new KalshiClient({
    baseUrl: fake.baseUrl,
    signer: s,
    retry: { maxAttempts: 2, baseMs: 5, maxMs: 20 },
  });
  const actor = createAccountSync(t.ctx, {
    settings,
    client,
    store: createAccountStore(db.sql, "user_0001"),
    openSocket: options.socket && s
      ? (signal) => openKalshiSocket(fake.wsUrl, { signer: s, clock: systemClock, signal })
      : undefined,
  });
  return { t, actor };
}

async function rows(db: TestDb, table: string): Promise<number> {
  const [r] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from ${db.sql(`user_0001.${table}`)}`;
  return r!.n;
}

Deno.test("kalshi_account_sync stores positions spread over several pages as one snapshot", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.positions = Array.from({ length: 250 }, (_, i) => positionJson(i));
  const { actor, t } = setup(db, fake);

  const r = await actor.sync(true);
  assert.equal(r.positions, 250);
  assert.equal(fake.callsTo("/portfolio/positions", 200).length, 3, "three pages");
  assert.equal(await rows(db, "positions"), 250);

  // The next snapshot replaces the whole set: closed positions disappear.
  fake.positions = fake.positions.slice(0, 120);
  await actor.sync(false);
  assert.equal(await rows(db, "positions"), 120);

  // A bad position on the last page: the snapshot is refused whole and the stored one stays.
  fake.positions = Array.from({ length: 230 }, (_, i) => positionJson(i));
  delete fake.positions[229]!.position_fp;
  const bad = await actor.sync(false);
  assert.equal(bad.positions, null);
  assert.equal(t.counters["rejected.position"], 1);
  assert.equal(t.counters["rejected.positions_snapshot"], 1);
  assert.equal(await rows(db, "positions"), 120);

  const [p] = await db.sql<{ position_fp: string; market_exposure_dollars: string }[]>`
    select position_fp::text, market_exposure_dollars::text from user_0001.positions
    where ticker = ${positionJson(0).ticker as string}`;
  assert.deepEqual({ ...p }, { position_fp: "3.00", market_exposure_dollars: "1.6800" });
});

Deno.test("kalshi_account_sync stores the same fills and settlements delivered twice once", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 150 }, (_, i) => fillJson(i));
  // Kalshi's pages may overlap: the same fill on two pages.
  fake.fills.splice(120, 0, fillJson(5));
  fake.settlements = Array.from({ length: 30 }, (_, i) => settlementJson(i));
  const { actor } = setup(db, fake);

  const first = await actor.sync(true);
  assert.equal(first.fills, 150);
  assert.equal(first.settlements, 30);
  const again = await actor.sync(true);
  assert.equal(again.fills, 0);
  assert.equal(again.settlements, 0);
  assert.equal(await rows(db, "fills"), 150);
  assert.equal(await rows(db, "settlements"), 30);

  const [s] = await db.sql<{ revenue_dollars: string; yes_total_cost_dollars: string }[]>`
    select revenue_dollars::text, yes_total_cost_dollars::text from user_0001.settlements
    where ticker = ${settlementJson(1).ticker as string}`;
  assert.deepEqual({ ...s }, { revenue_dollars: "10.00", yes_total_cost_dollars: "5.6000" });

  // Incremental syncs ask from the newest stored time (minus the overlap) onwards.
  fake.fills.unshift(fillJson(1000));
  const inc = await actor.sync(false);
  assert.equal(inc.fills, 1);
  const last = fake.callsTo("/portfolio/fills").at(-1)!;
  assert.equal(
    Number(last.query.min_ts),
    Math.floor((Date.parse(fillJson(149).created_time as string) - 60_000) / 1000),
  );
  const [cursor] = await db.sql<{ last_time: Date }[]>`
    select last_time from user_0001.sync_cursors where stream = 'fills'`;
  assert.equal(cursor!.last_time.toISOString(), fillJson(1000).created_time);
});

Deno.test("kalshi_account_sync refuses bad identifiers at the edge, cleans raw payloads, leaves out only the rows PostgreSQL refuses and keeps syncing", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.positions = Array.from({ length: 10 }, (_, i) => positionJson(i));
  const { actor, t } = setup(db, fake);
  await actor.sync(true);
  assert.equal(await rows(db, "positions"), 10);
  assert.equal(await rows(db, "account_balance"), 1);

  // A balance beyond numeric(18, 4).
  fake.faults.push({
    status: 200,
    times: 1,
    path: "/portfolio/balance",
    body: JSON.stringify({ balance_dollars: `1${"0".repeat(20)}` }),
  });
  // Positions: a count beyond int (refused by PostgreSQL), a NUL in the raw payload (cleaned),
  // one closed (9) and one new (10).
  fake.positions = Array.from({ length: 11 }, (_, i) => positionJson(i, "4.00"));
  fake.positions[3]!.resting_orders_count = 3e9;
  fake.positions[4]!.note = "a\u0000b";
  fake.positions.splice(9, 1);
  fake.orders = Array.from({ length: 6 }, (_, i) => orderJson(i));
  fake.orders[1]!.status = "resting\u0000"; // a NUL in a code: refused at the edge
  fake.orders[2]!.note = "\uD800"; // an unpaired surrogate in the raw payload: cleaned
  fake.orders[3]!.created_time = "0000-01-01T00:00:00Z"; // no year 0: refused by PostgreSQL
  fake.orders[4]!.client_order_id = "c".repeat(100_000); // over-long: refused at the edge
  fake.fills = Array.from({ length: 5 }, (_, i) => fillJson(i));
  fake.fills[1]!.ticker = "KX\u0000";
  fake.fills[2]!.count_fp = "1".repeat(100); // an over-long number
  fake.fills[3]!.memo = "x\uDC00";
  // Settlements: raw bytes that are not UTF-8 in a result code.
  const settlements = [
    settlementJson(0),
    { ...settlementJson(1), market_result: "yes@@FF@@" },
    settlementJson(2),
  ];
  fake.faults.push({
    status: 200,
    times: 1,
    path: "/portfolio/settlements",
    body: bytesWithFF(JSON.stringify({ settlements, cursor: "" }), "@@FF@@"),
  });

  const r = await actor.sync(true);
  assert.equal(t.counters["rows.rejected"], 3, "the balance, position 3 and order 3");
  assert.equal(t.counters["rejected.order"], 2);
  assert.equal(t.counters["rejected.fill"], 2);
  assert.equal(t.counters["rejected.settlement"], 1);
  assert.equal(await rows(db, "account_balance"), 1, "the refused balance is left out");
  assert.equal(r.positions, 9);
  const positions = await db.sql<{ ticker: string; position_fp: string; note: string | null }[]>`
    select ticker, position_fp::text, raw->>'note' as note from user_0001.positions`;
  const byTicker = new Map(positions.map((p) => [p.ticker, p]));
  assert.equal(positions.length, 10, "9 written, the refused one kept as stored, 9 deleted");
  assert.equal(byTicker.get(positionJson(3).ticker as string)?.position_fp, "3.00");
  assert.equal(byTicker.get(positionJson(4).ticker as string)?.position_fp, "4.00");
  assert.equal(byTicker.get(positionJson(4).ticker as string)?.note, "ab");
  assert.equal(byTicker.has(positionJson(9).ticker as string), false);
  assert.equal(byTicker.has(positionJson(10).ticker as string), true);
  const orders = await db.sql<{ order_id: string; note: string | null }[]>`
    select order_id, raw->>'note' as note from user_0001.orders order by order_id`;
  assert.deepEqual(orders.map((o) => o.order_id), ["order-0", "order-2", "order-5"]);
  assert.equal(orders[1]!.note, "\uFFFD");
  const fills = await db.sql<{ trade_id: string; memo: string | null }[]>`
    select trade_id, raw->>'memo' as memo from user_0001.fills order by trade_id`;
  assert.deepEqual(fills.map((f) => f.trade_id), ["trade-0", "trade-3", "trade-4"]);
  assert.equal(fills[1]!.memo, "x\uFFFD");
  const stored = await db.sql<{ market_result: string }[]>`
    select market_result from user_0001.settlements order by settled_time`;
  assert.deepEqual(stored.map((s) => s.market_result), ["no", "yes"], "settlements 0 and 2");

  // And it keeps syncing: the rows refused before are written once they are good.
  fake.positions[3]!.resting_orders_count = 1;
  fake.orders = Array.from({ length: 6 }, (_, i) => orderJson(i));
  await actor.sync(true);
  assert.equal(t.counters["rows.rejected"], 3);
  assert.equal(await rows(db, "account_balance"), 2);
  assert.equal(await rows(db, "orders"), 6);
  const [p3] = await db.sql<{ position_fp: string }[]>`
    select position_fp::text from user_0001.positions
    where ticker = ${positionJson(3).ticker as string}`;
  assert.equal(p3!.position_fp, "4.00");
});

Deno.test("createAccountStore() inside a caller's transaction leaves out the rows PostgreSQL refuses and commits the rest with the caller's writes", async () => {
  await using db = await createTestDb();
  const store = createAccountStore(db.sql, "user_0001");
  const fills = Array.from({ length: 5 }, (_, i) => Fill.parse(fillJson(i)));
  fills[2] = { ...fills[2]!, countFp: `1${"0".repeat(200_000)}` }; // beyond numeric's range
  const written = await store.transaction(async (tx) => {
    const n = await store.insertFills(fills, tx);
    await store.setCursor("fills", { cursor: "c1", lastTime: null }, tx);
    return n;
  });
  assert.equal(written, 4);
  assert.equal(await rows(db, "fills"), 4);
  assert.equal((await store.getCursor("fills"))?.cursor, "c1", "the caller's write committed");
  const refused = store.takeRefused();
  assert.equal(refused.count, 1);
  assert.deepEqual(refused.rows.map((r) => [r.table, r.key]), [["fills", "trade-2"]]);
  assert.equal(store.takeRefused().count, 0, "taken once");
});

Deno.test("kalshi_account_sync stores orders whether or not other orders come back", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { actor } = setup(db, fake);

  fake.orders = [];
  await actor.sync(true);
  assert.equal(await rows(db, "orders"), 0);

  fake.orders = [orderJson(1), orderJson(2, "executed"), orderJson(3, "canceled")];
  await actor.sync(true);
  assert.equal(await rows(db, "orders"), 3);

  // None come back: nothing is deleted.
  fake.orders = [];
  await actor.sync(true);
  assert.equal(await rows(db, "orders"), 3);

  // A resting order executes and a new one arrives: both written, the others kept.
  fake.orders = [
    {
      ...orderJson(1, "executed"),
      last_update_time: new Date(Date.UTC(2026, 0, 1, 1)).toISOString(),
    },
    orderJson(4),
  ];
  await actor.sync(false);
  assert.equal(await rows(db, "orders"), 4);
  const got = await db.sql<{ order_id: string; status: string }[]>`
    select order_id, status from user_0001.orders order by order_id`;
  assert.deepEqual(got.map((o) => `${o.order_id}:${o.status}`), [
    "order-1:executed",
    "order-2:executed",
    "order-3:canceled",
    "order-4:resting",
  ]);
});

Deno.test("kalshi_account_sync on 401 reports degraded once, backs off without a storm, and recovers", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.authorised = false;
  const { actor, t } = setup(db, fake, { pollMs: 10, authBackoffMs: 150, authBackoffMaxMs: 300 }, {
    socket: true,
  });
  await actor.start();
  await eventually(() => (t.counters["auth.refused"] ?? 0) >= 3, { timeoutMs: 5_000 });
  const refused = fake.calls.filter((c) => c.status === 401);
  assert.equal(t.health.filter((h) => h.startsWith("degraded")).length, 1);
  assert.equal(t.health[0], "degraded:kalshi authentication refused (401)");
  // One request per attempt, spaced by the backoff (150 ms, then 300 ms), not by pollMs (10 ms).
  assert.ok(refused.length <= 4, `${refused.length} refused requests`);
  for (let i = 1; i < Math.min(refused.length, 3); i++) {
    const gap = refused[i]!.at - refused[i - 1]!.at;
    assert.ok(gap >= 140, `gap ${gap} ms between refused requests`);
  }
  assert.equal(fake.wsHandshakes.length, 0, "no socket while refused");

  fake.authorised = true;
  await eventually(() => t.health.at(-1) === "running", { timeoutMs: 5_000 });
  await eventually(() => fake.subscribedSockets === 1, { timeoutMs: 5_000 });
  t.abort();
  await actor.stop();
});

Deno.test("kalshi_account_sync without credentials reports degraded and calls nothing", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { actor, t } = setup(db, fake, {}, { signer: undefined, socket: true });
  await actor.start();
  await eventually(() => t.health.length === 1);
  assert.deepEqual(t.health, [`degraded:${NO_CREDENTIALS}`]);
  t.abort();
  await actor.stop();
  assert.equal(fake.calls.length, 0);
  assert.equal(fake.wsHandshakes.length, 0);
});

Deno.test("kalshi_account_sync syncs promptly on a WebSocket fill and polls while the socket is down", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const { actor, t } = setup(db, fake, {
    pollMs: 50,
    idlePollMs: 600_000,
    wsReconnectMinMs: 100_000,
    wsReconnectMaxMs: 100_000,
  }, { socket: true });
  await actor.start();
  await eventually(() => fake.subscribedSockets === 1 && t.counters["syncs.full"] === 1);
  assert.deepEqual(
    fake.wsCommands,
    [{ id: 1, cmd: "subscribe", params: { channels: ["market_positions", "fill"] } }],
  );
  assert.equal(fake.wsHandshakes[0]?.accepted, true);

  // A fill pushed on the socket is stored long before the 10-minute idle timer.
  fake.pushFill(fillJson(7));
  await eventually(async () => (await rows(db, "fills")) === 1);
  assert.equal(t.counters["ws.fill"], 1);
  fake.pushPosition(positionJson(1, "5.00"));
  await eventually(async () => (await rows(db, "positions")) === 1);

  // The socket drops and stays down (reconnect far away): polling picks up new fills.
  fake.dropSockets();
  await eventually(() => (t.counters["ws.disconnects"] ?? 0) === 1);
  fake.fills.unshift(fillJson(8));
  await eventually(async () => (await rows(db, "fills")) === 2);
  t.abort();
  await actor.stop();
});

Deno.test("kalshi_account_sync never puts the private key in logs or errors", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const records: LogRecord[] = [];
  await setupLogging({ format: "json", level: "trace", sinks: { rec: (r) => records.push(r) } });
  const errors: unknown[] = [];
  try {
    fake.fills = [fillJson(1), { junk: true }];
    fake.faults.push({ status: 500, times: 4, path: "/portfolio/balance" });
    const { actor, t } = setup(db, fake, { pollMs: 10, authBackoffMs: 20 }, { socket: true });
    await actor.start();
    await eventually(() => (t.counters["errors.sync"] ?? 0) >= 1 && t.counters["rejected.fill"]);
    fake.authorised = false;
    await eventually(() => (t.counters["auth.refused"] ?? 0) >= 1);
    t.abort();
    await actor.stop();
    const dir = await Deno.makeTempDir();
    try {
      const bad = keys.pkcs8Pem.replace(/[A-Za-z]{10}/, "**********");
      await Deno.writeTextFile(`${dir}/bad.pem`, bad);
      await signerFromFile(keys.keyId, `${dir}/bad.pem`).catch((e) => errors.push(e));
      await signerFromFile(keys.keyId, `${dir}/missing.pem`).catch((e) => errors.push(e));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await reset();
  }
  assert.ok(records.length > 0, "the actor logged something");
  assert.equal(errors.length, 2);
  const text = JSON.stringify(records.map((r) => ({ m: r.message, p: r.properties }))) +
    errors.map((e) => `${(e as Error).message}\n${(e as Error).stack}`).join("\n");
  const body = keys.pkcs8Pem.split("\n").slice(1, -2).join("") +
    keys.pkcs1Pem.split("\n").slice(1, -2).join("");
  for (let i = 0; i + 20 <= body.length; i += 20) {
    assert.ok(!text.includes(body.slice(i, i + 20)), "no part of the key");
  }
  assert.ok(!text.includes("PRIVATE KEY-----"));
});

Deno.test("kalshiAccountSyncSpecs() passes the key path, never the key, and reads only that file", () => {
  const [spec] = kalshiAccountSyncSpecs({
    baseUrl: "https://external-api.kalshi.com/trade-api/v2",
    wsUrl: "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
    users: ["user_0001"],
    apiKeyId: "key-id",
    privateKeyPath: "secrets/kalshi.pem",
    readPerSecond: 20,
    writePerSecond: 10,
    databaseUrl: "postgres://u:pw@127.0.0.1:5432/recio",
  }).map((s) => ChildSpec.parse(s));
  assert.equal(spec!.id, "kalshi_account_sync:user_0001");
  assert.deepEqual(spec!.permissions.read, ["secrets/kalshi.pem"]);
  assert.deepEqual(spec!.permissions.net, [
    "external-api.kalshi.com:443",
    "external-api-ws.kalshi.com:443",
    "127.0.0.1:5432",
  ]);
  assert.equal(spec!.permissions.env, false);
  assert.equal(spec!.args.keyPath, "secrets/kalshi.pem");
  assert.ok(!JSON.stringify(spec).includes("pw"));
  const [anon] = kalshiAccountSyncSpecs({
    baseUrl: "https://x.test/trade-api/v2",
    wsUrl: "wss://x.test/trade-api/ws/v2",
    users: ["user_0002"],
    readPerSecond: 20,
    writePerSecond: 10,
  }).map((s) => ChildSpec.parse(s));
  assert.equal(anon!.permissions.read, false);
  assert.equal(anon!.args.keyId, undefined);
});

Deno.test("kalshi_account_sync reports 429 and feed errors once each as degraded and recovers, backing off under 429", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  // The client retries once (setup): 2 answers of 429 make one failed sync.
  fake.faults.push({ status: 429, times: 4, path: "/portfolio/balance" });
  const { actor, t } = setup(db, fake, { pollMs: 20 });
  await actor.start();
  await eventually(() => t.health.length >= 2, { timeoutMs: 10_000 });
  assert.deepEqual(t.health, [`degraded:${RATE_LIMITED}`, "running"]);
  assert.equal(t.counters["errors.rate_limited"], 2);
  const limited = fake.calls.filter((c) => c.status === 429);
  // The second failed sync waits pollMs·2 after the first, the next pollMs·4 after that.
  assert.ok(limited[2]!.at - limited[1]!.at >= 35, "backed off after the first 429 sync");
  const ok = fake.callsTo("/portfolio/balance", 200)[0]!;
  assert.ok(ok.at - limited[3]!.at >= 75, "backed off further after the second");

  fake.faults.push({ status: 503, times: 6, path: "/portfolio/balance" });
  await eventually(() => t.health.length >= 4, { timeoutMs: 10_000 });
  t.abort();
  await actor.stop();
  assert.equal(t.health.length, 4, "three failed syncs, one transition");
  assert.match(t.health[2]!, /^degraded:kalshi unreachable: .*HTTP 503/);
  assert.equal(t.health[3], "running");
});

Deno.test("kalshi_account_sync with only KALSHI_BASE_URL set (a local server) dials that server's WebSocket, signed", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  const keyFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, keys.pkcs1Pem);
  const config = loadConfig({
    DATABASE_URL: db.url,
    KALSHI_BASE_URL: fake.baseUrl,
    KALSHI_API_KEY_ID: keys.keyId,
    KALSHI_PRIVATE_KEY_PATH: keyFile,
  });
  assert.equal(config.kalshi.wsUrl, fake.wsUrl);
  const spec = ChildSpec.parse(
    kalshiChildren(config).find((s) => s.id === "kalshi_account_sync:user_0001"),
  );
  assert.ok(spec.permissions.net !== false);
  // The worker as the supervisor starts it: its module, its args, its permissions (plus the
  // database, which the supervisor adds).
  const db_ = new URL(db.url);
  const worker = new Worker(spec.module, {
    type: "module",
    deno: {
      permissions: {
        ...spec.permissions,
        net: [...(spec.permissions.net as string[]), `${db_.hostname}:${db_.port || 5432}`],
        env: [...USER_POSTGRES_ENV],
      } as Deno.PermissionOptionsObject,
    },
  });
  const messages: ActorMessage[] = [];
  worker.onmessage = (e) => void messages.push(ActorMessage.parse(e.data));
  worker.onerror = (e) => {
    e.preventDefault();
    messages.push({ type: "fatal", error: { name: "Error", message: e.message } });
  };
  try {
    const init: InitMessage = {
      type: "init",
      id: spec.id,
      incarnation: 1,
      node: "test",
      args: spec.args,
      heartbeatMs: 100,
      // As the supervisor gives it: the user's own login, never the supervisor's URL.
      databaseUrl: (await testUserLogins(db, ["user_0001"])).get("user_0001"),
      log: { format: "json", level: "fatal" },
    };
    worker.postMessage(init);
    await eventually(() => {
      const f = messages.find((m) => m.type === "fatal");
      if (f) throw new Error(JSON.stringify(f));
      return fake.subscribedSockets === 1;
    }, { timeoutMs: 30_000, message: "the worker did not open the fake's socket" });
    assert.deepEqual(fake.wsHandshakes, [{ accepted: true }], "signed for the fake, accepted");
    worker.postMessage({ type: "stop", reason: "test" });
    await eventually(() => messages.some((m) => m.type === "stopped"));
  } finally {
    worker.terminate();
    await Deno.remove(keyFile);
  }
});
