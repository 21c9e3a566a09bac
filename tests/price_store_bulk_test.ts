/**
 * The price store's bulk path against a real PostgreSQL server: backlogs drained through COPY on
 * the bulk pool write exactly what the unnest path writes; a backlog overlapping stored seconds
 * takes the idempotent path; a COPY the server rejects, or a bulk connection gone silent, is
 * written again without COPY and its pool replaced; rows the table cannot take are refused and
 * counted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSql, type Sql } from "../lib/db.ts";
import type { PriceRow } from "../actors/price_watchdog/store.ts";
import { createTestDb, eventually } from "./_db.ts";
import { TcpProxy } from "./_proxy.ts";
import { readRows, testStore } from "./_price_watchdog.ts";

const T0 = Date.UTC(2026, 6, 1);
/** Room for every backlog of these tests; batches of 100 so any backlog goes to the bulk path. */
const BACKLOG = { maxBatch: 100, bufferRows: 50_000 };

/** Rows of every shape the table takes: long and short prices, nulls, signs, exponents, ties. */
function variedRows(n: number, from = T0): PriceRow[] {
  const prices = ["68000.12345678", "0.00000001", "999999999999.99999999", "3412.5", "7", "0.1"];
  const percents = [0.012345, null, -4.5, 1e-7, 5e-7, -0.0000005, 9999.9999994, -9999.999999, 0];
  return Array.from({ length: n }, (_, i) => ({
    secondMs: from + i * 1000,
    price: prices[i % prices.length]!,
    receivedMs: from + i * 1000 + (i % 1000),
    momentum: percents[i % percents.length]!,
    deltas: [0, 1, 2, 3, 4, 5].map((d) => percents[(i + d) % percents.length]!) as PriceRow[
      "deltas"
    ],
  }));
}

/** A bulk factory that counts the pools it opens (the store must end each one). */
function bulkFactory(url: string, applicationName = "recio-test-bulk") {
  const opened: Sql[] = [];
  return {
    opened,
    bulk: () => {
      const pool = createSql(url, { max: 1, noDelay: true, applicationName });
      opened.push(pool);
      return pool;
    },
  };
}

Deno.test("createPriceStore() with a bulk pool drains a backlog through COPY into the same rows the unnest path writes", async () => {
  await using db = await createTestDb();
  const rows = variedRows(25_000);
  const viaCopy: Record<string, number> = {};
  const viaUnnest: Record<string, number> = {};
  const f = bulkFactory(db.url);
  const a = testStore(db.sql, viaCopy, { ...BACKLOG, bulk: f.bulk });
  const b = testStore(db.sql, viaUnnest, { ...BACKLOG, symbol: "eth" });
  for (const r of rows) {
    a.enqueue(r);
    b.enqueue(r);
  }
  a.start();
  b.start();
  await a.close(30_000);
  await b.close(30_000);
  assert.equal(viaCopy["rows.copied"], 25_000, "both backlog batches went through COPY");
  assert.equal(viaUnnest["rows.copied"], undefined);
  assert.equal(f.opened.length, 1);
  const copied = await readRows(db.sql, "btc");
  const inserted = await readRows(db.sql, "eth");
  assert.equal(copied.length, 25_000);
  assert.deepEqual(copied, inserted);
  // Spot checks against the values themselves, not only against the other path.
  assert.equal(copied[2]!.price, "999999999999.99999999");
  assert.equal(copied[1]!.receivedAt, T0 + 1000 + 1);
  assert.equal(
    copied[6]!.momentum,
    "9999.999999",
    "9999.9999994 rounds down within numeric(10, 6)",
  );
  assert.equal(copied[1]!.momentum, null);
});

