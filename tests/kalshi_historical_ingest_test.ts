/**
 * `kalshi_historical_ingest` against the fake Kalshi and a real PostgreSQL: resuming a stopped
 * backfill, `--since`, and running beside the account sync.
 */
import assert from "node:assert/strict";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner } from "../lib/kalshi/signer.ts";
import {
  cursorStream,
  parseBackfillArgs,
  runBackfill,
} from "../actors/jobs/kalshi_historical_ingest/mod.ts";
import { createAccountSync, resolveArgs } from "../actors/kalshi_account_sync/mod.ts";
import { migrate } from "../schema/migrate.ts";
import { getLogger } from "../lib/log.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { ensureTestPasswords } from "./_db_users.ts";
import { runDeno } from "./_process.ts";
import { fillJson, orderJson, settlementJson, testContext } from "./_kalshi.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
const signer = await createSigner(keys.keyId, keys.pkcs8Pem);

async function rows(db: TestDb, table: string): Promise<number> {
  const [r] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from ${db.sql(`user_0001.${table}`)}`;
  return r!.n;
}

Deno.test("runBackfill() resumes after being stopped halfway, at the first unwritten page", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 1000 }, (_, i) => fillJson(i));
  fake.settlements = Array.from({ length: 120 }, (_, i) => settlementJson(i));
  fake.orders = Array.from({ length: 30 }, (_, i) => orderJson(i, "executed"));
  const client = new KalshiClient({ baseUrl: fake.baseUrl, signer });
  const store = createAccountStore(db.sql, "user_0001");

  // Stopped after 4 pages of fills.
  const first = await runBackfill({ client, store, pageLimit: 100, maxPages: 4 });
  assert.equal(first.fills.pages, 4);
  assert.equal(first.fills.finished, false);
  assert.equal(await rows(db, "fills"), 400);
  const stored = await store.getCursor(cursorStream("fills"));
  assert.equal(stored?.cursor, btoa("o:400"));

  const callsBefore = fake.callsTo("/portfolio/fills").length;
  const second = await runBackfill({ client, store, pageLimit: 100 });
  assert.equal(second.fills.resumed, true);
  assert.equal(second.fills.pages, 6, "pages 5-10 only");
  assert.equal(fake.callsTo("/portfolio/fills")[callsBefore]!.query.cursor, btoa("o:400"));
  assert.equal(second.fills.written, 600);
  assert.equal(await rows(db, "fills"), 1000);
  assert.equal(await rows(db, "settlements"), 120);
  assert.equal(await rows(db, "orders"), 30);
  // Finished streams clear their cursors; a third run starts over and writes nothing new.
  assert.equal(await store.getCursor(cursorStream("fills")), null);
  const third = await runBackfill({ client, store, pageLimit: 100 });
  assert.equal(third.fills.resumed, false);
  assert.deepEqual(
    [third.fills.written, third.settlements.written, third.orders.written],
    [0, 0, 0],
  );
});

Deno.test("runBackfill() with since sends min_ts and does not resume another run's cursor", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 300 }, (_, i) => fillJson(i));
  const client = new KalshiClient({ baseUrl: fake.baseUrl, signer });
  const store = createAccountStore(db.sql, "user_0001");
  await runBackfill({ client, store, pageLimit: 100, maxPages: 1, streams: ["fills"] });
  const since = new Date(Date.UTC(2026, 0, 1, 0, 4)); // fills 240..299
  const r = await runBackfill({ client, store, pageLimit: 100, since, streams: ["fills"] });
  assert.equal(r.fills.resumed, false);
  const last = fake.callsTo("/portfolio/fills").at(-1)!;
  assert.equal(last.query.min_ts, String(since.getTime() / 1000));
  assert.equal(r.fills.written, 60);
});

Deno.test("runBackfill() beside a running account sync stores every fill once", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 500 }, (_, i) => fillJson(i));
  const client = new KalshiClient({ baseUrl: fake.baseUrl, signer });
  const store = createAccountStore(db.sql, "user_0001");
  const t = testContext();
  const sync = createAccountSync(t.ctx, {
    settings: resolveArgs({ user: "user_0001", baseUrl: fake.baseUrl, pageLimit: 50 }),
    client,
    store,
  });
  const [b] = await Promise.all([
    runBackfill({ client, store, pageLimit: 50, streams: ["fills"] }),
    sync.sync(true),
    sync.sync(true),
  ]);
  assert.equal(b.fills.finished, true);
  assert.equal(await rows(db, "fills"), 500);
});

Deno.test("parseBackfillArgs() reads user, since and streams and refuses bad values", () => {
  assert.deepEqual(parseBackfillArgs(["--since", "2025-01-02", "--streams", "fills"]), {
    user: "user_0001",
    since: new Date(Date.UTC(2025, 0, 2)),
    streams: ["fills"],
  });
  assert.throws(() => parseBackfillArgs(["--since", "2025-13-45"]), /YYYY-MM-DD/);
  assert.throws(() => parseBackfillArgs(["--streams", "trades"]), /unknown stream/);
  assert.throws(() => parseBackfillArgs(["--user", "bob"]), /--user/);
  assert.throws(() => parseBackfillArgs(["--since"]), /missing/);
});

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `deno task kalshi:backfill` with `env` (plus quiet logs) and `args`. */
function backfillTask(env: Record<string, string>, args: string[] = []) {
  return runDeno(["task", "-q", "kalshi:backfill", ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1", RECIO_LOG_LEVEL: "error", ...env },
  });
}

Deno.test("deno task kalshi:backfill on a database without the schema exits 2 saying to run migrate, then works once migrated", async () => {
  await using db = await createTestDb({ migrated: false });
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 30 }, (_, i) => fillJson(i));
  const keyFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, keys.pkcs1Pem);
  try {
    const env = {
      DATABASE_URL: db.url,
      KALSHI_BASE_URL: fake.baseUrl,
      KALSHI_API_KEY_ID: keys.keyId,
      KALSHI_PRIVATE_KEY_PATH: keyFile,
    };
    const bare = await backfillTask(env);
    assert.equal(bare.code, 2, bare.stderr);
    assert.match(
      bare.stderr,
      /^Cannot run deno task kalshi:backfill: the database .* has no rec\.io schema/,
    );
    assert.match(bare.stderr, /run "deno task migrate" with the same DATABASE_URL/);
    assert.doesNotMatch(bare.stderr, /^\s+at /m, "no stack trace");
    assert.doesNotMatch(bare.stderr, /does not exist/, "no bare SQL error");
    assert.equal(fake.calls.length, 0, "nothing asked of Kalshi");

    await migrate(db.sql, { log: getLogger("test", "migrate") });
    const other = await backfillTask(env, ["--user", "user_0002"]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /no schema "user_0002"/);

    const ok = await backfillTask(
      { ...env, RECIO_DB_USERS_DIR: ensureTestPasswords(["user_0001"]) },
      ["--streams", "fills"],
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await rows(db, "fills"), 30);
  } finally {
    await Deno.remove(keyFile);
  }
});

Deno.test("deno task kalshi:backfill writes as the user's own role, and without its password file exits 2 naming the user and the file", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 10 }, (_, i) => fillJson(i));
  const keyFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, keys.pkcs1Pem);
  const empty = await Deno.makeTempDir();
  try {
    const env = {
      DATABASE_URL: db.url,
      KALSHI_BASE_URL: fake.baseUrl,
      KALSHI_API_KEY_ID: keys.keyId,
      KALSHI_PRIVATE_KEY_PATH: keyFile,
    };
    const missing = await backfillTask({ ...env, RECIO_DB_USERS_DIR: empty });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^Cannot give user_0001 its database login: no password file/);
    assert.ok(missing.stderr.includes(`${empty}/user_0001.password`), missing.stderr);
    assert.equal(fake.calls.length, 0, "nothing asked of Kalshi");

    const supplied = { ...env, RECIO_DB_USERS_DIR: ensureTestPasswords(["user_0001"]) };
    // Who wrote each row: the user's role, not DATABASE_URL's.
    await db.sql`alter table user_0001.fills add column written_by text default current_user`;
    const ok = await backfillTask(supplied, ["--streams", "fills"]);
    assert.equal(ok.code, 0, ok.stderr);
    const by = await db.sql<{ written_by: string; n: number }[]>`
      select written_by, count(*)::int as n from user_0001.fills group by 1`;
    assert.deepEqual([...by], [{ written_by: "user_0001_rw", n: 10 }]);
  } finally {
    await Deno.remove(keyFile);
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("runBackfill() leaves out a fill PostgreSQL refuses, writes the rest of its page and reports it", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 250 }, (_, i) => fillJson(i));
  // A time the zod edge lets through but PostgreSQL cannot store (there is no year 0).
  fake.fills[120] = { ...fake.fills[120], created_time: "0000-01-01T00:00:00Z" };
  const client = new KalshiClient({ baseUrl: fake.baseUrl, signer });
  const store = createAccountStore(db.sql, "user_0001");
  const reported: [string, number, string][] = [];
  const summary = await runBackfill({
    client,
    store,
    streams: ["fills"],
    pageLimit: 100,
    onRefused: (stream, r) => reported.push([stream, r.count, r.rows[0]?.key ?? ""]),
  });
  assert.equal(summary.fills.refused, 1);
  assert.equal(summary.fills.written, 249);
  assert.equal(summary.fills.finished, true, "the page after it was read too");
  assert.deepEqual(reported, [["fills", 1, "trade-120"]]);
  assert.equal(await rows(db, "fills"), 249);
});
