/**
 * The ingest jobs end to end against real PostgreSQL: `history_backfill` against the fake
 * Coinbase (fills the 1-minute candles, resumes without re-requesting complete days, records its
 * run) and `kalshi_historical_ingest:<user>` against the fake Kalshi (records its run and
 * finishes; a refused key is a failed run that is not retried).
 */
import assert from "node:assert/strict";
import { runHistoryBackfill } from "../actors/jobs/history_backfill/mod.ts";
import { jobChildren, jobDefinitions } from "../supervisor/children.ts";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { done, jobConfig, lastRun, withJobs } from "./_jobs.ts";
import { fillJson, settlementJson } from "./_kalshi.ts";
import { type FakeCandle, FakeCoinbase } from "./fakes/coinbase_server.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;

/** One candle per minute (minute-aligned) over [fromMs, toMs), prices moving a little. */
function candles(fromMs: number, toMs: number): FakeCandle[] {
  const out: FakeCandle[] = [];
  for (let t = Math.floor(fromMs / MINUTE) * MINUTE, i = 0; t < toMs; t += MINUTE, i++) {
    const p = 90_000 + (i % 60);
    out.push([t / 1000, p - 1, p + 2, p, p + 1, 1.5]);
  }
  return out;
}

async function count(db: TestDb, symbol: string): Promise<number> {
  const [r] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from ${db.sql(`historical_data.${symbol}_ohlc_1m`)}`;
  return r!.n;
}

Deno.test("runHistoryBackfill() fills every symbol's last days and a second run requests nothing", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const now = Date.UTC(2026, 0, 10, 12, 0, 30);
  const from = now - 2 * DAY - 60 * MINUTE;
  fake.setCandles("BTC-USD", candles(from, now + 10 * MINUTE));
  fake.setCandles("ETH-USD", candles(from, now + 10 * MINUTE));
  const run = () =>
    runHistoryBackfill({
      sql: db.sql,
      symbols: ["btc", "ETH"],
      days: 2,
      restUrl: fake.restUrl,
      now,
    });

  const first = await run();
  assert.equal(first.status, "ok", first.error);
  assert.equal(await count(db, "btc"), 2 * 1440);
  assert.equal(await count(db, "eth"), 2 * 1440);
  assert.equal(first.details.inserted, 4 * 1440);
  assert.equal(first.details.requests, 20, "5 requests of at most 300 candles per day");
  const [newest] = await db.sql<{ t: Date }[]>`
    select max("timestamp") as t from historical_data.btc_ohlc_1m`;
  assert.equal(newest!.t.getTime(), Math.floor(now / MINUTE) * MINUTE - MINUTE, "finished only");

  const requested = fake.candleRequests.length;
  const second = await run();
  assert.equal(second.status, "ok");
  assert.equal(fake.candleRequests.length, requested, "complete days cost no request");
  assert.deepEqual(second.details.symbols, {
    BTC: { inserted: 0, skippedDays: 2, requests: 0 },
    ETH: { inserted: 0, skippedDays: 2, requests: 0 },
  });
});

Deno.test("runHistoryBackfill() is failed naming a symbol without a table and still fills the others", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const now = Date.UTC(2026, 0, 10, 12, 0, 30);
  fake.setCandles("BTC-USD", candles(now - DAY - MINUTE * 5, now));
  const outcome = await runHistoryBackfill({
    sql: db.sql,
    symbols: ["SOL", "BTC"],
    days: 1,
    restUrl: fake.restUrl,
    now,
  });
  assert.equal(outcome.status, "failed");
  assert.match(outcome.error ?? "", /^Cannot backfill SOL: .*sol_ohlc_1m/);
  assert.equal(await count(db, "btc"), 1440);
  assert.equal(
    (outcome.details.symbols as Record<string, { inserted: number }>).BTC?.inserted,
    1440,
  );
});

Deno.test("history_backfill job - runs as a worker against the fake Coinbase, records its run and resumes", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * DAY - 60 * MINUTE;
  fake.setCandles("BTC-USD", candles(start, start + 3 * DAY));
  const cfg = jobConfig({
    DATABASE_URL: db.url,
    RECIO_SYMBOLS: "BTC",
    RECIO_COINBASE_REST_URL: fake.restUrl,
  });
  const specs = jobChildren(cfg).filter((s) => s.id === "history_backfill");
  const defs = jobDefinitions(cfg).filter((d) => d.name === "history_backfill");
  assert.equal(defs[0]?.schedule, "45 4 * * *");
  await withJobs(db, specs, async ({ sup, jobs }) => {
    assert.equal(await jobs.tick("history_backfill"), "started");
    const first = await eventually(done(jobs, "history_backfill"), { timeoutMs: 30_000 });
    assert.equal(first.status, "ok", first.error ?? "");
    assert.equal(first.details?.inserted, 2 * 1440);
    assert.equal(await count(db, "btc"), 2 * 1440);
    assert.equal(sup.child("history_backfill")?.state, "stopped");
    assert.equal(sup.child("history_backfill")?.incarnation, 1, "a finished job is not restarted");

    const requested = fake.candleRequests.length;
    const oldestDay = Math.min(
      ...fake.candleRequests.map((u) => Date.parse(u.searchParams.get("start")!)),
    );
    assert.equal(await jobs.tick("history_backfill"), "started");
    const second = await eventually(() => {
      const r = lastRun(jobs, "history_backfill");
      return r && r.startedAt > first.startedAt && r.status !== "running" ? r : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(second.status, "ok", second.error ?? "");
    // Usually nothing at all; a minute that turned between the runs re-requests the newest day.
    const again = fake.candleRequests.slice(requested);
    assert.ok(
      again.every((u) => Date.parse(u.searchParams.get("start")!) >= oldestDay + DAY),
      "no request for the complete older day",
    );
    assert.equal(await count(db, "btc") >= 2 * 1440, true);
  }, defs);
  const runs = await db.sql<{ status: string; details: { symbols: Record<string, unknown> } }[]>`
    select status, details from system.job_runs where job = 'history_backfill' order by id`;
  assert.deepEqual(runs.map((r) => r.status), ["ok", "ok"]);
  assert.deepEqual(runs[0]!.details.symbols.BTC, { inserted: 2880, skippedDays: 0, requests: 10 });
});

/** A Kalshi key file and the config of one user's ingest job against `fake`. */
async function kalshiJob(db: TestDb, fake: FakeKalshi, pem: string, dir: string) {
  const keyPath = `${dir}/kalshi.pem`;
  await Deno.writeTextFile(keyPath, pem);
  const cfg = jobConfig({
    DATABASE_URL: db.url,
    KALSHI_BASE_URL: fake.baseUrl,
    KALSHI_API_KEY_ID: fake.keyId,
    KALSHI_PRIVATE_KEY_PATH: keyPath,
    KALSHI_USERS: "user_0001",
  });
  const id = "kalshi_historical_ingest:user_0001";
  return {
    id,
    specs: jobChildren(cfg).filter((s) => s.id === id),
    defs: jobDefinitions(cfg).filter((d) => d.name === id),
  };
}

Deno.test("kalshi_historical_ingest job - runs as a scheduled worker, records its run and finishes", async () => {
  await using db = await createTestDb();
  const keys = await generateTestKeys();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 150 }, (_, i) => fillJson(i));
  fake.settlements = Array.from({ length: 3 }, (_, i) => settlementJson(i));
  const dir = await Deno.makeTempDir();
  try {
    const { id, specs, defs } = await kalshiJob(db, fake, keys.pkcs8Pem, dir);
    assert.equal(specs.length, 1);
    // Who wrote each row: the user's own role, not the supervisor's.
    await db.sql`alter table user_0001.fills add column written_by text default current_user`;
    assert.equal(defs[0]?.schedule, "15 5 * * *");
    await withJobs(db, specs, async ({ sup, jobs }) => {
      assert.equal(await jobs.tick(id), "started");
      const run = await eventually(done(jobs, id), { timeoutMs: 30_000 });
      assert.equal(run.status, "ok", run.error ?? "");
      assert.equal(sup.child(id)?.state, "stopped");
      assert.equal(sup.child(id)?.incarnation, 1, "a finished job is not restarted");
    }, defs);
    const [row] = await db.sql<
      { status: string; details: { summary: Record<string, { written: number }> } }[]
    >`select status, details from system.job_runs where job = ${id}`;
    assert.equal(row?.status, "ok");
    assert.equal(row?.details.summary.fills?.written, 150);
    const by = await db.sql<{ written_by: string; n: number }[]>`
      select written_by, count(*)::int as n from user_0001.fills group by 1`;
    assert.deepEqual([...by], [{ written_by: "user_0001_rw", n: 150 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kalshi_historical_ingest job - a refused key is a failed run and a job_failed event, not retried", async () => {
  await using db = await createTestDb();
  const keys = await generateTestKeys();
  await using fake = FakeKalshi.start(keys);
  fake.authorised = false;
  const dir = await Deno.makeTempDir();
  try {
    const { id, specs, defs } = await kalshiJob(db, fake, keys.pkcs8Pem, dir);
    await withJobs(db, specs, async ({ sup, jobs, events }) => {
      assert.equal(await jobs.tick(id), "started");
      const run = await eventually(done(jobs, id), { timeoutMs: 30_000 });
      assert.equal(run.status, "failed");
      assert.match(run.error ?? "", /kalshi authentication refused \(401\)/);
      assert.equal(sup.child(id)?.incarnation, 1, "restarting cannot fix a key");
      assert.match(
        jobs.degradedReasons()[0] ?? "",
        /^job kalshi_historical_ingest:user_0001 failed/,
      );
      await events.flush();
      const [failed] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from system.supervisor_events
         where actor_id = ${id} and event = 'job_failed'`;
      assert.equal(failed!.n, 1);
    }, defs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