Deno.test("createPriceStore() writes a backlog overlapping stored seconds, or repeating one, through the idempotent path, stored rows untouched", async () => {
  await using db = await createTestDb();
  const counters: Record<string, number> = {};
  const f = bulkFactory(db.url);
  const s = testStore(db.sql, counters, { ...BACKLOG, bulk: f.bulk });
  await db.sql`insert into live_data.btc_price_log ("timestamp", price)
    values (${new Date(T0 + 2_500_000)}, 1), (${new Date(T0 + 2_600_000)}, 2)`;
  const rows = variedRows(3_000);
  for (const r of rows) s.enqueue(r);
  s.start();
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["rows.copied"], undefined, "COPY never ran over stored seconds");
  assert.equal(counters["db.bulk_failed"], undefined, "declined by the range check, not failed");
  assert.equal(f.opened.length, 1, "the bulk pool was asked, and found seconds taken");

  // A new range, but one second of it twice (a replay): declined before COPY is tried.
  const later = variedRows(500, T0 + 86_400_000);
  for (const r of later) s.enqueue(r);
  s.enqueue(later[10]!);
  await s.close(30_000);
  assert.equal(counters["rows.copied"], undefined);
  assert.equal(counters["db.bulk_failed"], undefined);
  const stored = await readRows(db.sql, "btc");
  assert.equal(stored.length, 3_500);
  assert.equal(new Set(stored.map((r) => r.t)).size, 3_500);
  assert.equal(stored[2_500]!.price, "1.00000000");
  assert.equal(stored[2_600]!.price, "2.00000000");
  assert.equal(Number(stored[2_501]!.price), Number(rows[2_501]!.price));
});

Deno.test("createPriceStore() writes a COPY the server rejects again without COPY and replaces the bulk pool", async () => {
  await using db = await createTestDb();
  // A real server-side rejection, for the bulk connection only.
  await db.sql.unsafe(`
    create function public.refuse_bulk() returns trigger language plpgsql as $$
    begin
      if current_setting('application_name') = 'recio-test-bulk' then
        raise exception 'bulk writes refused by the test';
      end if;
      return new;
    end $$;
    create trigger refuse_bulk before insert on live_data.btc_price_log
      for each row execute function public.refuse_bulk();`);
  const counters: Record<string, number> = {};
  const f = bulkFactory(db.url);
  const s = testStore(db.sql, counters, {
    ...BACKLOG,
    bulk: f.bulk,
    bulkTimeoutMs: 2_000,
    bulkCoolDownMs: 0,
  });
  s.start();
  for (const r of variedRows(3_000)) s.enqueue(r);
  assert.equal(await s.drain(30_000), true);
  assert.ok((counters["db.bulk_failed"] ?? 0) >= 1);
  assert.equal(counters["rows.copied"], undefined);
  assert.equal((await readRows(db.sql, "btc")).length, 3_000);

  await db.sql`drop trigger refuse_bulk on live_data.btc_price_log`;
  for (const r of variedRows(3_000, T0 + 86_400_000)) s.enqueue(r);
  await s.close(30_000);
  assert.equal(counters["rows.copied"], 3_000, "COPY works again on a new pool");
  assert.ok(f.opened.length >= 2, "the failed pool was replaced");
  const stored = await readRows(db.sql, "btc");
  assert.equal(stored.length, 6_000);
  assert.equal(new Set(stored.map((r) => r.t)).size, 6_000);
  await eventually(async () => {
    const left = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
      where application_name = 'recio-test-bulk' and datname = current_database()`;
    return left[0]!.n === 0;
  }, { message: "a bulk connection was left open" });
});

Deno.test("createPriceStore() gives up on a bulk connection gone silent after bulkTimeoutMs and writes without COPY", async () => {
  await using db = await createTestDb();
  const { proxy, url } = await TcpProxy.forUrl(db.url);
  await using _proxy = proxy;
  const counters: Record<string, number> = {};
  const f = bulkFactory(url);
  const s = testStore(db.sql, counters, { ...BACKLOG, bulk: f.bulk, bulkTimeoutMs: 300 });
  s.start();
  for (const r of variedRows(500)) s.enqueue(r);
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["rows.copied"], 500, "the bulk connection is open and has worked");

  proxy.pause();
  for (const r of variedRows(5_000, T0 + 86_400_000)) s.enqueue(r);
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["db.bulk_failed"], 1);
  assert.equal(counters["rows.copied"], 500);
  // Cooling down: the next backlog does not try COPY (nor wait on it) again.
  for (const r of variedRows(500, T0 + 2 * 86_400_000)) s.enqueue(r);
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["db.bulk_failed"], 1);
  proxy.resume();
  await s.close(10_000);
  const stored = await readRows(db.sql, "btc");
  assert.equal(stored.length, 6_000);
  assert.equal(new Set(stored.map((r) => r.t)).size, 6_000);
});

Deno.test("createPriceStore() refuses rows the table cannot take, counted, and stores out-of-range percents as null", async () => {
  await using db = await createTestDb();
  const counters: Record<string, number> = {};
  const s = testStore(db.sql, counters, { ...BACKLOG, maxBatch: 2 });
  const good = variedRows(1)[0]!;
  const bad: PriceRow[] = [
    { ...good, price: "NaN" },
    { ...good, price: "-1" },
    { ...good, price: "0" },
    { ...good, price: "0.000" },
    { ...good, price: "1e5" },
    { ...good, price: "12\t3" },
    { ...good, price: "1234567890123" },
    { ...good, price: "" },
    { ...good, secondMs: T0 + 1500 },
    { ...good, secondMs: Date.UTC(1990, 0, 1) },
    { ...good, secondMs: Number.NaN },
    { ...good, receivedMs: Number.POSITIVE_INFINITY },
  ];
  for (const r of bad) s.enqueue(r);
  assert.equal(counters["rejected.unstorable_row"], bad.length);
  assert.equal(s.pending, 0);
  s.enqueue({
    ...good,
    momentum: Number.POSITIVE_INFINITY,
    deltas: [1e4, -1e4, Number.NaN, 9999.999999, null, -2.5],
  });
  s.enqueue({ ...good, secondMs: T0 + 1000 });
  assert.equal(counters["rows.percent_nulled"], 1);
  s.start();
  await s.close(10_000);
  const stored = await readRows(db.sql, "btc");
  assert.equal(stored.length, 2);
  assert.equal(stored[0]!.momentum, null);
  assert.deepEqual(stored[0]!.deltas, [null, null, null, "9999.999999", null, "-2.500000"]);
});

Deno.test("createPriceStore() splits a batch PostgreSQL refuses for its data, through COPY and unnest alike: only the refused rows are dropped and counted, the rest written, COPY not cooled down", async () => {
  await using db = await createTestDb();
  // A rule of the table the store's checks do not know: PostgreSQL refuses price 4242 (23514).
  await db.sql.unsafe(`alter table live_data.btc_price_log
    add constraint test_refuses_4242 check (price <> 4242)`);
  const counters: Record<string, number> = {};
  const f = bulkFactory(db.url);
  const durable: PriceRow[] = [];
  const s = testStore(db.sql, counters, {
    ...BACKLOG,
    bulk: f.bulk,
    // A COPY PostgreSQL refuses after its last chunk may leave postgres.js waiting: the deadline.
    bulkTimeoutMs: 1_000,
    onDurable: (rows) => void durable.push(...rows),
  });
  // A backlog for COPY, with one refused row in it.
  const backlog = variedRows(3_000);
  backlog[1_500] = { ...backlog[1_500]!, price: "4242" };
  for (const r of backlog) s.enqueue(r);
  s.start();
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["rows.rejected"], 1);
  assert.equal(counters["db.bulk_failed"], undefined, "the row's refusal is not COPY's failure");
  assert.equal(counters["db.write_failed"], undefined);
  assert.equal((await readRows(db.sql, "btc")).length, 2_999);
  assert.ok(!durable.includes(backlog[1_500]!), "a refused row is never reported durable");

  // A live flush with a gap record in the same transaction, and three refused rows.
  const t = T0 + 86_400_000;
  s.recordGap({ fromMs: t - 10_000, toMs: t, cause: "silence" });
  for (let i = 0; i < 10; i++) {
    s.enqueue({ ...variedRows(1, t + i * 1_000)[0]!, price: i % 4 === 1 ? "4242" : "5" });
  }
  assert.equal(await s.drain(30_000), true);
  assert.equal(counters["rows.rejected"], 4);
  assert.equal((await readRows(db.sql, "btc")).length, 2_999 + 7);
  const gaps = await db.sql`select 1 from system.ingest_gaps where symbol = 'btc'`;
  assert.equal(gaps.length, 1, "the gap is written with the good rows");

  // COPY works for the next backlog: nothing was cooled down.
  for (const r of variedRows(500, T0 + 2 * 86_400_000)) s.enqueue(r);
  await s.close(30_000);
  assert.equal(counters["rows.copied"], 500);
  assert.equal((await readRows(db.sql, "btc")).length, 2_999 + 7 + 500);
});
